// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Target lifecycle: children of targets become targets (sched_process_fork),
 * processes matching --comm/--exe become targets when they exec, threads are
 * counted from the kernel's own live count, and exits carry final figures.
 */
#include "common.bpf.h"

const volatile __u64 cfg_peak_step = 1 << 20;
const volatile __u64 cfg_mmap_min = 1 << 20;
const volatile __u64 cfg_wakeup_bytes = 256 << 10;
const volatile __u32 cfg_match = 0;
const volatile __u64 cfg_heap_sample = 0;
const volatile __u32 cfg_rules = 0;
const volatile __u32 cfg_enforce = 0;
const volatile __u64 cfg_host_slow_ns = 1000000000ULL;
const volatile __u32 cfg_unwind = 0;

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Live threads of @task's process: signal->live (kernel/fork.c, kernel/exit.c). */
static __always_inline __u64 live_threads(struct task_struct *task)
{
	int n = BPF_CORE_READ(task, signal, live.counter);

	return n > 0 ? n : 0;
}

/* Restart the memory peaks of @s at its current figures (new target, new mm). */
static __always_inline void peaks_restart(struct cw_stats *s, __u64 now)
{
	s->anon_peak.value = s->rss[CW_RSS_ANON];
	s->file_peak.value = s->rss[CW_RSS_FILE] + s->rss[CW_RSS_SHMEM];
	s->rss_peak.value = s->anon_peak.value + s->file_peak.value;
	s->data_vm_peak.value = s->data_vm;
	s->anon_peak.ts = s->file_peak.ts = s->rss_peak.ts = s->data_vm_peak.ts = now;
	s->next_peak_event = s->rss_peak.value + cfg_peak_step;
}

/* Emit CW_EV_TARGET_NEW for @tgid. */
static __always_inline void target_event(__u32 tgid, __u32 ppid, __u32 reason,
					 struct task_struct *task)
{
	struct cw_ev_target *e = cw_reserve(CW_EV_TARGET_NEW, sizeof(*e), tgid);

	if (!e)
		return;
	e->ppid = ppid;
	e->reason = reason;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	cw_submit(e);
}

/* Make @task's process a target, seeding its figures from its mm. */
static __always_inline struct cw_stats *target_add(struct task_struct *task, __u32 ppid,
						    __u32 reason, __u64 now)
{
	__u32 zero = 0, tgid = BPF_CORE_READ(task, tgid);
	struct cw_stats *s = bpf_map_lookup_elem(&cw_scratch, &zero);
	struct mm_struct *mm = BPF_CORE_READ(task, mm);

	if (!s)
		return NULL;
	__builtin_memset(s, 0, sizeof(*s));
	if (mm) {
		cw_rss_seed(s, mm);
		s->data_vm = (__u64)BPF_CORE_READ(mm, data_vm) << CW_PAGE_SHIFT;
	}
	s->threads = live_threads(task);
	s->threads_peak.value = s->threads;
	s->threads_peak.ts = now;
	peaks_restart(s, now);
	s->ppid = ppid;
	s->reason = reason;
	s->start_ns = now;
	if (bpf_map_update_elem(&cw_targets, &tgid, s, BPF_ANY)) {
		cw_drop(CW_EV_TARGET_NEW, CW_DROP_MAP);
		return NULL;
	}
	target_event(tgid, ppid, reason, task);
	return bpf_map_lookup_elem(&cw_targets, &tgid);
}

/* Remember where thread @tid was created (the creating thread's user stack). */
static __always_inline void thread_site(void *ctx, __u32 tgid, __u32 tid, __u64 inst)
{
	struct cw_site_key k = { .tgid = tgid, .instance = inst };

	/* an unreadable stack still counts, as the site "unknown" (-1) */
	k.stack = cw_site_stack(ctx);
	if (!cw_site_add(&cw_tsites, &k, 1, 1, CW_REC_THREAD_SITE))
		bpf_map_update_elem(&cw_tid_site, &tid, &k, BPF_ANY);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tp_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tgid = BPF_CORE_READ(parent, tgid);
	struct cw_stats *s = cw_target(tgid);
	__u64 now;

	if (!s)
		return 0;
	now = bpf_ktime_get_ns();
	if (BPF_CORE_READ(child, tgid) == tgid) {
		__u64 n = live_threads(child);

		struct cw_inst_stats *in;
		struct cw_thread *t;

		s->threads = n;
		__sync_fetch_and_add(&s->thread_creates, 1);
		in = cw_current_inst(s, tgid, &t);
		if (in)
			__sync_fetch_and_add(&in->threads_created, 1);
		cw_peak_raise(&s->threads_peak, n, now);
		thread_site(ctx, tgid, BPF_CORE_READ(child, pid), in && t ? t->inst : 0);
		return 0;
	}
	__sync_fetch_and_add(&s->forks, 1);
	target_add(child, tgid, CW_WHY_FORK, now);
	if (cfg_rules & (1u << CW_RULE_SPAWN)) {
		struct cw_ev_alert *e = cw_alert(ctx, s, tgid, CW_RULE_SPAWN, 0);

		if (e) {
			e->arg[0] = BPF_CORE_READ(child, tgid);
			cw_submit(e);
		}
	}
	return 0;
}

/*
 * Is @task in a --cgroup or below it? Walks its cgroup v2 (css_set.dfl_cgrp)
 * up through cgroup.self.parent (self is struct cgroup's first member,
 * include/linux/cgroup-defs.h), comparing each kernfs id with the map.
 */
static __always_inline __u32 cgroup_match(struct task_struct *task)
{
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);

	for (int i = 0; i < CW_CGROUP_DEPTH && cg; i++) {
		__u64 id = BPF_CORE_READ(cg, kn, id);

		if (bpf_map_lookup_elem(&cw_match_cgrp, &id))
			return CW_WHY_CGROUP;
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	}
	return 0;
}

/* Does the process that just exec'd match a --comm, --exe or --cgroup? */
static __always_inline __u32 exec_match(struct task_struct *task, struct linux_binprm *bprm)
{
	struct cw_comm_key ck = {};
	struct cw_ino_key ik = {};
	struct inode *ino;

	BPF_CORE_READ_STR_INTO(&ck.comm, task, comm);
	if (bpf_map_lookup_elem(&cw_match_comm, &ck))
		return CW_WHY_COMM;
	ino = BPF_CORE_READ(bprm, file, f_inode);
	ik.ino = BPF_CORE_READ(ino, i_ino);
	ik.dev = BPF_CORE_READ(ino, i_sb, s_dev);
	if (bpf_map_lookup_elem(&cw_match_ino, &ik))
		return CW_WHY_EXE;
	return cgroup_match(task);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct cw_stats *s = cw_target(tgid);
	struct cw_ev_exec *e;
	struct mm_struct *mm;
	__u64 now = bpf_ktime_get_ns();

	if (!s) {
		__u32 why;

		if (!cfg_match)
			return 0;
		why = exec_match(task, bprm);
		if (!why)
			return 0;
		s = target_add(task, BPF_CORE_READ(task, real_parent, tgid), why, now);
		if (!s)
			return 0;
	}
	__sync_fetch_and_add(&s->execs, 1);
	/* a new mm: its RSS starts over; the old mm's teardown is ignored */
	mm = BPF_CORE_READ(task, mm);
	s->mm_id = 0;
	if (mm) {
		cw_rss_seed(s, mm);
		s->data_vm = (__u64)BPF_CORE_READ(mm, data_vm) << CW_PAGE_SHIFT;
	}
	s->threads = live_threads(task);
	/* like the kernel's VmHWM, memory peaks belong to the mm and restart */
	peaks_restart(s, now);

	e = cw_reserve(CW_EV_EXEC, sizeof(*e), tgid);
	if (!e)
		return 0;
	e->old_tid = old_pid;
	e->pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	cw_submit(e);
	return 0;
}

/*
 * A thread ends. When it was the last (signal->live has reached zero, see
 * do_exit()), the target is gone: send its final figures and forget it, so a
 * reused pid can never inherit them. If the event cannot be sent the entry
 * stays, marked exited, for user space to reap.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(tp_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct cw_stats *s = cw_target(tgid);
	struct cw_ev_exit *e;
	__u32 mm_id;

	if (!s)
		return 0;
	__sync_fetch_and_add(&s->thread_exits, 1);
	s->threads = live_threads(task);
	{
		__u32 tid = BPF_CORE_READ(task, pid);
		struct cw_site_key *k = bpf_map_lookup_elem(&cw_tid_site, &tid);
		struct cw_site *site = k ? bpf_map_lookup_elem(&cw_tsites, k) : NULL;
		/* the exiting thread's pages still on this CPU's slot */
		__u64 pages = cw_pages_take(tid, tgid, 1);

		/* and its faults (memory.bpf.c, rss_skip) */
		cw_rss_settle_thread(bpf_map_lookup_elem(&cw_threads, &tid), s, tgid);

		if (pages)
			cw_pages_charge(s, NULL, pages);
		if (site && site->bytes)
			__sync_fetch_and_add(&site->bytes, -1);
		if (k)
			bpf_map_delete_elem(&cw_tid_site, &tid);
	}
	if (s->threads > 0)
		return 0;
	s->flags |= CW_F_EXITED;
	mm_id = s->mm_id;
	e = cw_reserve(CW_EV_EXIT, sizeof(*e), tgid);
	if (!e)
		return 0;
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->pad = 0;
	e->stats = *s;
	cw_submit(e);
	bpf_map_delete_elem(&cw_targets, &tgid);
	bpf_map_delete_elem(&cw_mm, &mm_id);
	return 0;
}
