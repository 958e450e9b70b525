// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory of targets: resident pages from kmem:rss_stat (the kernel's own RSS
 * counters, so the figures are the ones /proc shows), page allocations, and
 * the mmap family (enter and exit, so addresses and sizes are known).
 */
#include "common.bpf.h"

/*
 * A clock for the per-fault path and the mmap family (mprotect and brk a
 * malloc-heavy target makes by the thousand). bpf_ktime_get_ns() costs
 * about 60 ns here (a quarter of the whole kmem:rss_stat program); jiffies
 * cost a load. User space calibrates jiffies against CLOCK_MONOTONIC
 * (probes__clock_sync: ns a jiffy, and the monotonic time of jiffy 0) and
 * keeps it in step; until it has, the exact clock is used. The resident and
 * data peaks' times are then to a tick (1-10 ms), finer than they are shown.
 */
__u64 cw_jiffy_ns;
__u64 cw_jiffy_base;

static __always_inline __u64 tick_clock(void)
{
	__u64 ns = cw_jiffy_ns;

	if (!ns)
		return bpf_ktime_get_ns();
	return bpf_jiffies64() * ns + cw_jiffy_base;
}

/* Both clocks at one instant, for that calibration (run by BPF_PROG_TEST_RUN). */
__u64 cw_cal_jiffies;
__u64 cw_cal_ns;

SEC("syscall")
int cw_clock_sample(void *ctx)
{
	cw_cal_jiffies = bpf_jiffies64();
	cw_cal_ns = bpf_ktime_get_ns();
	return 0;
}

/*
 * --heap: charge @grown bytes of new anon memory on this CPU; every
 * cfg_heap_sample bytes take the user stack that faulted it in (first touch,
 * usually right after the allocation) and charge one sample's weight to it.
 * Tracepoint-only: no probe on malloc or free (DESIGN.md: 7-9x on them).
 * With --unwind=dwarf the sample goes to user space with a copy of the stack.
 */
static __always_inline void heap_sample(void *ctx, __u32 tgid, __u64 inst, __s64 grown)
{
	struct cw_site_key k = { .tgid = tgid, .instance = inst };
	__u32 zero = 0;
	__u64 *acc = bpf_map_lookup_elem(&cw_heap_acc, &zero);

	if (!acc || grown <= 0)
		return;
	*acc += grown;
	if (*acc < cfg_heap_sample)
		return;
	*acc -= cfg_heap_sample;
	/* an unreadable stack still counts, as the site "unknown" (-1) */
	k.stack = cw_site_stack(ctx);
	/* --unwind=dwarf: user space unwinds and charges it (the fp walk is its fallback) */
	if (cfg_unwind && !cw_ustack_send(tgid, inst, CW_US_HEAP, k.stack, cfg_heap_sample))
		return;
	cw_site_add(&cw_sites, &k, cfg_heap_sample, 1, CW_REC_SITE);
}

const volatile __u32 cfg_rss_cpus = 0;	/* possible CPUs, <= CW_RSS_MAX_CPUS */

/*
 * The per-CPU offsets (per_cpu_offset(cpu)), learnt from a per-CPU map of our
 * own: its value on each CPU less the map's percpu pointer. The kernel's own
 * table (__per_cpu_offset) is not in kallsyms without CONFIG_KALLSYMS_ALL.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} cw_pcpu_probe SEC(".maps");

__u64 cw_pcpu_off[CW_RSS_MAX_CPUS];
__u32 cw_pcpu_known;

/* A pointer's value as a number the verifier lets us add to. */
static __always_inline __u64 as_number(const void *p)
{
	const void *slot = p;
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &slot);
	return v;
}

static __noinline int pcpu_learn(void)
{
	__u64 pptr = 0, map = as_number(&cw_pcpu_probe);
	__u32 zero = 0;

	if (bpf_probe_read_kernel(&pptr, sizeof(pptr),
				  (void *)(map + bpf_core_field_offset(struct bpf_array, pptrs))) ||
	    !pptr)
		return -1;
	for (__u32 cpu = 0; cpu < CW_RSS_MAX_CPUS && cpu < cfg_rss_cpus; cpu++) {
		void *v = bpf_map_lookup_percpu_elem(&cw_pcpu_probe, &zero, cpu);

		if (!v)
			return -1;
		cw_pcpu_off[cpu] = as_number(v) - pptr;
	}
	cw_pcpu_known = 1;
	return 0;
}

/*
 * A kernel address as a number, without a helper call: the difference of two
 * pointers is a plain number to the verifier (allowed to CAP_PERFMON, which
 * loading needs anyway), and cw_pcpu_off's address is fixed.
 */
static __always_inline __u64 ptr_offset(const void *p)
{
	__u64 d;

	asm volatile("%0 = %1; %0 -= %2" : "=&r"(d) : "r"(p), "r"(&cw_pcpu_off));
	return d;
}

/* The BTF tracepoint's id of an mm: a hash of its address, as the kernel's is. */
static __always_inline __u32 mm_hash(struct mm_struct *mm)
{
	return (__u32)(((ptr_offset(mm) >> 6) * 0x9E3779B97F4A7C15ULL) >> 32);
}

/*
 * bpf_rdonly_cast() makes a number a pointer the program may load through:
 * the verifier turns it into a move and the loads into fault-safe ones (no
 * helper call a load, as bpf_probe_read_kernel would cost). It casts to a
 * struct only, so an s32 is read as a refcount_struct, whose only member is
 * one. Linux 6.2 has it, as it has the BTF tracepoint; __weak lets the
 * object load without it, for the classic one.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

static __always_inline __s32 read_s32(__u64 addr)
{
	struct refcount_struct *r =
		bpf_rdonly_cast((void *)addr, bpf_core_type_id_kernel(struct refcount_struct));

	return r->refs.counter;
}

/* CPU @cpu's part of a percpu_counter whose per-CPU array is at @counters. */
static __always_inline __s32 pcpu_part(__u64 counters, __u32 cpu)
{
	return read_s32(counters + cw_pcpu_off[cpu & (CW_RSS_MAX_CPUS - 1)]);
}

static __always_inline long rss_sum(struct mm_struct *mm, int member)
{
	struct percpu_counter *pc;
	__u64 counters;
	__s64 sum;

	switch (member) {	/* constant indexes: direct loads, no copies */
	case 0: pc = &mm->rss_stat[0]; break;
	case 1: pc = &mm->rss_stat[1]; break;
	case 2: pc = &mm->rss_stat[2]; break;
	default: pc = &mm->rss_stat[3]; break;
	}
	sum = pc->count;
	counters = (__u64)pc->counters;
	if (!cw_pcpu_known && pcpu_learn())
		return sum > 0 ? sum << 12 : 0;	/* the global count alone */
	for (__u32 cpu = 0; cpu < CW_RSS_MAX_CPUS && cpu < cfg_rss_cpus; cpu++)
		sum += pcpu_part(counters, cpu);
	return sum > 0 ? sum << 12 : 0;
}

_Static_assert((CW_RSS_NR & (CW_RSS_NR - 1)) == 0, "rss members index by mask");

/*
 * A run of anon faults by one thread costs a slot update each, not the whole
 * rss_update: a page fault's kmem:rss_stat, on the thread's own mm, that
 * finds the anon counter's part on this CPU exactly one page above where its
 * previous event here left it, and the counter's central count unchanged (so
 * nothing else changed this CPU's part meanwhile, and this event is one page
 * in) leaves the page on the CPU's slot (cw_pgslot), up to CW_RSS_BATCH of
 * them. Other CPUs' parts are not read: the target's other threads fault
 * there and account for their own pages, so two threads faulting at once
 * each keep batching, each charged its own pages. They are applied, as that
 * many pages, by the next rss_update of the thread here (every
 * CW_RSS_BATCH-th fault, or the first that is not one page up), when it
 * enters or leaves an instance (cw_inst_enter), when it exits, and by
 * another thread taking the slot.
 * Meanwhile an rss_update elsewhere counts them out of the sum it reads
 * (rss_waiting), so they are charged once, to the thread that made them.
 * So a target's figures trail its counter by at most CW_RSS_BATCH pages a
 * CPU while a thread faults, and the peaks are the counter's own: the faults
 * left on a slot only went up, a page at a time, and the thread's next
 * update, up or down, applies them first. Only another thread freeing memory
 * meanwhile can make a peak miss them (CW_RSS_BATCH pages a CPU at most).
 * Not with --heap, which samples by the byte.
 */
#define CW_RSS_BATCH 15

/* @mm's anon counter as this CPU sees it: the central count and this CPU's part. */
static __always_inline void rss_here(struct mm_struct *mm, __u32 cpu, __s64 *count, __s32 *delta)
{
	struct percpu_counter *pc = &mm->rss_stat[CW_RSS_ANON];

	*count = pc->count;
	*delta = pcpu_part((__u64)pc->counters, cpu);
}

/*
 * The fast path: true when this event's page was left on this CPU's slot.
 * Whether a slot may batch at all is decided once, where a full update makes
 * it the thread's (rss_batch_start: rss_mm stays 0 where this CPU's part
 * cannot be read); --heap never makes one.
 */
static __always_inline bool rss_skip(struct mm_struct *mm)
{
	__u32 zero = 0, cpu = bpf_get_smp_processor_id();
	struct cw_pgslot *p;
	__s64 count;
	__s32 delta;

	if (cfg_heap_sample)
		return false;
	p = bpf_map_lookup_elem(&cw_pgslot, &zero);
	if (!p || p->rss_mm != ptr_offset(mm) || p->rss_tid != (__u32)bpf_get_current_pid_tgid() ||
	    p->rss_n >= CW_RSS_BATCH)
		return false;
	rss_here(mm, cpu, &count, &delta);
	if (count != p->rss_count || delta != p->rss_delta + 1)
		return false;
	p->rss_delta = delta;
	if (!p->rss_n++)
		__sync_fetch_and_add(&cw_rss_waiting_slots, 1);
	return true;
}

struct waiting_ctx {
	__u64 mmk;
	__u64 n;
	__u32 self;
};

static long waiting_one(__u64 cpu, void *arg)
{
	struct waiting_ctx *c = arg;
	__u32 zero = 0;
	struct cw_pgslot *q;

	if (cpu == c->self)
		return 0;
	q = bpf_map_lookup_percpu_elem(&cw_pgslot, &zero, (__u32)cpu);
	if (q && q->rss_mm == c->mmk)
		c->n += q->rss_n;
	return 0;
}

/* Bytes of @mm's anon faults left on other CPUs' slots, not yet applied. */
static __always_inline __u64 rss_waiting(__u64 mmk, __u32 self)
{
	struct waiting_ctx c = { .mmk = mmk, .self = self };

	if (!cw_rss_waiting_slots)
		return 0;
	bpf_loop(cfg_rss_cpus, waiting_one, &c, 0);
	return c.n << CW_PAGE_SHIFT;
}

/*
 * An anon rss_update of thread @tid (@raw: its cw_thread, if it has one) of
 * target @s, @sum the counter's sum: apply what waits on this CPU's slot,
 * make the slot this thread's from here, and return the sum less what waits
 * on other CPUs' slots, which their threads will apply.
 */
static __always_inline long rss_batch_start(struct cw_stats *s, struct cw_thread *raw,
					    __u32 tgid, __u32 tid, struct mm_struct *mm, long sum)
{
	__u32 zero = 0, cpu = bpf_get_smp_processor_id();
	struct cw_pgslot *p = bpf_map_lookup_elem(&cw_pgslot, &zero);
	__u64 mmk = ptr_offset(mm), away;

	if (!p)
		return sum;
	/* another thread's faults left here go to it; this one's, here or on the CPU it left, now */
	if (p->rss_n && p->rss_tid != tid)
		cw_rss_settle(p, p->rss_tgid == tgid ? s : NULL, NULL, false);
	cw_rss_settle_thread(raw, s, tgid);
	if (raw)
		raw->rss_cpu = cpu + 1;
	/* this CPU's part of the counter is read where the pcpu offsets are known */
	p->rss_mm = cw_pcpu_known && cpu < cfg_rss_cpus ? mmk : 0;
	p->rss_tid = tid;
	p->rss_tgid = tgid;
	rss_here(mm, cpu, &p->rss_count, &p->rss_delta);
	away = rss_waiting(mmk, cpu);
	return sum > (long)away ? sum - (long)away : 0;
}

/*
 * kmem:rss_stat fires whenever an mm's RSS counter changes. @size is the
 * counter's exact sum in bytes, or, with @mm, read here once the mm is known
 * to be a target's; @curr says whether the mm is the current task's; when it
 * is not (reclaim, exit, exec, fork copying pages), the owner is found
 * through cw_mm.
 */
static __always_inline int rss_update(void *ctx, __u32 mm_id, int member, long size, bool curr,
				      struct mm_struct *mm)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	int m = member & (CW_RSS_NR - 1);	/* bounded for the verifier */
	struct cw_stats *s;
	__u64 now;

	if (member < 0 || member >= CW_RSS_NR)
		return 0;
	if (curr) {
		s = cw_target(tgid);
		if (!s)
			return 0;
		if (mm)
			mm_id = mm_hash(mm);
		if (s->mm_id != mm_id) {
			/* first event of this mm (attach, fork, exec) */
			s->mm_id = mm_id;
			if (bpf_map_update_elem(&cw_mm, &mm_id, &tgid, BPF_ANY))
				cw_drop(CW_EV_PEAK, CW_DROP_MAP);
		}
	} else {
		__u32 *owner;
		__u32 otgid;

		if (mm)
			mm_id = mm_hash(mm);
		owner = bpf_map_lookup_elem(&cw_mm, &mm_id);

		if (!owner)
			return 0;
		otgid = *owner;
		s = cw_target(otgid);
		if (!s || s->mm_id != mm_id)
			return 0;
		/* the owner tearing its own mm down on exit keeps its last figures */
		if (otgid == tgid && (bpf_get_current_task_btf()->flags & CW_PF_EXITING))
			return 0;
		tgid = otgid;
	}
	if (mm) {
		size = rss_sum(mm, member);
		/* reclaim, khugepaged: faults waiting on slots are not in the figures yet */
		if (!curr && m == CW_RSS_ANON && !cfg_heap_sample)
			size -= rss_waiting(ptr_offset(mm), CW_RSS_MAX_CPUS);
	}
	/* a target's event: the clock is read only now */
	now = tick_clock();
	if (size < 0)
		size = 0;
	if (curr) {
		struct cw_thread *raw = s->flags & CW_F_PROFILE ?
			bpf_map_lookup_elem(&cw_threads, &tid) : NULL;
		struct cw_thread *t = raw && raw->inst ? raw : NULL;
		/* the pages the thread allocated, in batches: calls take the rest */
		__u64 pages = cw_pages_take(tid, tgid, CW_SLOT_PAGES);
		__s64 d;

		if (mm && m == CW_RSS_ANON && !cfg_heap_sample)
			size = rss_batch_start(s, raw, tgid, tid, mm, size);
		/* the thread's net resident change is charged to its instance */
		d = size - (__s64)s->rss[m];
		if (pages)
			cw_pages_charge(s, t, pages);
		if (cfg_heap_sample && member == CW_RSS_ANON)
			heap_sample(ctx, tgid, t ? t->inst : 0, d);
		if (t && member != CW_RSS_SWAP)
			cw_thread_charge(t, tgid, d, now);
	}
	s->rss[m] = size;
	cw_rss_peaks(s, now);
	cw_peak_event(s, tgid);
	return 0;
}

/*
 * The classic tracepoint: the kernel fills the record, taking the counter's
 * exact sum under its lock (include/trace/events/kmem.h), and hashes the mm.
 * Used where the BTF one below cannot be (probes.c says which).
 */
SEC("tracepoint/kmem/rss_stat")
int tp_rss_stat(struct trace_event_raw_rss_stat *ctx)
{
	return rss_update(ctx, ctx->mm_id, ctx->member, ctx->size, ctx->curr, NULL);
}

/*
 * The same through the BTF tracepoint (mm, member): no record is filled and
 * no lock taken; the counter's sum is read here, from its global count and
 * each possible CPU's delta, as percpu_counter_sum adds them but without the
 * spinlock both faulting threads of a target would meet on. A CPU folding its
 * delta into the count at that instant can make one reading off by its batch
 * (32 pages here); the next event reads right. The program costs about
 * 60 ns a target's fault here (README, How it works).
 */
SEC("tp_btf/rss_stat")
int BPF_PROG(tp_rss_stat_btf, struct mm_struct *mm, int member)
{
	bool curr = bpf_get_current_task_btf()->mm == mm;

	if (curr && member == CW_RSS_ANON && rss_skip(mm))
		return 0;
	/* the mm's id (mm_hash) is worked out only for a target's events */
	return rss_update(ctx, 0, member, -1, curr, mm);
}

/*
 * Pages allocated while a target's thread runs (kmem:mm_page_alloc), and on
 * an instance's thread, whose instance gets them in batches (cw_inst_flush).
 * This fires for every page allocated on the machine: a thread's pages are
 * added up in this CPU's slot (cw_pgslot) with no lookup, and the target
 * lookup is made once a run of allocations by one thread, not once a page.
 * Its target's programs take them (rss_update, cw_inst_enter); another
 * thread allocating here charges what is left.
 */
SEC("tp_btf/mm_page_alloc")
int BPF_PROG(tp_page_alloc, struct page *page, unsigned int order)
{
	__u64 id = bpf_get_current_pid_tgid(), n = 1ULL << (order & 31), w;
	__u32 zero = 0, tid = (__u32)id, tgid = id >> 32, left;
	struct cw_pgslot *p = bpf_map_lookup_elem(&cw_pgslot, &zero);
	struct cw_stats *s;

	if (!p)
		return 0;
	w = p->word;
	if (w >> 32 == tid && p->tgid == tgid) {
		if (p->target)
			p->word = w + n;
		return 0;
	}
	/* another thread's slot: charge what it left, then make it this one's */
	left = (__u32)w;
	if (left && (s = cw_target(p->tgid)))
		cw_pages_charge(s, cw_inst_thread_of(s, w >> 32), left);
	p->tgid = tgid;
	p->target = cw_target(tgid) != NULL;
	p->word = (__u64)tid << 32 | (p->target ? n : 0);
	return 0;
}

/* Save syscall arguments for the matching sys_exit. */
static __always_inline int mm_enter(__u32 op, __u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct cw_inflight in = { .a = { a0, a1, a2, a3 }, .nr = op };

	if (!cw_target(id >> 32))
		return 0;
	if (bpf_map_update_elem(&cw_inflight, &tid, &in, BPF_ANY))
		cw_drop(CW_EV_MMAP, CW_DROP_MAP);
	return 0;
}

/* Emit a CW_EV_MMAP for a large mapping change. */
static __always_inline void mmap_event(__u32 tgid, __u32 op, __u64 addr, __u64 len,
				       __u64 old_len, __u32 prot, __u32 flags, __s32 fd)
{
	struct cw_ev_mmap *e;

	if (len < cfg_mmap_min && old_len < cfg_mmap_min)
		return;
	e = cw_reserve(CW_EV_MMAP, sizeof(*e), tgid);
	if (!e)
		return;
	e->addr = addr;
	e->len = len;
	e->old_len = old_len;
	e->op = op;
	e->prot = prot;
	e->flags = flags;
	e->fd = fd;
	cw_submit(e);
}

/* Account a finished mmap-family syscall that returned @ret. */
static __always_inline int mm_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	struct cw_inflight *in = bpf_map_lookup_elem(&cw_inflight, &tid);
	struct cw_inflight a;
	struct cw_stats *s;
	struct cw_inst_stats *inst;
	struct cw_thread *t;
	__u64 now;

	if (!in)
		return 0;
	a = *in;
	bpf_map_delete_elem(&cw_inflight, &tid);
	s = cw_target(tgid);
	if (!s || (ret < 0 && ret > -4096))
		return 0;
	now = tick_clock();
	inst = cw_current_inst(s, tgid, &t);
	switch (a.nr) {
	case CW_MM_MMAP: /* len, prot, flags, fd */
		__sync_fetch_and_add(&s->mmap_calls, 1);
		if (a.a[2] & CW_MAP_ANONYMOUS) {
			__sync_fetch_and_add(&s->mmap_anon_bytes, CW_PAGE_ALIGN(a.a[0]));
			if (inst)
				__sync_fetch_and_add(&inst->mapped, CW_PAGE_ALIGN(a.a[0]));
		}
		mmap_event(tgid, CW_MM_MMAP, ret, a.a[0], 0, a.a[1], a.a[2], a.a[3]);
		break;
	case CW_MM_MUNMAP: /* addr, len */
		__sync_fetch_and_add(&s->munmap_calls, 1);
		__sync_fetch_and_add(&s->munmap_bytes, CW_PAGE_ALIGN(a.a[1]));
		if (inst)
			__sync_fetch_and_add(&inst->mapped, -(__s64)CW_PAGE_ALIGN(a.a[1]));
		mmap_event(tgid, CW_MM_MUNMAP, a.a[0], a.a[1], 0, 0, 0, -1);
		break;
	default: /* mremap: old addr, old len, new len, flags */
		__sync_fetch_and_add(&s->mremap_calls, 1);
		mmap_event(tgid, CW_MM_MREMAP, ret, a.a[2], a.a[1], 0, a.a[3], -1);
		break;
	}
	cw_data_vm(s, bpf_get_current_task_btf()->mm, now);
	return 0;
}

/*
 * memory.wx: a mapping asked to be writable and executable at once. A
 * runtime compiling a module (inside its module_new probe) is the JIT at
 * work, not an escape.
 */
static __always_inline void wx_check(void *ctx, __u32 op, __u64 prot, __u64 addr, __u64 len)
{
	__u32 tgid = cw_current_tgid(), tid = (__u32)bpf_get_current_pid_tgid();
	struct cw_thread *t;
	struct cw_ev_alert *e;
	struct cw_stats *s;

	if ((prot & (CW_PROT_WRITE | CW_PROT_EXEC)) != (CW_PROT_WRITE | CW_PROT_EXEC) ||
	    !(cfg_rules & (1u << CW_RULE_WX)))
		return;
	s = cw_target(tgid);
	if (!s)
		return;
	t = bpf_map_lookup_elem(&cw_threads, &tid);
	if (t && t->tgid == tgid && t->compiling)
		return;
	e = cw_alert(ctx, s, tgid, CW_RULE_WX, op);
	if (!e)
		return;
	e->arg[0] = prot;
	e->arg[1] = addr;
	e->arg[2] = len;
	cw_submit(e);
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int tp_enter_mmap(struct trace_event_raw_sys_enter *ctx)
{
	wx_check(ctx, CW_OP_MMAP, ctx->args[2], ctx->args[0], ctx->args[1]);
	return mm_enter(CW_MM_MMAP, ctx->args[1], ctx->args[2], ctx->args[3], ctx->args[4]);
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int tp_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	return mm_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_munmap")
int tp_enter_munmap(struct trace_event_raw_sys_enter *ctx)
{
	return mm_enter(CW_MM_MUNMAP, ctx->args[0], ctx->args[1], 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_munmap")
int tp_exit_munmap(struct trace_event_raw_sys_exit *ctx)
{
	return mm_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_mremap")
int tp_enter_mremap(struct trace_event_raw_sys_enter *ctx)
{
	return mm_enter(CW_MM_MREMAP, ctx->args[0], ctx->args[1], ctx->args[2], ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_exit_mremap")
int tp_exit_mremap(struct trace_event_raw_sys_exit *ctx)
{
	return mm_exit(ctx->ret);
}

/*
 * mprotect needs no saved arguments, so its exit alone counts it: glibc's
 * thread arenas grow by mprotect, a page or a few at a time, and a
 * malloc-heavy target makes thousands a second (mallocbench: 10,500 in
 * 0.1 s). Its entry only checks for W+X.
 */
SEC("tracepoint/syscalls/sys_enter_mprotect")
int tp_enter_mprotect(struct trace_event_raw_sys_enter *ctx)
{
	wx_check(ctx, CW_OP_MPROTECT, ctx->args[2], ctx->args[0], ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_pkey_mprotect")
int tp_enter_pkey_mp(struct trace_event_raw_sys_enter *ctx)
{
	wx_check(ctx, CW_OP_MPROTECT, ctx->args[2], ctx->args[0], ctx->args[1]);
	return 0;
}

/* The exit of a call that needs no saved arguments (mprotect, brk): count it, refresh VmData. */
static __always_inline int mm_exit_counted(long ret, bool brk)
{
	struct cw_stats *s = ret < 0 ? NULL : cw_target(cw_current_tgid());

	if (s) {
		__sync_fetch_and_add(brk ? &s->brk_calls : &s->mprotect_calls, 1);
		cw_data_vm(s, bpf_get_current_task_btf()->mm, tick_clock());
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mprotect")
int tp_exit_mprotect(struct trace_event_raw_sys_exit *ctx)
{
	return mm_exit_counted(ctx->ret, false);
}

/* brk returns the new break, never an error */
SEC("tracepoint/syscalls/sys_exit_brk")
int tp_exit_brk(struct trace_event_raw_sys_exit *ctx)
{
	return mm_exit_counted(ctx->ret, true);
}
