// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Per-target state from the record stream. Pure: no I/O, no clocks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

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
	default: return 0;
	}
}

struct model *model__new(void)
{
	return calloc(1, sizeof(struct model));
}

void model__free(struct model *m)
{
	if (!m)
		return;
	free(m->t);
	free(m);
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
	if (!m->first_ts || h->ts < m->first_ts)
		m->first_ts = h->ts;
	if (h->ts > m->last_ts)
		m->last_ts = h->ts;

	t = model__live(m, h->tgid);
	switch (h->type) {
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
	case CW_EV_MMAP: {
		const struct cw_ev_mmap *e = rec;

		if (!t)
			return -ENOENT;
		if (e->op == CW_MM_MMAP)
			t->big_maps++;
		break;
	}
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
		}
		break;
	}
	}
	t->last_ts = h->ts;
	return (int)(t - m->t);
}
