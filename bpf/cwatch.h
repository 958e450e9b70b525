/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The ABI between cwatch's BPF programs and user space. It is also the record
 * layout of recordings, so every change that is not purely additive bumps
 * CW_ABI_VERSION. Fixed-width types only; every record starts with struct
 * cw_hdr; explicit padding is zeroed by the producer.
 */
#ifndef CWATCH_H
#define CWATCH_H

#define CW_ABI_VERSION 1

#define CW_COMM_LEN 16
#define CW_PATH_LEN 256
#define CW_FILE_ALLOW_MAX 32	/* file.open allow-list: path prefixes, at most */

/* Record types: explicit numbers, never reused. */
enum cw_type {
	CW_EV_TARGET_NEW = 1,	/* a process became a target (fork of a target, exec match) */
	CW_EV_EXEC = 2,		/* a target called execve and it succeeded */
	CW_EV_EXIT = 3,		/* the last thread of a target exited; carries final figures */
	CW_EV_PEAK = 4,		/* resident memory rose past the next peak step */
	CW_EV_MMAP = 5,		/* a large mapping was created or removed */
	CW_EV_CODE = 6,		/* a chunk of a module's code bytes (for the contract id) */
	CW_EV_MODULE = 7,	/* a module was created from the code just sent */
	CW_EV_INSTANCE_NEW = 8,	/* a contract instance was created */
	CW_EV_INSTANCE_END = 9,	/* a contract instance was destroyed */
	CW_EV_CALL = 10,	/* a call into an instance returned */
	CW_EV_HOST_CALL = 11,	/* a host call returned */
	CW_EV_GROW = 12,	/* an instance's linear memory grew */
	CW_EV_ALERT = 13,	/* a sandbox-escape event (rule in cw_ev_alert.rule) */
	CW_EV_MEMORY = 14,	/* an instance's linear memory: base and size, as the runtime said */
	CW_EV_CRASH = 15,	/* a fatal signal or a Go fatal error, with the thread's stack */
	CW_REC_STATS = 64,	/* user space: a periodic snapshot of a target's counters */
	CW_REC_ATTACH = 65,	/* user space: a target chosen at start (pid, comm, exe, launch) */
	CW_REC_INST_STATS = 66,	/* user space: a periodic snapshot of an instance's counters */
	CW_REC_SITE = 67,	/* user space: a heap site (--heap) with its symbolized stack */
	CW_REC_RUNTIME = 68,	/* user space: a runtime profile was attached for a target */
	CW_REC_THREAD_SITE = 69,	/* user space: where threads were created (struct cw_rec_site:
				 * site.bytes = threads alive, site.samples = threads created) */
	CW_REC_STACK = 70,	/* user space: a stack named, for the records after it that use it */
	CW_REC_TICK = 71,	/* user space: a snapshot is complete: the periodic view (header only) */
	CW_REC_END = 72,	/* user space: the run ended: the summary (header only) */
	CW_REC_RULES = 73,	/* user space: the rule file in force (struct cw_rec_rules) */
	CW_REC_GO_SITE = 74,	/* user space: a goroutine creation site (struct cw_rec_go_site) */
	CW_REC_GO_STATS = 75,	/* user space: a Go target's runtime figures (struct cw_rec_go_stats) */
	CW_REC_CGO_SITE = 76,	/* user space: where live C allocations of a Go program were made
				 * (struct cw_rec_site: site.bytes = bytes live, site.samples = allocations live) */
	CW_EV_USTACK = 77,	/* --unwind=dwarf: user registers and a copy of the user stack, for
				 * user space to unwind with DWARF CFI (struct cw_ev_ustack;
				 * variable size; consumed by the collector, never recorded) */
	CW_TYPE_MAX = 78,
};

/* Why a process became a target (cw_ev_target.reason, cw_rec_attach.reason). */
enum cw_reason {
	CW_WHY_PID = 1,		/* --pid */
	CW_WHY_LAUNCH = 2,	/* -- CMD ... */
	CW_WHY_COMM = 3,	/* --comm matched at start or on exec */
	CW_WHY_EXE = 4,		/* --exe matched at start or on exec */
	CW_WHY_FORK = 5,	/* child of a target */
	CW_WHY_CGROUP = 6,	/* --cgroup: in the cgroup or below it, at start, on exec or joining */
};

#define CW_CGROUP_DEPTH 16	/* cgroup levels walked up from a process to match --cgroup */

/* Kernel RSS counter members, in the kernel's order (enum MM_*). */
enum cw_rss {
	CW_RSS_FILE = 0,
	CW_RSS_ANON = 1,
	CW_RSS_SWAP = 2,
	CW_RSS_SHMEM = 3,
	CW_RSS_NR = 4,
};

/*
 * Up to this many possible CPUs, kmem:rss_stat is read through its BTF
 * tracepoint and the counter summed in BPF; above it, through the classic one.
 */
#define CW_RSS_MAX_CPUS 64

/* cw_stats.flags */
#define CW_F_EXITED	0x1	/* the target exited; the entry waits to be reaped */
#define CW_F_SEEDED	0x2	/* user space seeded the figures from /proc */
#define CW_F_PROFILE	0x4	/* a runtime profile is attached: attribute to instances */
#define CW_F_CRASHED	0x8	/* a CW_EV_CRASH was sent: the process is dying, say it once */

/* Every record starts with this. */
struct cw_hdr {
	__u16 type;		/* enum cw_type */
	__u16 size;		/* bytes, header included */
	__u32 tgid;		/* target process id */
	__u32 tid;		/* thread that caused the record, 0 for user-space records */
	__u32 pad;		/* zero */
	__u64 instance;		/* contract instance, 0 = the target itself */
	__u64 ts;		/* ns, CLOCK_MONOTONIC (bpf_ktime_get_ns) */
};

/*
 * A peak: the value and when it was reached. Peaks before cwatch attached are
 * seeded from /proc with ts = the attach time.
 */
struct cw_peak {
	__u64 value;		/* bytes or count */
	__u64 ts;		/* ns, CLOCK_MONOTONIC */
};

/*
 * Per-target counters, aggregated in the kernel (map cw_targets, key tgid) and
 * read by user space on a timer. Byte counts are bytes; counts are events.
 */
struct cw_stats {
	__u64 rss[CW_RSS_NR];		/* bytes resident now, by enum cw_rss */
	struct cw_peak rss_peak;	/* bytes: file + anon + shmem */
	struct cw_peak anon_peak;	/* bytes: anon */
	struct cw_peak file_peak;	/* bytes: file + shmem */
	__u64 data_vm;			/* bytes of private writable mappings (VmData) */
	struct cw_peak data_vm_peak;	/* bytes */
	__u64 page_allocs;		/* pages allocated in the target's context */
	__u64 mmap_calls;		/* successful mmap calls */
	__u64 mmap_anon_bytes;		/* bytes mapped anonymously (page-rounded) */
	__u64 munmap_calls;		/* successful munmap calls */
	__u64 munmap_bytes;		/* bytes unmapped (page-rounded) */
	__u64 brk_calls;		/* brk calls */
	__u64 mremap_calls;		/* successful mremap calls */
	__u64 mprotect_calls;		/* successful mprotect calls */
	__u64 threads;			/* threads alive now */
	struct cw_peak threads_peak;	/* count */
	__u64 thread_creates;		/* threads started (not the first) */
	__u64 thread_exits;		/* threads ended (the last one included) */
	__u64 forks;			/* child processes started */
	__u64 execs;			/* successful execs */
	__u64 next_peak_event;		/* bytes: rss_peak that raises the next CW_EV_PEAK */
	__u32 mm_id;			/* the kernel's hashed id of the current mm */
	__u32 flags;			/* CW_F_* */
	__u32 ppid;			/* parent target, 0 if chosen directly */
	__u32 reason;			/* enum cw_reason */
	__u64 start_ns;			/* ns, CLOCK_MONOTONIC: when it became a target */
};

struct cw_ev_target {
	struct cw_hdr h;
	__u32 ppid;		/* parent process */
	__u32 reason;		/* enum cw_reason */
	char comm[CW_COMM_LEN];
};

struct cw_ev_exec {
	struct cw_hdr h;
	__u32 old_tid;		/* the thread that called exec (becomes the leader) */
	__u32 pad;
	char comm[CW_COMM_LEN];
	char filename[CW_PATH_LEN];	/* as passed to exec, NUL-terminated */
};

struct cw_ev_exit {
	struct cw_hdr h;
	__s32 exit_code;	/* as wait(2) reports it: status << 8 | signal */
	__u32 pad;
	struct cw_stats stats;	/* final figures */
};

struct cw_ev_peak {
	struct cw_hdr h;
	__u64 rss;		/* bytes: the new peak */
	__u64 anon;		/* bytes at that moment */
	__u64 file;		/* bytes (file + shmem) at that moment */
};

/* cw_ev_mmap.op */
enum cw_mmap_op {
	CW_MM_MMAP = 1,
	CW_MM_MUNMAP = 2,
	CW_MM_MREMAP = 3,
};

struct cw_ev_mmap {
	struct cw_hdr h;
	__u64 addr;		/* start address (the new one for mremap) */
	__u64 len;		/* bytes (the new length for mremap) */
	__u64 old_len;		/* bytes, mremap only */
	__u32 op;		/* enum cw_mmap_op */
	__u32 prot;		/* PROT_* */
	__u32 flags;		/* MAP_* */
	__s32 fd;		/* -1 for anonymous */
};

/* User space only: a snapshot of cw_stats taken at h.ts. */
struct cw_rec_stats {
	struct cw_hdr h;
	struct cw_stats stats;
	__u64 lost;		/* events lost so far (all targets, all types) */
};

/* User space only: a target chosen at start. */
struct cw_rec_attach {
	struct cw_hdr h;
	__u32 reason;		/* enum cw_reason */
	__u32 pad;
	char comm[CW_COMM_LEN];
	char exe[CW_PATH_LEN];
};

/*
 * Runtime profiles (user/profile.c) map a runtime's functions to roles. One
 * generic uprobe (and uretprobe, for C functions only) program serves every
 * role; the attach cookie indexes cw_uspecs, which says the role and where
 * its arguments are.
 */
enum cw_role {
	CW_ROLE_MODULE_NEW = 1,	  /* args: code ptr, code len, module key */
	CW_ROLE_INSTANCE_NEW = 2, /* args: instance key, module key, name (C string) */
	CW_ROLE_INSTANCE_DEL = 3, /* args: instance key */
	CW_ROLE_CALL = 4,	  /* args: instance key, entry-point name (C string); entry + return */
	CW_ROLE_CALL_ENTER = 5,	  /* args: instance key, entry-point name; entry only */
	CW_ROLE_CALL_EXIT = 6,	  /* args: instance key; entry only */
	CW_ROLE_HOST_CALL = 7,	  /* args: host function id, guest ptr, guest len, number of args */
	CW_ROLE_GROW = 8,	  /* args: delta pages, old pages (usually ret) */
	CW_ROLE_EXPORTS = 9,	  /* args: instance key, vector {size, data} of its exported objects */
	CW_ROLE_MEMORY = 10,	  /* args: linear memory size in bytes, base address (either) */
	CW_ROLE_NR = 11,
};

/* Where an argument is: a register or stack slot, then up to 3 dereferences. */
enum cw_arg_base {
	CW_ARG_NONE = 0,
	CW_ARG_REG0 = 1,	/* first integer argument register; REG0 + n for the n-th, n < 6 */
	CW_ARG_RET = 7,		/* the return value (return probes) */
	CW_ARG_SP = 8,		/* the stack pointer at entry */
};

#define CW_ARG_DEREF 3
#define CW_ROLE_ARGS 4
#define CW_USPECS 64		/* probes in force at once */
#define CW_CALL_DEPTH 8		/* nested calls tracked per thread */
#define CW_CODE_CHUNK 4000	/* bytes of code per CW_EV_CODE */
#define CW_CODE_MAX (4 << 20)	/* bytes of a module hashed at most */
#define CW_NAME_LEN 64

/* cw_arg.flags */
#define CW_ARGF_AT_RET	0x1	/* take the base at entry, dereference at return (out-parameters) */
#define CW_ARGF_EXPORT	0x2	/* an exported object: translate to its instance (CW_ROLE_EXPORTS) */

/* value = base; repeat nderef times: value = *(u64 *)(value + off[i]); then truncate to size */
struct cw_arg {
	__u8 base;		/* enum cw_arg_base */
	__u8 nderef;		/* <= CW_ARG_DEREF */
	__u8 size;		/* 4 or 8 bytes */
	__u8 flags;		/* CW_ARGF_* */
	__s32 off[CW_ARG_DEREF];	/* bytes */
};

struct cw_uspec {
	__u32 role;		/* enum cw_role */
	__u32 has_ret;		/* 1: a return probe is attached too */
	__u32 profile;		/* index of the profile (user space) */
	__u32 pad;
	struct cw_arg arg[CW_ROLE_ARGS];
};

#define CW_EXPORTS_MAX 64	/* exported objects mapped per instance */

/* Per-instance counters, key struct cw_inst_key, aggregated in the kernel. */
struct cw_inst_key {
	__u32 tgid;
	__u32 pad;
	__u64 key;		/* the runtime's instance (or store) pointer */
};

struct cw_inst_stats {
	__s64 charged;			/* bytes of resident memory gained while it ran (net) */
	struct cw_peak charged_peak;	/* bytes */
	__s64 mapped;			/* bytes mapped minus unmapped while it ran */
	__u64 page_allocs;		/* pages allocated while it ran */
	__u64 threads_created;		/* threads started while it ran */
	__u64 calls;			/* calls returned */
	__u64 call_ns;			/* ns spent in calls, total */
	__u64 host_calls;		/* host calls returned */
	__u64 host_ns;			/* ns spent in host calls, total */
	__u64 linear;			/* bytes of linear memory (from grow) */
	struct cw_peak linear_peak;	/* bytes */
	__u64 grows;			/* memory.grow calls */
	__u64 module;			/* module key it was created from */
	__u64 created;			/* ns, CLOCK_MONOTONIC */
	__u64 base;			/* host address of its linear memory, 0 = not known */
};

struct cw_ev_code {
	struct cw_hdr h;	/* instance = 0 */
	__u64 seq;		/* per-thread module sequence: chunks and the CW_EV_MODULE share it */
	__u32 off;		/* bytes into the code */
	__u32 len;		/* bytes in data */
	__u64 total;		/* bytes of code in all */
	__u8 data[CW_CODE_CHUNK];
};

struct cw_ev_module {
	struct cw_hdr h;
	__u64 seq;		/* matches the chunks */
	__u64 module;		/* module key */
	__u64 code_len;		/* bytes */
	__u32 chunks;		/* CW_EV_CODE records sent (less than needed = some were lost) */
	__u32 profile;
};

struct cw_ev_instance {
	struct cw_hdr h;	/* instance = the key */
	__u64 module;		/* module key, 0 if the profile has none */
	__u32 profile;
	__u32 pad;
	char name[CW_NAME_LEN];	/* from the profile's name argument, if any */
};

struct cw_ev_call {
	struct cw_hdr h;	/* instance = the key */
	__u64 ns;		/* duration */
	__s64 retained;		/* bytes: resident memory gained on this thread during the call */
	__u64 page_allocs;	/* pages allocated on this thread during the call */
	__u32 depth;		/* nesting depth, 1 = outermost */
	__u32 pad;
	char name[CW_NAME_LEN];	/* entry point, if the profile names it */
};

struct cw_ev_host_call {
	struct cw_hdr h;	/* instance = the one running on this thread */
	__u64 func;		/* host function id (profile-defined) */
	__u64 ns;		/* duration */
	__u64 guest_ptr;	/* from the profile's guest pointer argument */
	__u64 guest_len;	/* bytes */
	__s32 stack;		/* user stack id when it looked out of bounds or slow, else -1 */
	__u32 pad;
};

struct cw_ev_grow {
	struct cw_hdr h;	/* instance = the one running on this thread */
	__u64 delta;		/* pages of 64 KiB requested */
	__u64 old_pages;	/* pages before (the runtime's answer), ~0 if it failed */
	__u64 linear;		/* bytes after */
};

struct cw_rec_inst_stats {
	struct cw_hdr h;	/* instance = the key */
	struct cw_inst_stats stats;
};

/*
 * --heap: where anonymous memory grows. Every cfg_heap_sample bytes of
 * resident anon growth (per CPU) the faulting thread's user stack is taken
 * and the sample's weight charged to (target, instance, stack) in cw_sites.
 */
#define CW_STACK_DEPTH 127	/* frames in cw_stacks (the kernel's PERF_MAX_STACK_DEPTH) */
#define CW_FPSTACK_BASE 0x20000000	/* ids of cw_fpstacks (cw_stacks's are below 16384) */
#define CW_SITE_FRAMES 12	/* frames kept per site in records */
#define CW_FRAME_LEN 112	/* bytes per symbolized frame, NUL included */

struct cw_site_key {
	__u32 tgid;
	__s32 stack;		/* id in cw_stacks */
	__u64 instance;		/* 0 = the target itself */
};

struct cw_site {
	__u64 bytes;		/* sampled bytes (samples x the sampling interval) */
	__u64 samples;
};

struct cw_rec_site {
	struct cw_hdr h;	/* instance = the instance key, 0 = the target */
	__s32 stack;		/* id in cw_stacks */
	__u32 nframes;
	struct cw_site site;
	char frame[CW_SITE_FRAMES][CW_FRAME_LEN];	/* innermost first: "symbol+0xoff (module)" */
};

/*
 * --unwind=dwarf: instead of charging a --heap sample to a frame-pointer
 * stack in cw_sites, the kernel sends the user registers and the top of the
 * user stack (from sp up, at most CW_USTACK_MAX bytes, cut at the first page
 * that cannot be read) and user space unwinds it with the binaries' .eh_frame
 * (user/unwind.c). Records are variable-sized: h.size = offsetof(data) + len.
 * When the ring buffer is full the sample falls back to its frame-pointer
 * stack in cw_sites (counted in cw_unwind_fb), so no sample is lost.
 */
#define CW_USTACK_MAX 16384	/* bytes of stack copied at most */
#define CW_UREGS 17		/* x86-64 DWARF registers 0-16 */
#define CW_USTACK_GO 32		/* goroutine frames added to a stack copy at most */

/* cw_ev_ustack.kind */
enum cw_ustack_kind {
	CW_US_HEAP = 1,		/* a --heap sample: weight = bytes it stands for */
	CW_US_NEXT = 2,		/* for the record this thread sends next (a crash) */
};

struct cw_ev_ustack {
	struct cw_hdr h;	/* instance = the instance running on the thread, 0 = none */
	__u32 kind;		/* enum cw_ustack_kind */
	__s32 stack;		/* the frame-pointer walk's id in cw_stacks (the fallback), < 0 none */
	__u64 weight;		/* bytes the sample stands for */
	__u32 nregs;		/* registers in regs, 0 = not on this architecture */
	__u32 len;		/* bytes of stack in data, copied from regs[7] (sp) up */
	__u64 regs[CW_UREGS];	/* DWARF numbering (x86-64: rax rdx rcx rbx rsi rdi rbp rsp
				 * r8-r15, then rip as 16) */
	__u32 ngo;		/* return addresses in go */
	__u32 pad2;
	__u64 go[CW_USTACK_GO];	/* a Go program's thread on its system stack (cgo): the
				 * goroutine it runs for, from its saved frame pointer */
	__u8 data[CW_USTACK_MAX];
};

/*
 * Where a Go program's goroutine is, for cw_ustack_send (map cw_go_layout,
 * key tgid): g in thread-local storage, g.m, m.curg, curg's saved frame
 * pointer (g.sched.bp). Byte offsets of that Go version.
 */
struct cw_go_layout {
	__s32 tls_g;		/* from the thread pointer (fs base), e.g. -8 */
	__s32 g_m;
	__s32 m_curg;
	__s32 sched_bp;		/* g.sched + gobuf.bp */
	__s32 g_status;		/* g.atomicstatus */
	__s32 pad;
	__u64 allgs;		/* where runtime.allgs is in the process, 0 = not known */
};

/* cw_unwind_fb (per-CPU array) indexes */
enum cw_unwind_count {
	CW_UNW_SENT = 0,	/* CW_EV_USTACK records sent */
	CW_UNW_RINGBUF = 1,	/* ring buffer full: charged to the frame-pointer stack instead */
	CW_UNW_NR = 2,
};

/*
 * Sandbox-escape rules. Numbers are stable; names (user/detect.c) too. The
 * kernel side sends CW_EV_ALERT for the syscall-level ones; user space decides
 * file and network ones against allow-lists, and host-call and memory ones.
 */
enum cw_rule {
	CW_RULE_SPAWN = 1,	/* process.spawn: a target started a new process */
	CW_RULE_EXEC = 2,	/* process.exec: a target exec'd */
	CW_RULE_FILE = 3,	/* file.open: opened a path outside the allow-list, or with .. */
	CW_RULE_NET = 4,	/* net: connect, bind or listen outside the allow-list */
	CW_RULE_WX = 5,		/* memory.wx: memory writable and executable at once */
	CW_RULE_PRIV = 6,	/* priv.change: setuid family, capset */
	CW_RULE_NS = 7,		/* ns.change: unshare, setns */
	CW_RULE_INJECT = 8,	/* inject: ptrace, process_vm_writev, bpf, (f)init_module */
	CW_RULE_HOST_OOB = 9,	/* hostcall.oob: a guest pointer outside the linear memory */
	CW_RULE_SHARED = 10,	/* memory.shared: two instances' linear memories overlap */
	CW_RULE_HOST_SLOW = 11,	/* hostcall.slow: a host call slower than the limit */
	CW_RULE_NR = 12,
};

/* cw_ev_alert.op for CW_RULE_NET, CW_RULE_FILE, CW_RULE_WX */
enum cw_alert_op {
	CW_OP_CONNECT = 1,
	CW_OP_BIND = 2,
	CW_OP_LISTEN = 3,
	CW_OP_OPEN = 4,
	CW_OP_MMAP = 5,
	CW_OP_MPROTECT = 6,
};

/* cw_ev_alert.flags */
#define CW_AF_ENFORCED	0x1	/* the kernel side killed the process (--enforce) */

struct cw_ev_alert {
	struct cw_hdr h;	/* instance = the instance running on the thread, 0 = none */
	__u32 rule;		/* enum cw_rule */
	__u32 op;		/* enum cw_alert_op, or the syscall number for priv/ns/inject */
	__u32 flags;		/* CW_AF_* */
	__s32 stack;		/* user stack id in cw_stacks, < 0 if none */
	__u64 arg[4];		/* rule-specific: prot, port, uid, child pid, open flags ... */
	__u64 call;		/* calls the thread has made into the instance (which call), 0 = none */
	__u16 family;		/* net: AF_INET or AF_INET6 */
	__u16 port;		/* net: host order */
	__u8 addr[16];		/* net: the address, network order */
	__u32 pad;
	char path[CW_PATH_LEN];	/* file: as given; exec: the file; else "" */
	char resolved[CW_PATH_LEN];	/* file: filled by user space (cwd + path, .. folded) */
	char frame[4][CW_FRAME_LEN];	/* user space: the stack's innermost frames, symbolized */
};

struct cw_ev_memory {
	struct cw_hdr h;	/* instance = the one running on this thread */
	__u64 base;		/* host address of its linear memory, 0 if not known yet */
	__u64 size;		/* bytes, 0 if not known yet */
	__s32 stack;		/* user stack id of the host code that asked, or -1 */
	__u32 pad;
};

/*
 * Crashes (bpf/crash.bpf.c). A fatal signal delivered with its default action,
 * or a Go program's runtime giving up: runtime.fatalpanic (an unrecovered
 * panic), runtime.fatalthrow (fatal error: ...), runtime.startpanic_m reached
 * from the signal handler (a fatal signal Go caught: SIGABRT, a fault in C
 * code). One per process (CW_F_CRASHED): what follows is the death itself.
 */
enum cw_crash_kind {
	CW_CRASH_SIGNAL = 1,	/* a fatal signal, default action: the kernel kills it */
	CW_CRASH_GO_PANIC = 2,	/* "go panic": unrecovered; signo set if a fault caused it */
	CW_CRASH_GO_THROW = 3,	/* "go fatal error": runtime.throw and friends */
	CW_CRASH_GO_SIGNAL = 4,	/* "go fatal signal": Go's handler gives up on signo */
	CW_CRASH_NR = 5,
};

struct cw_ev_crash {
	struct cw_hdr h;	/* tid = the faulting thread; instance = the one running on it */
	__u32 kind;		/* enum cw_crash_kind */
	__s32 signo;		/* signal number, 0 = none (a panic or throw of the program's own) */
	__s32 code;		/* the signal's si_code (SEGV_MAPERR, SI_USER, ...) */
	__s32 stack;		/* user stack id in cw_stacks, < 0 if none */
	__u64 addr;		/* the faulting address (si_addr) for SEGV/BUS/ILL/FPE, else 0 */
	__u64 ip;		/* user instruction pointer when the signal came (Go: the probe's) */
	__u64 call;		/* calls the thread has made into the instance (which call), 0 = none */
	char comm[CW_COMM_LEN];	/* the thread's name */
	__u32 nframes;		/* user space: frames named */
	__u32 pad;
	char frame[CW_SITE_FRAMES][CW_FRAME_LEN];	/* user space: the stack, innermost first */
};

struct cw_rec_stack {
	struct cw_hdr h;	/* tgid of the process the stack is in */
	__s32 stack;		/* id in cw_stacks */
	__u32 nframes;
	char frame[4][CW_FRAME_LEN];	/* innermost first */
};

struct cw_rec_runtime {
	struct cw_hdr h;
	__u32 profile;		/* index of the profile, as instance records name it */
	__u32 pad;
	char name[32];		/* the profile's name */
};

/* The rule file's text, so a replay decides with the same rules ("" = the defaults). */
struct cw_rec_rules {
	struct cw_hdr h;
	__u32 len;		/* bytes of text */
	__u32 pad;
	char text[32768];
};

/*
 * Go programs (--runtime go, or auto for Go binaries). Goroutines are seen in
 * newproc's closure once runtime.newproc1 has made them (the new g, its go
 * statement's PC and start function, the creating stack). No return probes:
 * a return probe crashes Go code. A goroutine's end is seen without a probe
 * of its own: the runtime reuses a g only once its goroutine is dead, so a
 * creation on a g already in cw_goroutines ends the g's last goroutine, and
 * user space sweeps the g's that are dead in the process and not reused
 * (go_swept). Without syscall programs (Linux < 5.14), runtime.goexit0 is
 * probed instead.
 * cw_gsites is keyed by cw_site_key with .instance = the PC after the go
 * statement (g.gopc) and .stack = the walk from the closure, which reaches
 * the creator's callers through that PC; goroutines alive at attach are
 * seeded by user space with CW_GO_STACK_SEEDED.
 */
#define CW_GO_STACK_SEEDED (-1000)

/* go_newproc1_ret's attach cookie: the new g is the second argument (runqput's) */
#define CW_GO_COOKIE_ARG2 (1ULL << 32)

/* A goroutine (map cw_goroutines, key (tgid, g)). */
struct cw_goroutine {
	struct cw_site_key site;	/* where it was created */
	__u64 token;		/* unique to the goroutine; 0 once its end was counted */
};

/* go_swept's argument: the goroutine @token on g @g of @tgid ended. */
struct cw_go_end {
	__u32 tgid;
	__u32 pad;
	__u64 g;
	__u64 token;
};

struct cw_gsite {
	__u64 alive;		/* goroutines from this site alive now */
	__u64 created;		/* created since attach */
	__u64 start;		/* the goroutine's function (funcval.fn), last seen */
};

/* Per Go target (map cw_go, key tgid). */
struct cw_go_stats {
	__u64 created;		/* goroutines created since attach */
	__u64 exited;		/* goroutines ended since attach (seen created or seeded) */
	__u64 unknown_exits;	/* ended, neither seen created nor seeded (goexit0 probe only) */
	__u64 cgo_allocs;	/* C allocations made through cgo's allocator (C.CString, C.malloc ...) */
	__u64 cgo_frees;	/* of those, freed */
	__s64 cgo_bytes;	/* bytes live from those */
};

/* A live cgo allocation (map cw_cgo_allocs, key (tgid, address)). */
struct cw_cgo_alloc {
	struct cw_site_key site;
	__u64 size;		/* bytes */
};

/* User space only: a goroutine creation site of a target. */
struct cw_rec_go_site {
	struct cw_hdr h;	/* instance = 0 */
	__s32 stack;		/* the site's id (hash of its frames) */
	__u32 nframes;
	__u64 alive;		/* goroutines alive */
	__u64 created;		/* created since attach */
	__u32 system;		/* 1: the runtime's own goroutines (start function runtime.*) */
	__u32 pad;
	char start[CW_FRAME_LEN];	/* the goroutine's function */
	char frame[CW_SITE_FRAMES][CW_FRAME_LEN];	/* frame[0]: the go statement */
};

/* User space only: a Go target's runtime figures. */
struct cw_rec_go_stats {
	struct cw_hdr h;
	char version[16];	/* "go1.22.4" */
	__u32 flags;		/* CW_GO_* */
	__u32 pad;
	__u64 user;		/* goroutines alive now, the program's (runtime.NumGoroutine) */
	__u64 system;		/* goroutines alive now, the runtime's own */
	struct cw_go_stats k;	/* the kernel's counters */
	__u64 heap_resident;	/* bytes resident in the Go heap's arenas (smaps) */
	__u64 heap_mapped;	/* bytes mapped read-write in them */
};

/* cw_rec_go_stats.flags */
#define CW_GO_GOROUTINES	0x1	/* goroutine probes attached */
#define CW_GO_SEEDED		0x2	/* goroutines alive at attach were read from the process */
#define CW_GO_CGO		0x4	/* cgo allocation probes attached */
#define CW_GO_UNSUPPORTED	0x8	/* a Go version cwatch does not know: no goroutine figures */
#define CW_GO_HEAP		0x10	/* heap_* were read (not after the process is gone) */

/* Drop counters: per-CPU array cw_drops, index = type * CW_DROP_NR + reason. */
enum cw_drop {
	CW_DROP_RINGBUF = 0,	/* ring buffer reservation failed */
	CW_DROP_MAP = 1,	/* a map update failed (full) */
	CW_DROP_NR = 2,
};
#define CW_DROPS_LEN (CW_TYPE_MAX * CW_DROP_NR)

#endif /* CWATCH_H */
