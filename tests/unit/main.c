// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The unit-test runner: runs every TEST() linked into this binary, or those
 * whose name contains argv[1]. One line per test, then the totals; the last
 * line is what tests/run.py parses.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct cw_state cw_state;

/* Bounds of the section TEST() fills; weak so an empty suite still links. */
extern const struct cw_test *const __start_cw_tests[] __attribute__((weak));
extern const struct cw_test *const __stop_cw_tests[] __attribute__((weak));

/* Order by file, then line: link order within a section is not promised. */
static int cmp_test(const void *pa, const void *pb)
{
	const struct cw_test *a = *(const struct cw_test *const *)pa;
	const struct cw_test *b = *(const struct cw_test *const *)pb;
	int c = strcmp(a->file, b->file);

	if (c)
		return c;
	return (a->line > b->line) - (a->line < b->line);
}

/* Run one test with a fresh state; print its line; return its outcome. */
static int run_one(const struct cw_test *t)
{
	memset(&cw_state, 0, sizeof(cw_state));
	cw_state.test = t;
	t->fn();

	if (cw_state.failed_asserts) {
		printf("FAIL %s\n", t->name);
		return 1;
	}
	if (cw_state.skipped) {
		printf("skip %s: %s\n", t->name, cw_state.skip_reason);
		return 2;
	}
	printf("ok   %s\n", t->name);
	return 0;
}

/* Collect, sort, filter and run the tests; exit 1 if any failed. */
int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	const struct cw_test **tests;
	size_t n = 0, i;
	int passed = 0, failed = 0, skipped = 0;

	if (argc > 2 || (filter && filter[0] == '-')) {
		fprintf(stderr, "usage: %s [NAME-SUBSTRING]\n", argv[0]);
		return 2;
	}
	/* Line-buffered even into a pipe, so a crash loses no finished lines. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (__start_cw_tests && __stop_cw_tests)
		n = __stop_cw_tests - __start_cw_tests;
	tests = calloc(n ? n : 1, sizeof(*tests));
	if (!tests) {
		perror("unit: calloc");
		return 1;
	}
	for (i = 0; i < n; i++)
		tests[i] = __start_cw_tests[i];
	qsort(tests, n, sizeof(*tests), cmp_test);

	for (i = 0; i < n; i++) {
		if (filter && !strstr(tests[i]->name, filter))
			continue;
		switch (run_one(tests[i])) {
		case 0:
			passed++;
			break;
		case 1:
			failed++;
			break;
		default:
			skipped++;
		}
	}
	free(tests);
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
