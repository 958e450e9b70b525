/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Loading and attaching the BPF programs, and the maps user space writes or reads. */
#ifndef CW_PROBES_H
#define CW_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "cwatch.h"
#include "target.h"

struct probes_opts {
	__u32 max_targets;	/* entries in cw_targets */
	__u64 ringbuf_bytes;	/* power of two */
	__u64 peak_step;	/* bytes between CW_EV_PEAK events */
	__u64 mmap_min;		/* bytes: smallest mapping reported as an event */
	bool match;		/* --comm/--exe: watch every exec */
	__u64 heap_sample;	/* --heap: bytes of anon growth between stack samples, 0 = off */
	bool unwind_dwarf;	/* --unwind=dwarf: --heap samples carry stack copies (CW_EV_USTACK) */
	__u32 rules;		/* escape rules the kernel side checks, bit = enum cw_rule */
	__u32 enforce;		/* ... and those it kills for (--enforce) */
	__u64 host_slow_ns;	/* hostcall.slow's limit: slower host calls get a stack */
	const char *btf_path;	/* NULL: the running kernel's */
	const char *tracefs;	/* NULL: /sys/kernel/tracing */
};

struct probes;

/*
 * Check what loading needs (privileges, BTF, tracefs, mounting it when absent),
 * then open and load the programs. NULL with errno set, after printing one
 * error line that says what is missing.
 */
struct probes *probes__load(const struct probes_opts *o);
/* Attach every program; 0 or -errno (printed). */
int probes__attach(struct probes *p);
void probes__free(struct probes *p);

/* Make @pid a target, seeding its figures from @st at time @now; 0, -EEXIST, -errno. */
int probes__add_target(struct probes *p, pid_t pid, const struct target_status *st,
		       __u32 reason, __u64 now);
/* Install the --comm/--exe matchers; 0 or -errno. */
int probes__set_match(struct probes *p, const struct target_match *m);
/* The path prefixes file opens may use without an alert (the kernel-side pre-filter). */
int probes__set_file_allow(struct probes *p, const char (*prefix)[60], int n);
/* Forget @tgid (reaped after a lost exit event). */
void probes__forget(struct probes *p, __u32 tgid);
/*
 * A target is gone: delete what the kernel side keeps under its tgid
 * (instances, heap and thread sites), so a process that reuses the pid
 * starts from nothing. Returns the entries deleted.
 */
int probes__forget_tgid(struct probes *p, __u32 tgid);
/* The same for hash map @map by name (keys that start with the tgid); how many went. */
int probes__map_forget_tgid(struct probes *p, const char *map, __u32 tgid);
/* Iterate targets: start with *key = 0 and @first set; 1 while there are more, 0 at the end. */
int probes__next(struct probes *p, __u32 *key, bool first, struct cw_stats *out);
/* Events the kernel side could not queue or store, summed over CPUs and types. */
__u64 probes__lost(struct probes *p);
/* The same by record type and reason: @by[type * CW_DROP_NR + reason] (cwatch.h). */
void probes__lost_by(struct probes *p, __u64 by[CW_DROPS_LEN]);
/* --unwind=dwarf: CW_EV_USTACK records sent, and samples kept on frame pointers (ring full). */
void probes__unwind_counts(struct probes *p, __u64 *sent, __u64 *ring_full);
/* The ring buffer map's fd. */
int probes__ringbuf_fd(struct probes *p);
/* Install probe spec @idx (< CW_USPECS), the cookie of its attachments; 0 or -errno. */
int probes__set_uspec(struct probes *p, __u32 idx, const struct cw_uspec *u);
/*
 * Attach the runtime entry (or, with @ret, return) probe at file offset @off
 * of @path for every process (the programs filter by target); 0 or -errno.
 */
int probes__attach_uprobe(struct probes *p, const char *path, __u64 off, __u32 cookie, bool ret);
/*
 * Attach BPF program @name as a uprobe (with @ret, a uretprobe: C functions
 * only) at file offset @off of @path, for every process; 0 or -errno.
 */
int probes__attach_prog(struct probes *p, const char *name, const char *path, __u64 off,
			__u64 cookie, bool ret);
/* The same for process @pid only (-1: every process): the kernel places the breakpoint in it alone. */
int probes__attach_prog_pid(struct probes *p, const char *name, pid_t pid, const char *path,
			    __u64 off, __u64 cookie, bool ret);
/*
 * probes__attach_prog_pid, also giving the attachment in *@link (for
 * probes__detach); 0 or -errno.
 */
struct bpf_link;
int probes__attach_link(struct probes *p, const char *name, pid_t pid, const char *path,
			__u64 off, __u64 cookie, bool ret, struct bpf_link **link);
/* Detach and destroy uprobe @link (from probes__attach_link); NULL does nothing. */
void probes__detach(struct probes *p, struct bpf_link *link);
/* Uprobe attachments in place now. */
size_t probes__nr_links(const struct probes *p);
/*
 * Hash map @map by name: step through it as probes__next does (1 while there
 * are more); update, look up or delete one entry (0 or -errno).
 */
int probes__map_next(struct probes *p, const char *map, void *key, size_t ksz, bool first,
		     void *out, size_t vsz);
/*
 * Every entry of hash map @map in one go (batch lookups): keys into *@keys and
 * values into *@vals, arrays to free(); returns how many, or -errno.
 */
ssize_t probes__map_dump(struct probes *p, const char *map, size_t ksz, size_t vsz,
			 void **keys, void **vals);
int probes__map_update(struct probes *p, const char *map, const void *key, size_t ksz,
		       const void *val, size_t vsz, __u64 flags);
int probes__map_lookup(struct probes *p, const char *map, const void *key, size_t ksz,
		       void *val, size_t vsz);
int probes__map_delete(struct probes *p, const char *map, const void *key, size_t ksz);
/* Iterate instances like probes__next; @key is the map key. */
int probes__next_inst(struct probes *p, struct cw_inst_key *key, bool first,
		      struct cw_inst_stats *out);
/* The user stack @id: up to CW_STACK_DEPTH addresses into @ips; returns how many. */
int probes__stack(struct probes *p, __s32 id, __u64 *ips);

/*
 * Run syscall program @name once with @ctx (@size bytes) as its argument; 0,
 * or -ENOENT where the kernel has no syscall programs (Linux < 5.14).
 */
int probes__run(struct probes *p, const char *name, void *ctx, size_t size);
/* Have the kernel count our programs' run time (for metrics); 0 or -errno. */
int probes__enable_stats(struct probes *p);
/*
 * Calibrate the programs' tick clock (jiffies) against CLOCK_MONOTONIC, or,
 * once calibrated, keep the two in step; called after loading, then every
 * interval. Without it the programs use the exact clock.
 */
void probes__clock_sync(struct probes *p);
/* Total run time and count of cwatch's BPF programs (needs kernel.bpf_stats_enabled). */
void probes__prog_stats(struct probes *p, __u64 *run_ns, __u64 *runs);

#endif /* CW_PROBES_H */
