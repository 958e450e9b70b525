// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Go programs: goroutines by creation site, and C allocations made through
 * cgo by the Go code that asked for them (cwatch.h explains the keys).
 *
 * Only entry probes and probes in the middle of Go functions: a return probe
 * rewrites the return address on the goroutine stack, which Go moves and
 * unwinds itself, and crashes the program. The Go internal ABI (1.17+ on
 * amd64) passes the first integer argument and the first result in RAX.
 */
#include "common.bpf.h"

/* Go's ABIInternal: first argument and first result, second argument */
#if defined(__TARGET_ARCH_x86)
#define GO_ARG1(x) ((x)->ax)
#define GO_ARG2(x) ((x)->bx)
#elif defined(__TARGET_ARCH_arm64)
#define GO_ARG1(x) ((x)->regs[0])
#define GO_ARG2(x) ((x)->regs[1])
#endif

/* Goroutine creation sites (cw_site_key, .instance = the go statement's PC). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cw_site_key);
	__type(value, struct cw_gsite);
	__uint(max_entries, 8192);
} cw_gsites SEC(".maps");

/*
 * A goroutine (tgid, g) -> its site and token. Allocated as used: programs
 * hold 100k+. An entry stays once its goroutine ended (token 0), until the g
 * is reused: the runtime never frees a g, so entries are bounded by its own.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cw_inst_key);
	__type(value, struct cw_goroutine);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cw_goroutines SEC(".maps");

/* Per Go target counters; key tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct cw_go_stats);
	__uint(max_entries, 4096);
} cw_go SEC(".maps");

/* Where live cgo allocations were made: site -> {bytes live, allocations live}. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cw_site_key);
	__type(value, struct cw_site);
	__uint(max_entries, 4096);
} cw_cgosites SEC(".maps");

/* A live cgo allocation (tgid, address) -> its site and size. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cw_inst_key);
	__type(value, struct cw_cgo_alloc);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cw_cgo_allocs SEC(".maps");

static __always_inline struct cw_go_stats *go_stats(__u32 tgid)
{
	struct cw_go_stats *g = bpf_map_lookup_elem(&cw_go, &tgid);
	struct cw_go_stats zero = {};

	if (g)
		return g;
	bpf_map_update_elem(&cw_go, &tgid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&cw_go, &tgid);
}

/*
 * Goroutine @token, on g entry @e, ended: counted once, by whichever of the
 * g's next creation, the sweep and goexit0 takes the token first. The site is
 * read before the exchange: only a creation on this g rewrites it, and only
 * once the token is no longer @token. A creation passes its own site (@nk,
 * @nsite): a g is mostly reused by the same go statement, and then the
 * lookup is spared.
 */
static __always_inline void go_ended(struct cw_goroutine *e, __u64 token, struct cw_go_stats *st,
				     const struct cw_site_key *nk, struct cw_gsite *nsite)
{
	struct cw_site_key k = e->site;
	struct cw_gsite *site;

	if (!token || __sync_val_compare_and_swap(&e->token, token, 0) != token)
		return;
	if (nsite && k.instance == nk->instance && k.stack == nk->stack)
		site = nsite;	/* same tgid: the key is the g's */
	else
		site = bpf_map_lookup_elem(&cw_gsites, &k);
	if (site)
		__sync_fetch_and_add(&site->alive, -1);
	if (st)
		__sync_fetch_and_add(&st->exited, 1);
}

/*
 * In newproc's systemstack closure, after CALL runtime.newproc1: the new g,
 * whose gopc (the go statement's PC) and startpc (its function) are read at
 * the offsets of that Go version, passed in the attach cookie (gopc |
 * startpc << 16). The probe sits on the CALL runtime.runqput(pp, gp, true)
 * that follows, with the g in the second argument (CW_GO_COOKIE_ARG2): the
 * kernel emulates a CALL, where the instruction right after newproc1's
 * would be stepped out of line (a second trap, a debug exception, which
 * costs more than the first here); without that CALL, right after
 * newproc1's, with the g its result. The frame walk goes from the system
 * stack back through newproc into the creator: the go statement's callers.
 * A g already known here is being reused: its last goroutine ended.
 */
SEC("uprobe")
int go_newproc1_ret(struct pt_regs *ctx)
{
	__u32 tgid = cw_current_tgid();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	/* both loaded, then chosen: ctx may not be offset by a variable */
	__u64 arg1 = GO_ARG1(ctx), arg2 = GO_ARG2(ctx), gp;
	struct cw_gsite *site, one = { .alive = 1, .created = 1 };
	struct cw_goroutine v = { .site.tgid = tgid }, *e;
	struct cw_site_key *k = &v.site;
	struct cw_inst_key g = { .tgid = tgid };
	struct cw_go_stats *st;

	barrier_var(arg1);
	barrier_var(arg2);
	gp = cookie & CW_GO_COOKIE_ARG2 ? arg2 : arg1;
	g.key = gp;

	if (!gp || !cw_target(tgid))
		return 0;
	if (bpf_probe_read_user(&k->instance, sizeof(k->instance), (void *)(gp + (cookie & 0xffff))) ||
	    bpf_probe_read_user(&one.start, sizeof(one.start),
				(void *)(gp + ((cookie >> 16) & 0xffff))))
		return 0;
	st = go_stats(tgid);
	if (!st) {
		cw_drop(CW_REC_GO_STATS, CW_DROP_MAP);
		return 0;
	}
	v.token = __sync_fetch_and_add(&st->created, 1) + 1;
	k->stack = cw_site_stack(ctx);
	site = bpf_map_lookup_elem(&cw_gsites, k);
	if (!site && bpf_map_update_elem(&cw_gsites, k, &one, BPF_NOEXIST)) {
		/* another thread made it meanwhile, or the map is full */
		site = bpf_map_lookup_elem(&cw_gsites, k);
		if (!site) {
			cw_drop(CW_REC_GO_SITE, CW_DROP_MAP);
			return 0;
		}
	}
	if (site) {
		__sync_fetch_and_add(&site->alive, 1);
		__sync_fetch_and_add(&site->created, 1);
		site->start = one.start;
	}
	e = bpf_map_lookup_elem(&cw_goroutines, &g);
	if (e) {
		go_ended(e, e->token, st, k, site);
		e->site = v.site;
		/* the site before the token: a sweep holding the new token reads this site */
		__sync_lock_test_and_set(&e->token, v.token);
	} else if (bpf_map_update_elem(&cw_goroutines, &g, &v, BPF_NOEXIST)) {
		cw_drop(CW_REC_GO_STATS, CW_DROP_MAP);
	}
	return 0;
}

/*
 * User space found goroutine @a->token's g dead in the process (golang.c's
 * sweep), and the g not reused: it ended. Run by BPF_PROG_TEST_RUN.
 */
SEC("syscall")
int go_swept(struct cw_go_end *a)
{
	struct cw_inst_key g = { .tgid = a->tgid, .key = a->g };
	__u32 tgid = a->tgid;
	__u64 token = a->token;
	struct cw_goroutine *e = bpf_map_lookup_elem(&cw_goroutines, &g);

	if (e)
		go_ended(e, token, bpf_map_lookup_elem(&cw_go, &tgid), NULL, NULL);
	return 0;
}

/* _Gdead, with the _Gscan bit cleared */
#define GO_STATUS_DEAD 6
#define GO_STATUS_SCAN 0x1000

struct go_exit_sweep {
	__u64 allgs;		/* the runtime's array of g pointers */
	__u32 tgid;
	__s32 g_status;
};

/* At exit_group: goroutine entry @e, on g @gp, ended if the g is dead. */
static __always_inline void go_exit_check(struct go_exit_sweep *s, __u64 gp, struct cw_goroutine *e)
{
	__u64 token = e->token;
	__u32 status;

	if (!token || bpf_probe_read_user(&status, sizeof(status), (void *)(gp + s->g_status)) ||
	    (status & ~GO_STATUS_SCAN) != GO_STATUS_DEAD)
		return;
	go_ended(e, token, bpf_map_lookup_elem(&cw_go, &s->tgid), NULL, NULL);
}

/* The g at index @i of runtime.allgs. */
static long go_exit_allg(__u32 i, struct go_exit_sweep *s)
{
	struct cw_inst_key k = { .tgid = s->tgid };
	struct cw_goroutine *e;

	if (bpf_probe_read_user(&k.key, sizeof(k.key), (void *)(s->allgs + (__u64)i * 8)) || !k.key)
		return 0;
	e = bpf_map_lookup_elem(&cw_goroutines, &k);
	if (e)
		go_exit_check(s, k.key, e);
	return 0;
}

/* Each entry of cw_goroutines (where runtime.allgs is not known). */
static long go_exit_entry(struct bpf_map *map, struct cw_inst_key *k, struct cw_goroutine *e,
			  struct go_exit_sweep *s)
{
	if (k->tgid == s->tgid)
		go_exit_check(s, k->key, e);
	return 0;
}

/*
 * A Go target calls exit_group: the last sweep, from the process itself while
 * its memory is still there (user space's sweep runs once an interval), so
 * that the goroutines that ended since are not left alive in the final
 * figures. It goes through the process's own g's (runtime.allgs): about
 * 0.5 us a g here, 50 ms for 100,000. Where allgs is not known (a
 * position-independent binary) it goes through the whole map, whose million
 * buckets take about 13 ms however few goroutines there are.
 */
SEC("tracepoint/syscalls/sys_enter_exit_group")
int go_exit_group(void *ctx)
{
	struct go_exit_sweep s = { .tgid = cw_current_tgid() };
	const struct cw_go_layout *l = bpf_map_lookup_elem(&cw_go_layout, &s.tgid);
	__u64 slice[2];

	if (!l || !l->g_status)
		return 0;
	s.g_status = l->g_status;
	if (!l->allgs) {
		bpf_for_each_map_elem(&cw_goroutines, go_exit_entry, &s, 0);
		return 0;
	}
	if (bpf_probe_read_user(slice, sizeof(slice), (void *)l->allgs))
		return 0;
	s.allgs = slice[0];
	bpf_loop(slice[1] < (1U << 22) ? (__u32)slice[1] : (1U << 22), go_exit_allg, &s, 0);
	return 0;
}

/*
 * runtime.goexit0(gp *g): a goroutine ended; probed only where syscall
 * programs, and so the sweep, are missing. The probe may sit on the stack
 * check's branch rather than the entry (golang.c: emulated, not stepped);
 * goexit0 runs on the system stack, so that branch runs once a call.
 */
SEC("uprobe")
int go_goexit(struct pt_regs *ctx)
{
	__u32 tgid = cw_current_tgid();
	struct cw_inst_key g = { .tgid = tgid, .key = GO_ARG1(ctx) };
	struct cw_goroutine *e = bpf_map_lookup_elem(&cw_goroutines, &g);
	struct cw_go_stats *st = bpf_map_lookup_elem(&cw_go, &tgid);

	if (!st)
		return 0;
	if (e)
		go_ended(e, e->token, st, NULL, NULL);
	else
		__sync_fetch_and_add(&st->unknown_exits, 1);
	return 0;
}

/*
 * <pkg>._cgo_cmalloc(n uint64) (p unsafe.Pointer): C.CString, C.CBytes and
 * C.malloc allocate through it, and it calls C's malloc through
 * runtime.cgocall. The probe is after that CALL, on the branch of the nil
 * check that follows where golang.c finds it: one trap an allocation, and
 * none on the process's other mallocs. The function is
 * go:cgo_unsafe_args, so ABI0: with the frame pointer it set up, its return
 * address, n and p are at RBP+8, +16 and +24, and the frame walk starts in
 * its caller (the Go code that asked for the memory, the site).
 */
SEC("uprobe")
int go_cgo_cmalloc_ret(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	__u32 tgid = cw_current_tgid();
	struct { __u64 ret, size, p; } f;
	struct cw_inst_key a = { .tgid = tgid };
	struct cw_cgo_alloc v = {};
	struct cw_go_stats *st;

	if (!cw_target(tgid) ||
	    bpf_probe_read_user(&f, sizeof(f), (void *)(PT_REGS_FP(ctx) + 8)) || !f.p)
		return 0;
	a.key = f.p;
	v.site.tgid = tgid;
	v.site.instance = f.ret;
	v.site.stack = cw_site_stack(ctx);
	v.size = f.size;
	if (cw_site_add(&cw_cgosites, &v.site, v.size, 1, CW_REC_CGO_SITE))
		return 0;
	if (bpf_map_update_elem(&cw_cgo_allocs, &a, &v, BPF_ANY))
		cw_drop(CW_REC_CGO_SITE, CW_DROP_MAP);
	st = go_stats(tgid);
	if (st) {
		__sync_fetch_and_add(&st->cgo_allocs, 1);
		__sync_fetch_and_add(&st->cgo_bytes, (__s64)v.size);
	}
#endif
	return 0;
}

/* libc free(p): a cgo allocation ends if p is one. */
SEC("uprobe")
int go_free(struct pt_regs *ctx)
{
	__u32 tgid = cw_current_tgid();
	struct cw_inst_key a = { .tgid = tgid, .key = PT_REGS_PARM1(ctx) };
	struct cw_cgo_alloc *v;
	struct cw_site *site;
	struct cw_go_stats *st;

	if (!a.key)
		return 0;
	v = bpf_map_lookup_elem(&cw_cgo_allocs, &a);
	if (!v)
		return 0;
	site = bpf_map_lookup_elem(&cw_cgosites, &v->site);
	if (site) {
		__sync_fetch_and_add(&site->bytes, -v->size);
		__sync_fetch_and_add(&site->samples, -1);
	}
	st = bpf_map_lookup_elem(&cw_go, &tgid);
	if (st) {
		__sync_fetch_and_add(&st->cgo_frees, 1);
		__sync_fetch_and_add(&st->cgo_bytes, -(__s64)v->size);
	}
	bpf_map_delete_elem(&cw_cgo_allocs, &a);
	return 0;
}
