// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cwatch: an eBPF monitor for smart-contract runtimes. This file holds the
 * command line and the collector loop; analysis lives in model.c.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "crash.h"
#include "detect.h"
#include "elfsym.h"
#include "json.h"
#include "events.h"
#include "exporter.h"
#include "golang.h"
#include "html.h"
#include "model.h"
#include "privs.h"
#include "probes.h"
#include "record.h"
#include "report.h"
#include "rules.h"
#include "runtime.h"
#include "symbolize.h"
#include "target.h"
#include "unwind.h"
#include "util.h"

#ifndef CWATCH_VERSION
#define CWATCH_VERSION "0.1"
#endif

#define MAX_PIDS 64
#define MAX_PROFILES 8

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_flag = 1;
	else
		stop_flag = 1;
}

static const char usage_main[] =
	"cwatch: watch smart-contract runtimes' memory, threads and processes with eBPF\n"
	"\n"
	"Usage: cwatch <command> [options]\n"
	"\n"
	"Commands:\n"
	"  run       watch targets live and print a summary at the end\n"
	"  profiles  list the built-in runtime profiles\n"
	"  probe     show which profile fits a process or executable, and where its\n"
	"            probes go\n"
	"  replay    run a recording (run --record) through the same analysis\n"
	"  report    an HTML page, or folded stacks, from a recording\n"
	"  version   print the version\n"
	"  help      print this help (cwatch <command> --help for a command's)\n"
	"\n"
	"Examples:\n"
	"  sudo cwatch run --pid 1234\n"
	"  sudo cwatch run --comm peer --json\n"
	"  sudo cwatch run --duration 30 -- ./contract-host --contracts 3\n";

static const char usage_probe[] =
	"cwatch probe: show which runtime profile fits a process or an executable\n"
	"\n"
	"Usage: cwatch probe (--pid PID | --exe PATH) [--runtime NAME] [--profile FILE]\n"
	"\n"
	"  -p, --pid=PID           a running process (its executable and mapped files)\n"
	"  -e, --exe=PATH          an executable (and the libraries it needs)\n"
	"      --runtime=NAME      check this profile instead of picking one\n"
	"      --profile=FILE      check a profile file (repeatable; tried first)\n"
	"  -h, --help              print this help\n"
	"\n"
	"Prints the profile that fits and, for each probe, its role, symbol, binary\n"
	"and file offset, or why it is missing. Exit status 0 when every required\n"
	"symbol was found, 1 otherwise.\n"
	"\n"
	"Examples:\n"
	"  cwatch probe --exe ./wasmtime_host\n"
	"  sudo cwatch probe --pid 1234 --runtime wasmer\n";

static const char usage_run[] =
	"cwatch run: watch targets' memory, threads and lifecycle; summary at the end\n"
	"\n"
	"Usage: cwatch run [options] (--pid PID | --comm NAME | --exe PATH | --cgroup DIR |\n"
	"                  -- CMD [ARG...])\n"
	"\n"
	"Targets (any mix; children of targets are followed):\n"
	"  -p, --pid=PID           watch process PID (repeatable)\n"
	"  -c, --comm=NAME         watch processes named NAME, running or started later\n"
	"                          (repeatable)\n"
	"  -e, --exe=PATH          watch processes running PATH, running or started later\n"
	"                          (repeatable)\n"
	"      --cgroup=DIR        watch processes in cgroup v2 directory DIR or below it,\n"
	"                          running, started or moved there later (repeatable)\n"
	"  -- CMD [ARG...]         launch CMD, held until the probes are attached\n"
	"\n"
	"Runtimes (per contract instance figures):\n"
	"      --runtime=NAME      auto (default: pick a profile by what the target maps;\n"
	"                          Go programs also get goroutine and cgo figures),\n"
	"                          go (those alone), none, or a profile name\n"
	"                          (see cwatch profiles)\n"
	"      --profile=FILE      a profile file; tried before the built-ins (repeatable)\n"
	"      --heap              where memory grows: user stacks sampled every 64 KiB\n"
	"                          of new resident anon memory, per instance\n"
	"      --heap-sample=BYTES the --heap sampling interval (default 64K)\n"
	"      --unwind=MODE       how --heap walks stacks: dwarf (default: 16 KiB of\n"
	"                          stack copied, unwound with .eh_frame, through code\n"
	"                          without frame pointers) or fp (frame pointers only,\n"
	"                          in the kernel)\n"
	"\n"
	"Verdicts (leaks, limits, thread growth, sandbox escapes):\n"
	"      --rules=FILE        rule file: thresholds, allow-lists, severities\n"
	"      --enforce           kill a target that breaks a rule marked enforce\n"
	"                          (process.spawn, process.exec, memory.wx, priv.change,\n"
	"                          ns.change, inject by default), before the syscall\n"
	"\n"
	"Metrics (Prometheus):\n"
	"      --listen=[HOST:]PORT serve /metrics (HOST defaults to 127.0.0.1)\n"
	"      --web-config=FILE   TLS and basic auth, in exporter-toolkit's format\n"
	"      --metrics-max-instances=N  instances with series of their own (default\n"
	"                          100); the rest are instance=\"_other\"\n"
	"      --metrics-grace=SECONDS  gone targets stay exported this long (default 60)\n"
	"\n"
	"Recording:\n"
	"      --record=FILE       keep every record in FILE (zlib, for cwatch replay)\n"
	"      --record-max=BYTES  rotate FILE to FILE.1, FILE.2 ... past BYTES\n"
	"\n"
	"Output:\n"
	"  -i, --interval=SECONDS  refresh the view every SECONDS (default 1)\n"
	"  -d, --duration=SECONDS  stop after SECONDS (default: when all targets are gone,\n"
	"                          or never with --comm/--exe/--cgroup)\n"
	"  -j, --json              JSON lines instead of the table\n"
	"      --mmap-lines=N      print at most N mmap lines a second per target\n"
	"                          (default 1000, 0: all); the rest are counted in an\n"
	"                          mmap_folded line\n"
	"  -v, --verbose           debug messages, libbpf's included\n"
	"\n"
	"Tuning:\n"
	"      --ringbuf=BYTES     ring buffer size, a power of two (default 1M)\n"
	"      --max-targets=N     processes tracked at once (default 4096)\n"
	"      --keep-gone=N       exited targets, and ended instances, kept for the\n"
	"                          view and the summary past --metrics-grace (default\n"
	"                          1000 of each); older ones are let go and counted\n"
	"      --mmap-min=BYTES    report mappings at least this large (default 1M)\n"
	"      --peak-step=BYTES   report resident peaks in steps of BYTES (default 1M)\n"
	"      --btf=FILE          kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"
	"      --tracefs=DIR       where tracefs is, or is mounted (default\n"
	"                          /sys/kernel/tracing)\n"
	"  -h, --help              print this help\n"
	"\n"
	"SIGINT and SIGTERM stop with a summary; SIGHUP re-reads the --rules and\n"
	"--profile files.\n"
	"Exit status: 0 success, 1 failure, 2 usage error.\n"
	"\n"
	"Examples:\n"
	"  sudo cwatch run --pid 1234 --interval 5\n"
	"  sudo cwatch run --exe /usr/local/bin/peer --json > peer.jsonl\n"
	"  sudo cwatch run --duration 30 -- ./contract-host\n";

struct run_opts {
	pid_t pids[MAX_PIDS];
	int npids;
	struct target_match match;
	char **argv;		/* -- CMD ..., or NULL */
	__u64 interval_ns;
	__u64 duration_ns;	/* 0: until the targets are gone */
	bool json;
	struct probes_opts probe;
	const char *runtime;		/* --runtime: NULL (auto), "none", or a profile name */
	const char *profile_files[MAX_PROFILES];
	int nprofile_files;
	struct detect_rules rules;	/* defaults, then --rules FILE */
	bool enforce;			/* --enforce */
	struct exporter_opts metrics;	/* --listen ... */
	const char *rules_path;		/* --rules */
	const char *record_path;	/* --record */
	__u64 record_max;		/* --record-max, bytes; 0 = no rotation */
	__u32 keep_gone;		/* --keep-gone */
	__u32 mmap_lines;		/* --mmap-lines */
};

/* The kernel's site maps: where heap grows (--heap), threads, goroutines and cgo allocations start. */
enum site_kind {
	SITE_HEAP,
	SITE_THREAD,
	SITE_GO,
	SITE_CGO,
	SITE_NR,
};

static const struct {
	const char *map;
	__u16 rec;
} site_maps[SITE_NR] = {
	[SITE_HEAP] = { "cw_sites", CW_REC_SITE },
	[SITE_THREAD] = { "cw_tsites", CW_REC_THREAD_SITE },
	[SITE_GO] = { "cw_gsites", CW_REC_GO_SITE },
	[SITE_CGO] = { "cw_cgosites", CW_REC_CGO_SITE },
};

/* State of one `cwatch run`. */
struct collector {
	struct run_opts *o;
	struct model *model;
	struct report *report;
	struct probes *probes;
	struct events *events;
	struct runtime *runtime;
	struct detect *detect;
	struct exporter *exporter;	/* --listen */
	struct record_writer *rec;	/* --record */
	struct symbolizer *sym;		/* stacks of alerts and --heap sites */
	struct unwind *unwind;		/* stack copies unwound (--heap, crashes), stacks interned */
	struct {			/* a crash's stack copy, unwound, until the crash comes */
		__u32 tgid, tid;
		int n;
		__u64 ip[CW_STACK_DEPTH];
	} next;
	struct golang *go;		/* Go programs' goroutines and cgo (NULL: --runtime none) */
	struct site_seen {		/* per stack: its figures and what it reads as */
		struct cw_site_key key;
		enum site_kind kind;
		struct cw_site now;	/* as the kernel says now (goroutines: alive, created) */
		struct cw_site sent;	/* the group's figures last delivered (lead entry) */
		__u32 group;		/* hash of the instance and frames, 0 = not named yet */
		__u32 join;		/* the group it is delivered with (goroutines from before
					 * attach join their go statement's), else group */
		__u32 nframes;
		bool system;		/* goroutines: the runtime's own */
		char start[CW_FRAME_LEN];	/* goroutines: their function */
		char frame[CW_SITE_FRAMES][CW_FRAME_LEN];
	} *seen;
	size_t nseen, capseen;
	__u64 seen_evicted;		/* entries let go with their instances (metrics) */
	pid_t maps_pid;			/* last mappings read, and when */
	__u64 maps_ts;
	char profile_names[RUNTIME_MAX_PROFILES][PROFILE_NAME_LEN];
	const char *profile_name_ptrs[RUNTIME_MAX_PROFILES];
	/* targets whose runtime is settled (a profile attached, or fixed as none) */
	pid_t settled[4096];
	size_t nsettled;
	/* targets chosen at start, told to the model once setup has succeeded */
	struct cw_rec_attach pending[MAX_PIDS + 1];
	int npending;
	struct cw_rec_runtime pending_rt[MAX_PIDS + 1];
	int npending_rt;
	bool started;
};

static __s64 wall_offset_ns(void)
{
	struct timespec w, m;

	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((__s64)w.tv_sec - m.tv_sec) * 1000000000LL + (w.tv_nsec - m.tv_nsec);
}

static int settle_runtime(struct collector *c, pid_t pid, const char *exe);
static int settle_attach(struct collector *c, pid_t pid, const char *exe);
static void target_retire(struct collector *c, __u32 tgid);
static void target_json_desc(struct json *j, pid_t pid);

/* --heap: re-read @pid's mappings, at most every 100 ms, so stacks of short-lived targets resolve. */
static void maps_refresh(struct collector *c, pid_t pid, __u64 now)
{
	if (c->maps_pid == pid && now - c->maps_ts < 100000000ULL)
		return;
	if (!symbolize__maps(c->sym, pid)) {
		c->maps_pid = pid;
		c->maps_ts = now;
	}
}
static void snapshot_sites(struct collector *c, __u32 tgid, __u64 now);
static void snapshot_go(struct collector *c, __u32 tgid, __u64 now);
static void snapshot_site_map(struct collector *c, enum site_kind kind, __u32 tgid, __u64 now);

/*
 * Once an interval (at CW_REC_TICK, so a replay does it at the same points):
 * let the oldest finished targets and instances go, and move the detectors'
 * state along with what is kept.
 */
static void bound(struct model *m, struct detect *d, __u64 now)
{
	struct model_remap map;
	int n = model__evict(m, now, &map);

	if (n > 0 && d)
		detect__remap(d, m, &map);
	if (n > 0)
		model__remap_free(&map);
}

/*
 * The analysis, the same for a live run and a replay: the model, then the
 * output, then the detectors and their verdicts; CW_REC_TICK prints the
 * periodic view and CW_REC_END the summary. Returns the target index.
 */
static int analyse(struct model *m, struct detect *d, struct report *r, const void *rec,
		   size_t len)
{
	const struct cw_hdr *hd = rec;
	int idx;

	if (hd->type == CW_REC_TICK) {
		bound(m, d, hd->ts);
		report__interval(r, m, hd->ts);
		return -ENOENT;
	}
	if (hd->type == CW_REC_END) {
		report__summary(r, m, hd->ts);
		return -ENOENT;
	}
	if (hd->type == CW_REC_RULES && d && len >= sizeof(struct cw_rec_rules)) {
		const struct cw_rec_rules *rl = rec;
		struct detect_rules rules;
		char err[512];

		/* a reload (SIGHUP): the same parse the live run made */
		detect__defaults(&rules);
		if (!rl->len || (rl->len < sizeof(rl->text) &&
				 !rules__parse(rl->text, rl->len, "rules", &rules, err, sizeof(err))))
			detect__set_rules(d, &rules);
	}
	idx = model__apply(m, rec, len);
	if (idx == -ENOMEM)
		return idx;
	report__record(r, m, rec, idx);
	if (d) {
		int n = detect__apply(d, m, rec, len);

		for (size_t i = detect__count(d) - (size_t)(n > 0 ? n : 0); i < detect__count(d); i++)
			report__verdict(r, m, detect__get(d, i));
	}
	return idx;
}

static int deliver(void *ctx, const void *rec, size_t len)
{
	struct collector *c = ctx;
	int idx;

	if (c->rec && record_writer__add(c->rec, rec, len) == -ENOSPC)
		cw_warn("recording: disk full");
	idx = analyse(c->model, c->detect, c->report, rec, len);
	if (idx == -ENOMEM) {
		cw_err("out of memory in the instance model");
		stop_flag = 1;
		return -ENOMEM;
	}
	if (idx >= 0 && c->started) {
		const struct cw_hdr *h = rec;
		const struct model_target *t = &c->model->t[idx];

		/* a new program, or a process matched on exec: which runtime is it? */
		if (h->type == CW_EV_EXEC) {
			if (c->maps_pid == (pid_t)h->tgid)
				c->maps_pid = 0;	/* new program, new mappings */
			for (size_t i = 0; i < c->nsettled; i++)
				if (c->settled[i] == (pid_t)h->tgid)
					c->settled[i] = 0;
			settle_runtime(c, (pid_t)h->tgid, NULL);
		} else if (h->type == CW_EV_TARGET_NEW && t->reason != CW_WHY_FORK) {
			settle_runtime(c, (pid_t)h->tgid, NULL);
		} else if (h->type == CW_EV_EXIT) {
			snapshot_sites(c, h->tgid, h->ts);
			snapshot_go(c, h->tgid, h->ts);
			target_retire(c, h->tgid);
		} else if (c->o->probe.heap_sample && (h->type == CW_EV_PEAK || h->type == CW_EV_MMAP)) {
			/* memory grew or code was mapped: learn the mappings while it lives */
			maps_refresh(c, (pid_t)h->tgid, h->ts);
		}
	}
	return 0;
}

/* Fold "." and ".." of absolute @path in place (lexically, as a person reads it). */
static void path_fold(char *path)
{
	char out[CW_PATH_LEN];
	size_t o = 0;
	const char *p = path;

	while (*p) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0)
			break;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else if (!(n == 1 && p[0] == '.') && o + n + 1 < sizeof(out)) {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (!o)
		out[o++] = '/';
	out[o] = '\0';
	memcpy(path, out, o + 1);
}

/* Clear what follows the NUL of a kernel string, so records are byte-for-byte stable. */
static void str_clear_tail(char *s, size_t len)
{
	size_t n = strnlen(s, len);

	if (n < len)
		memset(s + n, 0, len - n);
}

/* The model's label of instance @key of @tgid ("#3") into @buf; "" if it knows none. */
static const char *inst_label(struct collector *c, __u32 tgid, __u64 key, char *buf, size_t len)
{
	const struct model_instance *in = key ? model__instance(c->model, tgid, key) : NULL;

	if (in)
		snprintf(buf, len, "#%u", in->seq);
	else
		buf[0] = '\0';
	return buf;
}

/*
 * Name the innermost @max frames of user stack @id of @tgid into @frame, the
 * mappings re-read first (kept as they were if it is gone); a return address
 * is stepped back into its call. JIT code without a name is told as
 * contract code of instance @inst (0: none). Returns the frames named.
 */
static __u32 name_ips(struct collector *c, __u32 tgid, const __u64 *ips, int n, __u64 inst,
		      char (*frame)[CW_FRAME_LEN], int max);

static __u32 stack_name_n(struct collector *c, __u32 tgid, __s32 id, __u64 inst,
			  char (*frame)[CW_FRAME_LEN], int max)
{
	__u64 ips[CW_STACK_DEPTH];
	int n = probes__stack(c->probes, id, ips);

	return name_ips(c, tgid, ips, n, inst, frame, max);
}

/* The same for the @n return addresses at @ips (the first, an exact PC). */
static __u32 name_ips(struct collector *c, __u32 tgid, const __u64 *ips, int n, __u64 inst,
		      char (*frame)[CW_FRAME_LEN], int max)
{
	char label[16];
	int k = 0;

	inst_label(c, tgid, inst, label, sizeof(label));
	symbolize__maps(c->sym, (pid_t)tgid);
	/* a walk through code without frame pointers can loop on one address: stop there */
	for (int i = 0; i < n && k < max && (!i || ips[i] != ips[i - 1]); i++)
		symbolize__addr_inst(c->sym, (pid_t)tgid, i ? ips[i] - 1 : ips[i], label,
				     frame[k++], CW_FRAME_LEN);
	return (__u32)k;
}

/* The innermost four frames (alerts, CW_REC_STACK). */
static __u32 stack_name(struct collector *c, __u32 tgid, __s32 id, __u64 inst,
			char frame[4][CW_FRAME_LEN])
{
	return stack_name_n(c, tgid, id, inst, frame, 4);
}

/*
 * A crash from the kernel side: its stack named now, while the dying
 * process's mappings may still be read (those of the last snapshot else),
 * so the record carries it and a replay shows the same frames.
 */
static void crash_prepare(struct collector *c, struct cw_ev_crash *e)
{
	str_clear_tail(e->comm, sizeof(e->comm));
	memset(e->frame, 0, sizeof(e->frame));
	e->nframes = 0;
	e->pad = 0;
	if (!c->sym)
		return;
	/* the copy of its stack, unwound through code without frame pointers (a frame-pointer
	 * walk there reads on into garbage): the frame-pointer walk if it did not unwind */
	if (c->next.tid == e->h.tid && c->next.tgid == e->h.tgid && c->next.n > 1)
		e->nframes = name_ips(c, e->h.tgid, c->next.ip, c->next.n, e->h.instance, e->frame,
				      CW_SITE_FRAMES);
	c->next.tid = 0;
	if (!e->nframes && e->stack >= 0)
		e->nframes = stack_name_n(c, e->h.tgid, e->stack, e->h.instance, e->frame,
					  CW_SITE_FRAMES);
}

/*
 * An alert from the kernel side, before the model and detectors see it: the
 * path resolved against the target's working directory, the stack named.
 * Both need the live process, so they happen here and travel in the record.
 */
static void alert_prepare(struct collector *c, struct cw_ev_alert *e)
{
	str_clear_tail(e->path, sizeof(e->path));
	memset(e->resolved, 0, sizeof(e->resolved));
	memset(e->frame, 0, sizeof(e->frame));
	if (e->rule == CW_RULE_FILE && e->path[0]) {
		char cwd[CW_PATH_LEN] = "/", link[64];
		ssize_t l;

		if (e->path[0] != '/') {
			snprintf(link, sizeof(link), "/proc/%u/cwd", e->h.tgid);
			l = readlink(link, cwd, sizeof(cwd) - 1);
			cwd[l > 0 ? l : 1] = '\0';
		}
		snprintf(e->resolved, sizeof(e->resolved), "%s/%s", e->path[0] == '/' ? "" : cwd,
			 e->path);
		path_fold(e->resolved);
	}
	if (!c->sym)
		return;
	/* the copy of its stack, unwound with DWARF (one a second per rule), else the walk */
	if (c->next.tid == e->h.tid && c->next.tgid == e->h.tgid && c->next.n > 1)
		name_ips(c, e->h.tgid, c->next.ip, c->next.n, e->h.instance, e->frame, 4);
	else if (e->stack >= 0)
		stack_name(c, e->h.tgid, e->stack, e->h.instance, e->frame);
	c->next.tid = 0;
}

/* Name stack @id of @tgid and deliver it as a CW_REC_STACK before the record that uses it. */
static void stack_record(struct collector *c, __u32 tgid, __s32 id, __u64 inst, __u64 ts)
{
	struct cw_rec_stack r = {};

	r.h.type = CW_REC_STACK;
	r.h.size = sizeof(r);
	r.h.tgid = tgid;
	r.h.ts = ts;
	r.stack = id;
	r.nframes = stack_name(c, tgid, id, inst, r.frame);
	deliver(c, &r, sizeof(r));
}

static void ustack_sample(struct collector *c, const struct cw_ev_ustack *e, size_t len);
static int go_frames(struct collector *c, const struct cw_ev_ustack *e, __u64 *ips, int n);

/* A stack copy for the thread's next record (a crash): unwound now, kept until it comes. */
static void ustack_next(struct collector *c, const struct cw_ev_ustack *e, size_t len)
{
	int n;

	maps_refresh(c, (pid_t)e->h.tgid, e->h.ts);
	n = unwind__sample(c->unwind, e, len, c->next.ip, CW_STACK_DEPTH);
	if (e->ngo && n > 0)
		n = go_frames(c, e, c->next.ip, n);
	c->next.tgid = e->h.tgid;
	c->next.tid = e->h.tid;
	c->next.n = n;
}

/* The ring buffer's records: alerts are completed first, everything goes to deliver(). */
static int on_ring(void *ctx, const void *rec, size_t len)
{
	const struct cw_hdr *h = rec;
	struct unwind *uw = ((struct collector *)ctx)->unwind;

	if (h->type == CW_EV_USTACK) {
		/* consumed here: its stack goes into a --heap site or the next record, the copy
		 * goes nowhere */
		const struct cw_ev_ustack *e = rec;

		if (uw && len >= offsetof(struct cw_ev_ustack, data) && e->kind == CW_US_NEXT)
			ustack_next(ctx, e, len);
		else if (uw && len >= offsetof(struct cw_ev_ustack, data))
			ustack_sample(ctx, rec, len);
		return 0;
	}
	if (h->type == CW_EV_EXIT && uw)
		unwind__forget(uw, (pid_t)h->tgid);

	if (h->type == CW_EV_HOST_CALL && len >= sizeof(struct cw_ev_host_call) &&
	    ((const struct cw_ev_host_call *)rec)->stack >= 0)
		stack_record(ctx, h->tgid, ((const struct cw_ev_host_call *)rec)->stack, h->instance,
			     h->ts);
	else if (h->type == CW_EV_MEMORY && len >= sizeof(struct cw_ev_memory) &&
		 ((const struct cw_ev_memory *)rec)->stack >= 0)
		stack_record(ctx, h->tgid, ((const struct cw_ev_memory *)rec)->stack, h->instance,
			     h->ts);

	if (h->type == CW_EV_ALERT && len >= sizeof(struct cw_ev_alert)) {
		struct cw_ev_alert e;

		memcpy(&e, rec, sizeof(e));
		alert_prepare(ctx, &e);
		return deliver(ctx, &e, sizeof(e));
	}
	if (h->type == CW_EV_CRASH && len == sizeof(struct cw_ev_crash)) {
		struct cw_ev_crash e;

		memcpy(&e, rec, sizeof(e));
		crash_prepare(ctx, &e);
		return deliver(ctx, &e, sizeof(e));
	}
	return deliver(ctx, rec, len);
}

/* Read every instance's counters from the kernel and deliver them as snapshots. */
static void snapshot_instances(struct collector *c, __u64 now)
{
	struct cw_rec_inst_stats r = {};
	struct cw_inst_key key = {};
	bool first = true;

	r.h.type = CW_REC_INST_STATS;
	r.h.size = sizeof(r);
	r.h.ts = now;
	while (probes__next_inst(c->probes, &key, first, &r.stats)) {
		first = false;
		r.h.tgid = key.tgid;
		r.h.instance = key.key;
		deliver(c, &r, sizeof(r));
	}
}

/* Last delivered bytes of site @k (a slot is made for a new site); NULL on ENOMEM. */
static struct site_seen *site_seen(struct collector *c, const struct cw_site_key *k,
				   enum site_kind kind)
{
	for (size_t i = 0; i < c->nseen; i++)
		if (!memcmp(&c->seen[i].key, k, sizeof(*k)) && c->seen[i].kind == kind)
			return &c->seen[i];
	if (c->nseen == c->capseen) {
		size_t cap = c->capseen ? c->capseen * 2 : 64;
		struct site_seen *n = realloc(c->seen, cap * sizeof(*n));

		if (!n)
			return NULL;
		c->seen = n;
		c->capseen = cap;
	}
	memset(&c->seen[c->nseen], 0, sizeof(c->seen[0]));
	c->seen[c->nseen].key = *k;
	c->seen[c->nseen].kind = kind;
	return &c->seen[c->nseen++];
}

/*
 * Deliver the sites of @tgid (0: all) that changed since last time, with
 * their stacks symbolized now, while the mappings are known: heap (--heap),
 * threads, and for Go targets goroutines and cgo allocations.
 */
static void snapshot_sites(struct collector *c, __u32 tgid, __u64 now)
{
	for (int k = 0; k < SITE_NR; k++)
		if (k != SITE_HEAP || c->o->probe.heap_sample)
			snapshot_site_map(c, (enum site_kind)k, tgid, now);
}

/* FNV-1a over @n bytes, continuing from @h. */
static __u32 fnv1a(__u32 h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 16777619u;
	return h;
}

/* Cgo's own wrappers (_Cfunc_CString, _cgo_cmalloc): the Go code that called them is the site. */
static bool cgo_wrapper(const char *frame)
{
	return strstr(frame, "._Cfunc_") || strstr(frame, "._cgo_") || !strncmp(frame, "_cgo_", 5);
}

/*
 * Name site @seen: its stack symbolized, cut at the first frame that is not
 * code (a frame-pointer walk through code without frame pointers makes frames
 * up, which would split one site into many). Goroutine and cgo sites carry
 * the go statement's or the cgo caller's PC (key.instance) as frame 0; the
 * frames the walk took before it (the runtime's, cgo's) are dropped.
 */
static void site_name(struct collector *c, struct site_seen *seen, __u64 start)
{
	const struct cw_site_key *key = &seen->key;
	bool go = seen->kind == SITE_GO || seen->kind == SITE_CGO;
	__u64 ips[CW_STACK_DEPTH];
	int n = key->stack < 0 ? 0 : probes__stack(c->probes, key->stack, ips);
	char label[16];

	if (c->unwind && unwind__is_id(key->stack))	/* --unwind=dwarf: interned in user space */
		n = unwind__stack(c->unwind, key->tgid, key->stack, ips, CW_STACK_DEPTH);
	if (go) {
		/* the walk went newproc1 -> systemstack -> newproc -> the creator, whose
		 * return address is the go statement's PC, or _cgo_cmalloc -> its
		 * caller: the callers follow that PC */
		int from = n;

		for (int i = 0; i < n; i++)
			if (ips[i] == key->instance) {
				from = i + 1;
				break;
			}
		memmove(&ips[1], &ips[from], (size_t)(n - from) * sizeof(ips[0]));
		n = 1 + n - from;
		ips[0] = key->instance;
	}
	seen->nframes = 0;
	inst_label(c, key->tgid, go ? 0 : key->instance, label, sizeof(label));
	for (int i = 0; i < n && seen->nframes < CW_SITE_FRAMES; i++) {
		char *f = seen->frame[seen->nframes];

		symbolize__addr_inst(c->sym, (pid_t)key->tgid, i || go ? ips[i] - 1 : ips[i], label,
				     f, CW_FRAME_LEN);
		if (strstr(f, "(not code"))
			break;
		if (go && seen->nframes == 0 && cgo_wrapper(f))
			continue;
		seen->nframes++;
	}
	if (!seen->nframes)
		util__strlcpy(seen->frame[seen->nframes++], "(stack not readable)", CW_FRAME_LEN);
	if (seen->kind == SITE_GO) {
		symbolize__addr(c->sym, (pid_t)key->tgid, start, seen->start, sizeof(seen->start));
		seen->start[strcspn(seen->start, "+ ")] = '\0';
		seen->system = golang__is_system(seen->start);
	}
	seen->group = fnv1a(2166136261u, go ? &(__u64){ 0 } : &key->instance,
			    sizeof(key->instance));
	for (__u32 i = 0; i < seen->nframes; i++)
		seen->group = fnv1a(seen->group, seen->frame[i], strlen(seen->frame[i]) + 1);
	seen->group &= 0x7fffffff;
}

/* Deliver the record of one site group (@sum: its figures). */
static void site_deliver(struct collector *c, const struct site_seen *lead, struct cw_site sum,
			 __u64 now)
{
	struct cw_rec_go_site *g;
	struct cw_rec_site *r;

	if (lead->kind == SITE_GO) {
		g = calloc(1, sizeof(*g));
		if (!g)
			return;
		g->h.type = CW_REC_GO_SITE;
		g->h.size = sizeof(*g);
		g->h.ts = now;
		g->h.tgid = lead->key.tgid;
		g->stack = (__s32)lead->group;
		g->alive = sum.bytes;
		g->created = sum.samples;
		g->system = lead->system;
		util__strlcpy(g->start, lead->start, sizeof(g->start));
		g->nframes = lead->nframes;
		memcpy(g->frame, lead->frame, sizeof(g->frame));
		deliver(c, g, sizeof(*g));
		free(g);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return;
	r->h.type = site_maps[lead->kind].rec;
	r->h.size = sizeof(*r);
	r->h.ts = now;
	r->h.tgid = lead->key.tgid;
	r->h.instance = lead->kind == SITE_CGO ? 0 : lead->key.instance;
	r->stack = (__s32)lead->group;
	r->site = sum;
	r->nframes = lead->nframes;
	memcpy(r->frame, lead->frame, sizeof(r->frame));
	deliver(c, r, sizeof(*r));
	free(r);
}

/*
 * Sites that are one site, read two ways, are delivered as one (join):
 * - goroutines that ran before cwatch attached were read with their go
 *   statement but no stack (CW_GO_STACK_SEEDED): they join the first site
 *   whose go statement reads the same, so a leak counts whole in one place;
 * - --unwind=dwarf: a heap sample kept on the kernel's frame-pointer walk
 *   (the ring buffer was full) joins the largest DWARF-unwound site of its
 *   instance whose frames begin with all of its own: the walk stopped early,
 *   at the first code without frame pointers, on the same path.
 * Every other site stands for its own group (join = group).
 */
static void site_deliver(struct collector *c, const struct site_seen *lead, struct cw_site sum,
			 __u64 now);

static bool site_joins(const struct site_seen *s, const struct site_seen *o)
{
	if (o->kind != s->kind || !o->group || o->key.tgid != s->key.tgid)
		return false;
	if (s->kind == SITE_GO)
		return o->key.stack != CW_GO_STACK_SEEDED && !strcmp(o->frame[0], s->frame[0]);
	if (o->key.instance != s->key.instance || !unwind__is_id(o->key.stack) ||
	    o->nframes < s->nframes)
		return false;
	for (__u32 i = 0; i < s->nframes; i++)
		if (strcmp(o->frame[i], s->frame[i]))
			return false;
	return true;
}

static void join_sites(struct collector *c, enum site_kind kind, __u32 tgid, __u64 now)
{
	for (size_t i = 0; i < c->nseen; i++) {
		struct site_seen *s = &c->seen[i];
		const struct site_seen *best = NULL;

		if (s->kind != kind || !s->group || (tgid && s->key.tgid != tgid))
			continue;
		s->join = s->group;
		if (kind == SITE_GO ? s->key.stack != CW_GO_STACK_SEEDED
				    : unwind__is_id(s->key.stack))
			continue;
		for (size_t j = 0; j < c->nseen; j++) {
			const struct site_seen *o = &c->seen[j];

			if (j == i || !site_joins(s, o) || (best && best->now.bytes >= o->now.bytes))
				continue;
			best = o;
			if (kind == SITE_GO)
				break;
		}
		if (best)
			s->join = best->group;
		/* delivered on its own before: that site is now empty */
		if (s->join != s->group && (s->sent.bytes || s->sent.samples)) {
			s->sent = (struct cw_site){};
			site_deliver(c, s, s->sent, now);
		}
	}
}

/*
 * Deliver the changed sites of one kernel map. Stacks are named once per
 * stack id; sites whose frames read the same are one site, delivered under
 * the hash of their frames.
 */
static void snapshot_site_map(struct collector *c, enum site_kind kind, __u32 tgid, __u64 now)
{
	struct cw_site_key key = {};
	union {
		struct cw_site s;
		struct cw_gsite g;
	} v;
	size_t vsz = kind == SITE_GO ? sizeof(v.g) : sizeof(v.s);
	bool first = true;

	/* refresh each stack's figures; name the stacks seen for the first time */
	while (probes__map_next(c->probes, site_maps[kind].map, &key, sizeof(key), first, &v, vsz)) {
		struct site_seen *seen;

		first = false;
		if (tgid && key.tgid != tgid)
			continue;
		seen = site_seen(c, &key, kind);
		if (!seen)
			continue;
		if (kind == SITE_GO)
			seen->now = (struct cw_site){ .bytes = v.g.alive, .samples = v.g.created };
		else
			seen->now = v.s;
		if (!seen->group) {
			site_name(c, seen, kind == SITE_GO ? v.g.start : 0);
			seen->join = seen->group;
		}
	}
	if (kind == SITE_GO || (kind == SITE_HEAP && c->o->probe.unwind_dwarf))
		join_sites(c, kind, tgid, now);
	/* one record per group: the sum of its stacks, when it changed */
	for (size_t i = 0; i < c->nseen; i++) {
		struct site_seen *lead = &c->seen[i];
		struct cw_site sum = {};
		bool is_lead = true;

		if (lead->kind != kind || !lead->group || (tgid && lead->key.tgid != tgid) ||
		    lead->join != lead->group)
			continue;
		for (size_t j = 0; j < c->nseen && is_lead; j++) {
			const struct site_seen *o = &c->seen[j];

			if (o->kind != kind || o->join != lead->group || o->key.tgid != lead->key.tgid)
				continue;
			if (j < i && o->join == o->group)
				is_lead = false;	/* an earlier entry speaks for the group */
			sum.bytes += o->now.bytes;
			sum.samples += o->now.samples;
		}
		if (!is_lead || (sum.bytes == lead->sent.bytes && sum.samples == lead->sent.samples))
			continue;
		lead->sent = sum;
		site_deliver(c, lead, sum, now);
	}
}

/*
 * A Go program's thread on its system stack (cgo, or the runtime's own
 * systemstack): the unwind of the copy ends there, or wanders off; the
 * goroutine it runs for (taken by the kernel side) carries on from the last
 * frame that is code.
 */
static int go_frames(struct collector *c, const struct cw_ev_ustack *e, __u64 *ips, int n)
{
	char f[CW_FRAME_LEN];

	maps_refresh(c, (pid_t)e->h.tgid, e->h.ts);
	for (int i = 1; i < n; i++) {
		symbolize__addr(c->sym, (pid_t)e->h.tgid, ips[i] - 1, f, sizeof(f));
		if (strstr(f, "(not code")) {
			n = i;
			break;
		}
	}
	for (__u32 i = 0; i < e->ngo && i < CW_USTACK_GO && n < CW_STACK_DEPTH; i++)
		ips[n++] = e->go[i];
	return n;
}

/*
 * --unwind=dwarf: a --heap sample with a copy of its stack. Unwound with
 * DWARF CFI, or else the kernel's frame-pointer walk of it; either way the
 * frames are interned under an id of user space's own (never a cw_stacks
 * id, which the kernel's cw_sites uses) and the sample charged to that site,
 * named now, while the process and its mappings are there.
 */
static void ustack_sample(struct collector *c, const struct cw_ev_ustack *e, size_t len)
{
	__u64 ips[CW_STACK_DEPTH];
	struct cw_site_key k = { .tgid = e->h.tgid, .instance = e->h.instance };
	struct site_seen *seen;
	int n = unwind__sample(c->unwind, e, len, ips, CW_STACK_DEPTH);

	if (!n && e->stack >= 0)
		n = probes__stack(c->probes, e->stack, ips);
	if (e->ngo && n > 0)
		n = go_frames(c, e, ips, n);
	k.stack = unwind__intern(c->unwind, e->h.tgid, ips, n);
	if (k.stack < 0 || !(seen = site_seen(c, &k, SITE_HEAP)))
		return;
	seen->now.bytes += e->weight;
	seen->now.samples++;
	if (!seen->group) {
		maps_refresh(c, (pid_t)e->h.tgid, e->h.ts);
		site_name(c, seen, 0);
		seen->join = seen->group;
	}
}

/* Events lost, if any: which records and why, so a lossy run says where to look. */
static void lost_log(struct collector *c)
{
	static const char *const name[CW_TYPE_MAX] = {
		[CW_EV_TARGET_NEW] = "target", [CW_EV_EXEC] = "exec", [CW_EV_EXIT] = "exit",
		[CW_EV_PEAK] = "peak", [CW_EV_MMAP] = "mmap", [CW_EV_CODE] = "code",
		[CW_EV_MODULE] = "module", [CW_EV_INSTANCE_NEW] = "instance_new",
		[CW_EV_INSTANCE_END] = "instance_end", [CW_EV_CALL] = "call",
		[CW_EV_HOST_CALL] = "host_call", [CW_EV_GROW] = "grow", [CW_EV_ALERT] = "alert",
		[CW_EV_MEMORY] = "memory", [CW_EV_CRASH] = "crash", [CW_REC_SITE] = "heap site",
		[CW_REC_THREAD_SITE] = "thread site", [CW_REC_GO_SITE] = "goroutine site",
		[CW_REC_GO_STATS] = "goroutine", [CW_REC_CGO_SITE] = "cgo site",
		[CW_EV_USTACK] = "stack copy",
	};
	__u64 by[CW_DROPS_LEN];
	char text[512] = "";
	size_t o = 0;

	probes__lost_by(c->probes, by);
	for (int i = 0; i < CW_DROPS_LEN && o < sizeof(text); i++) {
		int type = i / CW_DROP_NR;

		if (by[i])
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s%llu %s (%s)",
					      o ? ", " : "", (unsigned long long)by[i],
					      name[type] ? name[type] : "other",
					      i % CW_DROP_NR == CW_DROP_RINGBUF ? "ring buffer full" :
										  "map full");
	}
	if (o)
		cw_warn("events lost: %s; a larger --ringbuf or --max-targets may help", text);
}

/* --unwind=dwarf: what the unwinder did, for -v. */
static void unwind_log(struct collector *c)
{
	struct unwind_stats st;
	__u64 sent, full;

	unwind__stats(c->unwind, &st);
	probes__unwind_counts(c->probes, &sent, &full);
	cw_debug("unwind: %llu stack copies sent, %llu kept on frame pointers (ring buffer full); "
		 "%llu unwound with DWARF (%.1f frames on average), %llu fell back to frame "
		 "pointers; %llu sessions; %.1f us per stack",
		 (unsigned long long)sent, (unsigned long long)full, (unsigned long long)st.dwarf,
		 st.dwarf ? (double)st.frames / (double)st.dwarf : 0.0,
		 (unsigned long long)(st.samples - st.dwarf), (unsigned long long)st.sessions,
		 st.samples ? (double)st.ns / 1e3 / (double)st.samples : 0.0);
}

/*
 * Deliver the Go figures of @tgid (0: every Go target): the kernel's counters,
 * the heap, and goroutines alive summed over their sites (just refreshed).
 */
static void snapshot_go(struct collector *c, __u32 tgid, __u64 now)
{
	struct cw_rec_go_stats r;

	if (!c->go)
		return;
	for (size_t i = 0; i < c->model->n; i++) {
		const struct model_target *t = &c->model->t[i];

		if ((tgid && t->pid != tgid) || (!tgid && t->state != MODEL_RUNNING) ||
		    golang__stats(c->go, (pid_t)t->pid, &r))
			continue;
		r.h.ts = now;
		for (size_t j = 0; j < c->nseen; j++) {
			const struct site_seen *s = &c->seen[j];

			if (s->kind == SITE_GO && s->key.tgid == t->pid) {
				if (s->system)
					r.system += s->now.bytes;
				else
					r.user += s->now.bytes;
			}
		}
		deliver(c, &r, sizeof(r));
	}
}

/* Let the symbolizer forget @pid's mappings, and binaries no process maps any more. */
static void symbols_forget(struct collector *c, pid_t pid)
{
	symbolize__forget(c->sym, pid);
	if (c->maps_pid == pid)
		c->maps_pid = 0;
}

/*
 * Target @tgid is gone and its last figures were delivered: forget what
 * cwatch kept under its pid (runtime settled, Go state, the kernel's
 * instances and sites, the sites' last figures), so a process that reuses
 * the pid starts afresh and nothing grows with the targets that came and went.
 */
static void target_retire(struct collector *c, __u32 tgid)
{
	size_t k = 0;

	for (size_t i = 0; i < c->nsettled; i++)
		if (c->settled[i] != (pid_t)tgid)
			c->settled[k++] = c->settled[i];
	c->nsettled = k;
	if (c->go)
		golang__forget(c->go, (pid_t)tgid);
	runtime__release(c->runtime, (pid_t)tgid);
	probes__forget_tgid(c->probes, tgid);
	symbols_forget(c, (pid_t)tgid);
	k = 0;
	for (size_t i = 0; i < c->nseen; i++)
		if (c->seen[i].key.tgid != tgid)
			c->seen[k++] = c->seen[i];
	c->nseen = k;
	if (c->maps_pid == (pid_t)tgid)
		c->maps_pid = 0;
}

/*
 * The sites of instances that ended (their last figures delivered at least
 * one snapshot ago) or that the model let go: their entries here and in the
 * kernel's maps go, so a host that runs instance after instance for weeks
 * holds no more than its live ones need, and a new instance that gets an
 * old one's key starts from nothing.
 */
static void sites_forget_ended(struct collector *c, __u64 now)
{
	const struct model *m = c->model;
	size_t k = 0;

	for (size_t i = 0; i < c->nseen; i++) {
		struct site_seen *s = &c->seen[i];
		const struct model_instance *in = NULL;
		bool gone = false;

		/* thread sites once their threads are gone: their exits still find them */
		if (s->key.instance &&
		    (s->kind == SITE_HEAP || (s->kind == SITE_THREAD && !s->now.bytes)) &&
		    !model__instance(c->model, s->key.tgid, s->key.instance) &&
		    model__live(c->model, s->key.tgid)) {
			for (size_t j = m->ninst; j > 0 && !in; j--)
				if (m->inst[j - 1].pid == s->key.tgid &&
				    m->inst[j - 1].key == s->key.instance)
					in = &m->inst[j - 1];
			gone = !in || in->ended_ts + 2 * c->o->interval_ns <= now;
		}
		if (!gone) {
			c->seen[k++] = *s;
			continue;
		}
		probes__map_delete(c->probes, site_maps[s->kind].map, &s->key, sizeof(s->key));
		c->seen_evicted++;
	}
	c->nseen = k;
}

/* Read every target's counters from the kernel and deliver them as snapshots. */
static void snapshot(struct collector *c, __u64 now)
{
	struct cw_rec_stats r = {};
	__u32 key = 0;
	bool first = true;

	r.h.type = CW_REC_STATS;
	r.h.size = sizeof(r);
	r.h.ts = now;
	probes__clock_sync(c->probes);
	r.lost = probes__lost(c->probes);
	deliver(c, &r, sizeof(r));	/* tgid 0: the loss count alone */
	while (probes__next(c->probes, &key, first, &r.stats)) {
		first = false;
		r.h.tgid = key;
		deliver(c, &r, sizeof(r));
		if (r.stats.flags & CW_F_EXITED) {
			probes__forget(c->probes, key);
			snapshot_sites(c, key, now);
			snapshot_go(c, key, now);
			target_retire(c, key);
		} else {
			settle_runtime(c, (pid_t)key, NULL);
			symbolize__maps(c->sym, (pid_t)key);
		}
	}
	snapshot_instances(c, now);
	if (c->go)
		golang__sweep(c->go);
	snapshot_sites(c, 0, now);
	snapshot_go(c, 0, now);
	sites_forget_ended(c, now);
}

/*
 * Load --profile files and choose the candidate profiles: --runtime NAME fixes
 * one for every target, "none" turns runtime probes off, otherwise the files
 * and then the built-ins are matched against each target. 0, 1 or 2 (printed).
 */
static int choose_profiles(const struct run_opts *o, struct profile *out, int *n,
			   enum runtime_mode *mode)
{
	char err[512];

	*n = 0;
	*mode = RUNTIME_AUTO;
	for (int i = 0; i < o->nprofile_files; i++) {
		if (profile__load(o->profile_files[i], &out[*n], err, sizeof(err))) {
			cw_err("--profile: %s", err);
			return 1;
		}
		(*n)++;
	}
	/* go: goroutines and cgo only (they are on for Go programs unless "none") */
	if (o->runtime && (!strcmp(o->runtime, "none") || !strcmp(o->runtime, "go"))) {
		*mode = RUNTIME_NONE;
		return 0;
	}
	if (o->runtime) {
		const struct profile *b = profile__find(o->runtime);

		for (int i = 0; i < *n && !b; i++)
			if (!strcmp(out[i].name, o->runtime))
				b = &out[i];
		if (!b) {
			cw_err("--runtime: no profile named '%s' (see cwatch profiles)", o->runtime);
			return 2;
		}
		out[0] = *b;
		*n = 1;
		*mode = RUNTIME_FIXED;
		return 0;
	}
	for (size_t i = 0; i < profile__nr_builtin() && *n < RUNTIME_MAX_PROFILES; i++)
		out[(*n)++] = *profile__builtin(i);
	return 0;
}

static bool is_settled(const struct collector *c, pid_t pid)
{
	for (size_t i = 0; i < c->nsettled; i++)
		if (c->settled[i] == pid)
			return true;
	return false;
}

/*
 * Attach the runtime probes @pid needs, once a profile fits it (@exe: the
 * file it is about to exec, when still held). Targets whose runtime is
 * settled are not looked at again; others are, on exec and every interval.
 */
static int settle_runtime(struct collector *c, pid_t pid, const char *exe)
{
	int pi;

	if (!c->runtime || is_settled(c, pid))
		return 0;
	privs__attach(true);	/* uprobe perf events take CAP_SYS_ADMIN: only meanwhile */
	pi = settle_attach(c, pid, exe);
	privs__attach(false);
	return pi;
}

/* settle_runtime's attaching, with the capability for it raised. */
static int settle_attach(struct collector *c, pid_t pid, const char *exe)
{
	int pi;

	/* crash forensics, whatever the runtime; its mappings now, in case it dies young */
	crash__attach_go(c->probes, pid, exe);
	if (!exe) {
		symbolize__maps(c->sym, pid);
		unwind__prepare(c->unwind, pid);
	}
	pi = runtime__attach(c->runtime, pid, exe);
	/* cgo figures only without a profile: a WASM host's C memory is its runtime's */
	if (c->go)
		golang__attach(c->go, pid, exe, pi < 0);
	if (pi >= 0) {
		struct cw_rec_runtime rr = {};

		rr.h.type = CW_REC_RUNTIME;
		rr.h.size = sizeof(rr);
		rr.h.tgid = (__u32)pid;
		rr.h.ts = util__mono_ns();
		rr.profile = (__u32)pi;
		util__strlcpy(rr.name, runtime__profile(c->runtime, pi)->name, sizeof(rr.name));
		if (c->started || c->npending_rt == MAX_PIDS + 1)
			deliver(c, &rr, sizeof(rr));
		else
			c->pending_rt[c->npending_rt++] = rr;
	}
	/* settled either way: a profile that does not fit is said once */
	if (pi != -ENOENT || c->o->runtime || c->o->nprofile_files)
		if (c->nsettled < sizeof(c->settled) / sizeof(c->settled[0]))
			c->settled[c->nsettled++] = pid;
	return pi;
}

/*
 * --record: the file, its header (what a replay needs, and a description for
 * people), and first the rules in force, so a replay decides with them.
 */
static int start_recording(struct collector *c, __u64 start_ts, __s64 wall_offset)
{
	const struct run_opts *o = c->o;
	struct record_header h = { .start_ts = start_ts, .wall_offset = wall_offset,
				   .flags = o->probe.heap_sample ? RECORD_F_HEAP : 0 };
	struct cw_rec_rules *rr = calloc(1, sizeof(*rr));
	struct utsname u;
	struct json j;
	char when[32];
	time_t now = time(NULL);

	if (!rr) {
		cw_err("out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < RECORD_PROFILES && c->profile_name_ptrs[i]; i++) {
		util__strlcpy(h.profile[i], c->profile_name_ptrs[i], sizeof(h.profile[i]));
		h.nprofiles = (__u32)i + 1;
	}
	uname(&u);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json__init(&j);
	json__str(&j, "host", u.nodename);
	json__str(&j, "kernel", u.release);
	json__str(&j, "cwatch", CWATCH_VERSION);
	json__str(&j, "start", when);
	json__str(&j, "rules", o->rules_path ? o->rules_path : "defaults");
	json__arr(&j, "profiles");
	for (__u32 i = 0; i < h.nprofiles; i++)
		json__str(&j, NULL, h.profile[i]);
	json__close(&j, ']');
	json__arr(&j, "targets");
	for (int i = 0; i < o->npids; i++)
		target_json_desc(&j, o->pids[i]);
	json__close(&j, ']');
	if (o->argv) {
		char exe[4096], id[48];

		json__str(&j, "command", o->argv[0]);
		if (!target__which(o->argv[0], exe, sizeof(exe))) {
			json__str(&j, "command_path", exe);
			json__str(&j, "command_build_id",
				  elfsym__build_id(exe, id, sizeof(id)) ? "" : id);
		}
	}
	json__end(&j);
	c->rec = record_writer__new(o->record_path, &h, json__text(&j), o->record_max);
	json__free(&j);
	if (!c->rec) {
		/* like a port in use for --listen: said, and monitoring goes on */
		cw_err("recording to %s failed: %s; monitoring goes on without a recording",
		       o->record_path, strerror(errno));
		free(rr);
		return 0;
	}
	rr->h.type = CW_REC_RULES;
	rr->h.size = sizeof(*rr);
	rr->h.ts = start_ts;
	if (o->rules_path) {
		FILE *f = fopen(o->rules_path, "re");

		if (f) {
			rr->len = (__u32)fread(rr->text, 1, sizeof(rr->text) - 1, f);
			fclose(f);
		}
	}
	deliver(c, rr, sizeof(*rr));
	free(rr);
	return 0;
}

/* A target and the binaries it maps, with build-ids, for a recording's header. */
static void target_json_desc(struct json *j, pid_t pid)
{
	char path[64], line[4608], exe[4096] = "", last[4096] = "", id[48];
	FILE *f;

	json__obj(j, NULL);
	json__u64(j, "pid", (__u64)pid);
	if (!target__exe(pid, exe, sizeof(exe)))
		json__str(j, "exe", exe);
	json__arr(j, "binaries");
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/'), full[4200];

		if (!file || !strstr(line, " r-xp "))
			continue;
		file[strcspn(file, "\n")] = '\0';
		if (!strcmp(file, last))
			continue;
		util__strlcpy(last, file, sizeof(last));
		snprintf(full, sizeof(full), "/proc/%d/root%s", pid, file);
		json__obj(j, NULL);
		json__str(j, "path", file);
		json__str(j, "build_id", elfsym__build_id(full, id, sizeof(id)) ? "" : id);
		json__close(j, '}');
	}
	if (f)
		fclose(f);
	json__close(j, ']');
	json__close(j, '}');
}

/* Did the user name the runtime (so a misfit is an error, not a guess that failed)? */
static bool explicit_runtime(const struct run_opts *o)
{
	return (o->runtime && strcmp(o->runtime, "none")) || o->nprofile_files;
}

/* Make @pid a target and tell the model; 0 or -errno (printed). */
static int add_target(struct collector *c, pid_t pid, __u32 why)
{
	struct target_status st;
	struct cw_rec_attach a = {};
	__u64 now = util__mono_ns();
	int err;

	err = target__status(pid, &st);
	if (err) {
		if (err == -ESRCH)
			cw_err("no live process with pid %d", pid);
		else
			cw_err("reading /proc/%d/status failed: %s", pid, strerror(-err));
		return err;
	}
	if (st.tgid != pid) {
		cw_err("%d is a thread of process %d; watch the process instead", pid, st.tgid);
		return -EINVAL;
	}
	err = probes__add_target(c->probes, pid, &st, why, now);
	if (err == -EEXIST)
		return 0;	/* already a target: a child, or matched twice */
	if (err) {
		cw_err("adding target %d failed: %s", pid, strerror(-err));
		return err;
	}
	a.h.type = CW_REC_ATTACH;
	a.h.size = sizeof(a);
	a.h.tgid = pid;
	a.h.ts = now;
	a.reason = why;
	util__strlcpy(a.comm, st.comm, sizeof(a.comm));
	if (target__exe(pid, a.exe, sizeof(a.exe)))
		a.exe[0] = '\0';
	if (why == CW_WHY_LAUNCH) {
		/* still cwatch's fork, held before exec: name it after the command */
		const char *base = strrchr(c->o->argv[0], '/');

		util__strlcpy(a.comm, base ? base + 1 : c->o->argv[0], sizeof(a.comm));
		util__strlcpy(a.exe, c->o->argv[0], sizeof(a.exe));
	}
	if (c->started || c->npending == MAX_PIDS + 1)
		deliver(c, &a, sizeof(a));
	else
		c->pending[c->npending++] = a;
	return 0;
}

/* A process found by a scan: made a target unless it is one, or gone already (quietly). */
static void add_matched(pid_t pid, __u32 why, void *ctx)
{
	struct collector *c = ctx;
	struct target_status st;

	if (pid == getpid() || model__live(c->model, (__u32)pid) ||
	    target__status(pid, &st) || st.tgid != pid)
		return;
	add_target(c, pid, why);
}

#define MMAP_LINES_DEFAULT 1000

/* --mmap-lines=N: 0 (all) to a million. */
static int parse_mmap_lines(const char *arg, __u32 *out)
{
	__u64 v;

	if (util__parse_u64(arg, 0, 1000000, &v)) {
		cw_err("--mmap-lines: '%s' is not a number from 0 to 1000000", arg);
		return -1;
	}
	*out = (__u32)v;
	return 0;
}

/* Parse `cwatch run` options into @o; 0, or 2 after printing a usage error. */
static int parse_run(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "exe", required_argument, NULL, 'e' },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "ringbuf", required_argument, NULL, 'R' },
		{ "max-targets", required_argument, NULL, 'T' },
		{ "mmap-min", required_argument, NULL, 'M' },
		{ "peak-step", required_argument, NULL, 'S' },
		{ "btf", required_argument, NULL, 'B' },
		{ "tracefs", required_argument, NULL, 'F' },
		{ "runtime", required_argument, NULL, 'r' },
		{ "profile", required_argument, NULL, 'P' },
		{ "heap", no_argument, NULL, 'H' },
		{ "heap-sample", required_argument, NULL, 'Q' },
		{ "unwind", required_argument, NULL, 'U' },
		{ "rules", required_argument, NULL, 'u' },
		{ "enforce", no_argument, NULL, 'E' },
		{ "listen", required_argument, NULL, 'L' },
		{ "web-config", required_argument, NULL, 'W' },
		{ "metrics-max-instances", required_argument, NULL, 'X' },
		{ "metrics-grace", required_argument, NULL, 'G' },
		{ "record", required_argument, NULL, 'o' },
		{ "record-max", required_argument, NULL, 'm' },
		{ "cgroup", required_argument, NULL, 'C' },
		{ "keep-gone", required_argument, NULL, 'K' },
		{ "mmap-lines", required_argument, NULL, 'Y' },
		{},
	};
	__u64 v;
	int opt, err;

	o->interval_ns = 1000000000ULL;
	o->metrics.max_instances = 100;
	o->metrics.grace_ns = 60000000000ULL;
	detect__defaults(&o->rules);
	o->probe.max_targets = 4096;
	o->keep_gone = MODEL_KEEP_GONE;
	o->probe.ringbuf_bytes = 1 << 20;
	o->probe.mmap_min = 1 << 20;
	o->mmap_lines = MMAP_LINES_DEFAULT;
	o->probe.peak_step = 1 << 20;
	optind = 1;
	opterr = 0;
	bool unwind_given = false;
	while ((opt = getopt_long(argc, argv, "+p:c:e:i:d:jvhr:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (util__parse_u64(optarg, 1, INT32_MAX, &v)) {
				cw_err("--pid: '%s' is not a process id", optarg);
				return 2;
			}
			if (o->npids == MAX_PIDS) {
				cw_err("--pid: at most %d", MAX_PIDS);
				return 2;
			}
			o->pids[o->npids++] = (pid_t)v;
			break;
		case 'c':
			if (target__match_comm(&o->match, optarg)) {
				cw_err("--comm: '%s' is not a process name (1 to 15 characters)", optarg);
				return 2;
			}
			break;
		case 'e':
			err = target__match_exe(&o->match, optarg);
			if (err) {
				cw_err("--exe: %s: %s", optarg,
				       err == -EINVAL ? "not a regular file" : strerror(-err));
				return 2;
			}
			break;
		case 'C':
			err = target__match_cgroup(&o->match, optarg);
			if (err) {
				cw_err("--cgroup: %s: %s", optarg,
				       err == -ENOTDIR ? "not a cgroup v2 directory" : strerror(-err));
				return 2;
			}
			break;
		case 'i':
			if (util__parse_seconds(optarg, &o->interval_ns) ||
			    o->interval_ns < 10000000ULL) {
				cw_err("--interval: '%s' is not a number of seconds >= 0.01", optarg);
				return 2;
			}
			break;
		case 'd':
			if (util__parse_seconds(optarg, &o->duration_ns)) {
				cw_err("--duration: '%s' is not a positive number of seconds", optarg);
				return 2;
			}
			break;
		case 'j':
			o->json = true;
			util_json_errors = true;
			break;
		case 'v':
			util_verbosity = UTIL_DEBUG;
			break;
		case 'h':
			fputs(usage_run, stdout);
			exit(0);
		case 'R':
			if (util__parse_bytes(optarg, &v) || v < 4096 || (v & (v - 1)) ||
			    v > (1ULL << 30)) {
				cw_err("--ringbuf: '%s' is not a power of two from 4K to 1G", optarg);
				return 2;
			}
			o->probe.ringbuf_bytes = v;
			break;
		case 'T':
			if (util__parse_u64(optarg, 1, 1 << 20, &v)) {
				cw_err("--max-targets: '%s' is not a number from 1 to 1048576", optarg);
				return 2;
			}
			o->probe.max_targets = (__u32)v;
			break;
		case 'M':
			if (util__parse_bytes(optarg, &o->probe.mmap_min)) {
				cw_err("--mmap-min: '%s' is not a byte count", optarg);
				return 2;
			}
			break;
		case 'Y':
			if (parse_mmap_lines(optarg, &o->mmap_lines))
				return 2;
			break;
		case 'S':
			if (util__parse_bytes(optarg, &o->probe.peak_step) || !o->probe.peak_step) {
				cw_err("--peak-step: '%s' is not a positive byte count", optarg);
				return 2;
			}
			break;
		case 'B':
			o->probe.btf_path = optarg;
			break;
		case 'F':
			o->probe.tracefs = optarg;
			break;
		case 'r':
			o->runtime = strcmp(optarg, "auto") ? optarg : NULL;
			break;
		case 'P':
			if (o->nprofile_files == MAX_PROFILES) {
				cw_err("--profile: at most %d", MAX_PROFILES);
				return 2;
			}
			o->profile_files[o->nprofile_files++] = optarg;
			break;
		case 'H':
			if (!o->probe.heap_sample)
				o->probe.heap_sample = 64 << 10;
			break;
		case 'u': {
			char err[512];

			if (rules__load(optarg, &o->rules, err, sizeof(err))) {
				cw_err("--rules: %s", err);
				return 1;
			}
			o->rules_path = optarg;
			break;
		}
		case 'E':
			o->enforce = true;
			break;
		case 'L':
			o->metrics.listen = optarg;
			break;
		case 'o':
			o->record_path = optarg;
			break;
		case 'm':
			if (util__parse_bytes(optarg, &o->record_max) || o->record_max < (64 << 10)) {
				cw_err("--record-max: '%s' is not a byte count of at least 64K", optarg);
				return 2;
			}
			break;
		case 'W':
			o->metrics.web_config = optarg;
			break;
		case 'X':
			if (util__parse_u64(optarg, 1, 100000, &v)) {
				cw_err("--metrics-max-instances: '%s' is not a number from 1 to 100000",
				       optarg);
				return 2;
			}
			o->metrics.max_instances = (__u32)v;
			break;
		case 'G':
			if (util__parse_seconds(optarg, &o->metrics.grace_ns)) {
				cw_err("--metrics-grace: '%s' is not a positive number of seconds", optarg);
				return 2;
			}
			break;
		case 'Q':
			if (util__parse_bytes(optarg, &v) || v < 4096 || v > (1ULL << 30)) {
				cw_err("--heap-sample: '%s' is not a byte count from 4K to 1G", optarg);
				return 2;
			}
			o->probe.heap_sample = v;
			break;
		case 'K':
			if (util__parse_u64(optarg, 0, 10000000, &v)) {
				cw_err("--keep-gone: '%s' is not a number from 0 to 10000000", optarg);
				return 2;
			}
			o->keep_gone = (__u32)v;
			break;
		case 'U':
			if (strcmp(optarg, "fp") && strcmp(optarg, "dwarf")) {
				cw_err("--unwind: '%s' is not fp or dwarf", optarg);
				return 2;
			}
			o->probe.unwind_dwarf = !strcmp(optarg, "dwarf");
			unwind_given = true;
			break;
		default:
			if (optopt && strchr("pcidrRTMSBFPQUuLWXGomCK", optopt))
				cw_err("option '-%c' needs a value (see cwatch run --help)", optopt);
			else if (optopt)
				cw_err("unknown option '-%c' (see cwatch run --help)", optopt);
			else
				cw_err("unknown option or missing value: '%s' (see cwatch run --help)",
				       argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc)
		o->argv = &argv[optind];
	if (!o->npids && !o->match.ncomm && !o->match.nexe && !o->match.ncgroup && !o->argv) {
		cw_err("no target: give --pid, --comm, --exe, --cgroup or -- CMD (see cwatch run "
		       "--help)");
		return 2;
	}
	if (o->probe.unwind_dwarf && !o->probe.heap_sample) {
		cw_err("--unwind=dwarf goes with --heap (see cwatch run --help)");
		return 2;
	}
	/* --heap unwinds with DWARF unless told: frame pointers stop in glibc */
	if (!unwind_given && o->probe.heap_sample)
		o->probe.unwind_dwarf = true;
	o->probe.match = o->match.ncomm || o->match.nexe || o->match.ncgroup;
	o->probe.host_slow_ns = o->rules.rule[CW_RULE_HOST_SLOW].enabled ? o->rules.host_slow_ns : 0;
	if (o->record_max && !o->record_path) {
		cw_err("--record-max goes with --record (see cwatch run --help)");
		return 2;
	}
	if (o->metrics.web_config && !o->metrics.listen) {
		cw_err("--web-config goes with --listen (see cwatch run --help)");
		return 2;
	}
	/* the kernel side checks the syscall-level rules and kills for enforced ones */
	for (int k = CW_RULE_SPAWN; k <= CW_RULE_INJECT; k++) {
		if (!o->rules.rule[k].enabled)
			continue;
		o->probe.rules |= 1u << k;
		if (o->enforce && o->rules.rule[k].enforce)
			o->probe.enforce |= 1u << k;
	}
	return 0;
}

/* A header-only record that drives the view: CW_REC_TICK, CW_REC_END. */
static void marker(struct collector *c, __u16 type, __u64 ts)
{
	struct cw_hdr h = { .type = type, .size = sizeof(h), .ts = ts };

	deliver(c, &h, sizeof(h));
}

/*
 * SIGHUP: read the rule file again. Thresholds, allow-lists and severities
 * apply from now on, to the state as it is; a rule file that does not parse
 * is said and the rules stay as they were. Which kernel-side rules are on,
 * and enforced, is fixed when the programs load: that waits for a restart.
 */
static void reload_rules(struct collector *c, __u64 now)
{
	const char *path = c->o->rules_path;
	struct cw_rec_rules *rr;
	struct detect_rules rules;
	char err[512];
	FILE *f;

	if (!path) {
		if (!c->o->nprofile_files)
			cw_info("SIGHUP: no rule file to reload (the defaults are in force)");
		return;
	}
	detect__defaults(&rules);
	if (rules__load(path, &rules, err, sizeof(err))) {
		cw_err("SIGHUP: %s; the rules stay as they were", err);
		return;
	}
	rr = calloc(1, sizeof(*rr));
	f = rr ? fopen(path, "re") : NULL;
	if (!f) {
		free(rr);
		cw_err("SIGHUP: reading %s failed", path);
		return;
	}
	rr->len = (__u32)fread(rr->text, 1, sizeof(rr->text) - 1, f);
	fclose(f);
	rr->h.type = CW_REC_RULES;
	rr->h.size = sizeof(*rr);
	rr->h.ts = now;
	/* through deliver(): recorded, and applied the way a replay applies it */
	deliver(c, rr, sizeof(*rr));
	free(rr);
	if (probes__set_file_allow(c->probes, (const char (*)[60])rules.file_allow,
				   rules.nfile_allow))
		cw_warn("SIGHUP: the kernel-side file allow-list was not updated");
	cw_info("SIGHUP: rules reloaded from %s", path);
}

/*
 * SIGHUP: read the --profile files again. A profile that changed applies to
 * targets whose runtime is settled from now on; targets attached already
 * keep their probes, instances and figures. A file that does not load is
 * said and the profiles stay as they were.
 */
static void reload_profiles(struct collector *c)
{
	struct profile *prof = calloc(RUNTIME_MAX_PROFILES, sizeof(*prof));
	enum runtime_mode mode;
	int n = 0, changed;

	if (!c->o->nprofile_files || !c->runtime) {
		free(prof);
		return;
	}
	if (!prof || choose_profiles(c->o, prof, &n, &mode)) {
		cw_err("SIGHUP: the profiles stay as they were");
		free(prof);
		return;
	}
	changed = runtime__set_profiles(c->runtime, prof, n);
	for (int i = 0; changed > 0 && i < n && i < RUNTIME_MAX_PROFILES; i++)
		util__strlcpy(c->profile_names[i], prof[i].name, sizeof(c->profile_names[i]));
	free(prof);
	if (changed < 0)
		cw_err("SIGHUP: the profiles stay as they were (their number changed)");
	else
		cw_info("SIGHUP: profiles reloaded, %d changed (for targets attached from now on)",
			changed);
}

/* --listen: the metrics scrapes get from now on. */
static void publish(struct collector *c, __u64 now)
{
	struct exporter_health h = {};

	if (!c->exporter)
		return;
	h.records = c->model->records;
	h.malformed = c->model->bad_records + events__malformed(c->events);
	h.lost = c->model->lost;
	h.sym_binaries = symbolize__nbinaries(c->sym);
	h.site_cache_evicted = c->seen_evicted;
	probes__prog_stats(c->probes, &h.bpf_run_ns, &h.bpf_runs);
	if (exporter__publish(c->exporter, c->model, c->detect, &h, now))
		cw_warn("out of memory formatting metrics");
}

/* The collector loop: drain events on a short timer, snapshot every interval. */
static void collect(struct collector *c, pid_t launched)
{
	const struct run_opts *o = c->o;
	__u64 start = util__mono_ns(), next = start + o->interval_ns, now, flushed = start;
	bool rec_failed = false;

	while (!stop_flag) {
		int n = events__poll(c->events, 10);

		if (reload_flag) {
			reload_flag = 0;
			reload_rules(c, util__mono_ns());
			reload_profiles(c);
		}
		if (n < 0) {
			cw_err("reading the ring buffer failed: %s", strerror(-n));
			break;
		}
		if (launched > 0 && waitpid(launched, NULL, WNOHANG) == launched)
			launched = 0;
		now = util__mono_ns();
		if (o->duration_ns && now - start >= o->duration_ns)
			break;
		if (now >= next) {
			/* --cgroup: processes moved into it (no exec) join within an interval */
			target__scan_cgroups(&o->match, add_matched, c);
			snapshot(c, now);
			marker(c, CW_REC_TICK, now);
			publish(c, now);
			flushed = 0;	/* the snapshot goes to disk now */
			next += o->interval_ns;
			if (next <= now)
				next = now + o->interval_ns;
		}
		/* a recording loses at most a second to a crash, whatever the interval */
		if (c->rec && now - flushed >= 1000000000ULL) {
			int e = record_writer__flush(c->rec);

			if (e && !rec_failed)
				cw_err("recording to %s failed: %s", o->record_path, strerror(-e));
			rec_failed |= e != 0;
			flushed = now;
		}
		/* the lines of this round out together: one write, not one a record */
		report__flush(c->report);
		/* nothing left to watch and nothing new can appear */
		if (!o->probe.match && c->model->n && !model__nr_live(c->model))
			break;
	}
	events__poll(c->events, 0);
	snapshot(c, util__mono_ns());
	if (launched > 0)
		waitpid(launched, NULL, WNOHANG);
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o = {};
	struct collector c = { .o = &o };
	struct target_launch launch = { .go_fd = -1, .err_fd = -1 };
	struct report_opts ro = { .out = stdout };
	/*
	 * SA_RESTART: a write to stdout blocked on a full pipe (a reader that
	 * reads only at the end) is resumed after SIGINT, not failed with EINTR,
	 * which made stdio drop the lines it held. The main loop's wait
	 * (epoll_wait) returns EINTR whatever the flag says.
	 */
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	char exe[4096];
	int err, ret = 1;

	err = parse_run(argc, argv, &o);
	if (err)
		return err;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* check the cheap things first, so bad input costs no BPF load */
	for (int i = 0; i < o.npids; i++) {
		struct target_status st;

		if (target__status(o.pids[i], &st)) {
			cw_err("no live process with pid %d", o.pids[i]);
			return 1;
		}
	}
	c.model = model__new();
	if (c.model) {
		c.model->keep_gone = o.keep_gone;
		/* a gone target stays as long as its metrics do */
		if (o.metrics.grace_ns)
			c.model->grace_ns = o.metrics.grace_ns;
	}
	ro.json = o.json;
	ro.mmap_lines = o.mmap_lines;
	ro.redraw = !o.json && isatty(STDOUT_FILENO);
	ro.start_ts = util__mono_ns();
	ro.wall_offset = wall_offset_ns();
	c.report = report__new(&ro);
	if (!c.model || !c.report) {
		cw_err("out of memory");
		goto out;
	}
	c.probes = probes__load(&o.probe);
	if (!c.probes)
		goto out;
	{
		struct profile prof[RUNTIME_MAX_PROFILES];
		enum runtime_mode mode;
		int nprof;

		ret = choose_profiles(&o, prof, &nprof, &mode);
		if (ret)
			goto out;
		ret = 1;
		c.runtime = runtime__new(c.probes, mode, prof, nprof);
		if (!c.runtime) {
			cw_err("out of memory");
			goto out;
		}
		for (int i = 0; i < nprof; i++) {
			util__strlcpy(c.profile_names[i], prof[i].name, sizeof(c.profile_names[i]));
			c.profile_name_ptrs[i] = c.profile_names[i];
		}
		report__set_profiles(c.report, c.profile_name_ptrs, nprof);
	}
	c.sym = symbolize__new();
	if (!(c.unwind = unwind__new())) {
		cw_err("out of memory");
		goto out;
	}
	if (!o.runtime || strcmp(o.runtime, "none"))
		c.go = golang__new(c.probes);
	c.detect = detect__new(&o.rules);
	if (!c.sym || !c.detect) {
		cw_err("out of memory");
		goto out;
	}
	report__set_verdicts(c.report, c.detect);
	if (o.record_path && start_recording(&c, ro.start_ts, ro.wall_offset))
		goto out;
	/* a bad --listen or --web-config is a usage matter: said before anything runs */
	if (o.metrics.listen && exporter__check(&o.metrics))
		goto out;
	/* BPF statistics take CAP_SYS_ADMIN: before the capabilities go */
	if (o.metrics.listen && probes__enable_stats(c.probes))
		cw_debug("kernel BPF statistics unavailable: cwatch_bpf_run_seconds_total stays 0");
	report__set_heap(c.report, o.probe.heap_sample != 0);
	err = probes__set_file_allow(c.probes, (const char (*)[60])o.rules.file_allow,
				     o.rules.nfile_allow);
	if (err) {
		cw_err("setting the file allow-list failed: %s", strerror(-err));
		goto out;
	}
	c.events = events__new(probes__ringbuf_fd(c.probes), on_ring, &c);
	if (!c.events) {
		cw_err("setting up the ring buffer failed: %s", strerror(errno));
		goto out;
	}
	if (o.probe.match) {
		err = probes__set_match(c.probes, &o.match);
		if (err) {
			cw_err("setting up --comm/--exe matching failed: %s", strerror(-err));
			goto out;
		}
	}
	if (o.argv) {
		err = target__launch(o.argv, &launch);
		if (err) {
			cw_err("starting %s failed: %s", o.argv[0], strerror(-err));
			goto out;
		}
		if (add_target(&c, launch.pid, CW_WHY_LAUNCH))
			goto out;
		/* held before exec: its probes go where the command's binaries are */
		if (target__which(o.argv[0], exe, sizeof(exe)) == 0 &&
		    settle_runtime(&c, launch.pid, exe) < 0 && explicit_runtime(&o))
			goto out;
	}
	for (int i = 0; i < o.npids; i++) {
		if (add_target(&c, o.pids[i], CW_WHY_PID))
			goto out;
		/* a runtime the user named must fit: say which symbols are missing, stop */
		if (settle_runtime(&c, o.pids[i], NULL) < 0 && explicit_runtime(&o))
			goto out;
	}
	err = probes__attach(c.probes);
	if (err)
		goto out;
	/* attached: a process that matched and exited meanwhile produced no exit event */
	for (int i = 0; i < o.npids; i++) {
		struct target_status st;

		if (target__status(o.pids[i], &st)) {
			cw_err("process %d exited while cwatch was attaching", o.pids[i]);
			goto out;
		}
	}
	if (o.argv) {
		err = target__release(&launch);
		if (err) {
			cw_err("cannot run %s: %s", o.argv[0], strerror(-err));
			launch.pid = 0;
			goto out;
		}
	}
	/* loaded, attached, the command released: keep only what watching needs */
	privs__drop();
	/* capabilities are per thread: the server's threads start with the reduced set */
	if (o.metrics.listen) {
		c.exporter = exporter__new(&o.metrics);
		if (!c.exporter && errno == EINVAL)
			goto out;	/* a bad --listen or --web-config: said, and a usage matter */
		if (!c.exporter)
			cw_warn("monitoring goes on without metrics");
	}
	c.started = true;
	for (int i = 0; i < c.npending; i++)
		deliver(&c, &c.pending[i], sizeof(c.pending[i]));
	for (int i = 0; i < c.npending_rt; i++)
		deliver(&c, &c.pending_rt[i], sizeof(c.pending_rt[i]));
	if (o.match.ncomm || o.match.nexe)
		target__scan(&o.match, add_matched, &c);
	target__scan_cgroups(&o.match, add_matched, &c);
	if (!o.json && !ro.redraw)
		cw_info("watching %zu target%s; Ctrl-C stops", model__nr_live(c.model),
			model__nr_live(c.model) == 1 ? "" : "s");
	collect(&c, launch.pid);
	marker(&c, CW_REC_END, util__mono_ns());
	lost_log(&c);
	if (c.unwind)
		unwind_log(&c);
	ret = 0;
	if (c.rec) {
		err = record_writer__close(c.rec);
		c.rec = NULL;
		if (err) {
			cw_err("recording to %s failed: %s", o.record_path, strerror(-err));
			ret = 1;
		}
	}
out:
	if (launch.go_fd >= 0)
		target__abort(&launch);
	record_writer__close(c.rec);
	exporter__free(c.exporter);
	events__free(c.events);
	symbolize__free(c.sym);
	unwind__free(c.unwind);
	golang__free(c.go);
	detect__free(c.detect);
	free(c.seen);
	runtime__free(c.runtime);
	probes__free(c.probes);
	report__free(c.report);
	model__free(c.model);
	return ret;
}

/* `cwatch profiles`: the built-in profiles, one line each, then their probes. */
static int cmd_profiles(int argc, char **argv)
{
	bool verbose = argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--verbose"));

	if (argc > 1 && !verbose) {
		if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			printf("cwatch profiles: list the built-in runtime profiles\n\n"
			       "Usage: cwatch profiles [-v]\n\n"
			       "  -v, --verbose  also list each profile's probes\n");
			return 0;
		}
		cw_err("unknown option '%s' (see cwatch profiles --help)", argv[1]);
		return 2;
	}
	for (size_t i = 0; i < profile__nr_builtin(); i++) {
		const struct profile *p = profile__builtin(i);

		printf("%-10s %s\n", p->name, p->description);
		for (int q = 0; verbose && q < p->nprobes; q++) {
			const struct profile_probe *pp = &p->probe[q];

			printf("  %-16s %s in %s%s\n", profile__role_name(pp->role), pp->symbol,
			       pp->binary, pp->optional ? " (optional)" : "");
		}
	}
	return 0;
}

/* `cwatch probe`: which profile fits, and where each of its probes lands. */
static int cmd_probe(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "exe", required_argument, NULL, 'e' },
		{ "runtime", required_argument, NULL, 'r' },
		{ "profile", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct run_opts o = {};
	struct profile prof[RUNTIME_MAX_PROFILES];
	struct runtime_site sites[PROFILE_MAX_PROBES];
	enum runtime_mode mode;
	const char *exe = NULL;
	pid_t pid = 0;
	int opt, nprof, pi, n, missing = 0;
	__u64 v;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "p:e:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (util__parse_u64(optarg, 1, INT32_MAX, &v)) {
				cw_err("--pid: '%s' is not a process id", optarg);
				return 2;
			}
			pid = (pid_t)v;
			break;
		case 'e':
			exe = optarg;
			break;
		case 'r':
			o.runtime = strcmp(optarg, "auto") ? optarg : NULL;
			break;
		case 'P':
			if (o.nprofile_files == MAX_PROFILES) {
				cw_err("--profile: at most %d", MAX_PROFILES);
				return 2;
			}
			o.profile_files[o.nprofile_files++] = optarg;
			break;
		case 'h':
			fputs(usage_probe, stdout);
			return 0;
		default:
			cw_err("unknown option or missing value: '%s' (see cwatch probe --help)",
			       argv[optind - 1]);
			return 2;
		}
	}
	if (!pid == !exe || optind < argc) {
		cw_err("give one of --pid or --exe (see cwatch probe --help)");
		return 2;
	}
	if (pid) {
		struct target_status st;

		if (target__status(pid, &st)) {
			cw_err("no live process with pid %d", pid);
			return 1;
		}
	} else if (access(exe, R_OK)) {
		cw_err("%s: %s", exe, strerror(errno));
		return 1;
	}
	n = choose_profiles(&o, prof, &nprof, &mode);
	if (n)
		return n;
	if (mode == RUNTIME_NONE) {
		cw_err("--runtime none: no profile to check");
		return 2;
	}
	pi = mode == RUNTIME_FIXED ? 0 : runtime__match(prof, nprof, pid, exe);
	if (pi < 0) {
		printf("no runtime profile fits %s%s: cwatch treats it as a single instance\n",
		       pid ? "process " : "", exe ? exe : argv[optind - 1]);
		return 1;
	}
	printf("profile %s (%s): %s\n", prof[pi].name, prof[pi].source, prof[pi].description);
	n = runtime__resolve(&prof[pi], pid, exe, sites, PROFILE_MAX_PROBES);
	for (int i = 0; i < n; i++) {
		const struct runtime_site *s = &sites[i];

		if (!s->err)
			printf("  found    %-16s %s in %s at 0x%llx\n", profile__role_name(s->pp->role),
			       s->pp->symbol, s->path, (unsigned long long)s->off);
		else
			printf("  %-8s %-16s %s in %s: %s\n", s->pp->optional ? "absent" : "MISSING",
			       profile__role_name(s->pp->role), s->pp->symbol, s->path,
			       s->err == -ENOENT ? "not found" :
			       s->err == -EPERM ? "a Go function cannot take a return probe" :
			       strerror(-s->err));
		missing += s->err && !s->pp->optional;
	}
	if (missing) {
		cw_err("profile %s: %d required symbol%s missing", prof[pi].name, missing,
		       missing == 1 ? "" : "s");
		return 1;
	}
	return 0;
}

static const char usage_replay[] =
	"cwatch replay: run a recording through the same analysis, with the same verdicts\n"
	"\n"
	"Usage: cwatch replay [options] FILE\n"
	"\n"
	"  -j, --json              JSON lines instead of the table\n"
	"      --from=SECONDS      print only what happened from SECONDS after the start\n"
	"      --to=SECONDS        ... and up to SECONDS after the start\n"
	"      --instance=N        print only instance N's records and verdicts\n"
	"      --mmap-lines=N      with --json, print at most N mmap lines a second per\n"
	"                          target (default 1000, 0: all), as the live run\n"
	"  -h, --help              print this help\n"
	"\n"
	"The output is what the live run printed (the summary covers everything). A\n"
	"recording cut short (a crash) is read up to its last whole chunk, and cwatch\n"
	"says where it stops; a damaged one is an error naming the offset.\n"
	"\n"
	"Examples:\n"
	"  cwatch replay node.cwr\n"
	"  cwatch replay --json --instance 2 node.cwr\n";

/*
 * Every record of @rr through analyse() (the rule file recorded first sets
 * the rules), and into @pg's timelines if given; the summary at the end.
 * 0, or 1 for a damaged file (a file cut short is only a warning).
 */
static int replay_records(struct record_reader *rr, const char *path, struct model *m,
			  struct detect **dp, struct report *r, struct page *pg)
{
	struct detect_rules rules;
	__u64 last = 0;
	bool ended = false;
	char err[512];
	int n, ret = 0;

	detect__defaults(&rules);
	for (;;) {
		const void *rec;
		const struct cw_hdr *hd;
		size_t len;

		n = record_reader__next(rr, &rec, &len, err, sizeof(err));
		if (n <= 0)
			break;
		hd = rec;
		if (hd->type == CW_REC_RULES && !*dp) {
			const struct cw_rec_rules *rl = rec;
			char perr[512];

			/* the rules the live run decided with (it comes first) */
			if (len >= sizeof(*rl) && rl->len && rl->len < sizeof(rl->text) &&
			    rules__parse(rl->text, rl->len, "recorded rules", &rules, perr,
					 sizeof(perr)))
				cw_warn("%s; replaying with the default rules", perr);
		}
		if (!*dp) {
			*dp = detect__new(&rules);
			if (!*dp) {
				cw_err("out of memory");
				return 1;
			}
			report__set_verdicts(r, *dp);
		}
		last = hd->ts > last ? hd->ts : last;
		ended |= hd->type == CW_REC_END;
		if (analyse(m, *dp, r, rec, len) == -ENOMEM) {
			cw_err("out of memory in the instance model");
			return 1;
		}
		if (pg)
			page__sample(pg, m, rec);
	}
	if (n < 0) {
		bool cut = strstr(err, "cut short") != NULL;

		/* a crash leaves a file cut short: what came before it is all there is */
		if (cut)
			cw_warn("%s: %s", path, err);
		else
			cw_err("%s: %s", path, err);
		ret = cut ? 0 : 1;
	}
	if (!ended)
		report__summary(r, m, last);
	return ret;
}

/*
 * Open recording @path for replay or report: @ro gets its times and profile
 * names (kept in @names). NULL after printing why it cannot be read.
 */
static struct record_reader *replay_open(const char *path, struct report_opts *ro,
					 const char **names)
{
	char err[512];
	struct record_reader *rr = record_reader__open(path, err, sizeof(err));
	const struct record_header *h;

	if (!rr) {
		cw_err("%s", err);
		return NULL;
	}
	h = record_reader__header(rr);
	for (__u32 i = 0; i < h->nprofiles; i++)
		names[i] = h->profile[i];
	ro->start_ts = h->start_ts;
	ro->wall_offset = h->wall_offset;
	ro->profile_names = names;
	ro->nprofiles = (int)h->nprofiles;
	return rr;
}

static const char usage_report[] =
	"cwatch report: an HTML page, or folded stacks, from a recording\n"
	"\n"
	"Usage: cwatch report [options] FILE\n"
	"\n"
	"  -o, --output=PAGE       write the page to PAGE (default: FILE.html)\n"
	"      --folded            write folded stacks of the heap sites to stdout instead,\n"
	"                          for flamegraph.pl, speedscope, inferno\n"
	"  -h, --help              print this help\n"
	"\n"
	"The page is one self-contained file (inline SVG, no scripts, no network):\n"
	"memory and thread timelines per target and instance with peaks and verdicts\n"
	"marked, a flame graph of where memory grew (recordings made with --heap), the\n"
	"verdicts and the sandbox-escape events with their stacks.\n"
	"\n"
	"Examples:\n"
	"  cwatch report node.cwr\n"
	"  cwatch report --folded node.cwr | flamegraph.pl > leaks.svg\n";

/* `cwatch report`: replay quietly, then write the page or the folded stacks. */
static int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "folded", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct report_opts ro = {};
	struct record_reader *rr;
	struct model *m = NULL;
	struct detect *d = NULL;
	struct report *r = NULL;
	struct page *pg = NULL;
	const struct record_header *h;
	const char *names[RECORD_PROFILES], *out = NULL;
	char page[4096];
	bool folded = false;
	FILE *f;
	int opt, ret = 1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'F':
			folded = true;
			break;
		case 'h':
			fputs(usage_report, stdout);
			return 0;
		default:
			cw_err("unknown option or missing value: '%s' (see cwatch report --help)",
			       argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		cw_err("give one recording (see cwatch report --help)");
		return 2;
	}
	rr = replay_open(argv[optind], &ro, names);
	if (!rr)
		return 1;
	h = record_reader__header(rr);
	/* the analysis runs as in a replay; only the page is written */
	ro.out = fopen("/dev/null", "we");
	ro.json = true;
	m = model__new();
	r = ro.out ? report__new(&ro) : NULL;
	pg = page__new();
	if (!m || !r || !pg) {
		cw_err("out of memory");
		goto out;
	}
	if (replay_records(rr, argv[optind], m, &d, r, pg))
		goto out;
	if (folded) {
		page__folded(stdout, m);
		ret = 0;
		goto out;
	}
	snprintf(page, sizeof(page), "%s", out ? out : argv[optind]);
	if (!out)
		strncat(page, ".html", sizeof(page) - strlen(page) - 1);
	f = fopen(page, "we");
	if (!f) {
		cw_err("writing %s failed: %s", page, strerror(errno));
		goto out;
	}
	page__write(pg, f, m, d, "cwatch report", record_reader__json(rr), h->start_ts,
		    h->wall_offset);
	if (fclose(f)) {
		cw_err("writing %s failed: %s", page, strerror(errno));
		goto out;
	}
	cw_info("wrote %s", page);
	ret = 0;
out:
	page__free(pg);
	detect__free(d);
	report__free(r);
	if (ro.out)
		fclose(ro.out);
	model__free(m);
	record_reader__close(rr);
	return ret;
}

/* `cwatch replay`: the recording's records through analyse(), as the live run did. */
static int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "instance", required_argument, NULL, 'n' },
		{ "mmap-lines", required_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct report_opts ro = { .out = stdout, .mmap_lines = MMAP_LINES_DEFAULT };
	struct record_reader *rr;
	struct model *m = NULL;
	struct detect *d = NULL;
	struct report *r = NULL;
	const struct record_header *h;
	const char *names[RECORD_PROFILES];
	__u64 from = 0, to = ~0ULL, v;
	__u32 inst = 0;
	int opt, ret = 1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			ro.json = true;
			util_json_errors = true;
			break;
		case 'f':
		case 't':
			if (!strcmp(optarg, "0"))
				v = 0;
			else if (util__parse_seconds(optarg, &v)) {
				cw_err("--%s: '%s' is not a number of seconds", opt == 'f' ? "from" : "to",
				       optarg);
				return 2;
			}
			*(opt == 'f' ? &from : &to) = v;
			break;
		case 'n':
			if (util__parse_u64(optarg, 1, UINT32_MAX, &v)) {
				cw_err("--instance: '%s' is not an instance number", optarg);
				return 2;
			}
			inst = (__u32)v;
			break;
		case 'Y':
			if (parse_mmap_lines(optarg, &ro.mmap_lines))
				return 2;
			break;
		case 'h':
			fputs(usage_replay, stdout);
			return 0;
		default:
			cw_err("unknown option or missing value: '%s' (see cwatch replay --help)",
			       argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		cw_err("give one recording (see cwatch replay --help)");
		return 2;
	}
	rr = replay_open(argv[optind], &ro, names);
	if (!rr)
		return 1;
	h = record_reader__header(rr);
	m = model__new();
	r = report__new(&ro);
	if (!m || !r) {
		cw_err("out of memory");
		goto out;
	}
	report__set_filter(r, h->start_ts + from, to == ~0ULL ? ~0ULL : h->start_ts + to, inst);
	report__set_heap(r, h->flags & RECORD_F_HEAP);
	ret = replay_records(rr, argv[optind], m, &d, r, NULL);
out:
	detect__free(d);
	report__free(r);
	model__free(m);
	record_reader__close(rr);
	return ret;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage_main, stderr);
		return 2;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "profiles"))
		return cmd_profiles(argc - 1, argv + 1);
	if (!strcmp(cmd, "probe"))
		return cmd_probe(argc - 1, argv + 1);
	if (!strcmp(cmd, "replay"))
		return cmd_replay(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("cwatch %s (ABI %d)\n", CWATCH_VERSION, CW_ABI_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage_main, stdout);
		return 0;
	}
	cw_err("unknown command '%s' (see cwatch help)", cmd);
	return 2;
}
