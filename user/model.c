// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Per-target state from the record stream. Pure: no I/O, no clocks. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "model.h"
#include "util.h"

const __u64 model_hist_le[MODEL_HIST] = {
	10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,
	10000000000ULL, ~0ULL,
};

/* The latency bucket of @ns. */
static int hist_bucket(__u64 ns)
{
	int i = 0;

	while (i < MODEL_HIST - 1 && ns > model_hist_le[i])
		i++;
	return i;
}

/* Record sizes by type; a record shorter than its type's size is malformed. */
static size_t rec_size(__u16 type)
{
	switch (type) {
	case CW_EV_TARGET_NEW: return sizeof(struct cw_ev_target);
	case CW_EV_EXEC: return sizeof(struct cw_ev_exec);
	case CW_EV_EXIT: return sizeof(struct cw_ev_exit);
	case CW_EV_PEAK: return sizeof(struct cw_ev_peak);
	case CW_EV_MMAP: return sizeof(struct cw_ev_mmap);
	case CW_REC_STATS: return sizeof(struct cw_rec_stats);
	case CW_REC_ATTACH: return sizeof(struct cw_rec_attach);
	case CW_EV_CODE: return sizeof(struct cw_ev_code);
	case CW_EV_MODULE: return sizeof(struct cw_ev_module);
	case CW_EV_INSTANCE_NEW: return sizeof(struct cw_ev_instance);
	case CW_EV_INSTANCE_END: return sizeof(struct cw_hdr);
	case CW_EV_CALL: return sizeof(struct cw_ev_call);
	case CW_EV_HOST_CALL: return sizeof(struct cw_ev_host_call);
	case CW_EV_GROW: return sizeof(struct cw_ev_grow);
	case CW_REC_INST_STATS: return sizeof(struct cw_rec_inst_stats);
	case CW_REC_SITE: return sizeof(struct cw_rec_site);
	case CW_REC_THREAD_SITE: return sizeof(struct cw_rec_site);
	case CW_REC_CGO_SITE: return sizeof(struct cw_rec_site);
	case CW_REC_GO_SITE: return sizeof(struct cw_rec_go_site);
	case CW_REC_GO_STATS: return sizeof(struct cw_rec_go_stats);
	case CW_EV_ALERT: return sizeof(struct cw_ev_alert);
	case CW_EV_MEMORY: return sizeof(struct cw_ev_memory);
	case CW_REC_RUNTIME: return sizeof(struct cw_rec_runtime);
	case CW_REC_STACK: return sizeof(struct cw_rec_stack);
	case CW_REC_TICK:
	case CW_REC_END: return sizeof(struct cw_hdr);
	case CW_REC_RULES: return sizeof(struct cw_rec_rules);
	case CW_EV_CRASH: return sizeof(struct cw_ev_crash);
	default: return 0;
	}
}

struct model *model__new(void)
{
	struct model *m = calloc(1, sizeof(struct model));

	if (m) {
		m->last_inst = -1;
		m->grace_ns = MODEL_GRACE_NS;
		m->keep_gone = MODEL_KEEP_GONE;
	}
	return m;
}

void model__free(struct model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ncode; i++)
		free(m->code[i].buf);
	free(m->code);
	free(m->crash);
	free(m->mod);
	free(m->con);
	free(m->site);
	free(m->inst);
	free(m->t);
	free(m);
}

const struct cw_rec_stack *model__stack(const struct model *m, __u32 pid, __s32 id)
{
	size_t n = m->nstack < MODEL_STACKS ? m->nstack : MODEL_STACKS;

	for (size_t i = 0; i < n; i++) {
		const struct cw_rec_stack *s = &m->stack[(m->nstack - 1 - i) % MODEL_STACKS];

		if (s->h.tgid == pid && s->stack == id)
			return s;
	}
	return NULL;
}

struct model_instance *model__instance(struct model *m, __u32 pid, __u64 key)
{
	for (size_t i = m->ninst; i > 0; i--) {
		struct model_instance *in = &m->inst[i - 1];

		if (in->pid == pid && in->key == key && in->state == MODEL_RUNNING)
			return in;
	}
	return NULL;
}

size_t model__nr_instances(const struct model *m, size_t t)
{
	size_t n = 0;

	for (size_t i = 0; i < m->ninst; i++)
		n += m->inst[i].target == t && m->inst[i].state == MODEL_RUNNING;
	return n;
}

static int cmp_s64(const void *a, const void *b)
{
	__s64 x = *(const __s64 *)a, y = *(const __s64 *)b;

	return (x > y) - (x < y);
}

/* Median of the first @n values of @ring. */
static __s64 median(const __s64 *ring, __u32 n)
{
	__s64 v[MODEL_RETAINED_WINDOW];

	if (!n)
		return 0;
	memcpy(v, ring, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_s64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

__s64 model__retained_median(const struct model_instance *in)
{
	return median(in->retained, in->nretained);
}

__s64 model__contract_median(const struct model_contract *c)
{
	return median(c->retained, c->nretained);
}

/* Add @v to the ring @ring of MODEL_RETAINED_WINDOW values. */
static void ring_push(__s64 *ring, __u32 *n, __u32 *pos, __s64 v)
{
	ring[*pos] = v;
	*pos = (*pos + 1) % MODEL_RETAINED_WINDOW;
	if (*n < MODEL_RETAINED_WINDOW)
		(*n)++;
}

/* The entry point @entry of the contract of @in, created on first use. */
static struct model_contract *contract_get(struct model *m, const struct model_instance *in,
					   const char *entry)
{
	struct model_contract *c;

	for (size_t i = 0; i < m->ncon; i++)
		if (!strcmp(m->con[i].contract, in->contract) && !strcmp(m->con[i].entry, entry))
			return &m->con[i];
	c = util__grow((void **)&m->con, &m->ncon, &m->capcon, sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	util__strlcpy(c->contract, in->contract, sizeof(c->contract));
	util__strlcpy(c->entry, entry, sizeof(c->entry));
	c->profile = in->profile;
	return c;
}

/* The pending code of (pid, tid, seq), created if @create. */
static struct model_code *code_find(struct model *m, __u32 pid, __u32 tid, __u64 seq, bool create)
{
	struct model_code *c;

	for (size_t i = 0; i < m->ncode; i++)
		if (m->code[i].pid == pid && m->code[i].tid == tid && m->code[i].seq == seq)
			return &m->code[i];
	if (!create)
		return NULL;
	c = util__grow((void **)&m->code, &m->ncode, &m->capcode, sizeof(*c));
	if (c)
		memset(c, 0, sizeof(*c));
	return c;
}

static void code_drop(struct model *m, struct model_code *c)
{
	free(c->buf);
	*c = m->code[--m->ncode];
}

/* Keep one chunk of a module's code. */
static int apply_code(struct model *m, const struct cw_ev_code *e)
{
	struct model_code *c = code_find(m, e->h.tgid, e->h.tid, e->seq, true);
	__u64 keep = e->total < MODEL_CODE_KEEP ? e->total : MODEL_CODE_KEEP;

	if (!c)
		return -ENOMEM;
	if (!c->buf) {
		c->pid = e->h.tgid;
		c->tid = e->h.tid;
		c->seq = e->seq;
		c->total = e->total;
		c->buf = malloc(keep ? keep : 1);
		if (!c->buf) {
			code_drop(m, c);
			return -ENOMEM;
		}
	}
	if (e->len > CW_CODE_CHUNK || e->off >= keep || e->total != c->total)
		return 0;	/* outside what is hashed, or not the module it claims */
	memcpy(c->buf + e->off, e->data, e->len < keep - e->off ? e->len : keep - e->off);
	c->got += e->len;
	return 0;
}

/* Hex SHA-256 of @n bytes at @p into @out, prefixed with @prefix. */
static void sha256_hex(const unsigned char *p, size_t n, const char *prefix, char *out,
		       size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t o = strlen(prefix);

	if (o >= len || !EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		util__strlcpy(out, "unknown", len);
		return;
	}
	memcpy(out, prefix, o);
	for (unsigned i = 0; i < mdlen && o + 2 < len; i++) {
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = '\0';
}

/*
 * A module was created: its contract id is the SHA-256 of its code, when all
 * of it arrived ("sha256-512k:" when only the first 512 KiB were hashed).
 */
static int apply_module(struct model *m, const struct cw_ev_module *e)
{
	struct model_code *c = code_find(m, e->h.tgid, e->h.tid, e->seq, false);
	struct model_module *mod = util__grow((void **)&m->mod, &m->nmod, &m->capmod, sizeof(*mod));
	__u64 keep = e->code_len < MODEL_CODE_KEEP ? e->code_len : MODEL_CODE_KEEP;

	if (!mod)
		return -ENOMEM;
	mod->pid = e->h.tgid;
	mod->key = e->module;
	mod->code_len = e->code_len;
	if (c && c->got == keep && c->total == e->code_len)
		sha256_hex(c->buf, keep, e->code_len > keep ? "sha256-512k:" : "sha256:",
			   mod->contract, sizeof(mod->contract));
	else
		util__strlcpy(mod->contract, "incomplete-code", sizeof(mod->contract));
	if (c)
		code_drop(m, c);
	return 0;
}

static const char *module_contract(const struct model *m, __u32 pid, __u64 key)
{
	for (size_t i = m->nmod; i > 0; i--)
		if (m->mod[i - 1].pid == pid && m->mod[i - 1].key == key)
			return m->mod[i - 1].contract;
	return NULL;
}

/* Apply an instance record for target @t; -ENOENT if it names no known instance. */
static int apply_instance(struct model *m, const void *rec, struct model_target *t)
{
	const struct cw_hdr *h = rec;
	struct model_instance *in = model__instance(m, h->tgid, h->instance);
	struct model_contract *con;

	if (h->type == CW_EV_INSTANCE_NEW) {
		const struct cw_ev_instance *e = rec;
		const char *contract;

		if (in)
			return (int)(in - m->inst);	/* seen already (a store shared) */
		in = util__grow((void **)&m->inst, &m->ninst, &m->capinst, sizeof(*in));
		if (!in)
			return -ENOMEM;
		memset(in, 0, sizeof(*in));
		in->pid = h->tgid;
		in->key = h->instance;
		in->target = (size_t)(t - m->t);
		in->seq = ++t->inst_seq;	/* a counter: evicted instances keep their numbers */
		in->profile = e->profile;
		in->module = e->module;
		in->created_ts = in->last_ts = h->ts;
		util__strlcpy(in->name, e->name, sizeof(in->name));
		contract = e->module ? module_contract(m, h->tgid, e->module) : NULL;
		util__strlcpy(in->contract, contract ? contract : in->name[0] ? in->name : "unknown",
			      sizeof(in->contract));
		return (int)(in - m->inst);
	}
	if (!in)
		return -ENOENT;
	in->last_ts = h->ts;
	switch (h->type) {
	case CW_EV_INSTANCE_END:
		in->state = MODEL_EXITED;
		in->ended_ts = h->ts;
		break;
	case CW_EV_CALL: {
		const struct cw_ev_call *e = rec;

		in->calls++;
		in->retained_last = e->retained;
		in->retained_total += e->retained;
		if (e->ns > in->call_ns_max)
			in->call_ns_max = e->ns;
		in->call_hist[hist_bucket(e->ns)]++;
		ring_push(in->retained, &in->nretained, &in->retained_pos, e->retained);
		con = contract_get(m, in, e->name);
		if (!con)
			return -ENOMEM;
		con->calls++;
		con->last_ts = h->ts;
		ring_push(con->retained, &con->nretained, &con->retained_pos, e->retained);
		break;
	}
	case CW_EV_HOST_CALL: {
		const struct cw_ev_host_call *e = rec;
		struct model_host_func *f = NULL;

		in->host_calls++;
		in->host_ns += e->ns;
		in->host_hist[hist_bucket(e->ns)]++;
		for (__u32 i = 0; i < in->nhost && !f; i++)
			if (in->host[i].func == e->func)
				f = &in->host[i];
		if (!f && in->nhost < MODEL_HOST_FUNCS) {
			f = &in->host[in->nhost++];
			f->func = e->func;
		}
		if (!f) {
			in->host_other++;
			break;
		}
		f->calls++;
		f->ns_total += e->ns;
		if (e->ns > f->ns_max)
			f->ns_max = e->ns;
		break;
	}
	case CW_EV_GROW: {
		const struct cw_ev_grow *e = rec;

		if (e->linear) {
			in->stats.linear = e->linear;
			if (e->linear > in->stats.linear_peak.value) {
				in->stats.linear_peak.value = e->linear;
				in->stats.linear_peak.ts = h->ts;
			}
		}
		break;
	}
	case CW_EV_MEMORY: {
		const struct cw_ev_memory *e = rec;

		if (e->base)
			in->stats.base = e->base;
		if (e->size) {
			in->stats.linear = e->size;
			if (e->size > in->stats.linear_peak.value) {
				in->stats.linear_peak.value = e->size;
				in->stats.linear_peak.ts = h->ts;
			}
		}
		break;
	}
	case CW_REC_INST_STATS: {
		const struct cw_rec_inst_stats *r = rec;
		struct cw_peak lp = in->stats.linear_peak, cp = in->stats.charged_peak;

		in->stats = r->stats;
		if (lp.value > in->stats.linear_peak.value)
			in->stats.linear_peak = lp;
		if (cp.value > in->stats.charged_peak.value)
			in->stats.charged_peak = cp;
		break;
	}
	}
	return (int)(in - m->inst);
}

__u64 model__rss(const struct cw_stats *st)
{
	return st->rss[CW_RSS_FILE] + st->rss[CW_RSS_ANON] + st->rss[CW_RSS_SHMEM];
}

struct model_target *model__live(struct model *m, __u32 pid)
{
	/* newest first: an exited entry with a reused pid is never returned */
	for (size_t i = m->n; i > 0; i--) {
		struct model_target *t = &m->t[i - 1];

		if (t->pid == pid && t->state == MODEL_RUNNING)
			return t;
	}
	return NULL;
}

size_t model__nr_live(const struct model *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += m->t[i].state == MODEL_RUNNING;
	return n;
}

/* A new running target for @pid, or NULL on ENOMEM. */
static struct model_target *target_new(struct model *m, __u32 pid, __u64 ts)
{
	struct model_target *t;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct model_target *nt = realloc(m->t, cap * sizeof(*nt));

		if (!nt)
			return NULL;
		m->t = nt;
		m->cap = cap;
	}
	t = &m->t[m->n++];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->first_ts = ts;
	t->state = MODEL_RUNNING;
	return t;
}

/* Raise peak @p to @q if @q is higher (snapshots and events may arrive in either order). */
static void peak_merge(struct cw_peak *p, const struct cw_peak *q)
{
	if (q->value > p->value)
		*p = *q;
}

/* Take a kernel snapshot @st into @t, keeping the highest peaks either has seen. */
static void stats_merge(struct model_target *t, const struct cw_stats *st)
{
	struct cw_stats old = t->stats;

	t->stats = *st;
	peak_merge(&t->stats.rss_peak, &old.rss_peak);
	peak_merge(&t->stats.anon_peak, &old.anon_peak);
	peak_merge(&t->stats.file_peak, &old.file_peak);
	peak_merge(&t->stats.data_vm_peak, &old.data_vm_peak);
	peak_merge(&t->stats.threads_peak, &old.threads_peak);
}

/* The site of target @t, instance @ii, kind @kind and stack @stack; made if new. NULL on ENOMEM. */
static struct model_site *site_get(struct model *m, const struct cw_hdr *h, size_t t, long ii,
				   enum model_site_kind kind, __s32 stack)
{
	struct model_site *s;

	for (size_t i = 0; i < m->nsite; i++)
		if (m->site[i].target == t && m->site[i].inst == ii && m->site[i].stack == stack &&
		    m->site[i].kind == kind)
			return &m->site[i];
	s = util__grow((void **)&m->site, &m->nsite, &m->capsite, sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->pid = h->tgid;
	s->instance = h->instance;
	s->target = t;
	s->inst = ii;
	s->stack = stack;
	s->kind = kind;
	return s;
}

static void site_frames(struct model_site *s, __u32 n, const char frame[][CW_FRAME_LEN])
{
	s->nframes = n < CW_SITE_FRAMES ? n : CW_SITE_FRAMES;
	for (__u32 i = 0; i < s->nframes; i++)
		util__strlcpy(s->frame[i], frame[i], CW_FRAME_LEN);
}

/* A site's latest figures (heap sites only grow: frees are not seen per site). */
static int apply_site(struct model *m, const struct cw_rec_site *r, struct model_target *t)
{
	enum model_site_kind kind = r->h.type == CW_REC_THREAD_SITE ? MODEL_SITE_THREAD :
				    r->h.type == CW_REC_CGO_SITE ? MODEL_SITE_CGO : MODEL_SITE_HEAP;
	struct model_site *s;
	long ii = -1;

	/* the newest instance with that key: the final sites come after it ended */
	for (size_t i = m->ninst; r->h.instance && i > 0 && ii < 0; i--)
		if (m->inst[i - 1].pid == r->h.tgid && m->inst[i - 1].key == r->h.instance)
			ii = (long)(i - 1);
	if (r->h.instance && ii < 0)
		return -ENOENT;
	s = site_get(m, &r->h, (size_t)(t - m->t), ii, kind, r->stack);
	if (!s)
		return -ENOMEM;
	s->site = r->site;
	site_frames(s, r->nframes, r->frame);
	return 0;
}

static int apply_go_site(struct model *m, const struct cw_rec_go_site *r, struct model_target *t)
{
	struct model_site *s = site_get(m, &r->h, (size_t)(t - m->t), -1, MODEL_SITE_GO, r->stack);

	if (!s)
		return -ENOMEM;
	s->site.bytes = r->alive;
	s->site.samples = r->created;
	s->system = r->system != 0;
	util__strlcpy(s->start, r->start, sizeof(s->start));
	site_frames(s, r->nframes, r->frame);
	return 0;
}

/* A Go program's figures: the latest, the one before, and the peaks. */
static void apply_go_stats(struct model_target *t, const struct cw_rec_go_stats *r)
{
	t->go_prev = t->go ? t->go_last : *r;
	t->go_last = *r;
	if (!(r->flags & CW_GO_HEAP)) {	/* gone: the heap as last read */
		t->go_last.heap_resident = t->go_prev.heap_resident;
		t->go_last.heap_mapped = t->go_prev.heap_mapped;
		t->go_last.flags |= t->go_prev.flags & CW_GO_HEAP;
	}
	t->go = true;
	if (r->user > t->go_user_peak.value || !t->go_user_peak.ts)
		t->go_user_peak = (struct cw_peak){ r->user, r->h.ts };
	if (r->heap_resident > t->go_heap_peak.value)
		t->go_heap_peak = (struct cw_peak){ r->heap_resident, r->h.ts };
}

/*
 * The @k-th biggest site of kind @kind for target @t and instance @inst (or
 * any, @any_inst; goroutines: the runtime's own with @system).
 */
static const struct model_site *top_site(const struct model *m, enum model_site_kind kind,
					 size_t t, long inst, bool any_inst, bool system, size_t k)
{
	const struct model_site *prev = NULL;

	/* k-th by bytes, ties by position: a selection walk, sites are few */
	for (size_t rank = 0; rank <= k; rank++) {
		const struct model_site *best = NULL;

		for (size_t i = 0; i < m->nsite; i++) {
			const struct model_site *s = &m->site[i];

			if (s->target != t || s->kind != kind || (!any_inst && s->inst != inst) ||
			    s->system != system)
				continue;
			if (prev && (s->site.bytes > prev->site.bytes ||
				     (s->site.bytes == prev->site.bytes && s <= prev)))
				continue;
			if (!best || s->site.bytes > best->site.bytes)
				best = s;
		}
		if (!best)
			return NULL;
		prev = best;
	}
	return prev;
}

const struct model_site *model__top_site(const struct model *m, size_t t, long inst, size_t k)
{
	return top_site(m, MODEL_SITE_HEAP, t, inst, false, false, k);
}

const struct model_site *model__top_thread_site(const struct model *m, size_t t, size_t k)
{
	return top_site(m, MODEL_SITE_THREAD, t, -1, true, false, k);
}

const struct model_site *model__top_go_site(const struct model *m, size_t t, bool system,
					    size_t k)
{
	return top_site(m, MODEL_SITE_GO, t, -1, true, system, k);
}

const struct model_site *model__top_cgo_site(const struct model *m, size_t t, size_t k)
{
	return top_site(m, MODEL_SITE_CGO, t, -1, true, false, k);
}

const struct model_crash *model__crash(const struct model *m, size_t t)
{
	for (size_t i = 0; i < m->ncrash; i++)
		if (m->crash[i].target == t)
			return &m->crash[i];
	return NULL;
}

/* Signal numbers: include/uapi/asm-generic/signal.h (x86-64 and arm64 agree on these). */
const char *model__signal_name(int signo)
{
	static const char *const name[] = {
		[4] = "SIGILL", [5] = "SIGTRAP", [6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE",
		[9] = "SIGKILL", [11] = "SIGSEGV", [31] = "SIGSYS",
	};

	if (!signo)
		return "";
	return signo > 0 && signo < 32 && name[signo] ? name[signo] : "unknown signal";
}

/* si_code values: include/uapi/asm-generic/siginfo.h */
const char *model__sigcode_name(int signo, int code)
{
	static const char *const segv[] = { NULL, "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR",
					    "SEGV_PKUERR" };
	static const char *const bus[] = { NULL, "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR" };
	static const char *const ill[] = { NULL, "ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR",
					   "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC",
					   "ILL_BADSTK" };
	static const char *const fpe[] = { NULL, "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV",
					   "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV",
					   "FPE_FLTSUB" };

	switch (code) {
	case 0: return "SI_USER";
	case 0x80: return "SI_KERNEL";
	case -1: return "SI_QUEUE";
	case -6: return "SI_TKILL";
	}
	if (code <= 0)
		return NULL;
	switch (signo) {
	case 11: return code < 5 ? segv[code] : NULL;
	case 7: return code < 4 ? bus[code] : NULL;
	case 4: return code < 9 ? ill[code] : NULL;
	case 8: return code < 9 ? fpe[code] : NULL;
	case 31: return code == 1 ? "SYS_SECCOMP" : NULL;
	}
	return NULL;
}

const char *model__crash_kind(const struct cw_ev_crash *e)
{
	switch (e->kind) {
	case CW_CRASH_SIGNAL: return model__signal_name(e->signo);
	case CW_CRASH_GO_PANIC: return "go panic";
	case CW_CRASH_GO_THROW: return "go fatal error";
	case CW_CRASH_GO_SIGNAL: return "go fatal signal";
	}
	return "unknown";
}

/* A crash of target @t: kept with its frames and the instance it hit. */
static int apply_crash(struct model *m, const struct cw_ev_crash *e, struct model_target *t)
{
	struct model_instance *in = e->h.instance ? model__instance(m, e->h.tgid, e->h.instance)
						  : NULL;
	struct model_crash *c = util__grow((void **)&m->crash, &m->ncrash, &m->capcrash, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->target = (size_t)(t - m->t);
	c->inst = in ? (long)(in - m->inst) : -1;
	c->ev = *e;
	c->ev.nframes = e->nframes < CW_SITE_FRAMES ? e->nframes : CW_SITE_FRAMES;
	for (__u32 i = 0; i < CW_SITE_FRAMES; i++)
		c->ev.frame[i][CW_FRAME_LEN - 1] = '\0';
	c->ev.comm[CW_COMM_LEN - 1] = '\0';
	m->last_inst = c->inst;
	return 0;
}

/* A target is gone: so are its instances. */
static void instances_end(struct model *m, const struct model_target *t, __u64 ts)
{
	for (size_t i = 0; i < m->ninst; i++) {
		struct model_instance *in = &m->inst[i];

		if (in->target == (size_t)(t - m->t) && in->state == MODEL_RUNNING) {
			in->state = MODEL_EXITED;
			in->ended_ts = ts;
		}
	}
}

int model__apply(struct model *m, const void *rec, size_t len)
{
	const struct cw_hdr *h = rec;
	struct model_target *t;
	size_t need;

	if (len < sizeof(*h) || h->size != len) {
		m->bad_records++;
		return -EINVAL;
	}
	need = rec_size(h->type);
	if (!need || len < need) {
		m->bad_records++;
		return -EINVAL;
	}
	m->records++;
	m->last_inst = -1;
	if (!m->first_ts || h->ts < m->first_ts)
		m->first_ts = h->ts;
	if (h->ts > m->last_ts)
		m->last_ts = h->ts;

	t = model__live(m, h->tgid);
	switch (h->type) {
	case CW_REC_STACK:
		m->stack[m->nstack++ % MODEL_STACKS] = *(const struct cw_rec_stack *)rec;
		return -ENOENT;
	case CW_REC_TICK:
	case CW_REC_END:
	case CW_REC_RULES:
		return -ENOENT;	/* for the report and the replay, not the model */
	case CW_REC_SITE:
	case CW_REC_THREAD_SITE:
	case CW_REC_CGO_SITE:
	case CW_REC_GO_SITE:
	case CW_REC_GO_STATS: {
		int err = 0;

		/* a target's last sites and figures are read when its exit arrives */
		for (size_t i = m->n; !t && i > 0; i--)
			if (m->t[i - 1].pid == h->tgid)
				t = &m->t[i - 1];
		if (!t)
			return -ENOENT;
		if (h->type == CW_REC_GO_STATS)
			apply_go_stats(t, rec);
		else if (h->type == CW_REC_GO_SITE)
			err = apply_go_site(m, rec, t);
		else
			err = apply_site(m, rec, t);
		if (err)
			return err;
		return (int)(t - m->t);
	}
	case CW_EV_CODE:
		return apply_code(m, rec) ?: -ENOENT;
	case CW_EV_MODULE: {
		int err = apply_module(m, rec);

		if (err)
			return err;
		if (!t)
			return -ENOENT;
		t->last_ts = h->ts;
		return (int)(t - m->t);
	}
	case CW_EV_CRASH: {
		int err;

		/* it comes as the target dies: place it on the newest with that pid */
		for (size_t i = m->n; !t && i > 0; i--)
			if (m->t[i - 1].pid == h->tgid)
				t = &m->t[i - 1];
		if (!t)
			return -ENOENT;
		err = apply_crash(m, rec, t);
		if (err)
			return err;
		t->last_ts = h->ts;
		return (int)(t - m->t);
	}
	case CW_EV_ALERT:
		/* verdicts are detect.c's; the model only places it */
		for (size_t i = m->n; !t && i > 0; i--)
			if (m->t[i - 1].pid == h->tgid)
				t = &m->t[i - 1];
		if (!t)
			return -ENOENT;
		return (int)(t - m->t);
	case CW_EV_INSTANCE_NEW:
	case CW_EV_INSTANCE_END:
	case CW_EV_CALL:
	case CW_EV_HOST_CALL:
	case CW_EV_GROW:
	case CW_EV_MEMORY:
	case CW_REC_INST_STATS: {
		int i;

		if (!t)
			return -ENOENT;
		i = apply_instance(m, rec, t);
		if (i < 0)
			return i;
		m->last_inst = i;
		t->last_ts = h->ts;
		return (int)(t - m->t);
	}
	case CW_REC_ATTACH: {
		const struct cw_rec_attach *a = rec;

		if (!t)
			t = target_new(m, h->tgid, h->ts);
		if (!t)
			return -ENOMEM;
		t->reason = a->reason;
		util__strlcpy(t->comm, a->comm, sizeof(t->comm));
		util__strlcpy(t->exe, a->exe, sizeof(t->exe));
		break;
	}
	case CW_EV_TARGET_NEW: {
		const struct cw_ev_target *e = rec;

		/* a fork of a target, or a matched exec; a reused pid starts afresh */
		if (!t || e->reason == CW_WHY_FORK)
			t = target_new(m, h->tgid, h->ts);
		if (!t)
			return -ENOMEM;
		t->ppid = e->ppid;
		t->reason = e->reason;
		util__strlcpy(t->comm, e->comm, sizeof(t->comm));
		break;
	}
	case CW_REC_RUNTIME: {
		const struct cw_rec_runtime *r = rec;

		if (!t)
			return -ENOENT;
		util__strlcpy(t->runtime, r->name, sizeof(t->runtime));
		break;
	}
	case CW_EV_EXEC: {
		const struct cw_ev_exec *e = rec;

		if (!t)
			return -ENOENT;
		util__strlcpy(t->comm, e->comm, sizeof(t->comm));
		util__strlcpy(t->exe, e->filename, sizeof(t->exe));
		/* a new program, a new mm: the kernel restarts its memory peaks too */
		memset(&t->stats.rss_peak, 0, sizeof(t->stats.rss_peak));
		memset(&t->stats.anon_peak, 0, sizeof(t->stats.anon_peak));
		memset(&t->stats.file_peak, 0, sizeof(t->stats.file_peak));
		memset(&t->stats.data_vm_peak, 0, sizeof(t->stats.data_vm_peak));
		break;
	}
	case CW_EV_EXIT: {
		const struct cw_ev_exit *e = rec;

		if (!t)
			return -ENOENT;
		stats_merge(t, &e->stats);
		t->state = MODEL_EXITED;
		t->exit_code = e->exit_code;
		t->exit_ts = h->ts;
		instances_end(m, t, h->ts);
		break;
	}
	case CW_EV_PEAK: {
		const struct cw_ev_peak *e = rec;
		struct cw_peak p = { .value = e->rss, .ts = h->ts };

		if (!t)
			return -ENOENT;
		peak_merge(&t->stats.rss_peak, &p);
		break;
	}
	case CW_EV_MMAP:
		if (!t)
			return -ENOENT;
		break;
	case CW_REC_STATS: {
		const struct cw_rec_stats *r = rec;

		if (r->lost > m->lost)
			m->lost = r->lost;
		if (!h->tgid)
			return -ENOENT;	/* a drop-count-only snapshot */
		if (!t)
			return -ENOENT;
		stats_merge(t, &r->stats);
		if (r->stats.flags & CW_F_EXITED) {
			/* the exit event was lost: the snapshot is all there is */
			t->state = MODEL_EXITED;
			t->exit_ts = h->ts;
			instances_end(m, t, h->ts);
		}
		break;
	}
	}
	t->last_ts = h->ts;
	return (int)(t - m->t);
}

/* A finished entry: when it finished, and where it is. */
struct aged {
	__u64 ts;
	size_t i;
};

static int cmp_aged(const void *a, const void *b)
{
	const struct aged *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

/* Of the @n candidates @c, mark the @k that finished first in @gone (by index). */
static void mark_oldest(struct aged *c, size_t n, size_t k, bool *gone)
{
	qsort(c, n, sizeof(*c), cmp_aged);
	for (size_t i = 0; i < n && i < k; i++)
		gone[c[i].i] = true;
}

/* Is a kept instance running (or ended, but kept) code @contract? */
static bool contract_in_use(const struct model *m, const char *contract)
{
	for (size_t i = 0; i < m->ninst; i++)
		if (!strcmp(m->inst[i].contract, contract))
			return true;
	return false;
}

/*
 * Entry points of contracts no kept instance runs, idle past the grace:
 * the newest m->keep_gone of them stay. No index outside the model points
 * at them (report and exporter walk the array).
 */
static int evict_contracts(struct model *m, __u64 now)
{
	struct aged *a = malloc((m->ncon ? m->ncon : 1) * sizeof(*a));
	bool *gone = calloc(m->ncon ? m->ncon : 1, sizeof(*gone));
	size_t orphans = 0, nc = 0, k = 0;

	if (!a || !gone) {
		free(a);
		free(gone);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->ncon; i++) {
		if (contract_in_use(m, m->con[i].contract))
			continue;
		orphans++;
		if (m->con[i].last_ts + m->grace_ns <= now)
			a[nc++] = (struct aged){ m->con[i].last_ts, i };
	}
	if (orphans > m->keep_gone)
		mark_oldest(a, nc, orphans - m->keep_gone, gone);
	for (size_t i = 0; i < m->ncon; i++) {
		if (gone[i]) {
			m->evicted.contracts++;
			continue;
		}
		m->con[k++] = m->con[i];
	}
	m->ncon = k;
	free(a);
	free(gone);
	return 0;
}

/* Module ids and pending code of processes that are no live target: nothing will ask for them. */
static void evict_modules(struct model *m)
{
	size_t k = 0;

	for (size_t i = 0; i < m->nmod; i++) {
		if (!model__live(m, m->mod[i].pid)) {
			m->evicted.modules++;
			continue;
		}
		m->mod[k++] = m->mod[i];
	}
	m->nmod = k;
	for (size_t i = m->ncode; i > 0; i--) {
		if (model__live(m, m->code[i - 1].pid))
			continue;
		m->evicted.modules++;
		code_drop(m, &m->code[i - 1]);
	}
}

/* Compact targets, instances, sites and crashes by the marks @tg and @ig; fills @r. */
static void evict_compact(struct model *m, const bool *tg, const bool *ig, struct model_remap *r)
{
	size_t k = 0;

	for (size_t i = 0; i < m->n; i++) {
		r->t[i] = tg[i] ? -1 : (long)k;
		if (tg[i])
			m->evicted.targets++;
		else
			m->t[k++] = m->t[i];
	}
	r->nt = m->n;
	m->n = k;
	k = 0;
	for (size_t i = 0; i < m->ninst; i++) {
		r->inst[i] = ig[i] ? -1 : (long)k;
		if (ig[i]) {
			m->evicted.instances++;
			continue;
		}
		m->inst[k] = m->inst[i];
		m->inst[k++].target = (size_t)r->t[m->inst[i].target];
	}
	r->ninst = m->ninst;
	m->ninst = k;
	k = 0;
	for (size_t i = 0; i < m->nsite; i++) {
		struct model_site *s = &m->site[i];

		if (tg[s->target] || (s->inst >= 0 && ig[s->inst])) {
			m->evicted.sites++;
			continue;
		}
		s->target = (size_t)r->t[s->target];
		if (s->inst >= 0)
			s->inst = r->inst[s->inst];
		m->site[k++] = *s;
	}
	m->nsite = k;
	k = 0;
	for (size_t i = 0; i < m->ncrash; i++) {
		struct model_crash *c = &m->crash[i];

		if (tg[c->target]) {
			m->evicted.crashes++;
			continue;
		}
		c->target = (size_t)r->t[c->target];
		if (c->inst >= 0)
			c->inst = r->inst[c->inst];
		m->crash[k++] = *c;
	}
	m->ncrash = k;
	m->last_inst = -1;
}

int model__evict(struct model *m, __u64 now, struct model_remap *r)
{
	size_t nmax = (m->n > m->ninst ? m->n : m->ninst) + 1, nfin = 0, nc = 0, gone = 0;
	struct aged *a = malloc(nmax * sizeof(*a));
	bool *tg = calloc(m->n + 1, sizeof(*tg)), *ig = calloc(m->ninst + 1, sizeof(*ig));
	int err = -ENOMEM;

	memset(r, 0, sizeof(*r));
	if (!a || !tg || !ig)
		goto out;
	/* targets: the oldest exited ones, past the grace, beyond keep_gone */
	for (size_t i = 0; i < m->n; i++) {
		const struct model_target *t = &m->t[i];

		if (t->state != MODEL_EXITED)
			continue;
		nfin++;
		if (t->exit_ts + m->grace_ns <= now)
			a[nc++] = (struct aged){ t->exit_ts, i };
	}
	if (nfin > m->keep_gone)
		mark_oldest(a, nc, nfin - m->keep_gone, tg);
	/* instances: with their target, or the oldest ended ones on their own */
	nfin = nc = 0;
	for (size_t i = 0; i < m->ninst; i++) {
		const struct model_instance *in = &m->inst[i];

		if (tg[in->target]) {
			ig[i] = true;
			continue;
		}
		if (in->state != MODEL_EXITED)
			continue;
		nfin++;
		if (in->ended_ts + m->grace_ns <= now)
			a[nc++] = (struct aged){ in->ended_ts, i };
	}
	if (nfin > m->keep_gone)
		mark_oldest(a, nc, nfin - m->keep_gone, ig);
	for (size_t i = 0; i < m->n; i++)
		gone += tg[i];
	for (size_t i = 0; i < m->ninst; i++)
		gone += ig[i];
	if (gone) {
		r->t = malloc((m->n + 1) * sizeof(*r->t));
		r->inst = malloc((m->ninst + 1) * sizeof(*r->inst));
		if (!r->t || !r->inst) {
			model__remap_free(r);
			goto out;
		}
		evict_compact(m, tg, ig, r);
	}
	evict_modules(m);
	evict_contracts(m, now);	/* out of memory: they wait for the next call */
	err = (int)(gone < INT32_MAX ? gone : INT32_MAX);
out:
	free(a);
	free(tg);
	free(ig);
	return err;
}

void model__remap_free(struct model_remap *r)
{
	free(r->t);
	free(r->inst);
	memset(r, 0, sizeof(*r));
}
