// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Verdicts from the record stream. Pure: no I/O, no clocks. */
#include <errno.h>
#include <stdio.h>	/* snprintf only: detect does no I/O */
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "util.h"

#define WINDOW 32		/* points a trend is fitted over */
#define REPEAT_NS 1000000000ULL	/* the same alert within this is counted, not listed */

static const char *const kind_name[DETECT_NR] = {
	[CW_RULE_SPAWN] = "process.spawn",
	[CW_RULE_EXEC] = "process.exec",
	[CW_RULE_FILE] = "file.open",
	[CW_RULE_NET] = "net",
	[CW_RULE_WX] = "memory.wx",
	[CW_RULE_PRIV] = "priv.change",
	[CW_RULE_NS] = "ns.change",
	[CW_RULE_INJECT] = "inject",
	[CW_RULE_HOST_OOB] = "hostcall.oob",
	[CW_RULE_SHARED] = "memory.shared",
	[CW_RULE_HOST_SLOW] = "hostcall.slow",
	[DETECT_LEAK_INSTANCE] = "leak.instance",
	[DETECT_LEAK_TARGET] = "leak.target",
	[DETECT_PEAK] = "peak.limit",
	[DETECT_THREADS] = "threads.growth",
	[DETECT_CRASH] = "crash",
	[DETECT_GOROUTINES] = "goroutines.growth",
	[DETECT_CGO] = "cgo.leak",
};

static const char *const sev_name[] = { "info", "low", "medium", "high", "critical" };

/* A trend: the last WINDOW points (x seconds, y value). */
struct series {
	double x[WINDOW], y[WINDOW];
	__u32 n, pos;
	__u64 first_ts[WINDOW];
};

struct inst_state {
	struct series s;	/* (time, bytes its calls retained so far), one point per interval */
	bool leaking, peaked;
};

struct target_state {
	struct series anon, threads, goroutines, cgo;
	bool leaking, peaked, threads_growing, goroutines_growing, cgo_growing;
	__u64 baseline;		/* resident bytes at the first snapshot: relative limits */
};

struct detect {
	struct detect_rules r;
	struct detect_verdict *v;
	size_t n, cap;
	struct inst_state *inst;	/* parallel to model.inst */
	size_t ninst;
	struct target_state *tgt;	/* parallel to model.t */
	size_t ntgt;
	/* instance pairs already reported as sharing memory */
	struct { long a, b; } *shared;
	size_t nshared;
	__u64 evicted[DETECT_NR];	/* verdicts let go with their targets, by kind */
};

const char *detect__name(__u32 kind)
{
	return kind < DETECT_NR && kind_name[kind] ? kind_name[kind] : "unknown";
}

int detect__kind(const char *name)
{
	for (int k = 1; k < DETECT_NR; k++)
		if (kind_name[k] && !strcmp(kind_name[k], name))
			return k;
	return -1;
}

const char *detect__severity_name(enum detect_severity s)
{
	return s <= DETECT_CRITICAL ? sev_name[s] : "unknown";
}

void detect__defaults(struct detect_rules *r)
{
	static const char *const allow[] = {
		"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/usr/local/lib/",
		"/usr/share/zoneinfo/", "/etc/ld.so.cache", "/etc/localtime", "/proc/self/",
		"/proc/thread-self/", "/sys/kernel/mm/transparent_hugepage/",
		"/sys/devices/system/cpu/", "/sys/fs/cgroup/", "/dev/null", "/dev/urandom",
		"/dev/random",
		/* glibc's malloc, before it gives a heap's top back (heap trimming) */
		"/proc/sys/vm/overcommit_memory",
	};
	static const enum detect_severity sev[DETECT_NR] = {
		[CW_RULE_SPAWN] = DETECT_HIGH, [CW_RULE_EXEC] = DETECT_HIGH,
		[CW_RULE_FILE] = DETECT_MEDIUM, [CW_RULE_NET] = DETECT_HIGH,
		[CW_RULE_WX] = DETECT_HIGH, [CW_RULE_PRIV] = DETECT_CRITICAL,
		[CW_RULE_NS] = DETECT_CRITICAL, [CW_RULE_INJECT] = DETECT_CRITICAL,
		[CW_RULE_HOST_OOB] = DETECT_CRITICAL, [CW_RULE_SHARED] = DETECT_HIGH,
		[CW_RULE_HOST_SLOW] = DETECT_MEDIUM, [DETECT_LEAK_INSTANCE] = DETECT_HIGH,
		[DETECT_LEAK_TARGET] = DETECT_MEDIUM, [DETECT_PEAK] = DETECT_HIGH,
		[DETECT_THREADS] = DETECT_MEDIUM, [DETECT_CRASH] = DETECT_CRITICAL,
		[DETECT_GOROUTINES] = DETECT_MEDIUM, [DETECT_CGO] = DETECT_MEDIUM,
	};

	memset(r, 0, sizeof(*r));
	for (int k = 1; k < DETECT_NR; k++) {
		r->rule[k].enabled = true;
		r->rule[k].severity = sev[k];
	}
	/* the kernel side can stop these before the syscall runs */
	r->rule[CW_RULE_SPAWN].enforce = r->rule[CW_RULE_EXEC].enforce = true;
	r->rule[CW_RULE_WX].enforce = r->rule[CW_RULE_PRIV].enforce = true;
	r->rule[CW_RULE_NS].enforce = r->rule[CW_RULE_INJECT].enforce = true;
	/* a runtime loads its libraries and the host does its I/O outside contract calls */
	r->rule[CW_RULE_FILE].in_calls_only = true;
	for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
		util__strlcpy(r->file_allow[r->nfile_allow++], allow[i], DETECT_PREFIX_LEN);
	r->host_slow_ns = 1000000000ULL;
	r->leak_per_call = 4096;
	r->leak_rate = 4096;
	r->leak_growth = 1 << 20;
	r->leak_span_ns = 5000000000ULL;
	r->leak_calls = 32;
	r->leak_fit = 0.75;
	r->target_rate = 64 << 10;
	r->target_growth = 8 << 20;
	r->target_span_ns = 20000000000ULL;
	r->threads_growth = 8;
	r->threads_span_ns = 10000000000ULL;
	r->goroutines_growth = 50;
	r->goroutines_span_ns = 10000000000ULL;
	r->cgo_growth = 1 << 20;
	r->cgo_span_ns = 10000000000ULL;
}

struct detect *detect__new(const struct detect_rules *rules)
{
	struct detect *d = calloc(1, sizeof(*d));

	if (d)
		d->r = *rules;
	return d;
}

void detect__set_rules(struct detect *d, const struct detect_rules *rules)
{
	d->r = *rules;
}

void detect__free(struct detect *d)
{
	if (!d)
		return;
	free(d->v);
	free(d->inst);
	free(d->tgt);
	free(d->shared);
	free(d);
}

size_t detect__count(const struct detect *d)
{
	return d->n;
}

const struct detect_verdict *detect__get(const struct detect *d, size_t i)
{
	return i < d->n ? &d->v[i] : NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double detect__theil_sen(const double *x, const double *y, size_t n, double *fit)
{
	double s[WINDOW * (WINDOW - 1) / 2];
	size_t m = 0, up = 0;

	*fit = 0;
	if (n < 2 || n > WINDOW)
		return 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			if (x[j] == x[i])
				continue;
			s[m] = (y[j] - y[i]) / (x[j] - x[i]);
			up += s[m] > 0;
			m++;
		}
	if (!m)
		return 0;
	*fit = (double)up / (double)m;
	qsort(s, m, sizeof(s[0]), cmp_double);
	return m % 2 ? s[m / 2] : (s[m / 2 - 1] + s[m / 2]) / 2;
}

/* Add a point to a series; times in ns become seconds. */
static void series_add(struct series *s, __u64 ts, double y)
{
	s->x[s->pos] = (double)ts / 1e9;
	s->y[s->pos] = y;
	s->first_ts[s->pos] = ts;
	s->pos = (s->pos + 1) % WINDOW;
	if (s->n < WINDOW)
		s->n++;
}

/* The series in time order into @x/@y; the oldest point's time into *first. */
static size_t series_get(const struct series *s, double *x, double *y, __u64 *first)
{
	size_t start = s->n < WINDOW ? 0 : s->pos;

	for (size_t i = 0; i < s->n; i++) {
		x[i] = s->x[(start + i) % WINDOW];
		y[i] = s->y[(start + i) % WINDOW];
	}
	*first = s->n ? s->first_ts[start % WINDOW] : 0;
	return s->n;
}

/* Fit @s: slope (per s), fit, span (ns), growth; false with fewer than 3 points. */
static bool series_trend(const struct series *s, double *slope, double *fit, __u64 *span,
			 double *growth, __u64 *first)
{
	double x[WINDOW], y[WINDOW];
	size_t n = series_get(s, x, y, first);

	if (n < 3)
		return false;
	*slope = detect__theil_sen(x, y, n, fit);
	*span = (__u64)((x[n - 1] - x[0]) * 1e9);
	*growth = y[n - 1] - y[0];
	return true;
}

/*
 * Still rising now? The last third of the window (3 points at least) must
 * rise too: a warm-up that has levelled off, or a pool that filled up and
 * stays full, rises over the whole window but not at its end.
 */
static bool series_rising_now(const struct series *s, double rate, double fit_min)
{
	double x[WINDOW], y[WINDOW], fit;
	__u64 first;
	size_t n = series_get(s, x, y, &first), k = n / 3 < 3 ? 3 : n / 3;

	if (n < k)
		return false;
	return detect__theil_sen(x + n - k, y + n - k, k, &fit) >= rate && rate > 0 ?
		       fit >= fit_min : false;
}

/* Make room for the states of model instance @i and target @t. */
static int states_grow(struct detect *d, const struct model *m)
{
	if (d->ninst < m->ninst) {
		struct inst_state *n = realloc(d->inst, m->capinst * sizeof(*n));

		if (!n)
			return -ENOMEM;
		memset(n + d->ninst, 0, (m->capinst - d->ninst) * sizeof(*n));
		d->inst = n;
		d->ninst = m->capinst;
	}
	if (d->ntgt < m->n) {
		struct target_state *n = realloc(d->tgt, m->cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		memset(n + d->ntgt, 0, (m->cap - d->ntgt) * sizeof(*n));
		d->tgt = n;
		d->ntgt = m->cap;
	}
	return 0;
}

/* A new verdict of @kind about target @t (and instance @inst, or -1); NULL if off or ENOMEM. */
static struct detect_verdict *verdict(struct detect *d, const struct model *m, __u32 kind,
				      size_t t, long inst, __u64 ts)
{
	struct detect_verdict *v;

	if (!d->r.rule[kind].enabled)
		return NULL;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		struct detect_verdict *nv = realloc(d->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		d->v = nv;
		d->cap = cap;
	}
	v = &d->v[d->n++];
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->severity = d->r.rule[kind].severity;
	v->pid = m->t[t].pid;
	v->inst = inst;
	v->instance = inst >= 0 ? m->inst[inst].key : 0;
	v->ts = ts;
	return v;
}

/* Where the instance @inst or target @t grew most (--heap), as the verdict's frames. */
static void verdict_site(struct detect_verdict *v, const struct model *m, size_t t, long inst)
{
	const struct model_site *s = model__top_site(m, t, inst, 0);

	for (__u32 i = 0; s && i < s->nframes && i < DETECT_FRAMES; i++)
		util__strlcpy(v->frame[i], s->frame[i], CW_FRAME_LEN);
}

/* Where most of a growing count lives (site @s, may be NULL), as the verdict's frames. */
static void count_site_frames(struct detect_verdict *v, const struct model_site *s)
{
	for (__u32 i = 0; s && i < s->nframes && i < DETECT_FRAMES; i++)
		util__strlcpy(v->frame[i], s->frame[i], CW_FRAME_LEN);
	if (s)
		v->per_call = (double)s->site.bytes;	/* alive (or bytes held) from that site */
}

/* The model index of the live instance @key of @pid, or -1. */
static long inst_index(const struct model *m, __u32 pid, __u64 key)
{
	struct model_instance *in = key ? model__instance((struct model *)m, pid, key) : NULL;

	return in ? (long)(in - m->inst) : -1;
}

static bool path_allowed(const struct detect_rules *r, const char *path)
{
	for (int i = 0; i < r->nfile_allow; i++)
		if (!strncmp(path, r->file_allow[i], strlen(r->file_allow[i])))
			return true;
	return false;
}

static bool net_allowed(const struct detect_rules *r, const struct cw_ev_alert *e)
{
	if (e->op == CW_OP_LISTEN)
		return r->listen_allowed;
	for (int i = 0; i < r->nnet_allow; i++) {
		int bits = r->net_allow[i].prefix, k;

		if (r->net_allow[i].family != e->family ||
		    (r->net_allow[i].port && r->net_allow[i].port != e->port))
			continue;
		for (k = 0; k < bits / 8; k++)
			if (r->net_allow[i].addr[k] != e->addr[k])
				break;
		if (k < bits / 8)
			continue;
		if (bits % 8 && ((r->net_allow[i].addr[k] ^ e->addr[k]) & (0xff00 >> (bits % 8))))
			continue;
		return true;
	}
	return false;
}

/* "1.2.3.4:80" or "[::1]:80" */
static void fmt_sockaddr(const struct cw_ev_alert *e, char *buf, size_t len)
{
	if (e->family == 2) {
		snprintf(buf, len, "%u.%u.%u.%u:%u", e->addr[0], e->addr[1], e->addr[2], e->addr[3],
			 e->port);
		return;
	}
	size_t o = (size_t)snprintf(buf, len, "[");

	for (int i = 0; i < 16 && o < len; i += 2)
		o += (size_t)snprintf(buf + o, len - o, "%s%x", i ? ":" : "",
				      (e->addr[i] << 8) | e->addr[i + 1]);
	if (o < len)
		snprintf(buf + o, len - o, "]:%u", e->port);
}

static const char *const op_name[] = {
	[CW_OP_CONNECT] = "connect", [CW_OP_BIND] = "bind", [CW_OP_LISTEN] = "listen",
	[CW_OP_OPEN] = "open", [CW_OP_MMAP] = "mmap", [CW_OP_MPROTECT] = "mprotect",
};

/*
 * The same alert (pid, rule, op, path) again within a second: count it on the
 * first. A repeat from the thread running a contract call names the instance
 * the first did not know (glibc runs setuid on every thread, the caller last).
 */
static bool repeated(struct detect *d, const struct model *m, const struct cw_ev_alert *e)
{
	for (size_t i = d->n; i > 0 && i + 64 > d->n; i--) {
		struct detect_verdict *v = &d->v[i - 1];

		if (v->pid == e->h.tgid && v->kind == e->rule && v->value == e->op &&
		    e->h.ts - v->ts < REPEAT_NS && !strncmp(v->what, e->path, sizeof(v->what) - 1)) {
			v->repeats++;
			if (v->inst < 0 && e->h.instance) {
				v->inst = inst_index(m, e->h.tgid, e->h.instance);
				v->instance = e->h.instance;
				v->call = e->call;
				v->tid = e->h.tid;
				for (int f = 0; f < DETECT_FRAMES; f++)
					util__strlcpy(v->frame[f], e->frame[f], CW_FRAME_LEN);
			}
			return true;
		}
	}
	return false;
}

/* A sandbox-escape event from the kernel side: decide (file, net) and describe. */
static int on_alert(struct detect *d, const struct model *m, const struct cw_ev_alert *e,
		    size_t t)
{
	const struct detect_rules *r = &d->r;
	long inst = inst_index(m, e->h.tgid, e->h.instance);
	struct detect_verdict *v;
	char what[200] = "";

	if (e->rule == 0 || e->rule >= CW_RULE_NR || !r->rule[e->rule].enabled)
		return 0;
	if (e->rule == CW_RULE_FILE) {
		bool dots = strstr(e->path, "..") != NULL;

		/* contract hosts: the runtime and host do their own I/O outside calls */
		if (r->rule[CW_RULE_FILE].in_calls_only && !e->h.instance && m->t[t].runtime[0])
			return 0;
		if (path_allowed(r, e->resolved[0] ? e->resolved : e->path))
			return 0;
		snprintf(what, sizeof(what), "open %.80s%s%.80s%s", e->path,
			 e->resolved[0] ? " -> " : "", e->resolved, dots ? " (.. traversal)" : "");
	} else if (e->rule == CW_RULE_NET) {
		char addr[64] = "";

		if (net_allowed(r, e))
			return 0;
		if (e->op != CW_OP_LISTEN)
			fmt_sockaddr(e, addr, sizeof(addr));
		snprintf(what, sizeof(what), "%s %s", op_name[e->op <= CW_OP_MPROTECT ? e->op : 0] ?
			 op_name[e->op] : "?", e->op == CW_OP_LISTEN ? "(any address)" : addr);
	} else if (e->rule == CW_RULE_WX) {
		snprintf(what, sizeof(what), "%s PROT_WRITE|PROT_EXEC, %llu bytes",
			 e->op == CW_OP_MMAP ? "mmap" : "mprotect", (unsigned long long)e->arg[2]);
	} else if (e->rule == CW_RULE_SPAWN) {
		snprintf(what, sizeof(what), "started process %llu", (unsigned long long)e->arg[0]);
	} else if (e->rule == CW_RULE_EXEC) {
		snprintf(what, sizeof(what), "exec %.180s", e->path);
	} else {
		snprintf(what, sizeof(what), "syscall %u (%llu, %llu)", e->op,
			 (unsigned long long)e->arg[0], (unsigned long long)e->arg[1]);
	}
	if (repeated(d, m, e))
		return 0;
	v = verdict(d, m, e->rule, t, inst, e->h.ts);
	if (!v)
		return 0;
	v->tid = e->h.tid;
	v->call = e->call;
	v->value = e->op;
	v->enforced = e->flags & CW_AF_ENFORCED;
	util__strlcpy(v->detail, what, sizeof(v->detail));
	util__strlcpy(v->what, e->path, sizeof(v->what));
	for (int i = 0; i < DETECT_FRAMES; i++)
		util__strlcpy(v->frame[i], e->frame[i], CW_FRAME_LEN);
	return 1;
}

/* The frames of stack @id of @pid as the verdict's, if the collector named it. */
static void verdict_stack(struct detect_verdict *v, const struct model *m, __u32 pid, __s32 id)
{
	const struct cw_rec_stack *s = id >= 0 ? model__stack(m, pid, id) : NULL;

	for (__u32 i = 0; s && i < s->nframes && i < DETECT_FRAMES; i++)
		util__strlcpy(v->frame[i], s->frame[i], CW_FRAME_LEN);
}

/* hostcall.oob, hostcall.slow: a host call returned. */
static int on_host_call(struct detect *d, const struct model *m, const struct cw_ev_host_call *e,
			size_t t)
{
	long inst = inst_index(m, e->h.tgid, e->h.instance);
	__u64 linear = inst >= 0 ? m->inst[inst].stats.linear : 0;
	struct detect_verdict *v;
	int n = 0;

	if (inst >= 0 && linear && e->guest_len && e->guest_ptr + e->guest_len > linear) {
		v = verdict(d, m, CW_RULE_HOST_OOB, t, inst, e->h.ts);
		if (v) {
			v->tid = e->h.tid;
			v->value = e->guest_ptr;
			snprintf(v->detail, sizeof(v->detail),
				 "host function 0x%llx given guest memory [0x%llx, +%llu) beyond the "
				 "instance's %llu-byte linear memory", (unsigned long long)e->func,
				 (unsigned long long)e->guest_ptr, (unsigned long long)e->guest_len,
				 (unsigned long long)linear);
			verdict_stack(v, m, e->h.tgid, e->stack);
			n++;
		}
	}
	if (d->r.host_slow_ns && e->ns > d->r.host_slow_ns) {
		v = verdict(d, m, CW_RULE_HOST_SLOW, t, inst, e->h.ts);
		if (v) {
			v->tid = e->h.tid;
			v->value = e->ns;
			snprintf(v->detail, sizeof(v->detail), "host function 0x%llx took %.3f s "
				 "(limit %.3f s)", (unsigned long long)e->func, e->ns / 1e9,
				 d->r.host_slow_ns / 1e9);
			verdict_stack(v, m, e->h.tgid, e->stack);
			n++;
		}
	}
	return n;
}

/* memory.shared: instance @i's linear memory now known; does it overlap another's? */
static int on_memory(struct detect *d, const struct model *m, long i, size_t t,
		     const struct cw_ev_memory *e)
{
	__u64 ts = e->h.ts;
	const struct model_instance *a = &m->inst[i];
	int n = 0;

	if (!a->stats.base || !a->stats.linear)
		return 0;
	for (size_t j = 0; j < m->ninst; j++) {
		const struct model_instance *b = &m->inst[j];
		struct detect_verdict *v;
		bool seen = false;

		if ((long)j == i || b->target != a->target || b->state != MODEL_RUNNING ||
		    !b->stats.base || !b->stats.linear ||
		    a->stats.base >= b->stats.base + b->stats.linear ||
		    b->stats.base >= a->stats.base + a->stats.linear)
			continue;
		for (size_t k = 0; k < d->nshared && !seen; k++)
			seen = (d->shared[k].a == i && d->shared[k].b == (long)j) ||
			       (d->shared[k].a == (long)j && d->shared[k].b == i);
		if (seen)
			continue;
		void *ns = realloc(d->shared, (d->nshared + 1) * sizeof(*d->shared));

		if (!ns)
			return n;
		d->shared = ns;
		d->shared[d->nshared].a = i;
		d->shared[d->nshared++].b = (long)j;
		v = verdict(d, m, CW_RULE_SHARED, t, i, ts);
		if (!v)
			continue;
		v->value = a->stats.base;
		snprintf(v->detail, sizeof(v->detail), "linear memory of instance #%u (%.24s) at "
			 "0x%llx+%llu overlaps instance #%u (%.24s) at 0x%llx+%llu", a->seq,
			 a->contract, (unsigned long long)a->stats.base,
			 (unsigned long long)a->stats.linear, b->seq, b->contract,
			 (unsigned long long)b->stats.base, (unsigned long long)b->stats.linear);
		verdict_stack(v, m, e->h.tgid, e->stack);
		n++;
	}
	return n;
}

/* crash: the target died of a fatal signal or a Go fatal error (its exit follows). */
static int on_crash(struct detect *d, const struct model *m, size_t t)
{
	const struct model_crash *c = model__crash(m, t);
	const struct cw_ev_crash *e;
	const char *code;
	struct detect_verdict *v;
	size_t o;

	if (!c)
		return 0;
	e = &c->ev;
	v = verdict(d, m, DETECT_CRASH, t, c->inst, e->h.ts);
	if (!v)
		return 0;
	v->tid = e->h.tid;
	v->since = e->h.ts;
	v->call = c->inst >= 0 ? e->call : 0;
	v->value = (__u64)e->signo;
	code = model__sigcode_name(e->signo, e->code);
	o = (size_t)snprintf(v->detail, sizeof(v->detail), "%s", model__crash_kind(e));
	if (e->kind != CW_CRASH_SIGNAL && e->signo && o < sizeof(v->detail))
		o += (size_t)snprintf(v->detail + o, sizeof(v->detail) - o, " after %s",
				      model__signal_name(e->signo));
	if (e->signo && code && o < sizeof(v->detail)) {
		/* faults say where: SEGV at address 0x0 is a null pointer */
		if (e->signo == 11 || e->signo == 7)
			o += (size_t)snprintf(v->detail + o, sizeof(v->detail) - o,
					      " (%s, address 0x%llx)", code,
					      (unsigned long long)e->addr);
		else
			o += (size_t)snprintf(v->detail + o, sizeof(v->detail) - o, " (%s)", code);
	}
	if (o < sizeof(v->detail))
		o += (size_t)snprintf(v->detail + o, sizeof(v->detail) - o, " in thread %u (%.16s)",
				      e->h.tid, e->comm);
	if (c->inst >= 0 && o < sizeof(v->detail))
		snprintf(v->detail + o, sizeof(v->detail) - o, ", instance #%u (%.40s) call %llu",
			 m->inst[c->inst].seq, m->inst[c->inst].contract,
			 (unsigned long long)e->call);
	for (__u32 i = 0; i < e->nframes && i < DETECT_FRAMES; i++)
		util__strlcpy(v->frame[i], e->frame[i], CW_FRAME_LEN);
	return 1;
}

/* The periodic check of instance leaks (targets are checked on their own snapshots). */
static int on_tick(struct detect *d, const struct model *m, __u64 ts)
{
	const struct detect_rules *r = &d->r;
	double slope, fit, growth;
	__u64 span, first;
	int n = 0;

	for (size_t i = 0; i < m->ninst; i++) {
		const struct model_instance *in = &m->inst[i];
		struct inst_state *st = &d->inst[i];
		__s64 med = model__retained_median(in);
		struct detect_verdict *v;

		/* one point per interval: what its calls kept so far */
		if (in->state != MODEL_RUNNING)
			continue;
		series_add(&st->s, ts, (double)in->retained_total);
		if (st->leaking || in->calls < r->leak_calls || med < (__s64)r->leak_per_call ||
		    !series_trend(&st->s, &slope, &fit, &span, &growth, &first) ||
		    span < r->leak_span_ns || slope < (double)r->leak_rate || fit < r->leak_fit ||
		    growth < (double)r->leak_growth ||
		    !series_rising_now(&st->s, (double)r->leak_rate / 2, r->leak_fit))
			continue;
		st->leaking = true;
		v = verdict(d, m, DETECT_LEAK_INSTANCE, in->target, (long)i, ts);
		if (!v)
			continue;
		v->since = first;
		v->rate = slope;
		v->per_call = (double)med;
		v->confidence = fit;
		v->value = in->stats.charged > 0 ? (__u64)in->stats.charged : 0;
		snprintf(v->detail, sizeof(v->detail), "instance #%u (%.40s) keeps %lld bytes a "
			 "call, %.0f bytes/s for %.1f s; holds %lld bytes", in->seq, in->contract,
			 (long long)med, slope, span / 1e9, (long long)in->stats.charged);
		verdict_site(v, m, in->target, (long)i);
		n++;
	}
	return n;
}

static int count_growth(struct detect *d, const struct model *m, size_t t, __u64 ts,
			struct series *s, bool *raised, enum detect_kind kind, double growth,
			__u64 span_ns, const char *what, const struct model_site *site);

/* Trends of target @t, right after its snapshot added a point: memory leak, thread growth. */
static int target_trends(struct detect *d, const struct model *m, size_t t, __u64 ts)
{
	const struct detect_rules *r = &d->r;
	struct target_state *st = &d->tgt[t];
	struct detect_verdict *v;
	double slope, fit, growth;
	__u64 span, first;
	int n = 0;

	if (!st->leaking && series_trend(&st->anon, &slope, &fit, &span, &growth, &first) &&
	    span >= r->target_span_ns && slope >= (double)r->target_rate &&
	    fit >= r->leak_fit && growth >= (double)r->target_growth &&
	    series_rising_now(&st->anon, (double)r->target_rate / 2, r->leak_fit)) {
		st->leaking = true;
		v = verdict(d, m, DETECT_LEAK_TARGET, t, -1, ts);
		if (v) {
			v->since = first;
			v->rate = slope;
			v->confidence = fit;
			v->value = m->t[t].stats.rss[CW_RSS_ANON];
			snprintf(v->detail, sizeof(v->detail), "anonymous memory of %u (%s) "
				 "grows %.0f bytes/s: +%.0f bytes in %.1f s",
				 m->t[t].pid, m->t[t].comm, slope, growth, span / 1e9);
			verdict_site(v, m, t, -1);
			n++;
		}
	}
	n += count_growth(d, m, t, ts, &st->threads, &st->threads_growing, DETECT_THREADS,
			  r->threads_growth, r->threads_span_ns, "threads",
			  model__top_thread_site(m, t, 0));
	return n;
}

/*
 * A count that rose by at least @growth over at least @span_ns and keeps
 * rising (threads, goroutines, cgo bytes) raises verdict @kind once, with
 * the site @site holding most of it. Returns the verdicts raised.
 */
static int count_growth(struct detect *d, const struct model *m, size_t t, __u64 ts,
			struct series *s, bool *raised, enum detect_kind kind, double growth,
			__u64 span_ns, const char *what, const struct model_site *site)
{
	double slope, fit, span_growth, lo = 1e300, x[WINDOW], y[WINDOW];
	struct detect_verdict *v;
	__u64 span, first;
	size_t k;

	if (*raised || !series_trend(s, &slope, &fit, &span, &span_growth, &first) ||
	    span < span_ns || slope <= 0 || fit < 0.6 || !series_rising_now(s, 1e-9, 0.6))
		return 0;
	k = series_get(s, x, y, &first);
	for (size_t j = 0; j < k; j++)
		lo = y[j] < lo ? y[j] : lo;
	if (y[k - 1] - lo < growth)
		return 0;
	*raised = true;
	v = verdict(d, m, kind, t, -1, ts);
	if (!v)
		return 0;
	v->since = first;
	v->rate = slope;
	v->confidence = fit;
	v->value = (__u64)y[k - 1];
	snprintf(v->detail, sizeof(v->detail), "%s of %u (%s) rose from %.0f to %.0f in %.1f s "
		 "without returning", what, m->t[t].pid, m->t[t].comm, lo, y[k - 1], span / 1e9);
	count_site_frames(v, site);
	return 1;
}

/* Go programs, after their figures added a point: goroutine growth, cgo leak. */
static int go_trends(struct detect *d, const struct model *m, size_t t, __u64 ts)
{
	const struct detect_rules *r = &d->r;
	struct target_state *st = &d->tgt[t];

	return count_growth(d, m, t, ts, &st->goroutines, &st->goroutines_growing,
			    DETECT_GOROUTINES, r->goroutines_growth, r->goroutines_span_ns,
			    "goroutines", model__top_go_site(m, t, false, 0)) +
	       count_growth(d, m, t, ts, &st->cgo, &st->cgo_growing, DETECT_CGO,
			    (double)r->cgo_growth, r->cgo_span_ns, "bytes of C memory from cgo",
			    model__top_cgo_site(m, t, 0));
}

/* Peak limits on a snapshot. */
static int on_peak(struct detect *d, const struct model *m, size_t t, long inst, __u64 ts)
{
	struct detect_verdict *v;

	if (inst < 0) {
		const struct model_target *tg = &m->t[t];
		struct target_state *st = &d->tgt[t];
		__u64 peak = tg->stats.rss_peak.value, limit = d->r.peak_rss;

		if (!st->baseline)
			st->baseline = model__rss(&tg->stats);
		/* the relative limit: a multiple of what it held when first seen */
		if (d->r.peak_ratio > 0 && st->baseline &&
		    (!limit || d->r.peak_ratio * (double)st->baseline < (double)limit))
			limit = (__u64)(d->r.peak_ratio * (double)st->baseline);
		if (!limit || st->peaked || peak < limit)
			return 0;
		st->peaked = true;
		v = verdict(d, m, DETECT_PEAK, t, -1, ts);
		if (!v)
			return 0;
		v->value = peak;
		snprintf(v->detail, sizeof(v->detail), "resident memory of %u (%s) reached %llu "
			 "bytes (limit %llu%s)", tg->pid, tg->comm, (unsigned long long)peak,
			 (unsigned long long)limit, limit == d->r.peak_rss ? "" :
			 ", relative to its first-seen resident memory");
		return 1;
	}
	const struct model_instance *in = &m->inst[inst];

	if (!d->r.peak_instance || d->inst[inst].peaked || in->stats.charged < 0 ||
	    (__u64)in->stats.charged < d->r.peak_instance)
		return 0;
	d->inst[inst].peaked = true;
	v = verdict(d, m, DETECT_PEAK, t, inst, ts);
	if (!v)
		return 0;
	v->value = (__u64)in->stats.charged;
	snprintf(v->detail, sizeof(v->detail), "instance #%u (%.40s) holds %llu bytes (limit %llu)",
		 in->seq, in->contract, (unsigned long long)v->value,
		 (unsigned long long)d->r.peak_instance);
	verdict_site(v, m, t, inst);
	return 1;
}

int detect__remap(struct detect *d, const struct model *m, const struct model_remap *r)
{
	size_t k = 0;
	int n = 0;

	/* per-target and per-instance state follow their entries down the arrays */
	for (size_t i = 0; i < r->nt && i < d->ntgt; i++)
		if (r->t[i] >= 0 && (size_t)r->t[i] != i)
			d->tgt[r->t[i]] = d->tgt[i];
	for (size_t i = m->n; i < d->ntgt; i++)
		memset(&d->tgt[i], 0, sizeof(d->tgt[i]));
	for (size_t i = 0; i < r->ninst && i < d->ninst; i++)
		if (r->inst[i] >= 0 && (size_t)r->inst[i] != i)
			d->inst[r->inst[i]] = d->inst[i];
	for (size_t i = m->ninst; i < d->ninst; i++)
		memset(&d->inst[i], 0, sizeof(d->inst[i]));
	for (size_t i = 0; i < d->nshared; i++) {
		long a = d->shared[i].a, b = d->shared[i].b;

		a = a >= 0 && (size_t)a < r->ninst ? r->inst[a] : -1;
		b = b >= 0 && (size_t)b < r->ninst ? r->inst[b] : -1;
		if (a >= 0 && b >= 0)
			d->shared[k++] = (typeof(d->shared[0])){ a, b };
	}
	d->nshared = k;
	/* verdicts about a process the model no longer has go too, counted by kind */
	k = 0;
	for (size_t i = 0; i < d->n; i++) {
		struct detect_verdict *v = &d->v[i];
		bool kept = false;

		for (size_t t = 0; t < m->n && !kept; t++)
			kept = m->t[t].pid == v->pid;
		if (!kept) {
			if (v->kind < DETECT_NR)
				d->evicted[v->kind]++;
			n++;
			continue;
		}
		if (v->inst >= 0)
			v->inst = (size_t)v->inst < r->ninst ? r->inst[v->inst] : -1;
		d->v[k++] = *v;
	}
	d->n = k;
	return n;
}

__u64 detect__evicted(const struct detect *d, __u32 kind)
{
	__u64 n = 0;

	if (kind < DETECT_NR)
		return d->evicted[kind];
	for (int k = 0; k < DETECT_NR; k++)
		n += d->evicted[k];
	return n;
}

bool detect__leaking(const struct detect *d, size_t t, long inst)
{
	if (inst >= 0)
		return (size_t)inst < d->ninst && d->inst[inst].leaking;
	return t < d->ntgt && d->tgt[t].leaking;
}

int detect__apply(struct detect *d, const struct model *m, const void *rec, size_t len)
{
	const struct cw_hdr *h = rec;
	const struct model_target *tg;
	size_t t;

	if (len < sizeof(*h) || states_grow(d, m))
		return 0;
	if (h->type == CW_REC_STATS && !h->tgid)
		return on_tick(d, m, h->ts);
	tg = model__live((struct model *)m, h->tgid);
	if (!tg) {
		/* alerts and final figures can come as the target exits */
		for (size_t i = m->n; !tg && i > 0; i--)
			if (m->t[i - 1].pid == h->tgid)
				tg = &m->t[i - 1];
		if (!tg)
			return 0;
	}
	t = (size_t)(tg - m->t);
	switch (h->type) {
	case CW_EV_ALERT:
		return len >= sizeof(struct cw_ev_alert) ? on_alert(d, m, rec, t) : 0;
	case CW_EV_HOST_CALL:
		return on_host_call(d, m, rec, t);
	case CW_EV_CRASH:
		return on_crash(d, m, t);
	case CW_EV_MEMORY: {
		long i = inst_index(m, h->tgid, h->instance);

		return i >= 0 ? on_memory(d, m, i, t, rec) : 0;
	}
	case CW_REC_STATS:
		if (tg->state != MODEL_RUNNING)
			return on_peak(d, m, t, -1, h->ts);
		series_add(&d->tgt[t].anon, h->ts, (double)tg->stats.rss[CW_RSS_ANON]);
		series_add(&d->tgt[t].threads, h->ts, (double)tg->stats.threads);
		return target_trends(d, m, t, h->ts) + on_peak(d, m, t, -1, h->ts);
	case CW_REC_GO_STATS: {
		const struct cw_rec_go_stats *g = rec;

		if (tg->state != MODEL_RUNNING)
			return 0;
		if (g->flags & CW_GO_GOROUTINES)
			series_add(&d->tgt[t].goroutines, h->ts, (double)g->user);
		if (g->flags & CW_GO_CGO)
			series_add(&d->tgt[t].cgo, h->ts, (double)g->k.cgo_bytes);
		return go_trends(d, m, t, h->ts);
	}
	case CW_REC_INST_STATS: {
		long i = inst_index(m, h->tgid, h->instance);

		return i >= 0 ? on_peak(d, m, t, i, h->ts) : 0;
	}
	}
	return 0;
}
