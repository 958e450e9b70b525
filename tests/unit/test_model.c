// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The model fed with made-up record streams: no BPF, no root. */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "model.h"

#define MIB (1ULL << 20)

static struct cw_rec_attach attach_rec(__u32 pid, __u64 ts, const char *comm)
{
	struct cw_rec_attach a = {};

	a.h.type = CW_REC_ATTACH;
	a.h.size = sizeof(a);
	a.h.tgid = pid;
	a.h.ts = ts;
	a.reason = CW_WHY_PID;
	strncpy(a.comm, comm, sizeof(a.comm) - 1);
	return a;
}

static struct cw_rec_stats stats_rec(__u32 pid, __u64 ts, __u64 anon, __u64 peak, __u64 threads)
{
	struct cw_rec_stats r = {};

	r.h.type = CW_REC_STATS;
	r.h.size = sizeof(r);
	r.h.tgid = pid;
	r.h.ts = ts;
	r.stats.rss[CW_RSS_ANON] = anon;
	r.stats.rss_peak.value = peak;
	r.stats.rss_peak.ts = ts;
	r.stats.threads = threads;
	r.stats.threads_peak.value = threads;
	r.stats.threads_peak.ts = ts;
	return r;
}

static struct cw_ev_exit exit_rec(__u32 pid, __u64 ts, int code, __u64 peak)
{
	struct cw_ev_exit e = {};

	e.h.type = CW_EV_EXIT;
	e.h.size = sizeof(e);
	e.h.tgid = pid;
	e.h.ts = ts;
	e.exit_code = code << 8;
	e.stats.rss_peak.value = peak;
	e.stats.rss_peak.ts = ts;
	return e;
}

TEST(model_attach_stats_exit)
{
	struct model *m = model__new();
	struct cw_rec_attach a = attach_rec(100, 1000, "host");
	struct cw_rec_stats s1 = stats_rec(100, 2000, 40 * MIB, 50 * MIB, 3);
	struct cw_rec_stats s2 = stats_rec(100, 3000, 10 * MIB, 20 * MIB, 1);
	struct cw_ev_exit e = exit_rec(100, 4000, 7, 20 * MIB);
	struct model_target *t;

	ASSERT_EQ(model__apply(m, &a, sizeof(a)), 0);
	ASSERT_EQ(model__apply(m, &s1, sizeof(s1)), 0);
	/* a later snapshot with a lower peak must not lower the peak */
	ASSERT_EQ(model__apply(m, &s2, sizeof(s2)), 0);
	t = model__live(m, 100);
	if (!ASSERT_TRUE(t != NULL))
		goto out;
	ASSERT_STREQ(t->comm, "host");
	ASSERT_EQ(t->stats.rss_peak.value, 50 * MIB);
	ASSERT_EQ(t->stats.rss_peak.ts, 2000);
	ASSERT_EQ(t->stats.rss[CW_RSS_ANON], 10 * MIB);
	ASSERT_EQ(t->stats.threads, 1);
	ASSERT_EQ(t->stats.threads_peak.value, 3);
	ASSERT_EQ(model__nr_live(m), 1);

	ASSERT_EQ(model__apply(m, &e, sizeof(e)), 0);
	ASSERT_TRUE(model__live(m, 100) == NULL);
	ASSERT_EQ(model__nr_live(m), 0);
	ASSERT_EQ(m->t[0].state, MODEL_EXITED);
	ASSERT_EQ((m->t[0].exit_code >> 8) & 0xff, 7);
	ASSERT_EQ(m->t[0].exit_ts, 4000);
	ASSERT_EQ(m->t[0].stats.rss_peak.value, 50 * MIB);
out:
	model__free(m);
}

TEST(model_pid_reuse_never_mixes)
{
	struct model *m = model__new();
	struct cw_rec_attach a = attach_rec(200, 10, "first");
	struct cw_ev_exit e = exit_rec(200, 20, 0, 90 * MIB);
	struct cw_ev_target n = {};
	struct cw_rec_stats s = stats_rec(200, 40, 1 * MIB, 2 * MIB, 1);

	n.h.type = CW_EV_TARGET_NEW;
	n.h.size = sizeof(n);
	n.h.tgid = 200;
	n.h.ts = 30;
	n.reason = CW_WHY_FORK;
	strcpy(n.comm, "second");
	model__apply(m, &a, sizeof(a));
	model__apply(m, &e, sizeof(e));
	ASSERT_EQ(model__apply(m, &n, sizeof(n)), 1);
	ASSERT_EQ(model__apply(m, &s, sizeof(s)), 1);
	ASSERT_EQ(m->n, 2);
	ASSERT_STREQ(m->t[1].comm, "second");
	/* the new process does not inherit the old one's 90 MiB peak */
	ASSERT_EQ(m->t[1].stats.rss_peak.value, 2 * MIB);
	ASSERT_EQ(m->t[0].stats.rss_peak.value, 90 * MIB);
	model__free(m);
}

TEST(model_rejects_malformed)
{
	struct model *m = model__new();
	struct cw_rec_attach a = attach_rec(1, 1, "x");
	struct cw_hdr h = { .type = 999, .size = sizeof(h) };
	struct cw_ev_exit e = exit_rec(1, 2, 0, 0);

	/* wrong length, unknown type, truncated record */
	ASSERT_EQ(model__apply(m, &a, sizeof(a) - 8), -EINVAL);
	ASSERT_EQ(model__apply(m, &h, sizeof(h)), -EINVAL);
	e.h.size = sizeof(struct cw_hdr) + 4;
	ASSERT_EQ(model__apply(m, &e, sizeof(struct cw_hdr) + 4), -EINVAL);
	ASSERT_EQ(m->bad_records, 3);
	ASSERT_EQ(m->records, 0);
	ASSERT_EQ(m->n, 0);
	model__free(m);
}

TEST(model_exec_restarts_memory_peaks)
{
	struct model *m = model__new();
	struct cw_rec_attach a = attach_rec(300, 1, "launcher");
	struct cw_rec_stats s1 = stats_rec(300, 2, 5 * MIB, 30 * MIB, 2);
	struct cw_ev_exec x = {};
	struct cw_rec_stats s2 = stats_rec(300, 4, 3 * MIB, 4 * MIB, 1);

	x.h.type = CW_EV_EXEC;
	x.h.size = sizeof(x);
	x.h.tgid = 300;
	x.h.ts = 3;
	strcpy(x.comm, "contract");
	strcpy(x.filename, "/opt/contract");
	model__apply(m, &a, sizeof(a));
	model__apply(m, &s1, sizeof(s1));
	ASSERT_EQ(model__apply(m, &x, sizeof(x)), 0);
	ASSERT_EQ(model__apply(m, &s2, sizeof(s2)), 0);
	ASSERT_STREQ(m->t[0].exe, "/opt/contract");
	ASSERT_STREQ(m->t[0].comm, "contract");
	/* memory peaks belong to the new image, the thread peak to the process */
	ASSERT_EQ(m->t[0].stats.rss_peak.value, 4 * MIB);
	ASSERT_EQ(m->t[0].stats.threads_peak.value, 2);
	model__free(m);
}

TEST(model_lost_and_reaped_exit)
{
	struct model *m = model__new();
	struct cw_rec_attach a = attach_rec(400, 1, "host");
	struct cw_rec_stats lost = stats_rec(0, 2, 0, 0, 0);
	struct cw_rec_stats gone = stats_rec(400, 3, 1 * MIB, 8 * MIB, 0);

	lost.lost = 17;
	gone.lost = 12;	/* older reading: the count never goes down */
	gone.stats.flags = CW_F_EXITED;
	model__apply(m, &a, sizeof(a));
	ASSERT_EQ(model__apply(m, &lost, sizeof(lost)), -ENOENT);
	ASSERT_EQ(m->lost, 17);
	ASSERT_EQ(model__apply(m, &gone, sizeof(gone)), 0);
	ASSERT_EQ(m->lost, 17);
	/* the exit event was lost; the exited flag in the snapshot retires it */
	ASSERT_EQ(m->t[0].state, MODEL_EXITED);
	ASSERT_EQ(m->t[0].stats.rss_peak.value, 8 * MIB);
	model__free(m);
}

TEST(model_events_for_unknown_targets_are_ignored)
{
	struct model *m = model__new();
	struct cw_ev_peak p = {};

	p.h.type = CW_EV_PEAK;
	p.h.size = sizeof(p);
	p.h.tgid = 555;
	p.h.ts = 9;
	p.rss = 1;
	ASSERT_EQ(model__apply(m, &p, sizeof(p)), -ENOENT);
	ASSERT_EQ(m->n, 0);
	ASSERT_EQ(m->records, 1);
	model__free(m);
}
