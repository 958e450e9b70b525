// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Runtime probes, driven by profiles: one uprobe program and one uretprobe
 * program serve every role; the attach cookie says which cw_uspecs entry
 * (role and argument places) applies. Uretprobes are only ever attached to C
 * functions (user/profile.c refuses them on Go code: they crash Go programs).
 *
 * A thread entering a call marks the instance as running on it; memory,
 * pages, mappings and threads the thread gains meanwhile are charged to that
 * instance (memory.bpf.c, targets.bpf.c).
 */
#include "common.bpf.h"

#define CW_WASM_PAGE 65536ULL

/* libbpf 1.1's bpf_tracing.h stops at the fifth argument register */
#if defined(__TARGET_ARCH_x86)
#define CW_PARM6(x) ((x)->r9)
#elif defined(__TARGET_ARCH_arm64)
#define CW_PARM6(x) ((x)->regs[5])
#endif
#define CW_CODE_CHUNKS (512 * 1024 / CW_CODE_CHUNK + 1)	/* hash at most ~512 KiB */

/*
 * The value of an argument's base register at the probe. Each register is
 * loaded at a constant offset: the verifier refuses a computed offset into
 * the context, which is what a switch compiles to.
 */
static __always_inline __u64 arg_base(struct pt_regs *ctx, const struct cw_arg *a)
{
	__u64 r[8];

	r[0] = PT_REGS_PARM1(ctx);
	r[1] = PT_REGS_PARM2(ctx);
	r[2] = PT_REGS_PARM3(ctx);
	r[3] = PT_REGS_PARM4(ctx);
	r[4] = PT_REGS_PARM5(ctx);
	r[5] = CW_PARM6(ctx);
	r[6] = PT_REGS_RC(ctx);
	r[7] = PT_REGS_SP(ctx);
	if (a->base < CW_ARG_REG0 || a->base > CW_ARG_SP)
		return 0;
	return r[(a->base - CW_ARG_REG0) & 7];
}

/* Apply @a's dereferences, width and translation to the base value @v. */
static __always_inline __u64 arg_finish(const struct cw_arg *a, __u64 v, __u32 tgid)
{
	for (int i = 0; i < CW_ARG_DEREF; i++) {
		if (i >= a->nderef)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), (void *)(v + a->off[i])))
			return 0;
	}
	if (a->size == 4)
		v = (__u32)v;
	if (a->flags & CW_ARGF_EXPORT) {
		struct cw_inst_key k = { .tgid = tgid, .key = v };
		__u64 *inst = bpf_map_lookup_elem(&cw_objs, &k);

		v = inst ? *inst : 0;
	}
	return v;
}

/* An argument at entry: complete, or only its base when it is read at return. */
static __always_inline __u64 arg_entry(struct pt_regs *ctx, const struct cw_arg *a, __u32 tgid)
{
	if (a->base == CW_ARG_NONE || a->base == CW_ARG_RET)
		return 0;
	if (a->flags & CW_ARGF_AT_RET)
		return arg_base(ctx, a);
	return arg_finish(a, arg_base(ctx, a), tgid);
}

/* An argument at return, @saved being what arg_entry() gave. */
static __always_inline __u64 arg_return(struct pt_regs *ctx, const struct cw_arg *a,
					__u64 saved, __u32 tgid)
{
	if (a->base == CW_ARG_RET)
		return arg_finish(a, arg_base(ctx, a), tgid);
	if (a->flags & CW_ARGF_AT_RET)
		return arg_finish(a, saved, tgid);
	return saved;
}

/* The per-thread state of the current thread, created on first use. */
static __always_inline struct cw_thread *thread_get(__u32 tid, __u32 tgid)
{
	struct cw_thread *t = bpf_map_lookup_elem(&cw_threads, &tid);
	__u32 zero = 0;

	if (t && t->tgid == tgid)
		return t;
	/* new, or a reused tid of another process: start empty */
	t = bpf_map_lookup_elem(&cw_scratch_thread, &zero);
	if (!t)
		return NULL;
	__builtin_memset(t, 0, sizeof(*t));
	t->tgid = tgid;
	if (bpf_map_update_elem(&cw_threads, &tid, t, BPF_ANY)) {
		cw_drop(CW_EV_CALL, CW_DROP_MAP);
		return NULL;
	}
	return bpf_map_lookup_elem(&cw_threads, &tid);
}

struct code_ctx {
	__u32 tgid;
	__u32 sent;
	__u64 seq, ptr, len;
};

/* bpf_loop callback: send chunk @i of the code; 1 stops the loop. */
static long code_chunk(__u32 i, struct code_ctx *c)
{
	__u64 off = (__u64)i * CW_CODE_CHUNK;
	struct cw_ev_code *e;
	__u32 n;

	if (off >= c->len)
		return 1;
	n = c->len - off > CW_CODE_CHUNK ? CW_CODE_CHUNK : c->len - off;
	e = cw_reserve(CW_EV_CODE, sizeof(*e), c->tgid);
	if (!e)
		return 1;
	e->seq = c->seq;
	e->off = off;
	e->total = c->len;
	e->len = 0;
	/* keep the bound check: the verifier must see n <= the buffer */
	asm volatile("" : "+r"(n));
	if (n <= CW_CODE_CHUNK && !bpf_probe_read_user(e->data, n, (void *)(c->ptr + off)))
		e->len = n;
	cw_submit(e);
	c->sent++;
	return 0;
}

/*
 * Stream up to ~512 KiB of module code as CW_EV_CODE records (bpf_loop, Linux
 * 5.17+, keeps the verifier's work to one chunk); returns chunks sent.
 */
static __always_inline __u32 code_send(__u32 tgid, __u64 seq, __u64 ptr, __u64 len)
{
	struct code_ctx c = { .tgid = tgid, .seq = seq, .ptr = ptr, .len = len };

	bpf_loop(CW_CODE_CHUNKS, code_chunk, &c, 0);
	return c.sent;
}

/* Emit CW_EV_MODULE for the code streamed under @seq. */
static __always_inline void module_event(__u32 tgid, __u64 seq, __u64 module, __u64 len,
					 __u32 chunks, __u32 profile)
{
	struct cw_ev_module *e = cw_reserve(CW_EV_MODULE, sizeof(*e), tgid);

	if (!e)
		return;
	e->seq = seq;
	e->module = module;
	e->code_len = len;
	e->chunks = chunks;
	e->profile = profile;
	cw_submit(e);
}

/* Register instance @key of @tgid and emit CW_EV_INSTANCE_NEW. */
static __always_inline void instance_new(__u32 tgid, __u64 key, __u64 module, __u64 name,
					 __u32 profile, __u64 now)
{
	struct cw_inst_key k = { .tgid = tgid, .key = key };
	struct cw_inst_stats st = { .module = module, .created = now };
	struct cw_ev_instance *e;

	long err;

	if (!key)
		return;
	/* an instance joining an existing store (lifetime: store) is the same unit */
	err = bpf_map_update_elem(&cw_instances, &k, &st, BPF_NOEXIST);
	if (err == -17 /* EEXIST */)
		return;
	if (err)
		cw_drop(CW_EV_INSTANCE_NEW, CW_DROP_MAP);
	e = cw_reserve(CW_EV_INSTANCE_NEW, sizeof(*e), tgid);
	if (!e)
		return;
	e->h.instance = key;
	e->module = module;
	e->profile = profile;
	e->pad = 0;
	e->name[0] = '\0';
	if (name)
		bpf_probe_read_user_str(e->name, sizeof(e->name), (void *)name);
	cw_submit(e);
}

/* Emit CW_EV_INSTANCE_END with the final counters and forget the instance. */
static __always_inline void instance_del(__u32 tgid, __u64 key)
{
	struct cw_inst_key k = { .tgid = tgid, .key = key };
	struct cw_inst_stats *st = bpf_map_lookup_elem(&cw_instances, &k);
	struct cw_rec_inst_stats *e;

	if (!st)
		return;
	/* the final figures travel as a snapshot, then the end marker */
	e = cw_reserve(CW_REC_INST_STATS, sizeof(*e), tgid);
	if (e) {
		e->h.instance = key;
		e->stats = *st;
		cw_submit(e);
	}
	bpf_map_delete_elem(&cw_instances, &k);
	e = cw_reserve(CW_EV_INSTANCE_END, sizeof(struct cw_hdr), tgid);
	if (!e)
		return;
	e->h.instance = key;
	cw_submit(e);
}

struct exports_ctx {
	__u32 tgid;
	__u64 inst, data, size;
};

/* bpf_loop callback: map exported object @i to its instance. */
static long export_one(__u32 i, struct exports_ctx *c)
{
	struct cw_inst_key k = { .tgid = c->tgid };

	if (i >= c->size)
		return 1;
	if (bpf_probe_read_user(&k.key, sizeof(k.key), (void *)(c->data + 8ULL * i)) || !k.key)
		return 0;
	if (bpf_map_update_elem(&cw_objs, &k, &c->inst, BPF_ANY))
		cw_drop(CW_EV_INSTANCE_NEW, CW_DROP_MAP);
	return 0;
}

/* Map every object of the vector {size, data} at @vec to instance @inst. */
static __always_inline void exports_map(__u32 tgid, __u64 inst, __u64 vec)
{
	struct exports_ctx c = { .tgid = tgid, .inst = inst };

	if (!inst || !vec || bpf_probe_read_user(&c.size, 8, (void *)vec) ||
	    bpf_probe_read_user(&c.data, 8, (void *)(vec + 8)) || !c.data)
		return;
	bpf_loop(CW_EXPORTS_MAX, export_one, &c, 0);
}

/*
 * The runtime told the host where instance @inst's linear memory is (@base)
 * or how big it is (@size): keep it, and say so when it changed.
 */
static __always_inline void memory_seen(void *ctx, __u32 tgid, __u64 inst, __u64 size, __u64 base)
{
	struct cw_inst_key k = { .tgid = tgid, .key = inst };
	struct cw_inst_stats *st = bpf_map_lookup_elem(&cw_instances, &k);
	struct cw_ev_memory *e;

	if (!st || ((!size || size == st->linear) && (!base || base == st->base)))
		return;
	if (size) {
		st->linear = size;
		cw_peak_raise(&st->linear_peak, size, bpf_ktime_get_ns());
	}
	if (base)
		st->base = base;
	e = cw_reserve(CW_EV_MEMORY, sizeof(*e), tgid);
	if (!e)
		return;
	e->h.instance = inst;
	e->base = st->base;
	e->size = st->linear;
	e->stack = bpf_get_stackid(ctx, &cw_stacks, BPF_F_USER_STACK);
	e->pad = 0;
	cw_submit(e);
}

/*
 * Frames whose function has returned without its return probe firing (a
 * longjmp over it, or a return probe attached while it ran) would stay on
 * the thread's stack for good. Frames of functions probed at their return
 * know their entry stack pointer: drop those on top whose entry is at or
 * below @sp (@dead_at_sp) or strictly below it, with the instance that was
 * running before them back in place. Both stacks grow down.
 */
static __always_inline void frames_unwind(struct cw_thread *t, __u64 sp, bool dead_at_sp)
{
	for (int i = 0; i < CW_CALL_DEPTH; i++) {
		__u32 d = t->depth;
		struct cw_frame *f;

		if (d == 0 || d > CW_CALL_DEPTH)
			return;
		f = &t->f[(d - 1) & (CW_CALL_DEPTH - 1)];
		if (!f->sp || f->sp > sp || (f->sp == sp && !dead_at_sp))
			return;
		/* a compile that never returned must not keep memory.wx quiet */
		if (f->role == CW_ROLE_MODULE_NEW && t->compiling)
			t->compiling--;
		cw_inst_enter(t, t->tgid, f->prev_inst, NULL);
		t->depth = d - 1;
	}
}

/*
 * Push a frame for spec @idx holding the entry values @v; @sp is the stack
 * pointer at a function entry probed at its return too, else 0. Returns the
 * frame, or NULL when too deep.
 */
static __always_inline struct cw_frame *frame_push(struct cw_thread *t, __u32 idx, __u32 role,
						   __u64 now, const __u64 *v, __u64 sp)
{
	struct cw_frame *f;
	__u32 d;

	if (sp)
		frames_unwind(t, sp, true);
	d = t->depth;
	if (d >= CW_CALL_DEPTH) {
		cw_drop(CW_EV_CALL, CW_DROP_MAP);
		return NULL;
	}
	f = &t->f[d & (CW_CALL_DEPTH - 1)];
	f->spec = idx;
	f->role = role;
	f->ts = now;
	f->charged = t->charged;
	f->pages = t->pages;
	f->prev_inst = t->inst;
	f->sp = sp;
	for (int i = 0; i < CW_ROLE_ARGS; i++)
		f->val[i] = v[i];
	t->depth = d + 1;
	return f;
}

/*
 * Pop the top frame if it is for @role; NULL if the stack does not match.
 * @sp: at a return probe, the stack pointer after the return (the entry's
 * plus the return address), else 0.
 */
static __always_inline struct cw_frame *frame_pop(struct cw_thread *t, __u32 role, __u64 sp)
{
	struct cw_frame *f;
	__u32 d;

	if (sp)
		frames_unwind(t, sp - 8, false);
	d = t->depth;
	if (d == 0 || d > CW_CALL_DEPTH)
		return NULL;
	f = &t->f[(d - 1) & (CW_CALL_DEPTH - 1)];
	if (f->role != role || (sp && f->sp && f->sp != sp - 8))
		return NULL;
	t->depth = d - 1;
	return f;
}

/* A call into instance t->inst ends: account it and emit CW_EV_CALL. */
static __always_inline void call_end(struct cw_thread *t, struct cw_frame *f, __u32 tgid,
				     __u64 now)
{
	struct cw_inst_key k = { .tgid = tgid, .key = f->val[0] };
	struct cw_inst_stats *st = bpf_map_lookup_elem(&cw_instances, &k);
	struct cw_ev_call *e;
	__u64 ns = now - f->ts;

	cw_inst_enter(t, tgid, f->prev_inst, t->inst == f->val[0] ? st : NULL);
	if (st) {
		__sync_fetch_and_add(&st->calls, 1);
		__sync_fetch_and_add(&st->call_ns, ns);
	}
	e = cw_reserve(CW_EV_CALL, sizeof(*e), tgid);
	if (!e)
		return;
	e->h.instance = f->val[0];
	e->ns = ns;
	e->retained = t->charged - f->charged;
	e->page_allocs = t->pages - f->pages;
	e->depth = t->depth + 1;
	e->pad = 0;
	e->name[0] = '\0';
	if (f->val[1])
		bpf_probe_read_user_str(e->name, sizeof(e->name), (void *)f->val[1]);
	cw_submit(e);
}

SEC("uprobe")
int up_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, idx = (__u32)bpf_get_attach_cookie(ctx);
	struct cw_stats *s = cw_target(tgid);
	struct cw_uspec *sp;
	struct cw_thread *t;
	struct cw_frame *f;
	__u64 now, usp, v[CW_ROLE_ARGS];

	if (!s)
		return 0;
	sp = bpf_map_lookup_elem(&cw_uspecs, &idx);
	if (!sp)
		return 0;
	if (!(s->flags & CW_F_PROFILE))
		s->flags |= CW_F_PROFILE;
	t = thread_get((__u32)id, tgid);
	if (!t)
		return 0;
	now = bpf_ktime_get_ns();
	for (int i = 0; i < CW_ROLE_ARGS; i++)
		v[i] = arg_entry(ctx, &sp->arg[i], tgid);
	usp = sp->has_ret ? PT_REGS_SP(ctx) : 0;

	switch (sp->role) {
	case CW_ROLE_MODULE_NEW:
		t->code_seq++;
		f = frame_push(t, idx, sp->role, now, v, usp);
		if (!f)
			return 0;
		/* the code is the caller's and alive now; at the return it may not be */
		f->ts = code_send(tgid, t->code_seq, v[0], v[1]);
		if (sp->has_ret)
			t->compiling++;
		f->charged = t->code_seq;
		f->pages = v[1];
		if (!sp->has_ret) {
			module_event(tgid, t->code_seq, v[2], v[1], f->ts, sp->profile);
			t->depth--;
		}
		break;
	case CW_ROLE_INSTANCE_NEW:
		if (!sp->has_ret) {
			instance_new(tgid, v[0], v[1], v[2], sp->profile, now);
			break;
		}
		goto wait;
	case CW_ROLE_MEMORY:
		if (!sp->has_ret) {
			memory_seen(ctx, tgid, t->inst, v[0], v[1]);
			break;
		}
		goto wait;
	case CW_ROLE_INSTANCE_DEL:
		instance_del(tgid, v[0]);
		break;
	case CW_ROLE_CALL:
	case CW_ROLE_CALL_ENTER:
		if (!frame_push(t, idx, CW_ROLE_CALL, now, v, usp))
			return 0;
		cw_inst_enter(t, tgid, v[0], NULL);
		t->calls++;
		break;
	case CW_ROLE_CALL_EXIT:
		f = frame_pop(t, CW_ROLE_CALL, 0);
		if (f)
			call_end(t, f, tgid, now);
		break;
	case CW_ROLE_EXPORTS:
	case CW_ROLE_HOST_CALL:
	case CW_ROLE_GROW:
wait:
		/* the rest is known at the return */
		frame_push(t, idx, sp->role, now, v, usp);
		break;
	}
	return 0;
}

SEC("uretprobe")
int ur_exit(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id, idx = (__u32)bpf_get_attach_cookie(ctx);
	struct cw_thread *t = bpf_map_lookup_elem(&cw_threads, &tid);
	struct cw_uspec *sp = bpf_map_lookup_elem(&cw_uspecs, &idx);
	__u32 role;
	struct cw_frame *f;
	__u64 now = bpf_ktime_get_ns(), ret[CW_ROLE_ARGS];

	if (!t || !sp || t->tgid != tgid)
		return 0;
	role = sp->role == CW_ROLE_CALL_ENTER ? CW_ROLE_CALL : sp->role;
	f = frame_pop(t, role, PT_REGS_SP(ctx));
	if (!f || f->spec != idx)
		return 0;
	for (int i = 0; i < CW_ROLE_ARGS; i++)
		ret[i] = arg_return(ctx, &sp->arg[i], f->val[i], tgid);

	switch (role) {
	case CW_ROLE_MODULE_NEW:
		/* entry kept: chunks sent (ts), seq (charged), code length (pages) */
		module_event(tgid, f->charged, ret[2], f->pages, f->ts, sp->profile);
		if (t->compiling)
			t->compiling--;
		break;
	case CW_ROLE_MEMORY:
		memory_seen(ctx, tgid, t->inst, ret[0], ret[1]);
		break;
	case CW_ROLE_EXPORTS:
		exports_map(tgid, ret[0], ret[1]);
		break;
	case CW_ROLE_INSTANCE_NEW:
		instance_new(tgid, ret[0], ret[1], ret[2], sp->profile, now);
		break;
	case CW_ROLE_CALL:
		call_end(t, f, tgid, now);
		break;
	case CW_ROLE_HOST_CALL: {
		struct cw_inst_key k = { .tgid = tgid, .key = t->inst };
		struct cw_inst_stats *st = bpf_map_lookup_elem(&cw_instances, &k);
		struct cw_ev_host_call *e;

		if (st) {
			__sync_fetch_and_add(&st->host_calls, 1);
			__sync_fetch_and_add(&st->host_ns, now - f->ts);
		}
		e = cw_reserve(CW_EV_HOST_CALL, sizeof(*e), tgid);
		if (!e)
			break;
		e->h.instance = t->inst;
		e->func = ret[0];
		e->ns = now - f->ts;
		e->guest_ptr = ret[1];
		e->guest_len = ret[2];
		/* fewer than two arguments: there is no pointer/length pair to read */
		if (sp->arg[3].base != CW_ARG_NONE && ret[3] < 2)
			e->guest_ptr = e->guest_len = 0;
		/* the stack costs a walk: only for what a rule will look at */
		e->stack = -1;
		e->pad = 0;
		if (e->ns > cfg_host_slow_ns ||
		    (st && st->linear && e->guest_len && e->guest_ptr + e->guest_len > st->linear))
			e->stack = bpf_get_stackid(ctx, &cw_stacks, BPF_F_USER_STACK);
		cw_submit(e);
		break;
	}
	case CW_ROLE_GROW: {
		struct cw_inst_key k = { .tgid = tgid, .key = t->inst };
		struct cw_inst_stats *st = bpf_map_lookup_elem(&cw_instances, &k);
		struct cw_ev_grow *e;
		__u64 linear = 0;

		/* old pages, as the runtime answered (-1 in 32 bits: it failed) */
		if (ret[1] != 0xffffffffULL && ret[1] != ~0ULL)
			linear = (ret[1] + ret[0]) * CW_WASM_PAGE;
		if (st && linear) {
			st->linear = linear;
			__sync_fetch_and_add(&st->grows, 1);
			cw_peak_raise(&st->linear_peak, linear, now);
		}
		e = cw_reserve(CW_EV_GROW, sizeof(*e), tgid);
		if (!e)
			break;
		e->h.instance = t->inst;
		e->delta = ret[0];
		e->old_pages = ret[1];
		e->linear = linear;
		cw_submit(e);
		break;
	}
	}
	return 0;
}
