// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Load, configure and attach the BPF programs; access their maps. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cwatch.skel.h"
#include "probes.h"
#include "util.h"

_Static_assert(sizeof(struct cw_hdr) == 32, "cw_hdr layout");
_Static_assert(sizeof(struct cw_stats) % 8 == 0, "cw_stats padding");
_Static_assert(sizeof(struct cw_ev_exit) == sizeof(struct cw_hdr) + 8 + sizeof(struct cw_stats),
	       "cw_ev_exit layout");
_Static_assert(sizeof(struct cw_ev_exec) == 32 + 8 + CW_COMM_LEN + CW_PATH_LEN, "cw_ev_exec layout");

#define CAP_BPF_NR 39		/* include/uapi/linux/capability.h, since 5.8 */
#define CAP_PERFMON_NR 38

struct probes {
	struct cwatch_bpf *skel;
	int ncpu;
	int stats_fd;			/* BPF_ENABLE_STATS, held while we want run times */
	int clock_fails;		/* calibrations of the tick clock that failed */
	struct bpf_link **links;	/* uprobe attachments */
	size_t nlinks, caplinks;
};

/*
 * libbpf's messages are debug-level (-v): cwatch prints its own one-line error.
 * They bypass util__log's line buffer, since a verifier log runs long.
 */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (util_verbosity < UTIL_DEBUG)
		return 0;
	fputs("cwatch: debug: libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

/* Is capability @cap in our effective set? */
static bool has_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* Find tracefs, mounting it when absent; 0 or -errno (printed). */
static int tracefs_ready(const char *dir)
{
	char events[512];
	struct stat st;

	snprintf(events, sizeof(events), "%s/events", dir);
	if (!stat(events, &st))
		return 0;
	if (!dir || strcmp(dir, "/sys/kernel/tracing") == 0) {
		if (!stat("/sys/kernel/debug/tracing/events", &st))
			return 0;
	}
	if (mount("nodev", dir, "tracefs", 0, NULL)) {
		int e = errno;

		cw_err("tracefs is not mounted and mounting it on %s failed: %s", dir, strerror(e));
		return -e;
	}
	cw_info("mounted tracefs on %s", dir);
	if (stat(events, &st)) {
		cw_err("tracefs mounted on %s has no events directory", dir);
		return -ENOENT;
	}
	return 0;
}

/*
 * Kernels differ in which syscalls they have (no init_module without module
 * support, for one): a program whose tracepoint is absent is not loaded, and
 * -v says what is not watched.
 */
static void skip_absent_tracepoints(struct bpf_object *obj, const char *tfs)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog);
		char path[512];
		struct stat st;

		if (strncmp(sec, "tracepoint/", 11))
			continue;
		snprintf(path, sizeof(path), "%s/events/%s", tfs, sec + 11);
		if (stat(path, &st) && errno == ENOENT) {
			snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/%s", sec + 11);
			if (!stat(path, &st))
				continue;
			bpf_program__set_autoload(prog, false);
			cw_debug("tracepoint %s is not in this kernel: %s is off", sec + 11,
				 bpf_program__name(prog));
		}
	}
}

/* Does the struct or union of type @id have a member @member, in anonymous ones included? */
static bool btf_has_member(const struct btf *btf, int id, const char *member)
{
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	const struct btf_member *m;

	if (!t || !btf_is_composite(t))
		return false;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++) {
		if (!strcmp(btf__name_by_offset(btf, m[i].name_off), member) ||
		    (!m[i].name_off && btf_has_member(btf, (int)m[i].type, member)))
			return true;
	}
	return false;
}

/*
 * kmem:rss_stat through its BTF tracepoint (memory.bpf.c says why) needs the
 * 6.2+ form (mm, member) with percpu counters, and few enough CPUs that
 * summing them in BPF stays cheap. Otherwise, or with CWATCH_RSS_STAT=classic
 * in the environment, the classic tracepoint. Returns the CPUs to sum, or 0
 * for the classic one.
 */
static __u32 rss_stat_cpus(const char *btf_path, int ncpu)
{
	const char *env = getenv("CWATCH_RSS_STAT");
	const struct btf_type *t;
	struct btf *btf;
	bool ok;
	int id;

	if ((env && !strcmp(env, "classic")) || ncpu <= 0 || ncpu > CW_RSS_MAX_CPUS)
		return 0;
	btf = btf__parse(btf_path, NULL);
	if (!btf)
		return 0;
	id = btf__find_by_name_kind(btf, "btf_trace_rss_stat", BTF_KIND_TYPEDEF);
	t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	t = t ? btf__type_by_id(btf, t->type) : NULL;		/* pointer */
	t = t && btf_is_ptr(t) ? btf__type_by_id(btf, t->type) : NULL;
	ok = t && btf_is_func_proto(t) && btf_vlen(t) == 3 &&	/* (void *, mm, member) */
	     btf_has_member(btf, btf__find_by_name_kind(btf, "percpu_counter", BTF_KIND_STRUCT),
			    "counters") &&
	     btf_has_member(btf, btf__find_by_name_kind(btf, "mm_struct", BTF_KIND_STRUCT),
			    "rss_stat") &&
	     btf_has_member(btf, btf__find_by_name_kind(btf, "bpf_array", BTF_KIND_STRUCT),
			    "pptrs");
	btf__free(btf);
	return ok ? (__u32)ncpu : 0;
}

struct probes *probes__load(const struct probes_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	const char *btf = o->btf_path ? o->btf_path : "/sys/kernel/btf/vmlinux";
	const char *tfs = o->tracefs ? o->tracefs : "/sys/kernel/tracing";
	struct probes *p;
	int err;

	libbpf_set_print(libbpf_print);
	if (!has_cap(CAP_BPF_NR) && !has_cap(CAP_SYS_ADMIN)) {
		cw_err("loading BPF programs needs root, or CAP_BPF and CAP_PERFMON (try sudo)");
		errno = EPERM;
		return NULL;
	}
	if (!has_cap(CAP_PERFMON_NR) && !has_cap(CAP_SYS_ADMIN)) {
		cw_err("attaching tracepoints needs root or CAP_PERFMON (try sudo)");
		errno = EPERM;
		return NULL;
	}
	if (access(btf, R_OK)) {
		err = errno;
		cw_err("no kernel BTF at %s (%s): CO-RE programs cannot be relocated; "
		       "use a kernel with CONFIG_DEBUG_INFO_BTF or --btf=FILE", btf, strerror(err));
		errno = err;
		return NULL;
	}
	err = tracefs_ready(tfs);
	if (err) {
		errno = -err;
		return NULL;
	}

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->stats_fd = -1;
	p->ncpu = libbpf_num_possible_cpus();
	/*
	 * Always the file: without it libbpf also searches kernel modules' BTF,
	 * which needs CAP_SYS_ADMIN; cwatch's programs use no module types.
	 */
	oo.btf_custom_path = btf;
	p->skel = cwatch_bpf__open_opts(&oo);
	if (!p->skel) {
		err = errno;
		cw_err("opening the BPF object failed: %s", strerror(err));
		goto free_p;
	}
	skip_absent_tracepoints(p->skel->obj, tfs);
	{
		bool syscall_progs = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, NULL) == 1;

		bpf_program__set_autoload(p->skel->progs.cw_clock_sample, syscall_progs);
		bpf_program__set_autoload(p->skel->progs.go_swept, syscall_progs);
	}
	p->skel->rodata->cfg_rss_cpus = rss_stat_cpus(btf, p->ncpu);
	bpf_program__set_autoload(p->skel->progs.tp_rss_stat, !p->skel->rodata->cfg_rss_cpus);
	bpf_program__set_autoload(p->skel->progs.tp_rss_stat_btf, !!p->skel->rodata->cfg_rss_cpus);
	cw_debug("kmem:rss_stat through the %s tracepoint",
		 p->skel->rodata->cfg_rss_cpus ? "BTF" : "classic");
	p->skel->rodata->cfg_peak_step = o->peak_step;
	p->skel->rodata->cfg_mmap_min = o->mmap_min;
	p->skel->rodata->cfg_wakeup_bytes = o->ringbuf_bytes / 4;
	p->skel->rodata->cfg_match = o->match;
	p->skel->rodata->cfg_heap_sample = o->heap_sample;
	p->skel->rodata->cfg_unwind = o->heap_sample && o->unwind_dwarf;
	p->skel->rodata->cfg_rules = o->rules;
	p->skel->rodata->cfg_enforce = o->enforce;
	p->skel->rodata->cfg_host_slow_ns = o->host_slow_ns ? o->host_slow_ns : ~0ULL;
	bpf_map__set_max_entries(p->skel->maps.cw_targets, o->max_targets);
	bpf_map__set_max_entries(p->skel->maps.cw_mm, o->max_targets * 2);
	bpf_map__set_max_entries(p->skel->maps.cw_events, o->ringbuf_bytes);

	err = cwatch_bpf__load(p->skel);
	if (err) {
		err = -err;
		cw_err("loading the BPF programs failed: %s%s", strerror(err),
		       util_verbosity < UTIL_DEBUG ? " (run with -v for the verifier log)" : "");
		goto destroy;
	}
	probes__clock_sync(p);
	return p;

destroy:
	cwatch_bpf__destroy(p->skel);
free_p:
	free(p);
	errno = err;
	return NULL;
}

int probes__run(struct probes *p, const char *name, void *ctx, size_t size)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(p->skel->obj, name);
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = ctx, .ctx_size_in = (__u32)size);
	int fd = prog ? bpf_program__fd(prog) : -1;

	if (fd < 0)
		return -ENOENT;	/* no syscall programs (before Linux 5.14) */
	return bpf_prog_test_run_opts(fd, &run) ? -errno : 0;
}

/* One reading of jiffies and CLOCK_MONOTONIC together (cw_clock_sample). */
static int clock_sample(struct probes *p, __u64 *jiffies, __u64 *ns)
{
	int err = probes__run(p, "cw_clock_sample", NULL, 0);

	if (err)
		return err;
	*jiffies = p->skel->bss->cw_cal_jiffies;
	*ns = p->skel->bss->cw_cal_ns;
	return 0;
}

/*
 * The tick's length: the time between two jiffy edges, twice, snapped to a
 * kernel's usual HZ. 0 when the edges do not agree or the sample cannot run.
 */
static __u64 tick_length(struct probes *p, __u64 *edge_j, __u64 *edge_ns)
{
	static const __u64 hz[] = { 100, 250, 300, 1000 };
	__u64 j0, t0, j, t, last_j = 0, last_t = 0, len[2] = {};
	int edges = 0;

	if (clock_sample(p, &j0, &t0))
		return 0;
	while (edges < 3) {
		if (clock_sample(p, &j, &t) || t - t0 > 100000000ULL)
			return 0;	/* no tick in 100 ms: a tickless CPU */
		if (j == j0)
			continue;
		if (j != j0 + 1 && edges)
			return 0;	/* a tick was missed: no length to trust */
		if (edges)
			len[edges - 1] = t - last_t;
		last_j = j, last_t = t, j0 = j;
		edges++;
	}
	if (len[0] > len[1] * 11 / 10 || len[1] > len[0] * 11 / 10)
		return 0;
	*edge_j = last_j;
	*edge_ns = last_t;
	for (size_t i = 0; i < sizeof(hz) / sizeof(hz[0]); i++) {
		__u64 want = 1000000000ULL / hz[i];

		if (len[1] > want * 9 / 10 && len[1] < want * 11 / 10)
			return want;
	}
	return 0;
}

void probes__clock_sync(struct probes *p)
{
	struct cwatch_bpf__bss *bss = p->skel->bss;
	__u64 j, t, base;
	__s64 off;

	if (!bss->cw_jiffy_ns) {
		__u64 ns;

		/* each try polls for up to 100 ms: three, then the exact clock for good */
		if (p->clock_fails >= 3)
			return;
		ns = tick_length(p, &j, &t);
		if (!ns) {
			if (++p->clock_fails == 3)
				cw_debug("tick clock: no steady tick; the exact clock stays");
			return;	/* the programs keep the exact clock */
		}
		bss->cw_jiffy_base = t - j * ns;
		bss->cw_jiffy_ns = ns;
		cw_debug("tick clock: %llu ns a jiffy", (unsigned long long)ns);
		return;
	}
	/*
	 * A sample lands inside its jiffy, so its estimate of the base is the
	 * true one or up to a tick later; outside [base, base + tick) the two
	 * clocks have drifted apart (NTP slews CLOCK_MONOTONIC): re-anchor.
	 */
	if (clock_sample(p, &j, &t))
		return;
	base = t - j * bss->cw_jiffy_ns;
	off = (__s64)(base - bss->cw_jiffy_base);
	if (off < 0 || (__u64)off >= bss->cw_jiffy_ns)
		bss->cw_jiffy_base = base;
}

int probes__attach(struct probes *p)
{
	int err = cwatch_bpf__attach(p->skel);

	if (err) {
		cw_err("attaching the BPF programs failed: %s", strerror(-err));
		return err;
	}
	return 0;
}

void probes__free(struct probes *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	free(p->links);
	cwatch_bpf__destroy(p->skel);
	if (p->stats_fd >= 0)
		close(p->stats_fd);
	free(p);
}

int probes__enable_stats(struct probes *p)
{
	if (p->stats_fd < 0)
		p->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	return p->stats_fd < 0 ? -errno : 0;
}

int probes__add_target(struct probes *p, pid_t pid, const struct target_status *st,
		       __u32 reason, __u64 now)
{
	struct cw_stats s = {};
	__u32 key = (__u32)pid;
	__u64 rss = st->rss_anon + st->rss_file + st->rss_shmem;

	s.rss[CW_RSS_ANON] = st->rss_anon;
	s.rss[CW_RSS_FILE] = st->rss_file;
	s.rss[CW_RSS_SHMEM] = st->rss_shmem;
	s.rss[CW_RSS_SWAP] = st->swap;
	s.data_vm = st->vm_data;
	s.threads = st->threads;
	/* the kernel's high-water mark covers the time before we attached */
	s.rss_peak.value = st->hwm > rss ? st->hwm : rss;
	s.anon_peak.value = st->rss_anon;
	s.file_peak.value = st->rss_file + st->rss_shmem;
	s.data_vm_peak.value = st->vm_data;
	s.threads_peak.value = st->threads;
	s.rss_peak.ts = s.anon_peak.ts = s.file_peak.ts = now;
	s.data_vm_peak.ts = s.threads_peak.ts = now;
	s.next_peak_event = s.rss_peak.value + p->skel->rodata->cfg_peak_step;
	s.flags = CW_F_SEEDED;
	s.reason = reason;
	s.start_ns = now;
	if (bpf_map__update_elem(p->skel->maps.cw_targets, &key, sizeof(key), &s, sizeof(s),
				 BPF_NOEXIST))
		return -errno;
	return 0;
}

int probes__set_match(struct probes *p, const struct target_match *m)
{
	__u32 one = 1;

	for (int i = 0; i < m->ncomm; i++) {
		if (bpf_map__update_elem(p->skel->maps.cw_match_comm, m->comm[i], CW_COMM_LEN,
					 &one, sizeof(one), BPF_ANY))
			return -errno;
	}
	for (int i = 0; i < m->nexe; i++) {
		__u64 key[2] = { m->exe[i].dev, m->exe[i].ino };

		if (bpf_map__update_elem(p->skel->maps.cw_match_ino, key, sizeof(key), &one,
					 sizeof(one), BPF_ANY))
			return -errno;
	}
	for (int i = 0; i < m->ncgroup; i++) {
		if (bpf_map__update_elem(p->skel->maps.cw_match_cgrp, &m->cgroup[i].id,
					 sizeof(m->cgroup[i].id), &one, sizeof(one), BPF_ANY))
			return -errno;
	}
	return 0;
}

int probes__set_file_allow(struct probes *p, const char (*prefix)[60], int n)
{
	/* entries past @n are cleared: the kernel side stops at the first empty one */
	for (__u32 i = 0; i < CW_FILE_ALLOW_MAX; i++) {
		struct { __u32 len; char p[60]; } v = {};

		if ((int)i < n) {
			v.len = (__u32)strnlen(prefix[i], sizeof(v.p) - 1);
			memcpy(v.p, prefix[i], v.len);
		}
		if (bpf_map__update_elem(p->skel->maps.cw_file_allow, &i, sizeof(i), &v, sizeof(v), 0))
			return -errno;
	}
	return 0;
}

void probes__forget(struct probes *p, __u32 tgid)
{
	bpf_map__delete_elem(p->skel->maps.cw_targets, &tgid, sizeof(tgid), 0);
}

/* probes__map_dump of map @m (not a per-CPU one). */
static ssize_t map_dump(struct bpf_map *m, size_t ksz, size_t vsz, void **keys, void **vals)
{
	size_t n = 0, cap = 4096;
	__u64 batch[8];
	bool first = true;
	char *k = NULL, *v = NULL, *nk, *nv;

	*keys = *vals = NULL;
	if (ksz > sizeof(batch))
		return -ENOENT;
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		__u32 count;
		int err;

		if (cap - n < 4096)
			cap *= 2;
		nk = realloc(k, cap * ksz);
		if (nk)
			k = nk;
		nv = nk ? realloc(v, cap * vsz) : NULL;
		if (!nv)
			goto nomem;
		v = nv;
		count = (__u32)(cap - n);
		err = bpf_map_lookup_batch(bpf_map__fd(m), first ? NULL : batch, batch,
					   k + n * ksz, v + n * vsz, &count, &bo) ? -errno : 0;
		if (err == -ENOSPC && !count) {
			cap *= 2;	/* a bucket larger than the room left */
			continue;
		}
		first = false;
		n += count;
		if (err == -ENOENT)
			break;	/* the end */
		if (err) {
			free(k);
			free(v);
			return err;
		}
	}
	*keys = k;
	*vals = v;
	return (ssize_t)n;
nomem:
	free(k);
	free(v);
	return -ENOMEM;
}

/*
 * Delete the entries of hash map @m whose key starts with @tgid, in batches
 * (a Go program leaves an entry a g: 100,000s); returns how many.
 */
static int delete_tgid(struct bpf_map *m, __u32 tgid)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	size_t ksz = bpf_map__key_size(m), n = 0;
	char *keys, *vals;
	ssize_t got = map_dump(m, ksz, bpf_map__value_size(m), (void **)&keys, (void **)&vals);
	__u32 done;

	if (got < 0 || ksz < sizeof(tgid))
		return 0;
	for (ssize_t i = 0; i < got; i++)
		if (!memcmp(keys + (size_t)i * ksz, &tgid, sizeof(tgid)))
			memmove(keys + n++ * ksz, keys + (size_t)i * ksz, ksz);
	done = (__u32)n;
	if (n && bpf_map_delete_batch(bpf_map__fd(m), keys, &done, &bo)) {
		/* stopped at a key gone meanwhile (or no batches): the rest one by one */
		for (size_t i = done; i < n; i++)
			done += !bpf_map__delete_elem(m, keys + i * ksz, ksz, 0);
	}
	free(keys);
	free(vals);
	return (int)done;
}

int probes__map_forget_tgid(struct probes *p, const char *map, __u32 tgid)
{
	struct bpf_map *m = bpf_object__find_map_by_name(p->skel->obj, map);

	return m ? delete_tgid(m, tgid) : 0;
}

int probes__forget_tgid(struct probes *p, __u32 tgid)
{
	return delete_tgid(p->skel->maps.cw_instances, tgid) +
	       delete_tgid(p->skel->maps.cw_sites, tgid) +
	       delete_tgid(p->skel->maps.cw_tsites, tgid);
}

/*
 * Step through hash map @m: the entry after *@key (the first with @first)
 * into @key and @out; 1 while there are more, 0 at the end. An entry that
 * vanishes between the two calls is skipped.
 */
static int map_next(struct bpf_map *m, void *key, size_t ksz, bool first, void *out, size_t vsz)
{
	char next[64];

	if (ksz > sizeof(next))
		return 0;
	for (;;) {
		if (bpf_map__get_next_key(m, first ? NULL : key, next, ksz))
			return 0;
		memcpy(key, next, ksz);
		first = false;
		if (!bpf_map__lookup_elem(m, key, ksz, out, vsz, 0))
			return 1;
	}
}

int probes__next(struct probes *p, __u32 *key, bool first, struct cw_stats *out)
{
	return map_next(p->skel->maps.cw_targets, key, sizeof(*key), first, out, sizeof(*out));
}

__u64 probes__lost(struct probes *p)
{
	__u64 by[CW_DROPS_LEN], sum = 0;

	probes__lost_by(p, by);
	for (__u32 i = 0; i < CW_DROPS_LEN; i++)
		sum += by[i];
	return sum;
}

void probes__lost_by(struct probes *p, __u64 by[CW_DROPS_LEN])
{
	__u64 vals[p->ncpu > 0 ? p->ncpu : 1];

	for (__u32 i = 0; i < CW_DROPS_LEN; i++) {
		by[i] = 0;
		if (bpf_map__lookup_elem(p->skel->maps.cw_drops, &i, sizeof(i), vals,
					 sizeof(vals), 0))
			continue;
		for (int c = 0; c < p->ncpu; c++)
			by[i] += vals[c];
	}
}

void probes__unwind_counts(struct probes *p, __u64 *sent, __u64 *ring_full)
{
	__u64 vals[p->ncpu > 0 ? p->ncpu : 1];
	__u64 *out[CW_UNW_NR] = { sent, ring_full };

	for (__u32 i = 0; i < CW_UNW_NR; i++) {
		*out[i] = 0;
		if (bpf_map__lookup_elem(p->skel->maps.cw_unwind_fb, &i, sizeof(i), vals,
					 sizeof(vals), 0))
			continue;
		for (int c = 0; c < p->ncpu; c++)
			*out[i] += vals[c];
	}
}

int probes__set_uspec(struct probes *p, __u32 idx, const struct cw_uspec *u)
{
	if (idx >= CW_USPECS)
		return -ENOSPC;
	if (bpf_map__update_elem(p->skel->maps.cw_uspecs, &idx, sizeof(idx), u, sizeof(*u), 0))
		return -errno;
	return 0;
}

int probes__attach_uprobe(struct probes *p, const char *path, __u64 off, __u32 cookie, bool ret)
{
	return probes__attach_prog(p, ret ? "ur_exit" : "up_entry", path, off, cookie, ret);
}

int probes__attach_prog(struct probes *p, const char *name, const char *path, __u64 off,
			__u64 cookie, bool ret)
{
	return probes__attach_prog_pid(p, name, -1, path, off, cookie, ret);
}

int probes__attach_prog_pid(struct probes *p, const char *name, pid_t pid, const char *path,
			    __u64 off, __u64 cookie, bool ret)
{
	return probes__attach_link(p, name, pid, path, off, cookie, ret, NULL);
}

int probes__attach_link(struct probes *p, const char *name, pid_t pid, const char *path,
			__u64 off, __u64 cookie, bool ret, struct bpf_link **link)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = cookie, .retprobe = ret);
	struct bpf_program *prog = bpf_object__find_program_by_name(p->skel->obj, name);
	struct bpf_link *l;

	if (!prog)
		return -ENOENT;

	if (p->nlinks == p->caplinks) {
		size_t cap = p->caplinks ? p->caplinks * 2 : 16;
		struct bpf_link **nl = realloc(p->links, cap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		p->links = nl;
		p->caplinks = cap;
	}
	l = bpf_program__attach_uprobe_opts(prog, pid, path, off, &uo);
	if (!l)
		return -errno;
	p->links[p->nlinks++] = l;
	if (link)
		*link = l;
	return 0;
}

void probes__detach(struct probes *p, struct bpf_link *link)
{
	for (size_t i = 0; link && i < p->nlinks; i++) {
		if (p->links[i] != link)
			continue;
		bpf_link__destroy(link);
		p->links[i] = p->links[--p->nlinks];
		return;
	}
}

size_t probes__nr_links(const struct probes *p)
{
	return p->nlinks;
}

int probes__map_next(struct probes *p, const char *map, void *key, size_t ksz, bool first,
		     void *out, size_t vsz)
{
	struct bpf_map *m = bpf_object__find_map_by_name(p->skel->obj, map);

	return m ? map_next(m, key, ksz, first, out, vsz) : 0;
}

ssize_t probes__map_dump(struct probes *p, const char *map, size_t ksz, size_t vsz,
			 void **keys, void **vals)
{
	struct bpf_map *m = bpf_object__find_map_by_name(p->skel->obj, map);

	*keys = *vals = NULL;
	return m ? map_dump(m, ksz, vsz, keys, vals) : -ENOENT;
}

int probes__map_update(struct probes *p, const char *map, const void *key, size_t ksz,
		       const void *val, size_t vsz, __u64 flags)
{
	struct bpf_map *m = bpf_object__find_map_by_name(p->skel->obj, map);

	if (!m)
		return -ENOENT;
	return bpf_map__update_elem(m, key, ksz, val, vsz, flags) ? -errno : 0;
}

int probes__map_lookup(struct probes *p, const char *map, const void *key, size_t ksz,
		       void *val, size_t vsz)
{
	struct bpf_map *m = bpf_object__find_map_by_name(p->skel->obj, map);

	if (!m)
		return -ENOENT;
	return bpf_map__lookup_elem(m, key, ksz, val, vsz, 0) ? -errno : 0;
}

int probes__map_delete(struct probes *p, const char *map, const void *key, size_t ksz)
{
	struct bpf_map *m = bpf_object__find_map_by_name(p->skel->obj, map);

	if (!m)
		return -ENOENT;
	return bpf_map__delete_elem(m, key, ksz, 0) ? -errno : 0;
}

int probes__next_inst(struct probes *p, struct cw_inst_key *key, bool first,
		      struct cw_inst_stats *out)
{
	return map_next(p->skel->maps.cw_instances, key, sizeof(*key), first, out, sizeof(*out));
}

int probes__stack(struct probes *p, __s32 id, __u64 *ips)
{
	struct bpf_map *m = id >= CW_FPSTACK_BASE ? p->skel->maps.cw_fpstacks : p->skel->maps.cw_stacks;
	__u32 key = (__u32)id;
	int n = 0;

	if (bpf_map__lookup_elem(m, &key, sizeof(key), ips, CW_STACK_DEPTH * sizeof(__u64), 0))
		return 0;
	while (n < CW_STACK_DEPTH && ips[n])
		n++;
	return n;
}

int probes__ringbuf_fd(struct probes *p)
{
	return bpf_map__fd(p->skel->maps.cw_events);
}

void probes__prog_stats(struct probes *p, __u64 *run_ns, __u64 *runs)
{
	struct bpf_program *prog;

	*run_ns = *runs = 0;
	bpf_object__for_each_program(prog, p->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		*run_ns += info.run_time_ns;
		*runs += info.run_cnt;
	}
}
