// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Output. The table fits 80 columns; JSON lines have one object per target
 * per interval, one per lifecycle event, and a summary; field names are
 * documented in README.md and never renamed.
 */
#define _GNU_SOURCE	/* memrchr */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "report.h"
#include "util.h"

#define LOG_LINES 6
#define TABLE_ROWS 20			/* rows in the live table */
#define TABLE_KEEP_NS 5000000000ULL	/* exited targets stay in the table this long */
#define SHORT_LIVED_NS 1000000000ULL	/* children that lived less are summed up in one line */

/*
 * JSON lines wait in r->lines until report__flush (once a collector round),
 * which writes them whole: a write never ends inside a line, so another
 * writer on the same pipe (a launched target printing to the terminal or
 * pipe cwatch prints to) can only land between lines, as when every line was
 * written by itself. Up to PIPE_BUF (4096) bytes a write, so a pipe takes
 * each write at once; stdio's buffer (4096 bytes or more) holds each one
 * whole, so the write is one system call, a file's included.
 */
#define LINES_WRITE 4096
#define LINES_HIGH (256 << 10)	/* flush before the buffer grows past this */

struct report {
	struct report_opts o;
	__u64 from, to;			/* replay: print only this window (ns) */
	__u32 inst;			/* replay: only this instance (its number), 0 = all */
	bool heap;			/* --heap: "sites" is always there, empty or not */
	const struct detect *detect;	/* verdicts for the summary */
	struct json j;
	char log[LOG_LINES][96];	/* recent lifecycle lines, for the redrawn table */
	int nlog;
	time_t wall_sec;		/* wall(): the second last formatted */
	char wall_text[24];
	struct util_sbuf lines;		/* JSON lines not written yet (obj_emit) */
	struct mmap_quota *mq;		/* --mmap-lines: targets' mmap lines this second */
	size_t nmq, capmq, mq_last;
};

/*
 * A target's mmap lines in one second of record time: the first
 * o.mmap_lines are printed, the rest are counted and told in one
 * "mmap_folded" line when the second is over (next record, next interval,
 * exit, summary). Record time, so a replay folds the same lines.
 */
struct mmap_quota {
	__u32 pid;
	__u32 shown;		/* lines printed in second @sec */
	__u64 sec;		/* ns / 1e9 of the records counted */
	__u64 folded[3];	/* left out, by op: mmap, munmap, mremap */
	__u64 bytes[3];		/* their lengths */
	__u64 first_ts, last_ts;	/* of the lines left out */
};

static const char *const reason_name[] = {
	[CW_WHY_PID] = "pid", [CW_WHY_LAUNCH] = "launch", [CW_WHY_COMM] = "comm",
	[CW_WHY_EXE] = "exe", [CW_WHY_FORK] = "fork", [CW_WHY_CGROUP] = "cgroup",
};

static const char *reason_str(__u32 r)
{
	return r < sizeof(reason_name) / sizeof(reason_name[0]) && reason_name[r] ?
		       reason_name[r] : "unknown";
}

static double rel(const struct report *r, __u64 ts);
static void peak_json(struct report *r, const char *name, const char *tname,
		      const struct cw_peak *p);

static void verdict_json(struct report *r, const struct model *m,
			 const struct detect_verdict *v);

static const char *profile_name(const struct report *r, __u32 i)
{
	return (int)i < r->o.nprofiles && r->o.profile_names[i] ? r->o.profile_names[i] : "unknown";
}

#define REPORT_SITES 5	/* heap sites shown per target or instance */

typedef const struct model_site *(*site_nth)(const struct model *m, size_t t, long inst,
					     size_t k);

/* A JSON array @name of the first REPORT_SITES sites @nth gives, its figures under @a and @b. */
static void site_list_json(struct report *r, const struct model *m, const char *name,
			   site_nth nth, size_t t, long inst, const char *a, const char *b)
{
	const struct model_site *site;

	json__arr(&r->j, name);
	for (size_t k = 0; k < REPORT_SITES && (site = nth(m, t, inst, k)); k++) {
		json__obj(&r->j, NULL);
		json__u64(&r->j, a, site->site.bytes);
		json__u64(&r->j, b, site->site.samples);
		json__arr(&r->j, "frames");
		for (__u32 f = 0; f < site->nframes; f++)
			json__str(&r->j, NULL, site->frame[f]);
		json__close(&r->j, ']');
		json__close(&r->j, '}');
	}
	json__close(&r->j, ']');
}

static const struct model_site *thread_nth(const struct model *m, size_t t, long inst, size_t k)
{
	(void)inst;
	return model__top_thread_site(m, t, k);
}

/* "sites": the biggest heap sites of target @t / instance @inst (--heap only). */
static void sites_json(struct report *r, const struct model *m, size_t t, long inst)
{
	if (model__top_site(m, t, inst, 0) || r->heap)
		site_list_json(r, m, "sites", model__top_site, t, inst, "bytes", "samples");
}

/* "thread_sites": where the target's threads were created, most alive first. */
static void thread_sites_json(struct report *r, const struct model *m, size_t t)
{
	if (model__top_thread_site(m, t, 0))
		site_list_json(r, m, "thread_sites", thread_nth, t, -1, "alive", "created");
}

static const struct model_site *cgo_nth(const struct model *m, size_t t, long inst, size_t k)
{
	(void)inst;
	return model__top_cgo_site(m, t, k);
}

/* Per second between a Go program's last two figures, for counter @field's values @a then @b. */
static double go_rate(const struct model_target *t, __u64 a, __u64 b)
{
	__u64 dt = t->go_last.h.ts - t->go_prev.h.ts;

	return dt && b >= a ? (double)(b - a) * 1e9 / (double)dt : 0;
}

/*
 * "go": a Go program's runtime figures; "goroutine_sites": where its live
 * goroutines were created, most alive first (the runtime's own apart);
 * "cgo_sites": where its live C memory was allocated.
 */
static void go_json(struct report *r, const struct model *m, const struct model_target *t)
{
	const struct cw_rec_go_stats *g = &t->go_last, *p = &t->go_prev;
	size_t ti = (size_t)(t - m->t);
	const struct model_site *site;
	struct json *j = &r->j;

	if (!t->go)
		return;
	json__obj(j, "go");
	json__str(j, "version", g->version);
	json__bool(j, "goroutines_tracked", g->flags & CW_GO_GOROUTINES);
	if (g->flags & CW_GO_GOROUTINES) {
		json__u64(j, "goroutines", g->user);
		json__u64(j, "goroutines_runtime", g->system);
		peak_json(r, "goroutines_peak", "goroutines_peak_t", &t->go_user_peak);
		json__u64(j, "goroutines_created_total", g->k.created);
		json__u64(j, "goroutines_exited_total", g->k.exited);
		json__f64(j, "goroutines_created_per_second", go_rate(t, p->k.created, g->k.created), 1);
		json__f64(j, "goroutines_exited_per_second", go_rate(t, p->k.exited, g->k.exited), 1);
	}
	json__u64(j, "heap_resident_bytes", g->heap_resident);
	peak_json(r, "heap_resident_peak_bytes", "heap_resident_peak_t", &t->go_heap_peak);
	json__u64(j, "heap_mapped_bytes", g->heap_mapped);
	json__bool(j, "cgo_tracked", g->flags & CW_GO_CGO);
	if (g->flags & CW_GO_CGO) {
		json__i64(j, "cgo_live_bytes", g->k.cgo_bytes);
		json__u64(j, "cgo_live_allocs", g->k.cgo_allocs - g->k.cgo_frees);
		json__u64(j, "cgo_allocs_total", g->k.cgo_allocs);
	}
	json__close(j, '}');
	if (model__top_go_site(m, ti, false, 0)) {
		json__arr(j, "goroutine_sites");
		for (size_t k = 0; k < REPORT_SITES && (site = model__top_go_site(m, ti, false, k));
		     k++) {
			if (!site->site.bytes && !site->site.samples)
				break;	/* the rest are empty: merged elsewhere */
			json__obj(j, NULL);
			json__u64(j, "alive", site->site.bytes);
			json__u64(j, "created", site->site.samples);
			json__str(j, "function", site->start);
			json__arr(j, "frames");
			for (__u32 f = 0; f < site->nframes; f++)
				json__str(j, NULL, site->frame[f]);
			json__close(j, ']');
			json__close(j, '}');
		}
		json__close(j, ']');
	}
	if (model__top_cgo_site(m, ti, 0))
		site_list_json(r, m, "cgo_sites", cgo_nth, ti, -1, "bytes", "allocs");
}

/* The figures of one instance, shared by instance, instance_end and summary objects. */
static void instance_json(struct report *r, const struct model *m, const struct model_instance *in)
{
	const struct cw_inst_stats *s = &in->stats;
	struct json *j = &r->j;
	char key[24];

	snprintf(key, sizeof(key), "0x%llx", (unsigned long long)in->key);
	json__u64(j, "pid", in->pid);
	json__str(j, "target_comm", m->t[in->target].comm);
	json__str(j, "runtime", profile_name(r, in->profile));
	json__u64(j, "id", in->seq);
	json__str(j, "instance", key);
	json__str(j, "name", in->name);
	json__str(j, "contract", in->contract);
	snprintf(key, sizeof(key), "0x%llx", (unsigned long long)in->module);
	json__str(j, "module", key);
	json__str(j, "state", in->state == MODEL_EXITED ? "ended" : "running");
	json__f64(j, "created_t", rel(r, in->created_ts), 3);
	if (in->state == MODEL_EXITED)
		json__f64(j, "ended_t", rel(r, in->ended_ts), 3);
	json__u64(j, "calls_total", s->calls > in->calls ? s->calls : in->calls);
	json__f64(j, "call_seconds_total", s->call_ns / 1e9, 6);
	json__f64(j, "call_seconds_max", in->call_ns_max / 1e9, 6);
	json__i64(j, "retained_median_bytes", model__retained_median(in));
	json__i64(j, "retained_last_bytes", in->retained_last);
	json__i64(j, "retained_total_bytes", in->retained_total);
	json__i64(j, "charged_bytes", s->charged);
	json__u64(j, "charged_peak_bytes", s->charged_peak.value);
	json__i64(j, "mapped_bytes", s->mapped);
	json__u64(j, "page_allocs_total", s->page_allocs);
	json__u64(j, "threads_created_total", s->threads_created);
	json__u64(j, "host_calls_total", s->host_calls);
	json__f64(j, "host_call_seconds_total", s->host_ns / 1e9, 6);
	json__arr(j, "host_functions");
	for (__u32 i = 0; i < in->nhost; i++) {
		const struct model_host_func *f = &in->host[i];

		snprintf(key, sizeof(key), "0x%llx", (unsigned long long)f->func);
		json__obj(j, NULL);
		json__str(j, "func", key);
		json__u64(j, "calls_total", f->calls);
		json__f64(j, "seconds_total", f->ns_total / 1e9, 6);
		json__f64(j, "seconds_max", f->ns_max / 1e9, 6);
		json__close(j, '}');
	}
	json__close(j, ']');
	json__u64(j, "linear_bytes", s->linear);
	peak_json(r, "linear_peak_bytes", "linear_peak_t", &s->linear_peak);
	json__u64(j, "grows_total", s->grows);
	sites_json(r, m, in->target, (long)(in - m->inst));
}

/* The members of crash @c: what killed it, where, and (once known) how it ended. */
static void crash_json(struct report *r, const struct model *m, const struct model_crash *c)
{
	const struct cw_ev_crash *e = &c->ev;
	const struct model_target *t = &m->t[c->target];
	const char *code = model__sigcode_name(e->signo, e->code);
	struct json *j = &r->j;
	char hex[24];

	json__u64(j, "pid", t->pid);
	json__u64(j, "tid", e->h.tid);
	json__str(j, "thread", e->comm);
	json__str(j, "kind", model__crash_kind(e));
	json__str(j, "signal", model__signal_name(e->signo));
	json__str(j, "signal_code", e->signo && code ? code : "");
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)e->addr);
	json__str(j, "address", hex);
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)e->ip);
	json__str(j, "ip", hex);
	json__f64(j, "crash_t", rel(r, e->h.ts), 3);
	if (c->inst >= 0 && (size_t)c->inst < m->ninst) {
		const struct model_instance *in = &m->inst[c->inst];

		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)in->key);
		json__u64(j, "id", in->seq);
		json__str(j, "instance", hex);
		json__str(j, "contract", in->contract);
		json__str(j, "runtime", profile_name(r, in->profile));
		json__u64(j, "call", e->call);
	}
	json__arr(j, "frames");
	for (__u32 i = 0; i < e->nframes && i < CW_SITE_FRAMES; i++)
		json__str(j, NULL, e->frame[i]);
	json__close(j, ']');
	json__str(j, "state", t->state == MODEL_EXITED ? "exited" : "running");
	if (t->state == MODEL_EXITED) {
		json__i64(j, "exit_code", (t->exit_code >> 8) & 0xff);
		json__i64(j, "exit_signal", t->exit_code & 0x7f);
		json__bool(j, "core_dumped", t->exit_code & 0x80);
		json__f64(j, "exit_t", rel(r, t->exit_ts), 3);
	}
}

struct report *report__new(const struct report_opts *o)
{
	struct report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->o = *o;
	r->to = ~0ULL;
	return r;
}

void report__set_filter(struct report *r, __u64 from, __u64 to, __u32 inst)
{
	r->from = from;
	r->to = to;
	r->inst = inst;
}

/* Does the filter let through something at @ts about instance number @seq (0: none)? */
static bool shown(const struct report *r, __u64 ts, __u32 seq)
{
	return ts >= r->from && ts <= r->to && (!r->inst || seq == r->inst);
}

void report__set_profiles(struct report *r, const char *const *names, int n)
{
	r->o.profile_names = names;
	r->o.nprofiles = n;
}

void report__set_verdicts(struct report *r, const struct detect *d)
{
	r->detect = d;
}

void report__set_heap(struct report *r, bool heap)
{
	r->heap = heap;
}

void report__free(struct report *r)
{
	if (!r)
		return;
	report__flush(r);
	util__sbuf_free(&r->lines);
	free(r->mq);
	json__free(&r->j);
	free(r);
}

/* Seconds since cwatch started watching (negative for times before that). */
static double rel(const struct report *r, __u64 ts)
{
	return ((double)ts - (double)r->o.start_ts) / 1e9;
}

/* ISO 8601 UTC wall time of monotonic @ts, with milliseconds; the seconds formatted once each. */
static const char *wall(struct report *r, __u64 ts, char *buf, size_t len)
{
	__s64 ns = (__s64)ts + r->o.wall_offset;
	time_t sec = ns / 1000000000;
	int ms = (int)(ns / 1000000 % 1000);
	struct tm tm;
	size_t n;

	if (sec != r->wall_sec || !r->wall_text[0]) {
		gmtime_r(&sec, &tm);
		if (!strftime(r->wall_text, sizeof(r->wall_text), "%Y-%m-%dT%H:%M:%S", &tm))
			r->wall_text[0] = '\0';
		r->wall_sec = sec;
	}
	n = strlen(r->wall_text);
	if (len < n + 6)
		return "";
	memcpy(buf, r->wall_text, n);
	buf[n] = '.';
	buf[n + 1] = (char)('0' + ms / 100);
	buf[n + 2] = (char)('0' + ms / 10 % 10);
	buf[n + 3] = (char)('0' + ms % 10);
	buf[n + 4] = 'Z';
	buf[n + 5] = '\0';
	return buf;
}

/* Start a JSON object of @type at @ts. */
static void obj_begin(struct report *r, const char *type, __u64 ts)
{
	char w[40];

	json__reset(&r->j);
	json__str(&r->j, "type", type);
	json__str(&r->j, "time", wall(r, ts, w, sizeof(w)));
	json__f64(&r->j, "t", rel(r, ts), 3);
}

static void obj_emit(struct report *r)
{
	json__end(&r->j);
	util__sbuf_append(&r->lines, json__text(&r->j), json__len(&r->j));
	if (r->lines.oom) {	/* out of memory: what waits, then this line, by themselves */
		r->lines.oom = 0;
		report__flush(r);
		fwrite(json__text(&r->j), 1, json__len(&r->j), r->o.out);
		fflush(r->o.out);
		return;
	}
	if (r->lines.len >= LINES_HIGH)
		report__flush(r);
}

void report__flush(struct report *r)
{
	const char *buf;
	size_t at = 0, len;

	if (!r)
		return;
	buf = r->lines.buf;
	len = r->lines.len;
	while (at < len) {
		/* as many whole lines as fit in one write; a longer line alone */
		size_t lim = len - at < LINES_WRITE ? len - at : LINES_WRITE;
		const char *nl = memrchr(buf + at, '\n', lim);
		size_t end;

		if (!nl)
			nl = memchr(buf + at, '\n', len - at);
		end = nl ? (size_t)(nl - buf) + 1 : len;
		fwrite(buf + at, 1, end - at, r->o.out);
		fflush(r->o.out);
		at = end;
	}
	r->lines.len = 0;
	fflush(r->o.out);
}

/* The mmap quota of @pid; a new one (zeroed) with @create. NULL if none, or out of memory. */
static struct mmap_quota *quota(struct report *r, __u32 pid, bool create)
{
	struct mmap_quota *q;

	if (r->mq_last < r->nmq && r->mq[r->mq_last].pid == pid)
		return &r->mq[r->mq_last];
	for (size_t i = 0; i < r->nmq; i++) {
		if (r->mq[i].pid == pid) {
			r->mq_last = i;
			return &r->mq[i];
		}
	}
	if (!create)
		return NULL;
	q = util__grow((void **)&r->mq, &r->nmq, &r->capmq, sizeof(*q));
	if (!q)
		return NULL;
	memset(q, 0, sizeof(*q));
	q->pid = pid;
	r->mq_last = r->nmq - 1;
	return q;
}

/* Lines @q left out and not told yet. */
static __u64 quota_folded(const struct mmap_quota *q)
{
	return q->folded[0] + q->folded[1] + q->folded[2];
}

/* Tell the mmap lines @q left out since it last told them, if any, at @ts. */
static void quota_tell(struct report *r, struct mmap_quota *q, __u64 ts)
{
	static const char *const op[3] = { "mmap", "munmap", "mremap" };
	static const char *const bytes[3] = { "mmap_bytes", "munmap_bytes", "mremap_bytes" };

	if (!quota_folded(q))
		return;
	obj_begin(r, "mmap_folded", ts);
	json__u64(&r->j, "pid", q->pid);
	json__u64(&r->j, "lines", quota_folded(q));
	for (int i = 0; i < 3; i++) {
		json__u64(&r->j, op[i], q->folded[i]);
		json__u64(&r->j, bytes[i], q->bytes[i]);
	}
	json__f64(&r->j, "from_t", rel(r, q->first_ts), 3);
	json__f64(&r->j, "to_t", rel(r, q->last_ts), 3);
	obj_emit(r);
	memset(q->folded, 0, sizeof(q->folded));
	memset(q->bytes, 0, sizeof(q->bytes));
}

/* Is this mmap record of @pid one of the lines its second may print? If not, count it. */
static bool quota_take(struct report *r, __u32 pid, __u64 ts, const struct cw_ev_mmap *e)
{
	struct mmap_quota *q;
	int op = e->op == CW_MM_MMAP ? 0 : e->op == CW_MM_MUNMAP ? 1 : 2;

	if (!r->o.mmap_lines)
		return true;
	q = quota(r, pid, true);
	if (!q)
		return true;	/* out of memory: print it */
	if (q->sec != ts / 1000000000ULL) {
		quota_tell(r, q, ts);
		q->sec = ts / 1000000000ULL;
		q->shown = 0;
	}
	if (q->shown < r->o.mmap_lines) {
		q->shown++;
		return true;
	}
	if (!quota_folded(q))
		q->first_ts = ts;
	q->last_ts = ts;
	q->folded[op]++;
	q->bytes[op] += e->len;
	return false;
}

/* Tell what @pid's quota left out (every target's with @pid 0); forget exited @pid. */
static void quota_tell_all(struct report *r, __u32 pid, __u64 ts, bool gone)
{
	size_t i = 0;

	while (i < r->nmq) {
		if (pid && r->mq[i].pid != pid) {
			i++;
			continue;
		}
		quota_tell(r, &r->mq[i], ts);
		if (!gone) {
			i++;
			continue;
		}
		r->mq[i] = r->mq[--r->nmq];	/* the last one moves here: look at it next */
		r->mq_last = SIZE_MAX;
	}
}

static void peak_json(struct report *r, const char *name, const char *tname,
		      const struct cw_peak *p)
{
	json__u64(&r->j, name, p->value);
	if (p->ts)
		json__f64(&r->j, tname, rel(r, p->ts), 3);
	else
		json__null(&r->j, tname);	/* never reached */
}

/* The figures of one target, shared by interval, exit and summary objects. */
static void target_json(struct report *r, const struct model *m, const struct model_target *t)
{
	const struct cw_stats *s = &t->stats;
	struct json *j = &r->j;

	json__u64(j, "pid", t->pid);
	json__u64(j, "ppid", t->ppid);
	json__str(j, "comm", t->comm);
	json__str(j, "exe", t->exe);
	json__str(j, "reason", reason_str(t->reason));
	json__str(j, "runtime", t->runtime);
	json__str(j, "state", t->state == MODEL_EXITED ? "exited" : "running");
	if (t->state == MODEL_EXITED) {
		json__i64(j, "exit_code", (t->exit_code >> 8) & 0xff);
		json__i64(j, "exit_signal", t->exit_code & 0x7f);
		json__f64(j, "exit_t", rel(r, t->exit_ts), 3);
	}
	json__u64(j, "rss_bytes", model__rss(s));
	json__u64(j, "rss_anon_bytes", s->rss[CW_RSS_ANON]);
	json__u64(j, "rss_file_bytes", s->rss[CW_RSS_FILE]);
	json__u64(j, "rss_shmem_bytes", s->rss[CW_RSS_SHMEM]);
	json__u64(j, "swap_bytes", s->rss[CW_RSS_SWAP]);
	peak_json(r, "rss_peak_bytes", "rss_peak_t", &s->rss_peak);
	peak_json(r, "rss_anon_peak_bytes", "rss_anon_peak_t", &s->anon_peak);
	peak_json(r, "rss_file_peak_bytes", "rss_file_peak_t", &s->file_peak);
	json__u64(j, "anon_mapped_bytes", s->data_vm);
	peak_json(r, "anon_mapped_peak_bytes", "anon_mapped_peak_t", &s->data_vm_peak);
	json__u64(j, "threads", s->threads);
	peak_json(r, "threads_peak", "threads_peak_t", &s->threads_peak);
	json__u64(j, "thread_creates_total", s->thread_creates);
	json__u64(j, "thread_exits_total", s->thread_exits);
	json__u64(j, "page_allocs_total", s->page_allocs);
	json__u64(j, "forks_total", s->forks);
	json__u64(j, "execs_total", s->execs);
	json__u64(j, "mmap_calls_total", s->mmap_calls);
	json__u64(j, "mmap_anon_bytes_total", s->mmap_anon_bytes);
	json__u64(j, "munmap_calls_total", s->munmap_calls);
	json__u64(j, "munmap_bytes_total", s->munmap_bytes);
	json__u64(j, "mremap_calls_total", s->mremap_calls);
	json__u64(j, "mprotect_calls_total", s->mprotect_calls);
	json__u64(j, "brk_calls_total", s->brk_calls);
	sites_json(r, m, (size_t)(t - m->t), -1);
	thread_sites_json(r, m, (size_t)(t - m->t));
	go_json(r, m, t);
}

/* Print (or keep, when redrawing) one lifecycle line. */
static void log_line(struct report *r, __u64 ts, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void log_line(struct report *r, __u64 ts, const char *fmt, ...)
{
	char text[80];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!r->o.redraw) {
		fprintf(r->o.out, "[%+8.3fs] %s\n", rel(r, ts), text);
		fflush(r->o.out);
		return;
	}
	if (r->nlog == LOG_LINES) {
		memmove(r->log[0], r->log[1], sizeof(r->log[0]) * (LOG_LINES - 1));
		r->nlog--;
	}
	snprintf(r->log[r->nlog++], sizeof(r->log[0]), "[%+8.3fs] %s", rel(r, ts), text);
}

void report__record(struct report *r, const struct model *m, const void *rec, int idx)
{
	const struct cw_hdr *h = rec;
	const struct model_target *t;
	char b1[16];

	if (idx < 0 || (size_t)idx >= m->n)
		return;
	t = &m->t[idx];
	if (!shown(r, h->ts, m->last_inst >= 0 ? m->inst[m->last_inst].seq : 0))
		return;
	if (m->last_inst >= 0 && (h->type == CW_EV_INSTANCE_NEW || h->type == CW_EV_INSTANCE_END)) {
		const struct model_instance *in = &m->inst[m->last_inst];
		bool end = h->type == CW_EV_INSTANCE_END;

		if (r->o.json) {
			obj_begin(r, end ? "instance_end" : "instance_new", h->ts);
			instance_json(r, m, in);
			obj_emit(r);
		} else {
			log_line(r, h->ts, "target %u: %s instance #%u %s%s%.24s", t->pid,
				 profile_name(r, in->profile), in->seq, end ? "ended" : "created",
				 end ? "" : ", contract ", end ? "" : in->contract);
		}
		return;
	}
	switch (h->type) {
	case CW_EV_MODULE: {
		const struct cw_ev_module *e = rec;
		const struct model_module *mod = &m->mod[m->nmod - 1];
		char key[24];

		if (!r->o.json)
			break;
		snprintf(key, sizeof(key), "0x%llx", (unsigned long long)e->module);
		obj_begin(r, "module", h->ts);
		json__u64(&r->j, "pid", h->tgid);
		json__str(&r->j, "runtime", profile_name(r, e->profile));
		json__str(&r->j, "module", key);
		json__str(&r->j, "contract", mod->contract);
		json__u64(&r->j, "code_bytes", e->code_len);
		obj_emit(r);
		break;
	}
	case CW_REC_ATTACH:
	case CW_EV_TARGET_NEW:
		if (r->o.json) {
			obj_begin(r, "target", h->ts);
			json__u64(&r->j, "pid", t->pid);
			json__u64(&r->j, "ppid", t->ppid);
			json__str(&r->j, "comm", t->comm);
			json__str(&r->j, "exe", t->exe);
			json__str(&r->j, "reason", reason_str(t->reason));
			obj_emit(r);
		} else {
			log_line(r, h->ts, "target %u (%s) added: %s%s", t->pid, t->comm,
				 reason_str(t->reason), t->reason == CW_WHY_FORK ? " of a target" : "");
		}
		break;
	case CW_EV_EXEC: {
		const struct cw_ev_exec *e = rec;

		if (r->o.json) {
			obj_begin(r, "exec", h->ts);
			json__u64(&r->j, "pid", t->pid);
			json__u64(&r->j, "tid", e->old_tid);
			json__str(&r->j, "comm", t->comm);
			json__str(&r->j, "filename", t->exe);
			obj_emit(r);
		} else {
			log_line(r, h->ts, "target %u exec %.50s", t->pid, t->exe);
		}
		break;
	}
	case CW_EV_EXIT:
	case CW_REC_STATS:
		if (t->state != MODEL_EXITED || t->exit_ts != h->ts)
			break;
		if (r->o.json) {
			const struct model_crash *c = model__crash(m, (size_t)idx);

			quota_tell_all(r, t->pid, h->ts, true);
			obj_begin(r, "exit", h->ts);
			target_json(r, m, t);
			json__u64(&r->j, "events_lost", m->lost);
			obj_emit(r);
			/* the whole story once the exit status is known */
			if (c) {
				obj_begin(r, "crash", h->ts);
				crash_json(r, m, c);
				obj_emit(r);
			}
		} else {
			log_line(r, h->ts, "target %u (%s) exited, code %d%s; peak %s", t->pid, t->comm,
				 (t->exit_code >> 8) & 0xff, t->exit_code & 0x7f ? " (signal)" : "",
				 util__fmt_bytes(t->stats.rss_peak.value, b1, sizeof(b1)));
		}
		break;
	case CW_EV_MMAP: {
		const struct cw_ev_mmap *e = rec;

		if (!r->o.json || !quota_take(r, h->tgid, h->ts, e))
			break;
		obj_begin(r, "mmap", h->ts);
		json__u64(&r->j, "pid", h->tgid);
		json__u64(&r->j, "tid", h->tid);
		json__str(&r->j, "op", e->op == CW_MM_MMAP ? "mmap" :
				       e->op == CW_MM_MUNMAP ? "munmap" : "mremap");
		json__u64(&r->j, "addr", e->addr);
		json__u64(&r->j, "len", e->len);
		if (e->op == CW_MM_MREMAP)
			json__u64(&r->j, "old_len", e->old_len);
		if (e->op == CW_MM_MMAP) {
			json__u64(&r->j, "prot", e->prot);
			json__u64(&r->j, "flags", e->flags);
			json__i64(&r->j, "fd", e->fd);
		}
		obj_emit(r);
		break;
	}
	case CW_EV_PEAK: {
		const struct cw_ev_peak *e = rec;

		if (!r->o.json)
			break;
		obj_begin(r, "peak", h->ts);
		json__u64(&r->j, "pid", h->tgid);
		json__u64(&r->j, "rss_bytes", e->rss);
		json__u64(&r->j, "rss_anon_bytes", e->anon);
		json__u64(&r->j, "rss_file_bytes", e->file);
		obj_emit(r);
		break;
	}
	}
}

/* The figures of one contract entry point. */
static void contract_json(struct report *r, const struct model_contract *c)
{
	json__str(&r->j, "contract", c->contract);
	json__str(&r->j, "entry", c->entry);
	json__str(&r->j, "runtime", profile_name(r, c->profile));
	json__u64(&r->j, "calls_total", c->calls);
	json__i64(&r->j, "retained_median_bytes", model__contract_median(c));
}

/* One table row: 80 columns. */
static void table_row(struct report *r, const struct model_target *t)
{
	const struct cw_stats *s = &t->stats;
	char rss[16], peak[16], anon[16], file[16], mapped[16], pages[16];

	fprintf(r->o.out, "%7u %-15.15s %6s %6s %6s %6s %6s %4llu %4llu %7s%s\n", t->pid,
		t->comm, util__fmt_bytes(model__rss(s), rss, sizeof(rss)),
		util__fmt_bytes(s->rss_peak.value, peak, sizeof(peak)),
		util__fmt_bytes(s->rss[CW_RSS_ANON], anon, sizeof(anon)),
		util__fmt_bytes(s->rss[CW_RSS_FILE] + s->rss[CW_RSS_SHMEM], file, sizeof(file)),
		util__fmt_bytes(s->data_vm, mapped, sizeof(mapped)),
		(unsigned long long)s->threads, (unsigned long long)s->threads_peak.value,
		util__fmt_bytes(s->page_allocs << 12, pages, sizeof(pages)),
		t->state == MODEL_EXITED ? " gone" : "");
}

/* A Go program's line under its row: goroutines, their rates, the heap, cgo. */
static void go_row(struct report *r, const struct model_target *t)
{
	const struct cw_rec_go_stats *g = &t->go_last;
	char heap[16], cgo[16];

	if (!t->go)
		return;
	util__fmt_bytes(g->heap_resident, heap, sizeof(heap));
	if (!(g->flags & CW_GO_GOROUTINES)) {
		fprintf(r->o.out, "%7s %-15.15s goroutines not tracked, heap %s\n", "",
			g->version[0] ? g->version : "go?", heap);
		return;
	}
	fprintf(r->o.out, "%7s %-15.15s goroutines %llu (+%llu runtime) peak %llu  %+.0f/s "
		"-%.0f/s  heap %s", "", g->version, (unsigned long long)g->user,
		(unsigned long long)g->system, (unsigned long long)t->go_user_peak.value,
		go_rate(t, t->go_prev.k.created, g->k.created),
		go_rate(t, t->go_prev.k.exited, g->k.exited), heap);
	if (g->flags & CW_GO_CGO)
		fprintf(r->o.out, "  cgo %s", util__fmt_bytes(g->k.cgo_bytes > 0 ?
							     (__u64)g->k.cgo_bytes : 0, cgo,
							     sizeof(cgo)));
	fputc('\n', r->o.out);
}

/* The live instances of target @ti under its row: 80 columns. */
static void instance_rows(struct report *r, const struct model *m, size_t ti)
{
	bool header = false;

	for (size_t i = 0; i < m->ninst; i++) {
		const struct model_instance *in = &m->inst[i];
		char id[24], ret[16], held[16], lin[16], cpu[16];

		if (in->target != ti || in->state != MODEL_RUNNING)
			continue;
		if (!header) {
			fprintf(r->o.out, "%9s %-17s %-20s %6s %8s %6s %6s\n", "INSTANCE", "NAME/RUNTIME",
				"CONTRACT", "CALLS", "RET/CALL", "HELD", "LINEAR");
			header = true;
		}
		snprintf(id, sizeof(id), "#%u", in->seq);
		snprintf(cpu, sizeof(cpu), "%llu", (unsigned long long)(in->stats.calls > in->calls ?
									in->stats.calls : in->calls));
		__s64 med = model__retained_median(in);

		util__fmt_bytes(med < 0 ? 0 : (__u64)med, ret, sizeof(ret));
		if (med < 0)
			snprintf(ret, sizeof(ret), "<0");
		util__fmt_bytes(in->stats.charged > 0 ? (__u64)in->stats.charged : 0, held,
				sizeof(held));
		if (in->stats.linear)
			util__fmt_bytes(in->stats.linear, lin, sizeof(lin));
		else
			snprintf(lin, sizeof(lin), "-");
		fprintf(r->o.out, "%9s %-17.17s %-20.20s %6s %8s %6s %6s\n", id,
			in->name[0] ? in->name : profile_name(r, in->profile), in->contract, cpu, ret,
			held, lin);
	}
}

/* Rows worth a line in the table: running, or gone within the last few seconds. */
static bool table_shows(const struct model_target *t, __u64 now)
{
	return t->state == MODEL_RUNNING || t->exit_ts + TABLE_KEEP_NS >= now;
}

void report__interval(struct report *r, const struct model *m, __u64 now)
{
	size_t rows = 0, hidden = 0;

	if (now < r->from || now > r->to)
		return;
	if (r->inst) {
		/* one instance: its own objects, no table */
		for (size_t i = 0; r->o.json && i < m->ninst; i++) {
			if (m->inst[i].state != MODEL_RUNNING || m->inst[i].seq != r->inst)
				continue;
			obj_begin(r, "instance", now);
			instance_json(r, m, &m->inst[i]);
			obj_emit(r);
		}
		return;
	}

	if (r->o.json) {
		quota_tell_all(r, 0, now, false);
		for (size_t i = 0; i < m->n; i++) {
			if (m->t[i].state != MODEL_RUNNING)
				continue;
			obj_begin(r, "interval", now);
			target_json(r, m, &m->t[i]);
			json__u64(&r->j, "events_lost", m->lost);
			obj_emit(r);
		}
		for (size_t i = 0; i < m->ninst; i++) {
			if (m->inst[i].state != MODEL_RUNNING)
				continue;
			obj_begin(r, "instance", now);
			instance_json(r, m, &m->inst[i]);
			obj_emit(r);
		}
		for (size_t i = 0; i < m->ncon; i++) {
			obj_begin(r, "contract", now);
			contract_json(r, &m->con[i]);
			obj_emit(r);
		}
		return;
	}
	if (r->o.redraw)
		fputs("\033[H\033[2J", r->o.out);
	fprintf(r->o.out, "cwatch  +%.0fs  targets %zu running, %zu gone  events lost %llu\n",
		rel(r, now), model__nr_live(m), m->n - model__nr_live(m),
		(unsigned long long)m->lost);
	fprintf(r->o.out, "%7s %-15s %6s %6s %6s %6s %6s %4s %4s %7s\n", "PID", "COMM", "RSS",
		"PEAK", "ANON", "FILE", "MAPPED", "THR", "PEAK", "PGALLOC");
	for (size_t i = 0; i < m->n; i++) {
		if (!table_shows(&m->t[i], now))
			continue;
		if (rows++ < TABLE_ROWS) {
			table_row(r, &m->t[i]);
			go_row(r, &m->t[i]);
			instance_rows(r, m, i);
		} else {
			hidden++;
		}
	}
	if (hidden)
		fprintf(r->o.out, "%7s %zu more (--json lists every target)\n", "...", hidden);
	fputc('\n', r->o.out);
	if (r->o.redraw) {
		for (int i = 0; i < r->nlog; i++)
			fprintf(r->o.out, "%s\n", r->log[i]);
	}
	fflush(r->o.out);
}

/* Summary lines for one target. */
static void summary_text(struct report *r, const struct model_target *t, __u64 now)
{
	const struct cw_stats *s = &t->stats;
	char a[24], b[24], c[24], d[24];

	fprintf(r->o.out, "target %u %s (%s)", t->pid, t->comm, reason_str(t->reason));
	if (t->state == MODEL_EXITED) {
		if (t->exit_code & 0x7f)
			fprintf(r->o.out, ": killed by signal %d at %+.1fs\n", t->exit_code & 0x7f,
				rel(r, t->exit_ts));
		else
			fprintf(r->o.out, ": exited with code %d at %+.1fs\n",
				(t->exit_code >> 8) & 0xff, rel(r, t->exit_ts));
	} else {
		fprintf(r->o.out, ": running at %+.1fs\n", rel(r, now));
	}
	fprintf(r->o.out, "  resident  peak %s at %+.1fs; %s %s\n",
		util__fmt_bytes_long(s->rss_peak.value, a, sizeof(a)), rel(r, s->rss_peak.ts),
		t->state == MODEL_EXITED ? "at exit" : "now",
		util__fmt_bytes_long(model__rss(s), b, sizeof(b)));
	fprintf(r->o.out, "            anon peak %s at %+.1fs, file peak %s at %+.1fs\n",
		util__fmt_bytes_long(s->anon_peak.value, c, sizeof(c)), rel(r, s->anon_peak.ts),
		util__fmt_bytes_long(s->file_peak.value, d, sizeof(d)), rel(r, s->file_peak.ts));
	fprintf(r->o.out, "  mapped    anon/private peak %s at %+.1fs; %s %s\n",
		util__fmt_bytes_long(s->data_vm_peak.value, a, sizeof(a)),
		rel(r, s->data_vm_peak.ts), t->state == MODEL_EXITED ? "at exit" : "now",
		util__fmt_bytes_long(s->data_vm, b, sizeof(b)));
	fprintf(r->o.out, "  threads   peak %llu at %+.1fs; %llu created, %llu exited\n",
		(unsigned long long)s->threads_peak.value, rel(r, s->threads_peak.ts),
		(unsigned long long)s->thread_creates, (unsigned long long)s->thread_exits);
	fprintf(r->o.out, "  activity  %s of pages allocated, %llu mmap, %llu munmap, "
		"%llu forks, %llu execs\n",
		util__fmt_bytes_long(s->page_allocs << 12, a, sizeof(a)),
		(unsigned long long)s->mmap_calls, (unsigned long long)s->munmap_calls,
		(unsigned long long)s->forks, (unsigned long long)s->execs);
}

/* A Go program's goroutines, heap and cgo memory, with the sites holding most. */
static void summary_go(struct report *r, const struct model *m, size_t ti)
{
	const struct model_target *t = &m->t[ti];
	const struct cw_rec_go_stats *g = &t->go_last;
	const struct model_site *site;
	char a[24], b[24];

	if (!t->go)
		return;
	if (g->flags & CW_GO_GOROUTINES) {
		fprintf(r->o.out, "  goroutines %s: peak %llu at %+.1fs; %s %llu (+%llu runtime); "
			"%llu created, %llu exited\n", g->version,
			(unsigned long long)t->go_user_peak.value, rel(r, t->go_user_peak.ts),
			t->state == MODEL_EXITED ? "at exit" : "now", (unsigned long long)g->user,
			(unsigned long long)g->system, (unsigned long long)g->k.created,
			(unsigned long long)g->k.exited);
		site = model__top_go_site(m, ti, false, 0);
		if (site && site->site.bytes) {
			fprintf(r->o.out, "            most alive: %llu of %llu created, running %s, "
				"from:\n", (unsigned long long)site->site.bytes,
				(unsigned long long)site->site.samples, site->start);
			for (__u32 f = 0; f < site->nframes && f < 3; f++)
				fprintf(r->o.out, "              %.74s\n", site->frame[f]);
		}
	} else {
		fprintf(r->o.out, "  goroutines not tracked (%s)\n",
			g->version[0] ? g->version : "Go version unknown");
	}
	fprintf(r->o.out, "  go heap   resident peak %s at %+.1fs; last %s\n",
		util__fmt_bytes_long(t->go_heap_peak.value, a, sizeof(a)), rel(r, t->go_heap_peak.ts),
		util__fmt_bytes_long(g->heap_resident, b, sizeof(b)));
	if (!(g->flags & CW_GO_CGO))
		return;
	fprintf(r->o.out, "  cgo       %s live in %llu C allocations (%llu made)\n",
		util__fmt_bytes_long(g->k.cgo_bytes > 0 ? (__u64)g->k.cgo_bytes : 0, a, sizeof(a)),
		(unsigned long long)(g->k.cgo_allocs - g->k.cgo_frees),
		(unsigned long long)g->k.cgo_allocs);
	site = model__top_cgo_site(m, ti, 0);
	if (site && site->site.bytes) {
		fprintf(r->o.out, "            most held (%s) allocated at:\n",
			util__fmt_bytes_long(site->site.bytes, a, sizeof(a)));
		for (__u32 f = 0; f < site->nframes && f < 3; f++)
			fprintf(r->o.out, "              %.74s\n", site->frame[f]);
	}
}

/* The biggest heap site of target @t / instance @inst, three frames deep (--heap). */
static void summary_site(struct report *r, const struct model *m, size_t t, long inst)
{
	const struct model_site *site = model__top_site(m, t, inst, 0);
	char a[24];

	if (!site)
		return;
	fprintf(r->o.out, "            memory faulted in most at (%s sampled):\n",
		util__fmt_bytes_long(site->site.bytes, a, sizeof(a)));
	for (__u32 f = 0; f < site->nframes && f < 3; f++)
		fprintf(r->o.out, "              %.74s\n", site->frame[f]);
}

/* One line per instance a target ever had, the biggest retainers first by nature of the figures. */
static void summary_instances(struct report *r, const struct model *m, size_t ti)
{
	for (size_t i = 0; i < m->ninst; i++) {
		const struct model_instance *in = &m->inst[i];
		char a[24], b[24];
		__s64 med = model__retained_median(in);

		if (in->target != ti)
			continue;
		fprintf(r->o.out, "  instance  #%u %s (%s): %llu calls, retained/call %s%s, held %s\n",
			in->seq, in->name[0] ? in->name : profile_name(r, in->profile),
			in->contract, (unsigned long long)(in->stats.calls > in->calls ?
							   in->stats.calls : in->calls),
			med < 0 ? "-" : "", util__fmt_bytes_long(med < 0 ? (__u64)-med : (__u64)med, a,
								  sizeof(a)),
			util__fmt_bytes_long(in->stats.charged > 0 ? (__u64)in->stats.charged : 0, b,
					     sizeof(b)));
		if (in->stats.linear_peak.value)
			fprintf(r->o.out, "            linear memory %s, peak %s at %+.1fs\n",
				util__fmt_bytes_long(in->stats.linear, a, sizeof(a)),
				util__fmt_bytes_long(in->stats.linear_peak.value, b, sizeof(b)),
				rel(r, in->stats.linear_peak.ts));
		/* growth sites matter where memory stayed: churn faults in a lot and frees it */
		if (in->stats.charged >= (1 << 20))
			summary_site(r, m, ti, (long)i);
	}
}

/* Print @text word-wrapped between column @indent and @width. */
static void wrap(FILE *f, const char *text, int indent, int width)
{
	const char *p = text;

	while (*p) {
		int room = width - indent, n = (int)strlen(p);

		if (n > room) {
			n = room;
			while (n > 0 && p[n] != ' ')
				n--;
			if (!n)
				n = room;
		}
		fprintf(f, "%*s%.*s\n", indent, "", n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
}

/*
 * The CRASH block of target @t, if it crashed: what killed it, the thread,
 * the instance and call it was in, how the process ended, and the stack.
 */
static void summary_crash(struct report *r, const struct model *m, size_t t, __u64 now)
{
	const struct model_crash *c = model__crash(m, t);
	const struct model_target *tg = &m->t[t];
	const struct cw_ev_crash *e;
	const char *code;

	if (!c)
		return;
	e = &c->ev;
	code = model__sigcode_name(e->signo, e->code);
	fprintf(r->o.out, "  CRASH     %s", model__crash_kind(e));
	if (e->kind != CW_CRASH_SIGNAL && e->signo)
		fprintf(r->o.out, " after %s", model__signal_name(e->signo));
	if (e->signo && code && (e->signo == 11 || e->signo == 7))
		fprintf(r->o.out, " (%s, address 0x%llx)", code, (unsigned long long)e->addr);
	else if (e->signo && code)
		fprintf(r->o.out, " (%s)", code);
	fprintf(r->o.out, " at %+.1fs\n", rel(r, e->h.ts));
	fprintf(r->o.out, "            thread %u (%s)", e->h.tid, e->comm);
	if (c->inst >= 0 && (size_t)c->inst < m->ninst) {
		const struct model_instance *in = &m->inst[c->inst];

		fprintf(r->o.out, " in instance #%u %.24s (%s), call %llu", in->seq, in->contract,
			profile_name(r, in->profile), (unsigned long long)e->call);
	}
	fprintf(r->o.out, "\n");
	if (tg->state != MODEL_EXITED)
		fprintf(r->o.out, "            still running at %+.1fs\n", rel(r, now));
	else if (tg->exit_code & 0x7f)
		fprintf(r->o.out, "            died of signal %d (%s)%s\n", tg->exit_code & 0x7f,
			model__signal_name(tg->exit_code & 0x7f), tg->exit_code & 0x80 ?
			", core dumped" : "");
	else
		fprintf(r->o.out, "            exited with code %d\n", (tg->exit_code >> 8) & 0xff);
	for (__u32 f = 0; f < e->nframes && f < CW_SITE_FRAMES; f++)
		fprintf(r->o.out, "            %s %.64s\n", f ? "  " : "at", e->frame[f]);
	if (!e->nframes)
		fprintf(r->o.out, "            (no stack: its mappings were gone before cwatch read them)\n");
}

/* Worth its own summary block: chosen by the user, long-lived, or still running. */
static bool summary_detailed(const struct model_target *t)
{
	return t->reason != CW_WHY_FORK || t->state == MODEL_RUNNING ||
	       t->exit_ts - t->first_ts >= SHORT_LIVED_NS;
}

void report__summary(struct report *r, const struct model *m, __u64 now)
{
	const struct model_target *big = NULL;
	size_t brief = 0;
	char b[24];

	if (r->o.json) {
		quota_tell_all(r, 0, now, false);
		obj_begin(r, "summary", now);
		json__f64(&r->j, "duration_s", rel(r, now), 3);
		json__u64(&r->j, "targets", m->n + m->evicted.targets);
		json__u64(&r->j, "records", m->records);
		json__u64(&r->j, "records_malformed", m->bad_records);
		json__u64(&r->j, "events_lost", m->lost);
		json__arr(&r->j, "target_list");
		for (size_t i = 0; i < m->n; i++) {
			json__obj(&r->j, NULL);
			target_json(r, m, &m->t[i]);
			json__close(&r->j, '}');
		}
		json__close(&r->j, ']');
		json__arr(&r->j, "instance_list");
		for (size_t i = 0; i < m->ninst; i++) {
			json__obj(&r->j, NULL);
			instance_json(r, m, &m->inst[i]);
			json__close(&r->j, '}');
		}
		json__close(&r->j, ']');
		json__arr(&r->j, "verdict_list");
		for (size_t i = 0; r->detect && i < detect__count(r->detect); i++) {
			json__obj(&r->j, NULL);
			verdict_json(r, m, detect__get(r->detect, i));
			json__close(&r->j, '}');
		}
		json__close(&r->j, ']');
		json__arr(&r->j, "contract_list");
		for (size_t i = 0; i < m->ncon; i++) {
			json__obj(&r->j, NULL);
			contract_json(r, &m->con[i]);
			json__close(&r->j, '}');
		}
		json__close(&r->j, ']');
		json__arr(&r->j, "crash_list");
		for (size_t i = 0; i < m->ncrash; i++) {
			json__obj(&r->j, NULL);
			crash_json(r, m, &m->crash[i]);
			json__close(&r->j, '}');
		}
		json__close(&r->j, ']');
		/* what the bounds let go (the lists above hold the rest) */
		json__obj(&r->j, "evicted");
		json__u64(&r->j, "targets", m->evicted.targets);
		json__u64(&r->j, "instances", m->evicted.instances);
		json__u64(&r->j, "sites", m->evicted.sites);
		json__u64(&r->j, "contracts", m->evicted.contracts);
		json__u64(&r->j, "modules", m->evicted.modules);
		json__u64(&r->j, "crashes", m->evicted.crashes);
		json__u64(&r->j, "verdicts", r->detect ? detect__evicted(r->detect, DETECT_NR) : 0);
		json__close(&r->j, '}');
		obj_emit(r);
		report__flush(r);
		return;
	}
	fprintf(r->o.out, "\ncwatch summary after %.1fs: %zu target%s, %llu records, "
		"%llu events lost\n", rel(r, now), m->n + (size_t)m->evicted.targets,
		m->n + m->evicted.targets == 1 ? "" : "s",
		(unsigned long long)m->records, (unsigned long long)m->lost);
	if (m->evicted.targets || m->evicted.instances)
		fprintf(r->o.out, "  (%llu gone targets and %llu ended instances let go; the newest "
			"are below)\n", (unsigned long long)m->evicted.targets,
			(unsigned long long)m->evicted.instances);
	for (size_t i = 0; i < m->n; i++) {
		const struct model_target *t = &m->t[i];

		if (summary_detailed(t) || model__crash(m, i)) {
			summary_text(r, t, now);
			summary_go(r, m, i);
			summary_crash(r, m, i, now);
			if (!model__nr_instances(m, i) && !m->ninst)
				summary_site(r, m, i, -1);
			summary_instances(r, m, i);
			continue;
		}
		brief++;
		if (!big || t->stats.rss_peak.value > big->stats.rss_peak.value)
			big = t;
	}
	for (size_t i = 0; r->detect && i < detect__count(r->detect); i++) {
		const struct detect_verdict *v = detect__get(r->detect, i);

		if (!i)
			fprintf(r->o.out, "verdicts:\n");
		fprintf(r->o.out, "  %-8s %-15s pid %u at %+.1fs%s\n",
			detect__severity_name(v->severity), detect__name(v->kind), v->pid,
			rel(r, v->ts), v->enforced ? " [killed]" : "");
		wrap(r->o.out, v->detail, 13, 80);
		for (int f = 0; f < DETECT_FRAMES && v->frame[f][0]; f++)
			fprintf(r->o.out, "             at %.64s\n", v->frame[f]);
		if (v->repeats)
			fprintf(r->o.out, "             (and %u more within a second)\n", v->repeats);
	}
	if (brief)
		fprintf(r->o.out, "and %zu short-lived child process%s (under %.0fs each); "
			"the largest, %u %s, peaked at %s\n", brief, brief == 1 ? "" : "es",
			SHORT_LIVED_NS / 1e9, big->pid, big->comm,
			util__fmt_bytes_long(big->stats.rss_peak.value, b, sizeof(b)));
	fflush(r->o.out);
}

/* The JSON members of verdict @v. */
static void verdict_json(struct report *r, const struct model *m, const struct detect_verdict *v)
{
	struct json *j = &r->j;
	char key[24];

	json__str(j, "rule", detect__name(v->kind));
	json__str(j, "severity", detect__severity_name(v->severity));
	json__u64(j, "pid", v->pid);
	if (v->tid)
		json__u64(j, "tid", v->tid);
	if (v->inst >= 0 && (size_t)v->inst < m->ninst) {
		const struct model_instance *in = &m->inst[v->inst];

		snprintf(key, sizeof(key), "0x%llx", (unsigned long long)in->key);
		json__u64(j, "id", in->seq);
		json__str(j, "instance", key);
		json__str(j, "contract", in->contract);
		json__str(j, "runtime", profile_name(r, in->profile));
	}
	if (v->call)
		json__u64(j, "call", v->call);
	json__str(j, "detail", v->detail);
	if (v->kind >= CW_RULE_NR) {
		json__f64(j, "since_t", rel(r, v->since), 3);
		json__f64(j, "rate_bytes_per_second", v->rate, 1);
		json__f64(j, "bytes_per_call", v->per_call, 1);
		json__f64(j, "confidence", v->confidence, 3);
	}
	json__u64(j, "value", v->value);
	json__bool(j, "enforced", v->enforced);
	json__u64(j, "repeats", v->repeats);
	json__arr(j, "frames");
	for (int i = 0; i < DETECT_FRAMES && v->frame[i][0]; i++)
		json__str(j, NULL, v->frame[i]);
	json__close(j, ']');
}

void report__verdict(struct report *r, const struct model *m, const struct detect_verdict *v)
{
	char who[64] = "";

	if (!shown(r, v->ts, v->inst >= 0 && (size_t)v->inst < m->ninst ? m->inst[v->inst].seq : 0))
		return;
	if (r->o.json) {
		obj_begin(r, v->kind < CW_RULE_NR ? "alert" : "verdict", v->ts);
		verdict_json(r, m, v);
		obj_emit(r);
		return;
	}
	if (v->inst >= 0 && (size_t)v->inst < m->ninst)
		snprintf(who, sizeof(who), " instance #%u%s", m->inst[v->inst].seq,
			 v->call ? "" : "");
	log_line(r, v->ts, "%s %s %s pid %u%s: %.60s", v->kind < CW_RULE_NR ? "ALERT" : "VERDICT",
		 detect__severity_name(v->severity), detect__name(v->kind), v->pid, who,
		 v->detail);
	if (v->frame[0][0])
		log_line(r, v->ts, "  at %.66s", v->frame[0]);
}
