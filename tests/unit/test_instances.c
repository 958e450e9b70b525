// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The model's instances: code hashing, calls, retained median, lifetime. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "model.h"

static void attach(struct model *m, __u32 pid)
{
	struct cw_rec_attach a = {};

	a.h.type = CW_REC_ATTACH;
	a.h.size = sizeof(a);
	a.h.tgid = pid;
	a.h.ts = 1;
	model__apply(m, &a, sizeof(a));
}

/* Send @len bytes of code in chunks, then the module record for @key. */
static void module(struct model *m, __u32 pid, __u64 seq, __u64 key, const unsigned char *code,
		   __u64 len, bool lose_chunk)
{
	struct cw_ev_code *c = calloc(1, sizeof(*c));
	struct cw_ev_module e = {};
	__u32 chunks = 0;

	for (__u64 off = 0; off < len; off += CW_CODE_CHUNK, chunks++) {
		memset(c, 0, sizeof(*c));
		c->h.type = CW_EV_CODE;
		c->h.size = sizeof(*c);
		c->h.tgid = pid;
		c->h.tid = pid;
		c->h.ts = 2;
		c->seq = seq;
		c->off = off;
		c->total = len;
		c->len = len - off < CW_CODE_CHUNK ? len - off : CW_CODE_CHUNK;
		memcpy(c->data, code + off, c->len);
		if (!(lose_chunk && off))
			model__apply(m, c, sizeof(*c));
	}
	e.h.type = CW_EV_MODULE;
	e.h.size = sizeof(e);
	e.h.tgid = pid;
	e.h.tid = pid;
	e.h.ts = 3;
	e.seq = seq;
	e.module = key;
	e.code_len = len;
	e.chunks = chunks;
	model__apply(m, &e, sizeof(e));
	free(c);
}

static void instance(struct model *m, __u32 pid, __u64 key, __u64 module, const char *name)
{
	struct cw_ev_instance e = {};

	e.h.type = CW_EV_INSTANCE_NEW;
	e.h.size = sizeof(e);
	e.h.tgid = pid;
	e.h.instance = key;
	e.h.ts = 4;
	e.module = module;
	strcpy(e.name, name);
	model__apply(m, &e, sizeof(e));
}

static void call(struct model *m, __u32 pid, __u64 key, __s64 retained)
{
	struct cw_ev_call e = {};

	e.h.type = CW_EV_CALL;
	e.h.size = sizeof(e);
	e.h.tgid = pid;
	e.h.instance = key;
	e.h.ts = 5;
	e.retained = retained;
	model__apply(m, &e, sizeof(e));
}

TEST(instances_contract_is_sha256_of_code)
{
	struct model *m = model__new();
	/* SHA-256("abc"), FIPS 180-2 appendix B.1 */
	static const char abc[] =
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	unsigned char *big = malloc(10000);

	for (int i = 0; i < 10000; i++)
		big[i] = (unsigned char)(i * 7);
	attach(m, 10);
	module(m, 10, 1, 0xa000, (const unsigned char *)"abc", 3, false);
	module(m, 10, 2, 0xb000, big, 10000, true);	/* a chunk lost */
	instance(m, 10, 0x1, 0xa000, "");
	instance(m, 10, 0x2, 0xb000, "");
	instance(m, 10, 0x3, 0, "named");
	ASSERT_EQ(m->ninst, 3);
	ASSERT_STREQ(m->inst[0].contract, abc);
	/* a hash of part of the code would be a wrong id: say it is incomplete */
	ASSERT_STREQ(m->inst[1].contract, "incomplete-code");
	ASSERT_STREQ(m->inst[2].contract, "named");
	ASSERT_EQ(m->inst[2].seq, 3);
	ASSERT_EQ(m->ncode, 0);		/* nothing pending after the module records */
	free(big);
	model__free(m);
}

TEST(instances_retained_median_ignores_gc_spikes)
{
	struct model *m = model__new();
	struct model_instance *in;

	attach(m, 20);
	instance(m, 20, 0x10, 0, "c");
	/* a healthy contract whose host sometimes collects garbage mid-call */
	for (int i = 0; i < 40; i++)
		call(m, 20, 0x10, i % 10 == 9 ? -(8 << 20) : (i % 10 == 4 ? (4 << 20) : 0));
	in = model__instance(m, 20, 0x10);
	if (!ASSERT_TRUE(in != NULL))
		goto out;
	ASSERT_EQ(in->calls, 40);
	ASSERT_EQ(model__retained_median(in), 0);
	/* a leaking one: 64 KiB every call, past the window */
	for (int i = 0; i < 200; i++)
		call(m, 20, 0x10, 65536);
	ASSERT_EQ(model__retained_median(in), 65536);
	ASSERT_EQ(in->nretained, MODEL_RETAINED_WINDOW);
	ASSERT_EQ(in->retained_last, 65536);
out:
	model__free(m);
}

TEST(instances_end_with_their_target_and_keys_are_reused)
{
	struct model *m = model__new();
	struct cw_hdr end = { .type = CW_EV_INSTANCE_END, .size = sizeof(end), .tgid = 30,
			      .instance = 0x20, .ts = 6 };
	struct cw_ev_exit x = {};

	attach(m, 30);
	instance(m, 30, 0x20, 0, "a");
	instance(m, 30, 0x20, 0, "a");	/* a second instance in the same store */
	ASSERT_EQ(m->ninst, 1);
	model__apply(m, &end, sizeof(end));
	ASSERT_EQ(m->inst[0].state, MODEL_EXITED);
	ASSERT_EQ(m->inst[0].ended_ts, 6);
	/* the runtime reuses the freed pointer for a new instance */
	instance(m, 30, 0x20, 0, "b");
	instance(m, 30, 0x30, 0, "c");
	ASSERT_EQ(m->ninst, 3);
	ASSERT_STREQ(model__instance(m, 30, 0x20)->name, "b");
	ASSERT_EQ(model__nr_instances(m, 0), 2);
	x.h.type = CW_EV_EXIT;
	x.h.size = sizeof(x);
	x.h.tgid = 30;
	x.h.ts = 9;
	model__apply(m, &x, sizeof(x));
	ASSERT_EQ(model__nr_instances(m, 0), 0);
	ASSERT_EQ(m->inst[2].ended_ts, 9);
	model__free(m);
}

static void site(struct model *m, __u32 pid, __u64 inst, __s32 stack, __u64 bytes,
		 const char *frame)
{
	struct cw_rec_site *r = calloc(1, sizeof(*r));

	r->h.type = CW_REC_SITE;
	r->h.size = sizeof(*r);
	r->h.tgid = pid;
	r->h.instance = inst;
	r->h.ts = 7;
	r->stack = stack;
	r->site.bytes = bytes;
	r->site.samples = bytes / 65536;
	r->nframes = 1;
	strcpy(r->frame[0], frame);
	model__apply(m, r, sizeof(*r));
	free(r);
}

TEST(instances_heap_sites_ranked_and_updated)
{
	struct model *m = model__new();
	const struct model_site *s;

	attach(m, 40);
	instance(m, 40, 0x1, 0, "a");
	site(m, 40, 0x1, 5, 1 << 20, "small");
	site(m, 40, 0x1, 6, 8 << 20, "big");
	site(m, 40, 0x1, 7, 4 << 20, "middle");
	site(m, 40, 0, 8, 2 << 20, "target's own");
	site(m, 40, 0x1, 5, 16 << 20, "small");	/* grew since: now the biggest */
	site(m, 40, 0x99, 9, 1, "no such instance");
	ASSERT_EQ(m->nsite, 4);
	s = model__top_site(m, 0, 0, 0);
	if (ASSERT_TRUE(s != NULL))
		ASSERT_STREQ(s->frame[0], "small");
	s = model__top_site(m, 0, 0, 1);
	if (ASSERT_TRUE(s != NULL))
		ASSERT_STREQ(s->frame[0], "big");
	s = model__top_site(m, 0, 0, 2);
	if (ASSERT_TRUE(s != NULL))
		ASSERT_STREQ(s->frame[0], "middle");
	ASSERT_TRUE(model__top_site(m, 0, 0, 3) == NULL);
	s = model__top_site(m, 0, -1, 0);
	if (ASSERT_TRUE(s != NULL))
		ASSERT_STREQ(s->frame[0], "target's own");
	model__free(m);
}

/* An exit record for @pid at @ts. */
static void exit_at(struct model *m, __u32 pid, __u64 ts)
{
	struct cw_ev_exit x = {};

	x.h.type = CW_EV_EXIT;
	x.h.size = sizeof(x);
	x.h.tgid = pid;
	x.h.ts = ts;
	model__apply(m, &x, sizeof(x));
}

TEST(evict_keeps_live_and_newest_finished_moves_indices)
{
	struct model *m = model__new();
	struct cw_hdr end = { .type = CW_EV_INSTANCE_END, .size = sizeof(end), .tgid = 1,
			      .instance = 0x10, .ts = 20 };
	struct model_remap r;
	int n;

	m->keep_gone = 2;
	m->grace_ns = 100;
	/* five processes; pids 2, 3, 4 exit at 10, 30, 50; 1 and 5 run on */
	for (__u32 pid = 1; pid <= 5; pid++)
		attach(m, pid);
	instance(m, 1, 0x10, 0, "old");
	instance(m, 1, 0x11, 0, "live");
	instance(m, 4, 0x40, 0, "x");
	model__apply(m, &end, sizeof(end));
	site(m, 2, 0, 5, 4096, "f2");
	site(m, 4, 0x40, 6, 4096, "f4");
	exit_at(m, 2, 10);
	exit_at(m, 3, 30);
	exit_at(m, 4, 50);
	/* within the grace nothing goes, whatever the cap */
	ASSERT_EQ(model__evict(m, 100, &r), 0);
	ASSERT_EQ(m->n, 5);
	/* past it: 3 exited, keep 2: the one that exited first (pid 2) and its site go */
	n = model__evict(m, 135, &r);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(m->n, 4);
	ASSERT_EQ(r.t[1], -1);
	ASSERT_EQ(r.t[2], 1);
	ASSERT_EQ(m->evicted.targets, 1);
	ASSERT_EQ(m->evicted.sites, 1);
	ASSERT_EQ(m->t[1].pid, 3);
	/* instance of pid 4 (index 2 then, target 3) follows its target to index 2 */
	ASSERT_EQ(m->inst[2].target, 2);
	ASSERT_EQ(m->site[0].target, 2);
	ASSERT_EQ(m->site[0].inst, 2);
	model__remap_free(&r);
	/* keep none: every finished entry past the grace goes, live ones stay */
	m->keep_gone = 0;
	n = model__evict(m, 1000, &r);
	ASSERT_EQ(n, 2 + 2);	/* pids 3, 4; instance "old" (ended) and pid 4's */
	ASSERT_EQ(m->n, 2);
	ASSERT_EQ(m->ninst, 1);
	ASSERT_STREQ(m->inst[0].name, "live");
	ASSERT_EQ(m->evicted.instances, 2);
	ASSERT_EQ(m->nsite, 0);
	model__remap_free(&r);
	/* instance numbers keep counting past the evicted ones */
	instance(m, 1, 0x12, 0, "new");
	ASSERT_EQ(model__instance(m, 1, 0x12)->seq, 3);
	model__free(m);
}
