// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Sandbox-escape events of targets: exec, file opens, network connect/bind/
 * listen, privilege and namespace changes, injection. Each is a syscall
 * tracepoint that costs non-targets one map lookup. Process creation is in
 * targets.bpf.c, W+X memory in memory.bpf.c. File opens under an allowed
 * prefix (without "..") are dropped here; user space decides the rest.
 */
#include "common.bpf.h"

#define CW_AF_INET 2
#define CW_AF_INET6 10

/* The live target the current process is, if the kernel side checks @rule. */
static __always_inline struct cw_stats *rule_target(__u32 rule, __u32 *tgid)
{
	if (!(cfg_rules & (1u << rule)))
		return NULL;
	*tgid = cw_current_tgid();
	return cw_target(*tgid);
}

/*
 * Priv, namespace, injection: every call is an alert; the syscall number says
 * which. Only the syscall's own @nargs arguments may be read: the kernel
 * refuses to attach a program that reads past a tracepoint's record.
 */
static __always_inline int always_alert(struct trace_event_raw_sys_enter *ctx, __u32 rule,
					const int nargs)
{
	struct cw_ev_alert *e;
	struct cw_stats *s;
	__u32 tgid;

	s = rule_target(rule, &tgid);
	if (!s)
		return 0;
	e = cw_alert(ctx, s, tgid, rule, (__u32)ctx->id);
	if (!e)
		return 0;
	/* one by one: a loop becomes a moving context pointer, which the verifier refuses */
	if (nargs > 0)
		e->arg[0] = ctx->args[0];
	if (nargs > 1)
		e->arg[1] = ctx->args[1];
	if (nargs > 2)
		e->arg[2] = ctx->args[2];
	if (nargs > 3)
		e->arg[3] = ctx->args[3];
	cw_submit(e);
	return 0;
}

#define ALWAYS(sys, rule, nargs)                                           \
	SEC("tracepoint/syscalls/sys_enter_" #sys)                         \
	int tr_##sys(struct trace_event_raw_sys_enter *ctx)                \
	{                                                                  \
		return always_alert(ctx, rule, nargs);                     \
	}

ALWAYS(setuid, CW_RULE_PRIV, 1)
ALWAYS(setgid, CW_RULE_PRIV, 1)
ALWAYS(setreuid, CW_RULE_PRIV, 2)
ALWAYS(setregid, CW_RULE_PRIV, 2)
ALWAYS(setresuid, CW_RULE_PRIV, 3)
ALWAYS(setresgid, CW_RULE_PRIV, 3)
ALWAYS(setfsuid, CW_RULE_PRIV, 1)
ALWAYS(setfsgid, CW_RULE_PRIV, 1)
ALWAYS(capset, CW_RULE_PRIV, 2)
ALWAYS(unshare, CW_RULE_NS, 1)
ALWAYS(setns, CW_RULE_NS, 2)
ALWAYS(ptrace, CW_RULE_INJECT, 4)
ALWAYS(process_vm_writev, CW_RULE_INJECT, 6)
ALWAYS(bpf, CW_RULE_INJECT, 3)
ALWAYS(init_module, CW_RULE_INJECT, 3)
ALWAYS(finit_module, CW_RULE_INJECT, 3)

/* exec by a target, before it happens (so --enforce can stop it). */
static __always_inline int exec_alert(struct trace_event_raw_sys_enter *ctx, const char *file)
{
	struct cw_ev_alert *e;
	struct cw_stats *s;
	__u32 tgid;

	s = rule_target(CW_RULE_EXEC, &tgid);
	/* a launched command's own first exec is the launch, not an escape */
	if (!s || (s->reason == CW_WHY_LAUNCH && !s->execs))
		return 0;
	e = cw_alert(ctx, s, tgid, CW_RULE_EXEC, (__u32)ctx->id);
	if (!e)
		return 0;
	bpf_probe_read_user_str(e->path, sizeof(e->path), file);
	cw_submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int tr_execve(struct trace_event_raw_sys_enter *ctx)
{
	return exec_alert(ctx, (const char *)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int tr_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return exec_alert(ctx, (const char *)ctx->args[1]);
}

/* Scratch for a path being checked (too big for the stack next to the rest). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, char[CW_PATH_LEN]);
	__uint(max_entries, 1);
} cw_path SEC(".maps");

struct allow_ctx {
	const char *path;
	int allowed;
};

/* bpf_loop callback: does allow-list entry @i prefix the path? */
static long allow_one(__u32 i, struct allow_ctx *c)
{
	struct cw_prefix *p = bpf_map_lookup_elem(&cw_file_allow, &i);

	if (!p || !p->len)
		return 1;	/* entries are packed: the first empty one ends the list */
	for (__u32 k = 0; k < sizeof(p->p); k++) {
		if (k >= p->len) {
			c->allowed = 1;
			return 1;
		}
		if (c->path[k & (CW_PATH_LEN - 1)] != p->p[k])
			return 0;
	}
	return 0;
}

/* An open of @file by a target: drop it if clearly allowed, else alert. */
static __always_inline int open_alert(void *ctx, const char *file, __u64 flags)
{
	struct allow_ctx ac = {};
	struct cw_ev_alert *e;
	struct cw_stats *s;
	__u32 tgid, zero = 0;
	char *path;
	long n;

	s = rule_target(CW_RULE_FILE, &tgid);
	if (!s)
		return 0;
	path = bpf_map_lookup_elem(&cw_path, &zero);
	if (!path)
		return 0;
	n = bpf_probe_read_user_str(path, CW_PATH_LEN, file);
	if (n <= 0)
		return 0;
	if (path[0] == '/') {
		/* ".." anywhere makes a prefix meaningless: leave it to user space */
		bool dots = false;

		for (int i = 0; i + 1 < CW_PATH_LEN; i++) {
			if (!path[i])
				break;
			if (path[i] == '.' && path[i + 1] == '.') {
				dots = true;
				break;
			}
		}
		if (!dots) {
			ac.path = path;
			bpf_loop(CW_FILE_ALLOW_MAX, allow_one, &ac, 0);
			if (ac.allowed)
				return 0;
		}
	}
	e = cw_alert(ctx, s, tgid, CW_RULE_FILE, CW_OP_OPEN);
	if (!e)
		return 0;
	e->arg[0] = flags;
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	cw_submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tr_openat(struct trace_event_raw_sys_enter *ctx)
{
	return open_alert(ctx, (const char *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int tr_openat2(struct trace_event_raw_sys_enter *ctx)
{
	return open_alert(ctx, (const char *)ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_enter_open")
int tr_open(struct trace_event_raw_sys_enter *ctx)
{
	return open_alert(ctx, (const char *)ctx->args[0], ctx->args[1]);
}

/* connect/bind to an IPv4/IPv6 address, listen on any socket: user space checks the allow-list. */
static __always_inline int net_alert(struct trace_event_raw_sys_enter *ctx, __u32 op,
				     const void *addr)
{
	struct cw_ev_alert *e;
	struct cw_stats *s;
	__u16 family = 0, port = 0;
	__u32 tgid;

	s = rule_target(CW_RULE_NET, &tgid);
	if (!s)
		return 0;
	if (addr) {
		if (bpf_probe_read_user(&family, sizeof(family), addr))
			return 0;
		if (family != CW_AF_INET && family != CW_AF_INET6)
			return 0;	/* unix sockets, netlink: not the network */
		bpf_probe_read_user(&port, sizeof(port), addr + 2);
	}
	e = cw_alert(ctx, s, tgid, CW_RULE_NET, op);
	if (!e)
		return 0;
	e->family = family;
	e->port = bpf_ntohs(port);
	e->arg[0] = ctx->args[0];	/* the socket fd */
	if (family == CW_AF_INET)
		bpf_probe_read_user(e->addr, 4, addr + 4);
	else if (family == CW_AF_INET6)
		bpf_probe_read_user(e->addr, 16, addr + 8);
	cw_submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int tr_connect(struct trace_event_raw_sys_enter *ctx)
{
	return net_alert(ctx, CW_OP_CONNECT, (const void *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_bind")
int tr_bind(struct trace_event_raw_sys_enter *ctx)
{
	return net_alert(ctx, CW_OP_BIND, (const void *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_listen")
int tr_listen(struct trace_event_raw_sys_enter *ctx)
{
	return net_alert(ctx, CW_OP_LISTEN, NULL);
}
