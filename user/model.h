/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-target state built from the record stream alone (cwatch.h records).
 * Pure: no I/O, no clocks; timestamps come from the records, so a live run
 * and a replay of its recording reach the same state.
 */
#ifndef CW_MODEL_H
#define CW_MODEL_H

#include <stddef.h>
#include <linux/types.h>
#include "cwatch.h"

enum model_state {
	MODEL_RUNNING = 0,
	MODEL_EXITED = 1,
};

struct model_target {
	__u32 pid;
	__u32 ppid;
	__u32 reason;			/* enum cw_reason */
	enum model_state state;
	char comm[CW_COMM_LEN];
	char exe[CW_PATH_LEN];		/* last exec'd file, or the file chosen at attach */
	__s32 exit_code;		/* wait(2) status, valid when exited */
	__u64 first_ts;			/* ns: became a target */
	__u64 last_ts;			/* ns: last record about it */
	__u64 exit_ts;			/* ns: exited */
	struct cw_stats stats;		/* latest figures (final ones once exited) */
	__u64 big_maps;			/* large mappings seen (CW_EV_MMAP, op mmap) */
};

struct model {
	struct model_target *t;		/* in order of appearance; never reordered */
	size_t n, cap;
	__u64 records;			/* records applied */
	__u64 bad_records;		/* records refused as malformed */
	__u64 lost;			/* events the kernel could not queue, total */
	__u64 first_ts, last_ts;	/* ns: first and last record time */
};

struct model *model__new(void);
void model__free(struct model *m);

/*
 * Apply one record of @len bytes. Returns the index of the target it touched
 * (>= 0), -ENOENT for a record about no known target (ignored), -EINVAL for a
 * malformed one, -ENOMEM.
 */
int model__apply(struct model *m, const void *rec, size_t len);

/* The live (not exited) target with @pid, or NULL. */
struct model_target *model__live(struct model *m, __u32 pid);
/* Number of targets still running. */
size_t model__nr_live(const struct model *m);

/* Resident bytes (file + anon + shmem) of @st now. */
__u64 model__rss(const struct cw_stats *st);

#endif /* CW_MODEL_H */
