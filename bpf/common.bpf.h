/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps, settings and helpers shared by cwatch's BPF programs. The maps are
 * __weak so that every concern's object can name them and the linker
 * (bpftool gen object) keeps one copy; settings are defined in targets.bpf.c.
 */
#ifndef CW_COMMON_BPF_H
#define CW_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "cwatch.h"

#define CW_PAGE_SHIFT 12	/* x86-64 and arm64 with 4 KiB pages */
#define CW_PAGE_ALIGN(x) (((x) + (1ULL << CW_PAGE_SHIFT) - 1) & ~((1ULL << CW_PAGE_SHIFT) - 1))

/* task_struct.flags: include/linux/sched.h */
#define CW_PF_EXITING 0x00000004
/* mmap flags and protections: include/uapi/asm-generic/mman-common.h */
#define CW_MAP_ANONYMOUS 0x20
#define CW_PROT_WRITE 0x2
#define CW_PROT_EXEC 0x4

/* Settings written by user space between open and load. */
extern const volatile __u64 cfg_peak_step;	/* bytes between CW_EV_PEAK events */
extern const volatile __u64 cfg_mmap_min;	/* bytes: smallest mapping that gets a CW_EV_MMAP */
extern const volatile __u64 cfg_wakeup_bytes;	/* wake the reader once this much is queued */
extern const volatile __u32 cfg_match;		/* 1: match new processes on exec (--comm/--exe) */
extern const volatile __u64 cfg_heap_sample;	/* --heap: bytes between stack samples, 0 = off */
extern const volatile __u32 cfg_rules;		/* escape rules the kernel side checks, bit = enum cw_rule */
extern const volatile __u32 cfg_enforce;	/* rules that kill the process (--enforce), bit = rule */
extern const volatile __u64 cfg_host_slow_ns;	/* hostcall.slow: a host call this long gets a stack */
extern const volatile __u32 cfg_unwind;		/* --unwind=dwarf: 1 = send stack copies (CW_EV_USTACK) */

/* Targets and their counters; key tgid. Resized by user space before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct cw_stats);
	__uint(max_entries, 4096);
} cw_targets SEC(".maps") __weak;

/* The kernel's hashed mm id (kmem:rss_stat mm_id) -> owning tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4096);
} cw_mm SEC(".maps") __weak;

/* Syscall arguments saved at sys_enter for sys_exit; key tid. */
struct cw_inflight {
	__u64 a[4];
	__u32 nr;	/* which syscall, enum cw_mmap_op */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct cw_inflight);
	__uint(max_entries, 8192);
} cw_inflight SEC(".maps") __weak;

/* --comm names to match on exec; key the comm, NUL-padded. */
struct cw_comm_key {
	char comm[CW_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cw_comm_key);
	__type(value, __u32);
	__uint(max_entries, 64);
} cw_match_comm SEC(".maps") __weak;

/* --exe files to match on exec; key (kernel dev_t, inode). */
struct cw_ino_key {
	__u64 dev;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cw_ino_key);
	__type(value, __u32);
	__uint(max_entries, 64);
} cw_match_ino SEC(".maps") __weak;

/* --cgroup: cgroup v2 ids (the directory's inode) whose processes, descendants' too, match on exec. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __u32);
	__uint(max_entries, 64);
} cw_match_cgrp SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} cw_events SEC(".maps") __weak;

/* Drop counters, index type * CW_DROP_NR + reason (cwatch.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, CW_DROPS_LEN);
} cw_drops SEC(".maps") __weak;

/* --heap: user stacks and the sampled bytes charged to each (cwatch.h). */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, CW_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 16384);
} cw_stacks SEC(".maps") __weak;

/*
 * Site stacks walked here (cw_site_stack): the same frames as cw_stacks
 * holds, under ids CW_FPSTACK_BASE + 29 bits of their hash. Allocated as
 * used: a full table would be 16 MiB of kernel memory.
 */
struct cw_fpstack {
	__u64 ip[CW_STACK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct cw_fpstack);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cw_fpstacks SEC(".maps") __weak;

/*
 * The walk's scratch copy (too big for the BPF stack). A uprobe's program
 * may be preempted, though not moved to another CPU: a walk that finds the
 * copy busy leaves it to the one it preempted and takes the kernel's walk.
 */
struct cw_fpscratch {
	struct cw_fpstack st;
	__u64 busy;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cw_fpscratch);
	__uint(max_entries, 1);
} cw_fpscratch SEC(".maps") __weak;

struct cw_fp_state {
	struct cw_fpstack *st;
	struct cw_fpstack *old;	/* the stored stack of the same hash */
	__u64 fp;
	__u64 hash;
	__u32 n;	/* frames in st */
};

/* FNV-1a over whole addresses */
static __always_inline __u64 cw_fp_mix(__u64 h, __u64 ip)
{
	return (h ^ ip) * 0x100000001b3ULL;
}

/* bpf_loop callbacks: verified once, where a loop would be unrolled into every caller. */
static long cw_fp_frame(__u32 i, void *arg)
{
	struct cw_fp_state *w = arg;
	__u64 frame[2], fp = w->fp;

	if (i + 1 >= CW_STACK_DEPTH || !fp || (fp & 7) ||
	    bpf_probe_read_user(frame, sizeof(frame), (void *)fp) || !frame[1] || frame[0] == fp)
		return 1;
	w->st->ip[i + 1] = frame[1];
	w->n = i + 2;
	w->hash = cw_fp_mix(w->hash, frame[1]);
	w->fp = frame[0];
	return 0;
}

/* Sets n to 0 at the first frame where old and st differ. */
static long cw_fp_same(__u32 i, void *arg)
{
	struct cw_fp_state *w = arg;

	if (i >= CW_STACK_DEPTH || i > w->n)
		return 1;
	if (w->old->ip[i] == w->st->ip[i])
		return 0;
	w->n = 0;
	return 1;
}

/*
 * The current task's user stack by its frame pointers, as the kernel's walk
 * for bpf_get_stackid(BPF_F_USER_STACK) gives it (the interrupted PC, then
 * each frame's return address), but stopping at a zero, misaligned or
 * self-pointing frame pointer:
 * - the kernel's walk reads through the zero frame pointer that ends every
 *   stack (runtime.goexit's, _start's) and takes a fault there; this walk
 *   makes a Go probe's program about 0.7 us faster here (README, How it works);
 * - it follows a pointer to itself (in glibc's clone3 RBP is the new
 *   thread's struct pthread, whose first word points to itself) for all 127
 *   frames, each thread's different, so each creation was a stack of its own.
 * Returns the stack's id, or -1: a full table, or two stacks of one hash.
 */
static __noinline __s32 cw_fp_intern(struct cw_fpstack *st, struct pt_regs *regs)
{
	struct cw_fp_state w = { .st = st, .n = 1 };
	__u32 id, end;

	w.st->ip[0] = regs->ip;
	w.hash = cw_fp_mix(0xcbf29ce484222325ULL, regs->ip);
	w.fp = regs->bp;
	bpf_loop(CW_STACK_DEPTH - 1, cw_fp_frame, &w, 0);	/* i from 0: frame i + 1 */
	/* a 0 ends the frames; the slots past it keep an earlier walk's, unread */
	end = w.n;
	if (end < CW_STACK_DEPTH)
		w.st->ip[end] = 0;
	id = CW_FPSTACK_BASE | (__u32)(w.hash >> 35);
	w.old = bpf_map_lookup_elem(&cw_fpstacks, &id);
	if (!w.old) {
		if (!bpf_map_update_elem(&cw_fpstacks, &id, w.st, BPF_NOEXIST))
			return id;
		w.old = bpf_map_lookup_elem(&cw_fpstacks, &id);	/* another CPU's, or full */
		if (!w.old)
			return -1;
	}
	/* the same hash: the same frames (through the terminating 0), or fall back */
	bpf_loop(w.n + 1, cw_fp_same, &w, 0);
	return w.n ? (__s32)id : -1;
}

static __always_inline __s32 cw_fp_walk(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	struct cw_fpscratch *sc;
	__u32 zero = 0;
	__s32 id;

	sc = bpf_map_lookup_elem(&cw_fpscratch, &zero);
	if (!sc || !regs || __sync_lock_test_and_set(&sc->busy, 1))
		return -1;
	id = cw_fp_intern(&sc->st, regs);
	sc->busy = 0;
	return id;
}

/*
 * The user stack id for a site key: -1 when the walk fails, so that the
 * failures make one "unknown" site rather than one per error code. The
 * kernel's walk is the fallback (a hash collision, a full table, a busy
 * scratch copy).
 */
static __always_inline __s32 cw_site_stack(void *ctx)
{
	__s32 fid = cw_fp_walk();
	long id;

	if (fid >= 0)
		return fid;
	id = bpf_get_stackid(ctx, &cw_stacks, BPF_F_USER_STACK);
	return id < 0 ? -1 : (__s32)id;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cw_site_key);
	__type(value, struct cw_site);
	__uint(max_entries, 16384);
} cw_sites SEC(".maps") __weak;

/* Thread creation sites: (tgid, creating stack, instance) -> {alive, created}. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cw_site_key);
	__type(value, struct cw_site);
	__uint(max_entries, 4096);
} cw_tsites SEC(".maps") __weak;

/* A live thread -> the site that created it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct cw_site_key);
	__uint(max_entries, 65536);
} cw_tid_site SEC(".maps") __weak;

/* --heap: anon bytes grown on this CPU since the last sample. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} cw_heap_acc SEC(".maps") __weak;

/* Go targets: where their goroutines are (struct cw_go_layout); key tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct cw_go_layout);
	__uint(max_entries, 4096);
} cw_go_layout SEC(".maps") __weak;

/* --unwind=dwarf: a CW_EV_USTACK is built here, then copied to the ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cw_ev_ustack);
	__uint(max_entries, 1);
} cw_scratch_ustack SEC(".maps") __weak;

/* --unwind=dwarf: records sent, and samples charged to frame pointers instead (cwatch.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, CW_UNW_NR);
} cw_unwind_fb SEC(".maps") __weak;

/* Scratch space for building a cw_stats too big for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cw_stats);
	__uint(max_entries, 1);
} cw_scratch SEC(".maps") __weak;

/* Probe specs from the runtime profiles, indexed by the attach cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cw_uspec);
	__uint(max_entries, CW_USPECS);
} cw_uspecs SEC(".maps") __weak;

/* One pending probe on a thread: entry values waiting for the return. */
struct cw_frame {
	__u32 spec;		/* cookie of the entry probe */
	__u32 role;
	__u64 ts;		/* ns at entry */
	__u64 val[CW_ROLE_ARGS];
	__s64 charged;		/* the thread's charged bytes at entry */
	__u64 pages;		/* the thread's page allocations at entry */
	__u64 prev_inst;	/* the instance running before this frame */
	__u64 sp;		/* stack pointer at the entry of a function probed at its
				 * return too (always native code), else 0 */
};

/* A thread of a target running runtime code; key tid. */
struct cw_thread {
	__u64 inst;		/* instance running on this thread now, 0 = none */
	__s64 charged;		/* bytes charged to instances on this thread, running total */
	__u64 pages;		/* pages allocated on this thread, running total */
	/* not yet added to instance inst's stats (cw_inst_flush): */
	__s64 pend_charged;	/* bytes charged */
	__s64 pend_hi;		/* the highest pend_charged reached */
	__u64 pend_hi_ts;	/* when */
	__u64 pend_pages;	/* pages allocated */
	__u64 code_seq;		/* modules created on this thread */
	__u64 calls;		/* calls this thread has made into instances */
	__u32 compiling;	/* inside a module_new frame: W+X is the JIT at work */
	__u32 depth;		/* frames in use */
	__u32 tgid;
	__u32 rss_cpu;		/* 1 + the CPU whose slot last held its faults (cw_pgslot) */
	struct cw_frame f[CW_CALL_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct cw_thread);
	__uint(max_entries, 16384);
} cw_threads SEC(".maps") __weak;

/* Exported objects (e.g. wasmer's functions) -> their instance; key (tgid, object). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cw_inst_key);
	__type(value, __u64);
	__uint(max_entries, 65536);
} cw_objs SEC(".maps") __weak;

/* Scratch space for a new cw_thread (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cw_thread);
	__uint(max_entries, 1);
} cw_scratch_thread SEC(".maps") __weak;

/* Contract instances and their counters. Resized by user space before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cw_inst_key);
	__type(value, struct cw_inst_stats);
	__uint(max_entries, 16384);
} cw_instances SEC(".maps") __weak;

/* Count one lost record of @type for @reason. */
static __always_inline void cw_drop(__u32 type, __u32 reason)
{
	__u32 idx = type * CW_DROP_NR + reason;
	__u64 *n = bpf_map_lookup_elem(&cw_drops, &idx);

	if (n)
		*n += 1;
}

/*
 * Add @bytes and @samples to site @k of @map (a hash of struct cw_site), the
 * site made if new; a full map counts a drop of record @type. 0 or -1.
 */
static __always_inline int cw_site_add(void *map, const struct cw_site_key *k, __u64 bytes,
				       __u64 samples, __u32 type)
{
	struct cw_site *site = bpf_map_lookup_elem(map, k), one = { bytes, samples };

	if (!site && !bpf_map_update_elem(map, k, &one, BPF_NOEXIST))
		return 0;
	if (!site)	/* another CPU made it meanwhile, or the map is full */
		site = bpf_map_lookup_elem(map, k);
	if (!site) {
		cw_drop(type, CW_DROP_MAP);
		return -1;
	}
	__sync_fetch_and_add(&site->bytes, bytes);
	__sync_fetch_and_add(&site->samples, samples);
	return 0;
}

/* Reserve a ring-buffer record of @size bytes and fill its header. */
static __always_inline void *cw_reserve(__u32 type, __u32 size, __u32 tgid)
{
	struct cw_hdr *h = bpf_ringbuf_reserve(&cw_events, size, 0);

	if (!h) {
		cw_drop(type, CW_DROP_RINGBUF);
		return NULL;
	}
	h->type = type;
	h->size = size;
	h->tgid = tgid;
	h->tid = (__u32)bpf_get_current_pid_tgid();
	h->pad = 0;
	h->instance = 0;
	h->ts = bpf_ktime_get_ns();
	return h;
}

/*
 * Submit a record without waking the reader, which drains on a timer, unless
 * the buffer is filling up (DESIGN.md: a wake-up costs 4-10 us per record).
 */
static __always_inline void cw_submit(void *rec)
{
	__u64 queued = bpf_ringbuf_query(&cw_events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(rec, queued >= cfg_wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
							     BPF_RB_NO_WAKEUP);
}

static __always_inline void cw_peak_raise(struct cw_peak *p, __u64 v, __u64 now)
{
	for (int i = 0; i < 4; i++) {
		__u64 old = p->value;

		if (v <= old)
			return;
		if (__sync_val_compare_and_swap(&p->value, old, v) == old) {
			p->ts = now;
			return;
		}
	}
}

/*
 * A thread's charges wait on the thread, not on its instance, until they
 * pass these, or the thread leaves the instance (a call returns, another
 * starts on top): the per-fault programs then cost a thread lookup, not an
 * instance lookup and atomics too. The instance's figures are behind by at
 * most these per thread while a call runs, and exact once it returns.
 */
#define CW_PEND_BYTES (256 << 10)
#define CW_PEND_PAGES 64
#define CW_SLOT_PAGES 16	/* pages a thread's faults leave on its CPU's slot (cw_pgslot) */

/* The live target entry of @tgid, or NULL if it is not a (live) target. */
static __always_inline struct cw_stats *cw_target(__u32 tgid)
{
	struct cw_stats *s = bpf_map_lookup_elem(&cw_targets, &tgid);

	if (!s || (s->flags & CW_F_EXITED))
		return NULL;
	return s;
}

static __always_inline __u32 cw_current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/*
 * Add thread @t's pending charges to instance t->inst (@st: its stats if the
 * caller has them, else NULL). The instance's charged peak is its charge
 * before them plus the highest point they reached.
 */
static __always_inline void cw_inst_flush(struct cw_thread *t, __u32 tgid,
					  struct cw_inst_stats *st)
{
	__s64 c = t->pend_charged, hi = t->pend_hi, before;
	__u64 pages = t->pend_pages;

	t->pend_charged = 0;
	t->pend_hi = 0;
	t->pend_pages = 0;
	if (!t->inst || (!c && !hi && !pages))
		return;
	if (!st) {
		struct cw_inst_key k = { .tgid = tgid, .key = t->inst };

		st = bpf_map_lookup_elem(&cw_instances, &k);
		if (!st)
			return;
	}
	if (pages)
		__sync_fetch_and_add(&st->page_allocs, pages);
	before = __sync_fetch_and_add(&st->charged, c);
	if (before + hi > 0)
		cw_peak_raise(&st->charged_peak, before + hi, t->pend_hi_ts);
}

/* The thread of target @s running an instance now, or NULL: one lookup, for profiled targets only. */
static __always_inline struct cw_thread *cw_inst_thread_of(struct cw_stats *s, __u32 tid)
{
	struct cw_thread *t;

	if (!(s->flags & CW_F_PROFILE))
		return NULL;
	t = bpf_map_lookup_elem(&cw_threads, &tid);
	return t && t->inst ? t : NULL;
}

static __always_inline struct cw_thread *cw_inst_thread(struct cw_stats *s)
{
	return cw_inst_thread_of(s, (__u32)bpf_get_current_pid_tgid());
}

/*
 * The instance running on the current thread of target @s, if the target runs
 * a profiled runtime; *thr gets the thread. Costs two lookups for such
 * targets and nothing for others.
 */
static __always_inline struct cw_inst_stats *cw_current_inst(struct cw_stats *s, __u32 tgid,
							     struct cw_thread **thr)
{
	struct cw_thread *t = cw_inst_thread(s);
	struct cw_inst_key k = { .tgid = tgid };

	*thr = t;
	if (!t)
		return NULL;
	k.key = t->inst;
	return bpf_map_lookup_elem(&cw_instances, &k);
}

/*
 * Pages allocated on this CPU by one thread and not yet charged. A thread's
 * allocations (kmem:mm_page_alloc, which fires for every page allocated on
 * the machine) are added up here with no lookup; they are charged to its
 * target and instance at its next RSS change (the same fault, mostly), when
 * it enters or leaves an instance, or when another thread allocates on this
 * CPU. The owner and the count share a word: the page program adds with a
 * plain store (it runs with preemption off and does not nest), and a take,
 * which an allocation may interrupt (an interrupt's, or another thread's
 * when a uprobe's program is preempted), compares and exchanges the whole
 * word, so it never takes pages the slot counted for someone else.
 */
struct cw_pgslot {
	__u64 word;	/* owner tid << 32 | pages */
	__u32 tgid;	/* the owner's */
	__u32 target;	/* tgid was a target's when the slot was taken: count */
	/*
	 * A target thread's anon faults not yet applied to its target (memory.bpf.c,
	 * rss_skip): each one page exactly, so they are rss_n pages.
	 */
	__u64 rss_mm;	/* the mm they are in, its address as a number, 0 = none */
	__s64 rss_count;	/* the anon counter's central count, pages, as the last left it */
	__u32 rss_tid;	/* the thread that made them */
	__u32 rss_tgid;
	__u32 rss_n;
	__s32 rss_delta;	/* the counter's part on this CPU, pages, as the last left it */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cw_pgslot);
	__uint(max_entries, 1);
} cw_pgslot SEC(".maps") __weak;

/* @n pages of target @s, allocated on its thread @t (NULL: not known or none) */
static __always_inline void cw_pages_charge(struct cw_stats *s, struct cw_thread *t, __u64 n)
{
	__sync_fetch_and_add(&s->page_allocs, n);
	if (!t || !t->inst)
		return;
	t->pages += n;
	t->pend_pages += n;
	if (t->pend_pages >= CW_PEND_PAGES)
		cw_inst_flush(t, t->tgid, NULL);
}

/*
 * The pages thread @tid of target @tgid has waiting on this CPU, if at least
 * @min, now its caller's to charge. The slot counts them from now on,
 * whatever it thought: the thread may have become a target since.
 */
static __always_inline __u64 cw_pages_take(__u32 tid, __u32 tgid, __u64 min)
{
	__u32 zero = 0;
	struct cw_pgslot *p = bpf_map_lookup_elem(&cw_pgslot, &zero);
	__u64 w, n;

	if (!p)
		return 0;
	w = p->word;
	if (w >> 32 != tid || p->tgid != tgid)
		return 0;
	p->target = 1;
	n = (__u32)w;
	if (!n || n < min)
		return 0;
	/* changed meanwhile: leave them to the next take */
	return __sync_val_compare_and_swap(&p->word, w, w - n) == w ? n : 0;
}

/* Charge @d bytes of resident change to the instance thread @t runs, at @now. */
static __always_inline void cw_thread_charge(struct cw_thread *t, __u32 tgid, __s64 d, __u64 now)
{
	t->charged += d;
	t->pend_charged += d;
	if (t->pend_charged > t->pend_hi) {
		t->pend_hi = t->pend_charged;
		t->pend_hi_ts = now;
	}
	if (t->pend_charged >= CW_PEND_BYTES || t->pend_charged <= -CW_PEND_BYTES)
		cw_inst_flush(t, tgid, NULL);
}

/* Emit a CW_EV_PEAK when the resident peak passes the next step. */
static __always_inline void cw_peak_event(struct cw_stats *s, __u32 tgid)
{
	struct cw_ev_peak *e;
	__u64 peak = s->rss_peak.value;

	if (peak < s->next_peak_event)
		return;
	s->next_peak_event = peak + cfg_peak_step;
	e = cw_reserve(CW_EV_PEAK, sizeof(*e), tgid);
	if (!e)
		return;
	e->rss = peak;
	e->anon = s->rss[CW_RSS_ANON];
	e->file = s->rss[CW_RSS_FILE] + s->rss[CW_RSS_SHMEM];
	cw_submit(e);
}

/* Recompute the resident peaks of @s after an RSS change, at @now. */
static __always_inline void cw_rss_peaks(struct cw_stats *s, __u64 now)
{
	__u64 anon = s->rss[CW_RSS_ANON];
	__u64 file = s->rss[CW_RSS_FILE] + s->rss[CW_RSS_SHMEM];

	cw_peak_raise(&s->anon_peak, anon, now);
	cw_peak_raise(&s->file_peak, file, now);
	cw_peak_raise(&s->rss_peak, anon + file, now);
}

/*
 * Slots holding faults, machine-wide (memory.bpf.c, rss_skip): when none
 * does, an update need not look at other CPUs' slots. A slot counts from its
 * first fault to the exchange that applies them.
 */
__u64 cw_rss_waiting_slots __weak;

/*
 * Apply the faults waiting on slot @p to their target and to the instance
 * their thread runs: @s when the caller has the slot's target, @t when @own
 * says the caller has the slot's thread (NULL: not known), else they are
 * looked up. Whoever takes the count (an exchange) applies it, once.
 */
__weak __noinline int cw_rss_settle(struct cw_pgslot *p, struct cw_stats *s,
				    struct cw_thread *t, int own)
{
	__u32 n, tgid;
	__u64 bytes, now;

	if (!p)
		return 0;
	n = __sync_lock_test_and_set(&p->rss_n, 0);
	tgid = p->rss_tgid;
	if (!n)
		return 0;
	__sync_fetch_and_add(&cw_rss_waiting_slots, -1);
	if (!s && !(s = cw_target(tgid)))
		return 0;
	if (!own)
		t = cw_inst_thread_of(s, p->rss_tid);
	bytes = (__u64)n << CW_PAGE_SHIFT;
	now = bpf_ktime_get_ns();
	__sync_fetch_and_add(&s->rss[CW_RSS_ANON], bytes);
	cw_rss_peaks(s, now);
	cw_peak_event(s, tgid);
	if (t && t->inst)
		cw_thread_charge(t, tgid, bytes, now);
	return 0;
}

/*
 * Faults of the current thread of target @tgid (@s if the caller has it;
 * @t, its cw_thread, NULL if it has none) still waiting on a slot: on this
 * CPU's, or on the one it last left them on.
 */
__weak __noinline int cw_rss_settle_thread(struct cw_thread *t, struct cw_stats *s, __u32 tgid)
{
	__u32 zero = 0, tid = (__u32)bpf_get_current_pid_tgid(), cpu = bpf_get_smp_processor_id();
	struct cw_pgslot *p = bpf_map_lookup_elem(&cw_pgslot, &zero);

	if (p && p->rss_tid == tid && p->rss_tgid == tgid && p->rss_n)
		cw_rss_settle(p, s, t, true);
	if (t && t->rss_cpu && t->rss_cpu - 1 != cpu) {
		p = bpf_map_lookup_percpu_elem(&cw_pgslot, &zero, t->rss_cpu - 1);
		if (p && p->rss_tid == tid && p->rss_tgid == tgid && p->rss_n)
			cw_rss_settle(p, s, t, true);
	}
	return 0;
}

/*
 * Thread @t now runs instance @inst (0: none): what waited on it goes to the
 * instance it leaves (@st: that one's stats if the caller has them).
 */
static __always_inline void cw_inst_enter(struct cw_thread *t, __u32 tgid, __u64 inst,
					  struct cw_inst_stats *st)
{
	__u64 pages = cw_pages_take((__u32)bpf_get_current_pid_tgid(), tgid, 1);
	struct cw_stats *s;

	cw_rss_settle_thread(t, NULL, tgid);
	if (pages && (s = cw_target(tgid)))
		cw_pages_charge(s, t, pages);
	if (t->inst != inst)
		cw_inst_flush(t, tgid, st);
	t->inst = inst;
}

/* Update private writable mapped bytes (VmData) of @s from @mm. */
static __always_inline void cw_data_vm(struct cw_stats *s, struct mm_struct *mm, __u64 now)
{
	__u64 v;

	if (!mm)
		return;
	v = (__u64)mm->data_vm << CW_PAGE_SHIFT;	/* a BTF pointer: a plain load, no helper */

	s->data_vm = v;
	cw_peak_raise(&s->data_vm_peak, v, now);
}

/* Before 6.2 (commit f1a7941243c1) mm RSS counters were atomics. */
struct mm_rss_stat___cw {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___cw {
	struct mm_rss_stat___cw rss_stat;
} __attribute__((preserve_access_index));

/*
 * Read @mm's resident counters into @s: the central counts, which lag the true
 * sums by at most the per-CPU batch; the next kmem:rss_stat event corrects them.
 */
static __noinline __s64 cw_rss_read_old(struct mm_struct___cw *mm, int i)
{
	return BPF_CORE_READ(mm, rss_stat.count[i & 3].counter);
}

static __always_inline void cw_rss_seed(struct cw_stats *s, struct mm_struct *mm)
{
	bool old = bpf_core_type_exists(struct mm_rss_stat___cw);

	for (int i = 0; i < CW_RSS_NR; i++) {
		__s64 v;

		if (old)
			v = cw_rss_read_old((struct mm_struct___cw *)mm, i);
		else
			v = BPF_CORE_READ(mm, rss_stat[i].count);
		s->rss[i] = v > 0 ? (__u64)v << CW_PAGE_SHIFT : 0;
	}
}

static __always_inline void cw_unwind_count(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&cw_unwind_fb, &what);

	if (n)
		*n += 1;
}

/*
 * --unwind=dwarf: send the current thread's user registers and the top of its
 * user stack (cwatch.h, struct cw_ev_ustack) for user space to unwind. The
 * copy goes page by page from sp, so a stack that ends (the main thread's top)
 * cuts it rather than failing it. Returns 0 when sent; else the caller keeps
 * the sample on its frame-pointer stack (the ring buffer full is counted).
 */
/*
 * A Go program's thread running C code (cgo) runs on its system stack (g0),
 * and the copy's unwind ends there: the goroutine it runs for is m.curg,
 * whose frames hang off its saved frame pointer. Go keeps frame pointers.
 */
static __always_inline void cw_go_frames(__u32 tgid, struct cw_ev_ustack *e)
{
	const struct cw_go_layout *l = bpf_map_lookup_elem(&cw_go_layout, &tgid);
	__u64 fs, g = 0, m = 0, curg = 0, bp = 0;

	e->ngo = 0;
	e->pad2 = 0;
	if (!l)
		return;
#ifdef __TARGET_ARCH_x86
	fs = BPF_CORE_READ(bpf_get_current_task_btf(), thread.fsbase);
#else
	return;
#endif
	if (!fs || bpf_probe_read_user(&g, sizeof(g), (void *)(fs + l->tls_g)) || !g ||
	    bpf_probe_read_user(&m, sizeof(m), (void *)(g + l->g_m)) || !m ||
	    bpf_probe_read_user(&curg, sizeof(curg), (void *)(m + l->m_curg)) ||
	    !curg || curg == g ||	/* on the goroutine's own stack: the unwind has it */
	    bpf_probe_read_user(&bp, sizeof(bp), (void *)(curg + l->sched_bp)))
		return;
	for (int i = 0; i < CW_USTACK_GO && bp; i++) {
		__u64 fr[2];

		if (bpf_probe_read_user(fr, sizeof(fr), (void *)bp) || !fr[1])
			break;
		e->go[i & (CW_USTACK_GO - 1)] = fr[1];
		e->ngo = i + 1;
		bp = fr[0];
	}
}

static __noinline int cw_ustack_send(__u32 tgid, __u64 inst, __u32 kind, __s32 stack,
				     __u64 weight)
{
	__u32 zero = 0;
	struct cw_ev_ustack *e = bpf_map_lookup_elem(&cw_scratch_ustack, &zero);
	struct pt_regs *r;
	__u64 sp, first, len = 0, size, queued;

	if (!e)
		return -1;
#ifdef __TARGET_ARCH_x86
	/* the user registers saved at kernel entry (the fault or the syscall) */
	r = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!r)
		return -1;
	e->regs[0] = r->ax;
	e->regs[1] = r->dx;
	e->regs[2] = r->cx;
	e->regs[3] = r->bx;
	e->regs[4] = r->si;
	e->regs[5] = r->di;
	e->regs[6] = r->bp;
	e->regs[7] = r->sp;
	e->regs[8] = r->r8;
	e->regs[9] = r->r9;
	e->regs[10] = r->r10;
	e->regs[11] = r->r11;
	e->regs[12] = r->r12;
	e->regs[13] = r->r13;
	e->regs[14] = r->r14;
	e->regs[15] = r->r15;
	e->regs[16] = r->ip;
	e->nregs = CW_UREGS;
#else
	(void)r;
	return -1;	/* the register mapping is x86-64's; others keep frame pointers */
#endif
	cw_go_frames(tgid, e);
	sp = e->regs[7];
	first = 4096 - (sp & 4095);
	if (!bpf_probe_read_user(e->data, first, (void *)sp)) {
		len = first;
		for (int i = 0; i < CW_USTACK_MAX / 4096 - 1; i++) {
			if (len > CW_USTACK_MAX - 4096)
				break;
			if (bpf_probe_read_user(e->data + len, 4096, (void *)(sp + len)))
				break;
			len += 4096;
		}
	}
	size = __builtin_offsetof(struct cw_ev_ustack, data) + len;
	if (size > sizeof(*e))
		return -1;
	e->h.type = CW_EV_USTACK;
	e->h.size = size;
	e->h.tgid = tgid;
	e->h.tid = (__u32)bpf_get_current_pid_tgid();
	e->h.pad = 0;
	e->h.instance = inst;
	e->h.ts = bpf_ktime_get_ns();
	e->kind = kind;
	e->stack = stack;
	e->weight = weight;
	e->len = len;
	queued = bpf_ringbuf_query(&cw_events, BPF_RB_AVAIL_DATA);
	/*
	 * Stack copies are big (up to 16 KiB) and have a fallback; the small
	 * events behind them have none. Keep an eighth of the ring for those.
	 */
	if (queued + size > bpf_ringbuf_query(&cw_events, BPF_RB_RING_SIZE) / 8 * 7) {
		cw_unwind_count(CW_UNW_RINGBUF);
		return -1;
	}
	if (bpf_ringbuf_output(&cw_events, e, size,
			       queued >= cfg_wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP)) {
		cw_unwind_count(CW_UNW_RINGBUF);
		return -1;
	}
	cw_unwind_count(CW_UNW_SENT);
	return 0;
}

/* --comm/--exe style prefix allow-list for file opens, checked before an alert is sent. */
struct cw_prefix {
	__u32 len;
	char p[60];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cw_prefix);
	__uint(max_entries, CW_FILE_ALLOW_MAX);
} cw_file_allow SEC(".maps") __weak;

/* When each (target, rule) last sent a stack copy with an alert. */
struct cw_alert_key {
	__u32 tgid;
	__u32 rule;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cw_alert_key);
	__type(value, __u64);
	__uint(max_entries, 4096);
} cw_alert_copies SEC(".maps") __weak;

/*
 * A copy of the stack for user space to unwind with DWARF, ahead of the
 * alert (the ring keeps the order): at most one a second per target and
 * rule, since user space folds the repeats within a second anyway.
 */
static __always_inline void cw_alert_copy(struct cw_stats *s, __u32 tgid, __u32 rule)
{
	struct cw_alert_key k = { .tgid = tgid, .rule = rule };
	__u64 now = bpf_ktime_get_ns(), *last = bpf_map_lookup_elem(&cw_alert_copies, &k);
	struct cw_thread *t;

	if (last && now - *last < 1000000000ULL)
		return;
	bpf_map_update_elem(&cw_alert_copies, &k, &now, BPF_ANY);
	t = cw_inst_thread(s);
	cw_ustack_send(tgid, t ? t->inst : 0, CW_US_NEXT, -1, 0);
}

/*
 * Start an escape alert for @rule by the current thread of target @s: the
 * instance and call running on it, its user stack. Kills the process first
 * when the rule is enforced (--enforce), so the syscall never completes.
 */
static __always_inline struct cw_ev_alert *cw_alert(void *ctx, struct cw_stats *s, __u32 tgid,
						    __u32 rule, __u32 op)
{
	struct cw_ev_alert *e;
	struct cw_thread *t = NULL;
	__u32 flags = 0;

	if (cfg_enforce & (1u << rule)) {
		bpf_send_signal(9 /* SIGKILL */);
		flags |= CW_AF_ENFORCED;
	}
	cw_alert_copy(s, tgid, rule);
	e = cw_reserve(CW_EV_ALERT, sizeof(*e), tgid);
	if (!e)
		return NULL;
	/* too big for one memset: zero the numbers, start the strings empty
	 * (user space clears the bytes after each NUL before keeping a record) */
	e->call = 0;
	for (int i = 0; i < 4; i++)
		e->arg[i] = 0;
	e->family = e->port = 0;
	for (int i = 0; i < 16; i++)
		e->addr[i] = 0;
	e->pad = 0;
	e->path[0] = e->resolved[0] = 0;
	for (int i = 0; i < 4; i++)
		e->frame[i][0] = 0;
	t = cw_inst_thread(s);
	if (t && t->inst) {
		e->h.instance = t->inst;
		e->call = t->calls;
	}
	e->rule = rule;
	e->op = op;
	e->flags = flags;
	e->stack = bpf_get_stackid(ctx, &cw_stacks, BPF_F_USER_STACK);
	return e;
}

#endif /* CW_COMMON_BPF_H */
