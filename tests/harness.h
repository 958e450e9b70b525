/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A tiny unit-test harness. TEST(name) defines a test and registers it in the
 * linker section "cw_tests"; tests/unit/main.c walks that section, so there is
 * no list to maintain. ASSERT_* log "file:line: expr: actual X expected Y" to
 * the current log (stdout), mark the test failed, do not abort it, and
 * evaluate to a bool:
 *
 *	TEST(model_peak)
 *	{
 *		struct model *m = model__new();
 *
 *		if (!ASSERT_TRUE(m != NULL))
 *			return;
 *		if (!ASSERT_EQ(model__peak(m), 0))
 *			goto cleanup;
 *	cleanup:
 *		model__free(m);
 *	}
 *
 * SKIP(fmt, ...) marks the test skipped and returns from it, so it may only
 * be used in the test function's own body. A test that failed an assertion
 * before skipping counts as failed.
 */
#ifndef CW_HARNESS_H
#define CW_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct cw_test {
	const char *name;	/* as written in TEST(name) */
	const char *file;
	int line;
	void (*fn)(void);
};

/* What the running test has done so far; defined in tests/unit/main.c. */
struct cw_state {
	const struct cw_test *test;
	int failed_asserts;
	bool skipped;
	char skip_reason[256];
	FILE *log;		/* where failures go; NULL = stdout */
};

extern struct cw_state cw_state;

/*
 * The section holds pointers, not the structs: pointers have one size and
 * alignment, so the compiler cannot pad between entries and break the walk
 * from __start_cw_tests to __stop_cw_tests. Named sections are left alone by
 * AddressSanitizer's global redzones (GCC and clang both skip them).
 */
#define TEST(name)							\
	static void test_##name(void);					\
	static const struct cw_test cw_test_##name = {			\
		#name, __FILE__, __LINE__, test_##name,			\
	};								\
	static const struct cw_test *const cw_test_ptr_##name		\
		__attribute__((used, section("cw_tests"),		\
			       aligned(sizeof(void *)))) = &cw_test_##name; \
	static void test_##name(void)

/* Log one failed assertion and count it against the running test. */
static inline __attribute__((format(printf, 4, 5))) void
cw_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	FILE *f = cw_state.log ? cw_state.log : stdout;
	va_list ap;

	cw_state.failed_asserts++;
	fprintf(f, "%s:%d: %s: ", file, line, expr);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

/* Record why the running test is skipped; SKIP() returns right after. */
static inline __attribute__((format(printf, 1, 2))) void
cw_skip(const char *fmt, ...)
{
	va_list ap;

	cw_state.skipped = true;
	va_start(ap, fmt);
	vsnprintf(cw_state.skip_reason, sizeof(cw_state.skip_reason), fmt, ap);
	va_end(ap);
}

/* Equal or both NULL; NULL never equals a string. */
static inline bool cw_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Each argument is evaluated exactly once. */
#define ASSERT_TRUE(x) ({						\
	bool cw_ok_ = !!(x);						\
	if (!cw_ok_)							\
		cw_fail(__FILE__, __LINE__, #x,				\
			"actual false expected true");			\
	cw_ok_;								\
})

/* Integers, compared and printed as long long. */
#define ASSERT_EQ(a, b) ({						\
	long long cw_a_ = (long long)(a);				\
	long long cw_e_ = (long long)(b);				\
	bool cw_ok_ = cw_a_ == cw_e_;					\
	if (!cw_ok_)							\
		cw_fail(__FILE__, __LINE__, #a " == " #b,		\
			"actual %lld expected %lld", cw_a_, cw_e_);	\
	cw_ok_;								\
})

/* |a - b| <= tol; NaN anywhere, or a negative tol, fails. */
#define ASSERT_NEAR(a, b, tol) ({					\
	double cw_a_ = (a), cw_e_ = (b), cw_t_ = (tol);		\
	double cw_d_ = cw_a_ - cw_e_;					\
	bool cw_ok_ = (cw_d_ < 0 ? -cw_d_ : cw_d_) <= cw_t_;		\
	if (!cw_ok_)							\
		cw_fail(__FILE__, __LINE__, #a " ~ " #b,		\
			"actual %.17g expected %.17g +/- %g",		\
			cw_a_, cw_e_, cw_t_);				\
	cw_ok_;								\
})

/* C strings; NULL prints as (null). */
#define ASSERT_STREQ(a, b) ({						\
	const char *cw_a_ = (a), *cw_e_ = (b);				\
	bool cw_ok_ = cw_streq(cw_a_, cw_e_);				\
	if (!cw_ok_)							\
		cw_fail(__FILE__, __LINE__, #a " == " #b,		\
			"actual \"%s\" expected \"%s\"",		\
			cw_a_ ? cw_a_ : "(null)",			\
			cw_e_ ? cw_e_ : "(null)");			\
	cw_ok_;								\
})

#define SKIP(...)							\
	do {								\
		cw_skip(__VA_ARGS__);					\
		return;							\
	} while (0)

#endif /* CW_HARNESS_H */
