// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Crash forensics: how a target died, on which thread, in which instance and
 * call, with the thread's user stack (cwatch.h, struct cw_ev_crash).
 *
 * signal:signal_deliver runs in the receiving thread before any handler, so
 * its user registers and stack are where the fault happened. A fatal signal
 * whose action is the default kills the process: that is the crash. One with
 * a handler may be recovered (Go turns SIGSEGV into a panic, wasm runtimes
 * into traps): it is only remembered per thread, for a Go crash that follows
 * (go_fatal) to name. Non-targets and other signals (Go sends SIGURG all the
 * time) cost a shift and a mask.
 */
#include "common.bpf.h"

/* SIGILL, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS (seccomp): include/uapi/asm-generic/signal.h */
#define CW_SIG_FATAL ((1ULL << 4) | (1ULL << 6) | (1ULL << 7) | (1ULL << 8) | (1ULL << 11) | \
		      (1ULL << 31))
/* the signals whose si_addr is a faulting address (kernel_siginfo._sigfault) */
#define CW_SIG_FAULT ((1ULL << 4) | (1ULL << 7) | (1ULL << 8) | (1ULL << 11))
#define CW_SIG_RECENT_NS 1000000000ULL	/* a handled signal this recent explains a Go crash */

/* A fatal-class signal a target's own handler took, per thread (key tid). */
struct cw_sig_seen {
	__u64 ts;		/* ns, when delivered */
	__u64 addr;		/* si_addr, for faults */
	__u64 ip;		/* user instruction pointer at delivery */
	__s32 signo;
	__s32 code;		/* si_code */
	__s32 stack;		/* user stack id at delivery: where it faulted */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct cw_sig_seen);
	__uint(max_entries, 1024);
} cw_sigs SEC(".maps");

/*
 * Start the crash record of target @s by the current thread, with the
 * instance and call running on it; NULL if the process has crashed already
 * (the rest is its death: Go's crash() re-raising SIGABRT, startpanic_m
 * inside fatalpanic) or the ring buffer is full (counted).
 */
static __always_inline struct cw_ev_crash *crash_start(struct cw_stats *s, __u32 tgid,
						       __u32 kind)
{
	struct cw_thread *t;
	struct cw_ev_crash *e;

	if (__sync_fetch_and_or(&s->flags, CW_F_CRASHED) & CW_F_CRASHED)
		return NULL;
	/* a copy of the stack first, for user space to unwind through code without frame
	 * pointers (libc's abort); the ring keeps the order: the copy, then the crash */
	t = cw_inst_thread(s);
	cw_ustack_send(tgid, t ? t->inst : 0, CW_US_NEXT, -1, 0);
	e = cw_reserve(CW_EV_CRASH, sizeof(*e), tgid);
	if (!e)
		return NULL;
	e->kind = kind;
	e->signo = e->code = 0;
	e->stack = -1;
	e->addr = e->ip = e->call = 0;
	e->nframes = e->pad = 0;
	/* the frames are user space's to fill: start them empty (it clears the rest) */
	for (int i = 0; i < CW_SITE_FRAMES; i++)
		e->frame[i][0] = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (t && t->inst) {
		e->h.instance = t->inst;
		e->call = t->calls;
	}
	return e;
}

/* Submit now, waking the reader: the process is going and its mappings with it. */
static __always_inline void crash_submit(struct cw_ev_crash *e)
{
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(tp_signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	struct cw_sig_seen seen = {};
	struct cw_ev_crash *e;
	struct pt_regs *regs;
	struct cw_stats *s;
	__u32 tgid, tid;

	if (sig <= 0 || sig >= 64 || !((1ULL << sig) & CW_SIG_FATAL))
		return 0;
	tgid = cw_current_tgid();
	s = cw_target(tgid);
	if (!s)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	seen.signo = sig;
	seen.code = BPF_CORE_READ(info, si_code);
	if ((1ULL << sig) & CW_SIG_FAULT)
		seen.addr = (__u64)BPF_CORE_READ(info, _sifields._sigfault._addr);
	seen.ip = PT_REGS_IP_CORE(regs);
	seen.stack = bpf_get_stackid(ctx, &cw_stacks, BPF_F_USER_STACK);
	if (BPF_CORE_READ(ka, sa.sa_handler) != 0 /* SIG_DFL */) {
		/* handled (or SIG_IGN, which a fault overrides with SIG_DFL first) */
		tid = (__u32)bpf_get_current_pid_tgid();
		seen.ts = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&cw_sigs, &tid, &seen, BPF_ANY))
			cw_drop(CW_EV_CRASH, CW_DROP_MAP);
		return 0;
	}
	e = crash_start(s, tgid, CW_CRASH_SIGNAL);
	if (!e)
		return 0;
	e->signo = seen.signo;
	e->code = seen.code;
	e->addr = seen.addr;
	e->ip = seen.ip;
	e->stack = seen.stack;
	crash_submit(e);
	return 0;
}

/*
 * The entry of runtime.fatalpanic, runtime.fatalthrow or runtime.startpanic_m
 * in a Go binary (user/crash.c; the cookie is the enum cw_crash_kind). An
 * entry probe only: a return probe crashes Go code. Go keeps frame pointers
 * (amd64, arm64), so the kernel's user stack walk sees the goroutine's stack;
 * at a function's entry it skips the immediate caller (gopanic, throw).
 * startpanic_m counts only when Go's signal handler reached it with a signal
 * just delivered to this thread: its own stack is the signal stack, so the
 * stack taken at delivery is reported instead.
 */
SEC("uprobe")
int go_fatal(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id, kind = (__u32)bpf_get_attach_cookie(ctx);
	struct cw_stats *s = cw_target(tgid);
	struct cw_sig_seen *sg;
	struct cw_ev_crash *e;

	if (!s)
		return 0;
	sg = bpf_map_lookup_elem(&cw_sigs, &tid);
	if (sg && bpf_ktime_get_ns() - sg->ts > CW_SIG_RECENT_NS)
		sg = NULL;
	if (kind == CW_CRASH_GO_SIGNAL && !sg)
		return 0;
	e = crash_start(s, tgid, kind);
	if (!e)
		return 0;
	e->ip = PT_REGS_IP(ctx);
	if (sg) {
		e->signo = sg->signo;
		e->code = sg->code;
		e->addr = sg->addr;
		e->ip = sg->ip;
	}
	if (kind == CW_CRASH_GO_SIGNAL && sg)
		e->stack = sg->stack;
	else
		e->stack = bpf_get_stackid(ctx, &cw_stacks, BPF_F_USER_STACK);
	crash_submit(e);
	return 0;
}
