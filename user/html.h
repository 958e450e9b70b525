/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cwatch report: one self-contained HTML page from a recording (inline SVG,
 * no scripts, no network), and folded stacks for flame-graph tools.
 */
#ifndef CW_HTML_H
#define CW_HTML_H

#include <stdio.h>
#include "detect.h"
#include "model.h"

struct page;

struct page *page__new(void);
void page__free(struct page *p);
/* Take the figures a record carries into the timelines (after the model applied it). */
void page__sample(struct page *p, const struct model *m, const void *rec);
/* Write the page: @title heads it, @desc (the recording's JSON) is shown as it is. */
void page__write(struct page *p, FILE *out, const struct model *m, const struct detect *d,
		 const char *title, const char *desc, __u64 start_ts, __s64 wall_offset);
/* Folded stacks ("outer;...;inner bytes") of the heap sites, per instance or target. */
void page__folded(FILE *out, const struct model *m);

#endif /* CW_HTML_H */
