/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * --unwind=dwarf: user stacks unwound from a copy of their top (CW_EV_USTACK)
 * with the binaries' DWARF CFI (.eh_frame, .debug_frame) through elfutils'
 * libdwfl, one session per process; unwound stacks interned under ids of
 * their own, which never collide with the kernel's stack ids.
 */
#ifndef CW_UNWIND_H
#define CW_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "cwatch.h"

/* Interned stack ids start here (cw_stacks ids are below its 16384 entries). */
#define UNWIND_ID_BASE 0x40000000

struct unwind;

struct unwind_stats {
	__u64 samples;		/* records unwound (or tried) */
	__u64 dwarf;		/* ... that gave two frames or more */
	__u64 frames;		/* frames those gave, in all */
	__u64 sessions;		/* libdwfl sessions opened (module lists read) */
	__u64 ns;		/* time spent unwinding */
};

struct unwind *unwind__new(void);
void unwind__free(struct unwind *u);
/*
 * Unwind record @e (@len bytes) into @ips, innermost first: ips[0] the exact
 * PC, the others return addresses. Returns the frames, 0 when the unwinder
 * could not get past the first frame (the caller falls back to frame pointers).
 */
int unwind__sample(struct unwind *u, const struct cw_ev_ustack *e, size_t len, __u64 *ips,
		   int max);
/* The id of stack @ips (@n frames, 0 allowed) of @tgid: the same frames, the same id; -ENOMEM. */
__s32 unwind__intern(struct unwind *u, __u32 tgid, const __u64 *ips, int n);
/* The frames of interned stack @id of @tgid, up to @max; 0 if unknown. */
int unwind__stack(const struct unwind *u, __u32 tgid, __s32 id, __u64 *ips, int max);
static inline bool unwind__is_id(__s32 id)
{
	return id >= UNWIND_ID_BASE;
}
/* @pid is gone: close its session (its interned stacks stay). */
/* Read @pid's modules now, while it lives: a crash's stack is unwound after it is gone. */
void unwind__prepare(struct unwind *u, pid_t pid);
void unwind__forget(struct unwind *u, pid_t pid);
void unwind__stats(const struct unwind *u, struct unwind_stats *st);

#endif /* CW_UNWIND_H */
