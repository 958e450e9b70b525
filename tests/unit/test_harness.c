// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Self-tests of tests/harness.h. Assertions that are meant to fail run inside
 * a probe: the harness state is swapped for a scratch one whose log is a
 * memory stream, so the failures can be counted and their messages checked
 * without failing (or cluttering) the test that makes them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

struct probe {
	struct cw_state outer;	/* the real test's state, restored by probe_end() */
	struct cw_state inner;	/* what the probed assertions did */
	FILE *log;
	char *text;		/* the probed failure messages */
	size_t len;
};

/* Divert assertion results into @p; false (and nothing swapped) on ENOMEM. */
static bool probe_begin(struct probe *p)
{
	memset(p, 0, sizeof(*p));
	p->log = open_memstream(&p->text, &p->len);
	if (!p->log)
		return false;
	p->outer = cw_state;
	memset(&cw_state, 0, sizeof(cw_state));
	cw_state.test = p->outer.test;
	cw_state.log = p->log;
	return true;
}

/* Put the real test's state back; the probe's results stay in p->inner. */
static void probe_end(struct probe *p)
{
	fclose(p->log);		/* also makes p->text final */
	p->log = NULL;
	p->inner = cw_state;
	p->inner.log = NULL;
	cw_state = p->outer;
}

/* Count calls, to show that an assertion evaluates its arguments once. */
static int bump(int *calls)
{
	return ++*calls;
}

/* The tolerance is inclusive and symmetric; NaN and a negative tol fail. */
TEST(harness_near_tolerance)
{
	struct probe p;
	bool at_edge, past_edge, below, nan_, neg_tol;

	if (!ASSERT_TRUE(probe_begin(&p)))
		return;
	/* 1.0, 1.5 and 0.5 are exact in binary: the edge case is real. */
	at_edge = ASSERT_NEAR(1.0, 1.5, 0.5);
	past_edge = ASSERT_NEAR(1.0, 1.5000001, 0.5);
	below = ASSERT_NEAR(2.0, 1.0, 0.5);
	nan_ = ASSERT_NEAR(NAN, NAN, 1.0);
	neg_tol = ASSERT_NEAR(1.0, 1.0, -0.1);
	probe_end(&p);

	ASSERT_TRUE(at_edge);
	ASSERT_TRUE(!past_edge);
	ASSERT_TRUE(!below);
	ASSERT_TRUE(!nan_);
	ASSERT_TRUE(!neg_tol);
	ASSERT_EQ(p.inner.failed_asserts, 4);
	free(p.text);
}

/*
 * A failed ASSERT_EQ returns false, logs file:line, the expression, actual
 * and expected, and counts against the probe only: this test still passes.
 */
TEST(harness_eq_message_and_isolation)
{
	char want[256];
	struct probe p;
	int calls = 0, line;
	bool ok, once;

	if (!ASSERT_TRUE(probe_begin(&p)))
		return;
	line = __LINE__ + 1;
	ok = ASSERT_EQ(2 + 2, 5);
	once = ASSERT_EQ(bump(&calls), 1);
	probe_end(&p);

	snprintf(want, sizeof(want), "%s:%d: 2 + 2 == 5: actual 4 expected 5\n",
		 __FILE__, line);
	ASSERT_TRUE(!ok);
	ASSERT_TRUE(once);
	ASSERT_EQ(calls, 1);
	ASSERT_EQ(p.inner.failed_asserts, 1);
	ASSERT_STREQ(p.text, want);
	ASSERT_EQ(cw_state.failed_asserts, 0);
	free(p.text);
}

/* The body of a test that skips; @reached shows whether SKIP returned. */
static void skipping_body(int *reached)
{
	SKIP("needs %d %s", 3, "frobs");
	*reached = 1;
}

/* STREQ's NULL rules, and SKIP: it records a reason and leaves the test. */
TEST(harness_streq_and_skip)
{
	struct probe p;
	bool both_null, one_null, same, differ;
	int reached = 0;

	if (!ASSERT_TRUE(probe_begin(&p)))
		return;
	both_null = ASSERT_STREQ(NULL, NULL);
	one_null = ASSERT_STREQ("a", NULL);
	same = ASSERT_STREQ("abc", "abc");
	differ = ASSERT_STREQ("abc", "abd");
	skipping_body(&reached);
	probe_end(&p);

	ASSERT_TRUE(both_null);
	ASSERT_TRUE(!one_null);
	ASSERT_TRUE(same);
	ASSERT_TRUE(!differ);
	ASSERT_EQ(p.inner.failed_asserts, 2);
	ASSERT_TRUE(p.text && strstr(p.text, "actual \"abc\" expected \"abd\""));
	ASSERT_EQ(reached, 0);
	ASSERT_TRUE(p.inner.skipped);
	ASSERT_STREQ(p.inner.skip_reason, "needs 3 frobs");
	ASSERT_TRUE(!cw_state.skipped);
	free(p.text);
}
