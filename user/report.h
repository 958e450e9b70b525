/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the user sees: the live table, lifecycle lines, JSON lines, the summary. */
#ifndef CW_REPORT_H
#define CW_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "detect.h"
#include "model.h"

struct report_opts {
	FILE *out;
	bool json;		/* JSON lines instead of the table */
	bool redraw;		/* redraw the table in place (a terminal) */
	__u64 start_ts;		/* ns, CLOCK_MONOTONIC: cwatch started watching */
	__s64 wall_offset;	/* ns: CLOCK_REALTIME - CLOCK_MONOTONIC */
	const char *const *profile_names;	/* runtime profile names, by index */
	int nprofiles;
	__u32 mmap_lines;	/* JSON mmap lines a second per target, 0 = all (--mmap-lines) */
};

struct report;

struct report *report__new(const struct report_opts *o);
void report__free(struct report *r);
/* Name the runtime profiles (records carry their index); @names must outlive @r. */
void report__set_profiles(struct report *r, const char *const *names, int n);
/* A record was applied to @m and touched target @idx: print lifecycle news. */
void report__record(struct report *r, const struct model *m, const void *rec, int idx);
/* Write out what the records so far printed (JSON lines are buffered until then). */
void report__flush(struct report *r);
struct detect_verdict;
/* A new verdict (alert, leak, limit, growth). */
void report__verdict(struct report *r, const struct model *m, const struct detect_verdict *v);
/* --heap is on: heap "sites" appear even when empty. */
void report__set_heap(struct report *r, bool heap);
/* Print only records from @from to @to (ns, monotonic) and, with @inst, about instance @inst. */
void report__set_filter(struct report *r, __u64 from, __u64 to, __u32 inst);
/* The verdicts so far, for the summary. */
void report__set_verdicts(struct report *r, const struct detect *d);
/* The periodic view at time @now (ns, monotonic). */
void report__interval(struct report *r, const struct model *m, __u64 now);
/* The final summary at time @now. */
void report__summary(struct report *r, const struct model *m, __u64 now);

#endif /* CW_REPORT_H */
