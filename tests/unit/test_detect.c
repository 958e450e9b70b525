// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Detectors on made-up record streams: leaks, healthy shapes, escape rules. */
#include <string.h>

#include "detect.h"
#include "harness.h"
#include "model.h"
#include "rules.h"

#define S 1000000000ULL
#define MIB (1ULL << 20)

/* A model and detector fed together, as the collector does. */
struct rig {
	struct model *m;
	struct detect *d;
	int verdicts;
};

static void feed(struct rig *g, const void *rec, size_t len)
{
	model__apply(g->m, rec, len);
	g->verdicts += detect__apply(g->d, g->m, rec, len);
}

static void rig_init(struct rig *g, const struct detect_rules *r, __u32 pid)
{
	struct cw_rec_attach a = { .h = { .type = CW_REC_ATTACH, .size = sizeof(a), .tgid = pid,
					  .ts = 1 } };
	struct detect_rules def;

	if (!r) {
		detect__defaults(&def);
		r = &def;
	}
	g->m = model__new();
	g->d = detect__new(r);
	g->verdicts = 0;
	strcpy(a.comm, "host");
	feed(g, &a, sizeof(a));
}

static void rig_free(struct rig *g)
{
	detect__free(g->d);
	model__free(g->m);
}

static void instance(struct rig *g, __u32 pid, __u64 key, const char *name)
{
	struct cw_ev_instance e = { .h = { .type = CW_EV_INSTANCE_NEW, .size = sizeof(e),
					   .tgid = pid, .instance = key, .ts = 2 } };

	strcpy(e.name, name);
	feed(g, &e, sizeof(e));
}

static void call(struct rig *g, __u32 pid, __u64 key, __u64 ts, __s64 retained)
{
	struct cw_ev_call e = { .h = { .type = CW_EV_CALL, .size = sizeof(e), .tgid = pid,
				       .instance = key, .ts = ts }, .retained = retained };

	feed(g, &e, sizeof(e));
}

/* The interval tick, then the target's snapshot with @anon bytes and @threads. */
static void tick(struct rig *g, __u32 pid, __u64 ts, __u64 anon, __u64 threads)
{
	struct cw_rec_stats t = { .h = { .type = CW_REC_STATS, .size = sizeof(t), .ts = ts } };
	struct cw_rec_stats s = { .h = { .type = CW_REC_STATS, .size = sizeof(s), .tgid = pid,
					 .ts = ts } };

	feed(g, &t, sizeof(t));
	s.stats.rss[CW_RSS_ANON] = anon;
	s.stats.threads = threads;
	feed(g, &s, sizeof(s));
}

static const struct detect_verdict *last(struct rig *g)
{
	size_t n = detect__count(g->d);

	return n ? detect__get(g->d, n - 1) : NULL;
}

TEST(detect_theil_sen_ignores_outliers)
{
	double x[10], y[10], fit;

	for (int i = 0; i < 10; i++) {
		x[i] = i;
		y[i] = 3.0 * i + 1;
	}
	y[4] = 1000;	/* one wild point */
	ASSERT_NEAR(detect__theil_sen(x, y, 10, &fit), 3.0, 1e-9);
	ASSERT_TRUE(fit > 0.75);
	for (int i = 0; i < 10; i++)
		y[i] = (i % 2) ? 10 : 0;	/* flat sawtooth */
	ASSERT_NEAR(detect__theil_sen(x, y, 10, &fit), 0.0, 1e-9);
	ASSERT_TRUE(fit < 0.6);
}

TEST(detect_leaking_instance_found_healthy_ones_not)
{
	struct rig g;
	const struct detect_verdict *v;
	__u64 ts = 10 * S;

	rig_init(&g, NULL, 7);
	instance(&g, 7, 0xa, "leaky");
	instance(&g, 7, 0xb, "sawtooth");	/* a GC'd host: keeps, then frees */
	instance(&g, 7, 0xc, "warmup");		/* fills a cache, then stops growing */
	for (int sec = 0; sec < 12; sec++) {
		for (int k = 0; k < 20; k++, ts += S / 20) {
			int n = sec * 20 + k;

			call(&g, 7, 0xa, ts, 256 << 10);
			call(&g, 7, 0xb, ts, n % 10 == 9 ? -(9 * (64 << 10)) : 64 << 10);
			call(&g, 7, 0xc, ts, n < 30 ? 128 << 10 : 0);
		}
		tick(&g, 7, ts, 100 * MIB, 4);
	}
	ASSERT_EQ(g.verdicts, 1);
	v = last(&g);
	if (!ASSERT_TRUE(v != NULL))
		goto out;
	ASSERT_EQ(v->kind, DETECT_LEAK_INSTANCE);
	ASSERT_STREQ(g.m->inst[v->inst].name, "leaky");
	ASSERT_NEAR(v->per_call, 256 << 10, 1);
	ASSERT_NEAR(v->rate, 20.0 * (256 << 10), 20.0 * (256 << 10) * 0.05);
	ASSERT_NEAR(v->confidence, 1.0, 1e-9);
	ASSERT_TRUE(detect__leaking(g.d, 0, v->inst));
	ASSERT_TRUE(!detect__leaking(g.d, 0, v->inst + 1));
out:
	rig_free(&g);
}

TEST(detect_target_leak_not_on_sawtooth_or_plateau)
{
	struct detect_rules r;
	struct rig leak, saw, plateau;
	__u64 ts = S;

	detect__defaults(&r);
	rig_init(&leak, &r, 1);
	rig_init(&saw, &r, 1);
	rig_init(&plateau, &r, 1);
	for (int i = 0; i < 40; i++, ts += S) {
		tick(&leak, 1, ts, 50 * MIB + (__u64)i * MIB, 4);		/* +1 MiB/s */
		tick(&saw, 1, ts, 50 * MIB + (__u64)(i % 8) * 4 * MIB, 4);	/* GC cycles */
		tick(&plateau, 1, ts, (i < 15 ? (__u64)i * 4 : 60) * MIB, 4);	/* warm-up */
	}
	ASSERT_EQ(leak.verdicts, 1);
	if (last(&leak)) {
		ASSERT_EQ(last(&leak)->kind, DETECT_LEAK_TARGET);
		ASSERT_NEAR(last(&leak)->rate, (double)MIB, MIB * 0.01);
		/* 20 s of span is needed: decided at the 21st second */
		ASSERT_EQ(last(&leak)->ts, 21 * S);
	}
	ASSERT_EQ(saw.verdicts, 0);
	ASSERT_EQ(plateau.verdicts, 0);
	rig_free(&leak);
	rig_free(&saw);
	rig_free(&plateau);
}

TEST(detect_thread_growth_not_on_a_stable_pool)
{
	struct rig grow, pool;
	__u64 ts = S;

	rig_init(&grow, NULL, 1);
	rig_init(&pool, NULL, 1);
	for (int i = 0; i < 30; i++, ts += S) {
		tick(&grow, 1, ts, MIB, 2 + (__u64)i);			/* one more each second */
		tick(&pool, 1, ts, MIB, i < 5 ? 2 + (__u64)i * 2 : 12);	/* grows, levels off */
	}
	ASSERT_EQ(grow.verdicts, 1);
	if (last(&grow))
		ASSERT_EQ(last(&grow)->kind, DETECT_THREADS);
	ASSERT_EQ(pool.verdicts, 0);
	rig_free(&grow);
	rig_free(&pool);
}

static struct cw_ev_alert alert(__u32 rule, __u32 op, __u64 inst, __u64 ts, const char *path,
				const char *resolved)
{
	struct cw_ev_alert e = { .h = { .type = CW_EV_ALERT, .size = sizeof(e), .tgid = 5,
					.tid = 5, .instance = inst, .ts = ts },
				 .rule = rule, .op = op };

	strcpy(e.path, path);
	strcpy(e.resolved, resolved);
	return e;
}

TEST(detect_file_and_net_allow_lists)
{
	struct detect_rules r;
	struct rig g;
	struct cw_ev_alert e;
	char err[256];
	static const char file[] =
		"rules:\n"
		"  file.open: {allow: [/usr/lib/, /data/], in_calls_only: false}\n"
		"  net: {allow: ['10.0.0.0/8:7051', '[::1]:80'], severity: critical}\n";

	detect__defaults(&r);
	if (!ASSERT_EQ(rules__parse(file, strlen(file), "r.yaml", &r, err, sizeof(err)), 0)) {
		printf("    %s\n", err);
		return;
	}
	rig_init(&g, &r, 5);
	e = alert(CW_RULE_FILE, CW_OP_OPEN, 0, 2 * S, "/usr/lib/x.so", "/usr/lib/x.so");
	feed(&g, &e, sizeof(e));
	e = alert(CW_RULE_FILE, CW_OP_OPEN, 0, 3 * S, "data/../../etc/shadow", "/etc/shadow");
	feed(&g, &e, sizeof(e));
	ASSERT_EQ(g.verdicts, 1);
	if (last(&g))
		ASSERT_TRUE(strstr(last(&g)->detail, "(.. traversal)") != NULL);
	e = alert(CW_RULE_NET, CW_OP_CONNECT, 0, 4 * S, "", "");
	e.family = 2;
	e.port = 7051;
	e.addr[0] = 10;
	e.addr[3] = 9;
	feed(&g, &e, sizeof(e));	/* 10.0.0.9:7051: allowed */
	e.port = 7052;
	feed(&g, &e, sizeof(e));	/* wrong port */
	e.family = 10;
	e.port = 80;
	memset(e.addr, 0, 16);
	e.addr[15] = 1;
	e.h.ts = 6 * S;
	feed(&g, &e, sizeof(e));	/* [::1]:80: allowed */
	ASSERT_EQ(g.verdicts, 2);
	if (last(&g)) {
		ASSERT_STREQ(last(&g)->detail, "connect 10.0.0.9:7052");
		ASSERT_EQ(last(&g)->severity, DETECT_CRITICAL);
	}
	rig_free(&g);
}

TEST(detect_repeats_counted_and_instance_filled_in)
{
	struct rig g;
	struct cw_ev_alert e;

	rig_init(&g, NULL, 5);
	instance(&g, 5, 0x77, "c");
	/* setuid runs on every thread; only the caller's is in a contract call */
	for (int i = 0; i < 5; i++) {
		e = alert(CW_RULE_PRIV, 105, i == 4 ? 0x77 : 0, S + (__u64)i * 1000, "", "");
		e.call = i == 4 ? 3 : 0;
		feed(&g, &e, sizeof(e));
	}
	ASSERT_EQ(g.verdicts, 1);
	if (last(&g)) {
		ASSERT_EQ(last(&g)->repeats, 4);
		ASSERT_EQ(last(&g)->instance, 0x77);
		ASSERT_EQ(last(&g)->call, 3);
	}
	/* a second later it is a new alert */
	e = alert(CW_RULE_PRIV, 105, 0, 3 * S, "", "");
	feed(&g, &e, sizeof(e));
	ASSERT_EQ(g.verdicts, 2);
	rig_free(&g);
}

TEST(detect_host_call_bounds_speed_and_shared_memory)
{
	struct rig g;
	struct cw_ev_memory mem = { .h = { .type = CW_EV_MEMORY, .size = sizeof(mem), .tgid = 9,
					   .instance = 0x1, .ts = 3 }, .base = 0x10000000,
				    .size = 65536 };
	struct cw_ev_host_call hc = { .h = { .type = CW_EV_HOST_CALL, .size = sizeof(hc),
					     .tgid = 9, .instance = 0x1, .ts = 4 },
				      .func = 1, .ns = 1000, .guest_ptr = 65000, .guest_len = 536 };

	rig_init(&g, NULL, 9);
	instance(&g, 9, 0x1, "a");
	instance(&g, 9, 0x2, "b");
	feed(&g, &mem, sizeof(mem));
	feed(&g, &hc, sizeof(hc));	/* ends exactly at the last byte: fine */
	ASSERT_EQ(g.verdicts, 0);
	hc.guest_len = 537;
	feed(&g, &hc, sizeof(hc));
	ASSERT_EQ(g.verdicts, 1);
	if (last(&g))
		ASSERT_EQ(last(&g)->kind, CW_RULE_HOST_OOB);
	hc.guest_len = 8;
	hc.ns = 2 * S;
	feed(&g, &hc, sizeof(hc));
	ASSERT_EQ(g.verdicts, 2);
	if (last(&g))
		ASSERT_EQ(last(&g)->kind, CW_RULE_HOST_SLOW);
	/* b's memory lies inside a's: shared, said once */
	mem.h.instance = 0x2;
	mem.base = 0x10008000;
	mem.size = 4096;
	feed(&g, &mem, sizeof(mem));
	feed(&g, &mem, sizeof(mem));
	ASSERT_EQ(g.verdicts, 3);
	if (last(&g))
		ASSERT_EQ(last(&g)->kind, CW_RULE_SHARED);
	rig_free(&g);
}

TEST(detect_peak_limits)
{
	struct detect_rules r;
	struct rig g;
	struct cw_rec_stats s = { .h = { .type = CW_REC_STATS, .size = sizeof(s), .tgid = 3,
					 .ts = S } };

	detect__defaults(&r);
	r.peak_rss = 100 * MIB;
	rig_init(&g, &r, 3);
	s.stats.rss_peak.value = 99 * MIB;
	feed(&g, &s, sizeof(s));
	ASSERT_EQ(g.verdicts, 0);
	s.stats.rss_peak.value = 101 * MIB;
	feed(&g, &s, sizeof(s));
	feed(&g, &s, sizeof(s));
	ASSERT_EQ(g.verdicts, 1);
	if (last(&g))
		ASSERT_EQ(last(&g)->value, 101 * MIB);
	rig_free(&g);
}

TEST(detect_relative_peak_limit)
{
	struct detect_rules r;
	struct rig g;
	struct cw_rec_stats s = { .h = { .type = CW_REC_STATS, .size = sizeof(s), .tgid = 3,
					 .ts = S } };
	char err[256];
	static const char text[] = "rules:\n  peak.limit: {rss_ratio: 3}\n";

	detect__defaults(&r);
	ASSERT_EQ(rules__parse(text, strlen(text), "r.yaml", &r, err, sizeof(err)), 0);
	rig_init(&g, &r, 3);
	s.stats.rss[CW_RSS_ANON] = 40 * MIB;	/* first seen: 40 MiB */
	s.stats.rss_peak.value = 40 * MIB;
	feed(&g, &s, sizeof(s));
	s.stats.rss_peak.value = 119 * MIB;
	feed(&g, &s, sizeof(s));
	ASSERT_EQ(g.verdicts, 0);
	s.stats.rss_peak.value = 121 * MIB;
	feed(&g, &s, sizeof(s));
	ASSERT_EQ(g.verdicts, 1);
	if (last(&g))
		ASSERT_TRUE(strstr(last(&g)->detail, "limit 125829120, relative") != NULL);
	rig_free(&g);
}

TEST(rules_file_errors_name_the_line)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "rules:\n  process.teleport: {enabled: false}\n", "r.yaml:2: unknown rule" },
		{ "rules:\n  net:\n    allow: ['300.1.1.1']\n", "r.yaml:3: '300.1.1.1' is not" },
		{ "rules:\n  hostcall.slow: {limit: soon}\n", "r.yaml:2: expected a duration" },
		{ "rules:\n  leak.instance: {fit: 2}\n", "r.yaml:2: expected a fraction" },
		{ "rules:\n  memory.wx: {severity: dire}\n", "r.yaml:2: severity is" },
		{ "rules:\n  file.open: {allow: [relative/]}\n", "r.yaml:2: allow entries" },
		{ "alerts: {}\n", "r.yaml:1: unknown key 'alerts'" },
	};
	struct detect_rules r;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		detect__defaults(&r);
		err[0] = '\0';
		ASSERT_EQ(rules__parse(cases[i].text, strlen(cases[i].text), "r.yaml", &r, err,
				       sizeof(err)), -22);
		if (!ASSERT_TRUE(strstr(err, cases[i].msg) != NULL))
			printf("    got: %s\n", err);
	}
}

TEST(rules_file_sets_thresholds)
{
	static const char text[] =
		"rules:\n"
		"  hostcall.slow: {limit: 250ms}\n"
		"  leak.instance: {per_call: 8K, span: 2s, calls: 10, fit: 0.9}\n"
		"  peak.limit: {rss: 2G, instance: 256M}\n"
		"  process.exec: {enabled: false, enforce: false}\n";
	struct detect_rules r;
	char err[256];

	detect__defaults(&r);
	ASSERT_EQ(rules__parse(text, strlen(text), "r.yaml", &r, err, sizeof(err)), 0);
	ASSERT_EQ(r.host_slow_ns, 250000000ULL);
	ASSERT_EQ(r.leak_per_call, 8192);
	ASSERT_EQ(r.leak_span_ns, 2 * S);
	ASSERT_EQ(r.leak_calls, 10);
	ASSERT_NEAR(r.leak_fit, 0.9, 1e-12);
	ASSERT_EQ(r.peak_rss, 2ULL << 30);
	ASSERT_EQ(r.peak_instance, 256 * MIB);
	ASSERT_TRUE(!r.rule[CW_RULE_EXEC].enabled);
	ASSERT_TRUE(r.rule[CW_RULE_WX].enabled);
	ASSERT_EQ(detect__kind("memory.shared"), CW_RULE_SHARED);
	ASSERT_STREQ(detect__name(DETECT_THREADS), "threads.growth");
}

TEST(detect_crash_in_an_instance_then_the_exit)
{
	struct cw_ev_crash c = { .h = { .type = CW_EV_CRASH, .size = sizeof(c), .tgid = 70,
					.tid = 71, .instance = 0x10, .ts = 5 * S },
				 .kind = CW_CRASH_SIGNAL, .signo = 11, .code = 1, .stack = 3,
				 .call = 4, .nframes = 2 };
	struct cw_ev_exit x = { .h = { .type = CW_EV_EXIT, .size = sizeof(x), .tgid = 70,
				       .ts = 5 * S + 1000 }, .exit_code = 11 };
	const struct model_crash *mc;
	const struct detect_verdict *v;
	struct rig g;

	rig_init(&g, NULL, 70);
	instance(&g, 70, 0x10, "auction");
	strcpy(c.comm, "worker");
	strcpy(c.frame[0], "crash_here+0x10 (host)");
	strcpy(c.frame[1], "call_contract+0x5e (host)");
	feed(&g, &c, sizeof(c));
	ASSERT_EQ(g.verdicts, 1);
	v = last(&g);
	if (!ASSERT_TRUE(v != NULL))
		goto out;
	ASSERT_EQ(v->kind, DETECT_CRASH);
	ASSERT_EQ(v->severity, DETECT_CRITICAL);
	ASSERT_STREQ(detect__name(v->kind), "crash");
	ASSERT_EQ(v->tid, 71);
	ASSERT_EQ(v->call, 4);
	ASSERT_STREQ(g.m->inst[v->inst].name, "auction");
	ASSERT_STREQ(v->frame[1], "call_contract+0x5e (host)");
	ASSERT_TRUE(strstr(v->detail, "SIGSEGV (SEGV_MAPERR, address 0x0) in thread 71 (worker)") ==
		    v->detail);
	feed(&g, &x, sizeof(x));
	mc = model__crash(g.m, 0);
	if (!ASSERT_TRUE(mc != NULL))
		goto out;
	ASSERT_EQ(mc->inst, v->inst);
	ASSERT_EQ(g.m->t[mc->target].exit_code, 11);
	ASSERT_STREQ(model__crash_kind(&mc->ev), "SIGSEGV");
	c.kind = CW_CRASH_GO_PANIC;
	ASSERT_STREQ(model__crash_kind(&c), "go panic");
	ASSERT_EQ(g.verdicts, 1);
out:
	rig_free(&g);
}
