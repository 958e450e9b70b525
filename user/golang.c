// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Go programs. Where the probes go (bpf/golang.bpf.c says what each does):
 *
 *   after CALL runtime.newproc1 in runtime.newproc.func1, on the CALL
 *                             runtime.runqput that follows: the new g (RBX), its
 *                             go statement and function (g.gopc, g.startpc), the
 *                             creating stack (the walk crosses systemstack)
 *   runtime.goexit0           entry (its stack check's branch): the g that ended;
 *                             only without syscall programs (golang__sweep)
 *   after CALL runtime.cgocall in <pkg>._cgo_cmalloc (the nil check's branch):
 *                             the C memory cgo got (C.CString, C.CBytes, C.malloc),
 *                             its size and caller; for this pid only
 *   free (libc)               entry (its NULL test's branch): for this pid only
 *
 * Where it can, a probe sits on an instruction the kernel emulates (a CALL,
 * a branch) rather than one it steps out of line (emulated_site). Each CALL
 * is found by decoding the function's bytes: the first E8 rel32 whose target
 * is the callee. Functions come from .symtab or, stripped, .gopclntab.
 *
 * Goroutine ends need no probe: a creation on a g that had a goroutine ends
 * that one (the runtime reuses only dead g's), golang__sweep finds the g's
 * that died and were not reused, and a Go target's exit_group does the same
 * in BPF for the final figures (bpf/golang.bpf.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "elfsym.h"
#include "golang.h"
#include "goruntime_offsets.h"
#include "gosym.h"
#include "runtime.h"
#include "util.h"
#include "x86code.h"

/* A Go binary, probed once for every process that runs it. */
struct gobin {
	dev_t dev;
	ino_t ino;
	bool not_go;		/* not a Go program: remembered so it is read once */
	struct gosym *gs;	/* its .gopclntab, NULL if unreadable */
	char version[16];
	int minor;		/* 1.<minor>, 0 = unknown */
	const struct go_offsets *off;	/* the g layout of that version */
	__u64 allgs;		/* link-time address of runtime.allgs, 0 = not found */
	__s32 tls_g;		/* where g is from the thread pointer */
	bool pie;		/* position-independent: addresses need the load bias */
	bool goroutines;	/* goroutine probes attached */
	__u64 cmalloc;		/* file offset after _cgo_cmalloc's cgocall, 0 = no cgo */
	int refs;		/* live targets running it: its probes go with the last */
	struct bpf_link *link[4];	/* newproc1 return site, goexit0 */
	int nlink;
};

struct gotarget {
	pid_t pid;
	int bin;		/* index in golang.bin */
	__u32 flags;		/* CW_GO_* */
	struct bpf_link *cgo[2];	/* its own cgo probes: _cgo_cmalloc's result, libc's free */
};

struct golang {
	struct probes *probes;
	struct gobin *bin;
	size_t nbin;
	struct gotarget *t;
	size_t nt;
	bool sweep;		/* goroutine ends by sweeping (syscall programs), not goexit0 */
	__u64 next_sweep;	/* CLOCK_MONOTONIC ns: not before */
};

struct golang *golang__new(struct probes *p)
{
	struct golang *g = calloc(1, sizeof(*g));
	struct cw_go_end none = {};

	if (g) {
		g->probes = p;
		/* nothing at tgid 0: it runs if the kernel has syscall programs */
		g->sweep = !probes__run(p, "go_swept", &none, sizeof(none));
	}
	return g;
}

void golang__free(struct golang *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nbin; i++)
		gosym__close(g->bin[i].gs);
	free(g->bin);
	free(g->t);
	free(g);
}

bool golang__is_system(const char *name)
{
	/* runtime.isSystemGoroutine: the runtime's functions, but for runtime.main */
	return !strncmp(name, "runtime.", 8) && strcmp(name, "runtime.main") != 0;
}

/* "go1.22.4" -> 22; 0 if it does not read as Go 1.x. */
static int go_minor(const char *v)
{
	int major, minor;

	if (sscanf(v, "go%d.%d", &major, &minor) != 2 || major != 1)
		return 0;
	return minor;
}

/* Up to @n bytes of @path at file offset @off; how many were read (0 on errors). */
static size_t file_bytes(const char *path, __u64 off, unsigned char *code, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = fd < 0 ? -1 : pread(fd, code, n, (off_t)off);

	if (fd >= 0)
		close(fd);
	return got > 0 ? (size_t)got : 0;
}

/*
 * The file offset right after the first CALL @callee in function @fn (file
 * offsets), or 0. The callee either precedes @fn or follows it closely.
 */
static __u64 call_return_site(const char *path, __u64 fn, __u64 callee)
{
	unsigned char code[1024];

	return x86__call_return(code, file_bytes(path, fn, code, sizeof(code)), fn, callee);
}

/*
 * Where a probe meant for file offset @off of @path goes so that the kernel
 * emulates the instruction under it rather than stepping it out of line
 * (x86code.c says why). Only for instructions that run once a call: Go's
 * stack check runs again after the stack grew, but not on the system stack.
 */
static __u64 emulated_site(const char *path, __u64 off)
{
	unsigned char code[16];

	return off + x86__flags_then_branch(code, file_bytes(path, off, code, sizeof(code)));
}

/* Attach the goroutine probes to binary @path; 0 or -errno (said). */
static int attach_goroutines(struct golang *g, const char *path, struct gobin *b)
{
	__u64 func1, newproc1, runqput, goexit0, site, runq = 0;
	__u64 cookie = (__u64)b->off->g_gopc | (__u64)b->off->g_startpc << 16;
	int err;

	if (elfsym__offset(path, "runtime.newproc.func1", &func1) ||
	    elfsym__offset(path, "runtime.newproc1", &newproc1) ||
	    elfsym__offset(path, "runtime.goexit0", &goexit0)) {
		cw_warn("%s (%s): runtime.newproc.func1, newproc1 or goexit0 not found: no goroutine "
			"figures", path, b->version);
		return -ENOENT;
	}
	site = call_return_site(path, func1, newproc1);
	if (!site) {
		cw_warn("%s (%s): no call to runtime.newproc1 in runtime.newproc.func1: no "
			"goroutine figures", path, b->version);
		return -ENOENT;
	}
	/* the CALL runtime.runqput(pp, newg, true) right after: emulated, not stepped */
	if (!elfsym__offset(path, "runtime.runqput", &runqput))
		runq = call_return_site(path, func1, runqput);
	if (runq > site && runq - 5 - site <= 64) {
		site = runq - 5;
		cookie |= CW_GO_COOKIE_ARG2;
	}
	goexit0 = emulated_site(path, goexit0);
	cw_debug("%s (%s): goroutine probes at file offsets 0x%llx (%s) and 0x%llx (goexit0)",
		 path, b->version, (unsigned long long)site,
		 cookie & CW_GO_COOKIE_ARG2 ? "CALL runqput" : "after newproc1",
		 (unsigned long long)goexit0);
	b->nlink = 0;
	err = probes__attach_link(g->probes, "go_newproc1_ret", -1, path, site, cookie, false,
				  &b->link[b->nlink++]);
	if (!err && !g->sweep)
		err = probes__attach_link(g->probes, "go_goexit", -1, path, goexit0, 0, false,
					  &b->link[b->nlink++]);
	if (err)
		cw_warn("%s: attaching the goroutine probes failed: %s", path, strerror(-err));
	return err;
}

/* Is @path a shared object or position-independent executable (ET_DYN)? */
static bool elf_is_dyn(const char *path)
{
	unsigned char h[18];

	/* e_type, little-endian: ET_DYN */
	return file_bytes(path, 0, h, sizeof(h)) == sizeof(h) && h[16] == 3;
}

/*
 * Where runtime.allgs is, from the code of runtime.allgadd, so that stripped
 * binaries work too: it loads the slice's three words (allgs, +8, +16) with
 * RIP-relative MOVs (REX.W 8B /r, mod 00, r/m 101). 0 if not found.
 */
static __u64 find_allgs(const struct gosym *gs)
{
	unsigned char code[512];
	uint64_t entry, size;
	__u64 t[32];
	int nt = 0;

	if (!gosym__lookup(gs, "runtime.allgadd", &entry, &size))
		return 0;
	if (size > sizeof(code))
		size = sizeof(code);
	if (gosym__code(gs, entry, code, size))
		return 0;
	for (uint64_t i = 0; i + 7 <= size && nt < 32; i++) {
		__s32 disp;

		if ((code[i] != 0x48 && code[i] != 0x4c) || code[i + 1] != 0x8b ||
		    (code[i + 2] & 0xc7) != 0x05)
			continue;
		memcpy(&disp, &code[i + 3], sizeof(disp));
		t[nt++] = entry + i + 7 + (__u64)(__s64)disp;
	}
	for (int a = 0; a < nt; a++) {
		int found = 0;

		for (int b = 0; b < nt; b++)
			found |= (t[b] == t[a] + 8) | (t[b] == t[a] + 16) << 1;
		if (found == 3)
			return t[a];
	}
	return 0;
}

/*
 * Where g is in thread-local storage, from the thread pointer: -8 when Go
 * links the program itself; with external linking (cgo) the ELF linker
 * decides, so read it from runtime.cgocallback, which loads g from there:
 * MOV %fs:disp32, reg (64, REX.W, 8B, mod 00 r/m 100, SIB 25).
 */
static __s32 find_tls_g(const struct gosym *gs)
{
	unsigned char code[512];
	uint64_t entry, size;

	if (!gs || !gosym__lookup(gs, "runtime.cgocallback", &entry, &size))
		return -8;
	if (size > sizeof(code))
		size = sizeof(code);
	if (gosym__code(gs, entry, code, size))
		return -8;
	for (uint64_t i = 0; i + 9 <= size; i++) {
		__s32 disp;

		if (code[i] != 0x64 || (code[i + 1] & 0xf8) != 0x48 || code[i + 2] != 0x8b ||
		    (code[i + 3] & 0xc7) != 0x04 || code[i + 4] != 0x25)
			continue;
		memcpy(&disp, &code[i + 5], sizeof(disp));
		if (disp < 0 && disp > -4096)
			return disp;
	}
	return -8;
}

/* Read @len bytes at @addr of @pid; 0 or -1. */
static int peek(int mem, __u64 addr, void *buf, size_t len)
{
	return pread(mem, buf, len, (off_t)addr) == (ssize_t)len ? 0 : -1;
}

/* The Go target @pid, or NULL. */
static struct gotarget *target_of(struct golang *g, pid_t pid)
{
	for (size_t i = 0; i < g->nt; i++)
		if (g->t[i].pid == pid)
			return &g->t[i];
	return NULL;
}

/* A g's atomicstatus: no goroutine on it (_Gidle or _Gdead, the _Gscan bit aside)? */
static bool status_dead(__u32 status)
{
	status &= ~0x1000u;
	return status == 0 || status == 6;
}

/*
 * Goroutines alive before the probes were in place: walk runtime.allgs in
 * the process and charge each live g to its go statement (g.gopc), as a site
 * with no stack (CW_GO_STACK_SEEDED). Goroutines made since are the probes'.
 * Returns how many were seeded, or -errno.
 */
static int seed(struct golang *g, pid_t pid, const struct gobin *b)
{
	const struct go_offsets *o = b->off;
	__u64 slice[2], gp;
	char path[64];
	int mem, n = 0;

	if (!b->allgs || b->pie)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (mem < 0)
		return -errno;
	if (peek(mem, b->allgs, slice, sizeof(slice)) || slice[1] > (1u << 24)) {
		close(mem);
		return -EIO;
	}
	for (__u64 i = 0; i < slice[1]; i++) {
		struct cw_inst_key gk = { .tgid = (__u32)pid };
		/* tokens with the top bit: the probes' count up from 1 */
		struct cw_goroutine v = {
			.site = { .tgid = (__u32)pid, .stack = CW_GO_STACK_SEEDED },
			.token = (1ULL << 63) | i,
		};
		struct cw_site_key *k = &v.site;
		struct cw_gsite site = {};
		__u32 status;

		if (peek(mem, slice[0] + i * 8, &gp, sizeof(gp)) || !gp ||
		    peek(mem, gp + (__u64)o->g_atomicstatus, &status, sizeof(status)) ||
		    status_dead(status))
			continue;
		if (peek(mem, gp + (__u64)o->g_gopc, &k->instance, sizeof(k->instance)) ||
		    peek(mem, gp + (__u64)o->g_startpc, &site.start, sizeof(site.start)))
			continue;
		gk.key = gp;
		/* made after attach: the probes have it already */
		if (probes__map_update(g->probes, "cw_goroutines", &gk, sizeof(gk), &v, sizeof(v),
				       BPF_NOEXIST))
			continue;
		if (!probes__map_lookup(g->probes, "cw_gsites", k, sizeof(*k), &site,
					sizeof(site)))
			site.alive++;
		else
			site.alive = 1;
		probes__map_update(g->probes, "cw_gsites", k, sizeof(*k), &site, sizeof(site), 0);
		n++;
	}
	close(mem);
	return n;
}

#define SWEEP_BATCH 256

/* One process's g's whose status is read together. */
struct sweep {
	struct golang *g;
	pid_t pid;
	size_t n;
	struct cw_go_end e[SWEEP_BATCH];
	__u32 status[SWEEP_BATCH];
	struct iovec local[SWEEP_BATCH], remote[SWEEP_BATCH];
};

/* Read the batch's statuses in one process_vm_readv each run of readable g's; count the dead. */
static void sweep_flush(struct sweep *s)
{
	size_t at = 0;

	while (at < s->n) {
		ssize_t got = process_vm_readv(s->pid, s->local + at, s->n - at, s->remote + at,
					       s->n - at, 0);
		size_t k = got > 0 ? (size_t)got / sizeof(__u32) : 0;

		if (got < 0 && errno == ESRCH)
			break;	/* gone: its final figures came from its exit_group */
		for (size_t i = at; i < at + k; i++)
			if (status_dead(s->status[i]))
				probes__run(s->g->probes, "go_swept", &s->e[i], sizeof(s->e[i]));
		at += k + 1;	/* the read stops at a g it cannot read: past it */
	}
	s->n = 0;
}

void golang__sweep(struct golang *g)
{
	static struct sweep s;
	struct cw_inst_key *keys;
	struct cw_goroutine *vals;
	struct gotarget *t = NULL;
	__u64 start = util__mono_ns(), end;
	ssize_t n;

	if (!g->sweep || !g->nt || start < g->next_sweep)
		return;
	n = probes__map_dump(g->probes, "cw_goroutines", sizeof(*keys), sizeof(*vals),
			     (void **)&keys, (void **)&vals);
	s.g = g;
	s.n = 0;
	for (ssize_t i = 0; i < n; i++) {
		pid_t pid = (pid_t)keys[i].tgid;

		if (!vals[i].token)
			continue;	/* counted ended */
		if (!t || t->pid != pid)
			t = target_of(g, pid);
		if (!t || !(t->flags & CW_GO_GOROUTINES))
			continue;
		if (s.n && (s.pid != pid || s.n == SWEEP_BATCH))
			sweep_flush(&s);
		s.pid = pid;
		s.e[s.n] = (struct cw_go_end){ .tgid = keys[i].tgid, .g = keys[i].key,
					       .token = vals[i].token };
		s.local[s.n] = (struct iovec){ &s.status[s.n], sizeof(s.status[0]) };
		s.remote[s.n] = (struct iovec){
			(void *)(uintptr_t)(keys[i].key + (__u64)g->bin[t->bin].off->g_atomicstatus),
			sizeof(s.status[0]) };
		s.n++;
	}
	sweep_flush(&s);
	free(keys);
	free(vals);
	/* at most a twentieth of a CPU, however many goroutines */
	end = util__mono_ns();
	g->next_sweep = end + 19 * (end - start);
	cw_debug("goroutine sweep: %zd g's in %.1f ms", n, (double)(end - start) / 1e6);
}

/* Attach binary @b's probes (again, once its last target had taken them away); @path: where. */
static void gobin_probe(struct golang *g, const char *path, struct gobin *b)
{
	__u64 cmalloc, cgocall;

	b->goroutines = !attach_goroutines(g, path, b);
	/* cgo's probes are per target (attach_cgo): a WASM host needs none */
	b->cmalloc = 0;
	if (!elfsym__offset(path, "*._cgo_cmalloc", &cmalloc) &&
	    !elfsym__offset(path, "runtime.cgocall", &cgocall)) {
		b->cmalloc = call_return_site(path, cmalloc, cgocall);
		if (b->cmalloc)
			b->cmalloc = emulated_site(path, b->cmalloc);	/* the nil check's branch */
		else
			cw_warn("%s (%s): no call to runtime.cgocall in _cgo_cmalloc: no cgo "
				"figures", path, b->version);
	}
}

/* The binary entry for @path, probed (goroutines, cgo) the first time; NULL if not Go. */
static struct gobin *gobin_get(struct golang *g, const char *path)
{
	struct gobin *b, *nb;
	struct gosym *gs;
	struct stat st;

	/* asked again every interval for targets no profile settles: read each file once */
	if (stat(path, &st))
		return NULL;
	for (size_t i = 0; i < g->nbin; i++)
		if (g->bin[i].dev == st.st_dev && g->bin[i].ino == st.st_ino)
			return g->bin[i].not_go ? NULL : &g->bin[i];
	nb = realloc(g->bin, (g->nbin + 1) * sizeof(*nb));
	if (!nb)
		return NULL;
	g->bin = nb;
	b = &g->bin[g->nbin++];
	memset(b, 0, sizeof(*b));
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	if (!elfsym__is_go(path)) {
		b->not_go = true;
		return NULL;
	}
	gs = gosym__open(path);
	b->gs = gs;
	if (gs)
		util__strlcpy(b->version, gosym__version(gs), sizeof(b->version));
	b->minor = go_minor(b->version);
	b->off = goruntime_offsets_find(b->version);
	b->pie = elf_is_dyn(path);
	if (gs)
		b->allgs = find_allgs(gs);
	b->tls_g = find_tls_g(gs);
	if (b->minor < GOLANG_MIN_MINOR || b->minor > GOLANG_MAX_MINOR || !b->off) {
		cw_warn("%s: Go version %s is not one cwatch knows (go1.%d to go1.%d): no "
			"goroutine figures", path, b->version[0] ? b->version : "unknown",
			GOLANG_MIN_MINOR, GOLANG_MAX_MINOR);
		return b;
	}
	gobin_probe(g, path, b);
	return b;
}

/* _cgo_cmalloc's result and libc's free entry, for @pid alone; 0 or -errno. */
static int attach_cgo(struct golang *g, struct gotarget *t, pid_t pid, const char *exe,
		      const char *path, const struct gobin *b)
{
	char libc[4096];
	__u64 free_off;
	int err;

	err = runtime__binary_path("libc.so.6", pid, exe, libc, sizeof(libc));
	if (!err)
		err = elfsym__offset(libc, "free", &free_off);
	if (!err)
		err = probes__attach_link(g->probes, "go_cgo_cmalloc_ret", pid, path, b->cmalloc,
					  0, false, &t->cgo[0]);
	if (!err)
		err = probes__attach_link(g->probes, "go_free", pid, libc,
					  emulated_site(libc, free_off), 0, false, &t->cgo[1]);
	return err;
}

int golang__attach(struct golang *g, pid_t pid, const char *exe, bool cgo)
{
	struct cw_go_stats zero = {};
	struct gotarget *t = NULL, *nt;
	char path[4096];
	struct gobin *b;
	__u32 tgid = (__u32)pid;

	if (exe)
		util__strlcpy(path, exe, sizeof(path));
	else
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	b = gobin_get(g, path);
	if (!b)
		return 0;
	t = target_of(g, pid);
	if (t && t->bin == (int)(b - g->bin))
		return t->flags & CW_GO_UNSUPPORTED ? -ENOTSUP : 1;	/* asked again: as before */
	if (t) {
		golang__forget(g, pid);	/* exec'd another program: its goroutines are gone */
		t = NULL;
	}
	nt = realloc(g->t, (g->nt + 1) * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	g->t = nt;
	t = &g->t[g->nt++];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->bin = (int)(b - g->bin);
	/* the first target since the last one went: the binary's probes again */
	if (!b->refs++ && !b->nlink && b->off && b->minor >= GOLANG_MIN_MINOR &&
	    b->minor <= GOLANG_MAX_MINOR)
		gobin_probe(g, path, b);
	if (!b->goroutines) {
		t->flags = CW_GO_UNSUPPORTED;
		return -ENOTSUP;
	}
	t->flags = CW_GO_GOROUTINES;
	/* exits of goroutines count only for targets with an entry */
	probes__map_update(g->probes, "cw_go", &tgid, sizeof(tgid), &zero, sizeof(zero), 0);
	{
		/* stack copies (--heap) taken in C code reach the goroutine's frames */
		struct cw_go_layout l = {
			.tls_g = b->tls_g, .g_m = b->off->g_m, .m_curg = b->off->m_curg,
			.sched_bp = b->off->g_sched + b->off->gobuf_bp,
			.g_status = b->off->g_atomicstatus,
			.allgs = b->pie ? 0 : b->allgs,	/* a PIE's would need its load bias */
		};

		probes__map_update(g->probes, "cw_go_layout", &tgid, sizeof(tgid), &l, sizeof(l),
				   0);
	}
	if (!exe) {
		int n = seed(g, pid, b);

		if (n >= 0)
			t->flags |= CW_GO_SEEDED;
		else
			cw_warn("process %d: goroutines that ran before cwatch attached are not "
				"counted (%s)", pid, n == -ENOENT ? "runtime.allgs not found" :
				strerror(-n));
		cw_debug("process %d: %d goroutines were running at attach", pid, n);
	}
	if (cgo && b->cmalloc) {
		int err = attach_cgo(g, t, pid, exe, path, b);

		if (err)
			cw_warn("process %d: no cgo allocation figures: attaching the cgo probes "
				"failed: %s", pid, strerror(-err));
		else
			t->flags |= CW_GO_CGO;
	}
	return 1;
}

/*
 * Resident and mapped read-write bytes of the Go heap's arenas. The runtime
 * reserves them PROT_NONE, 64 MiB at a time and 64 MiB aligned, at hints far
 * below the mmap area (0x00c0 << 32 up to Go 1.25, a random base since),
 * then maps parts read-write as the heap grows: a run of adjacent anonymous
 * mappings, read-write or inaccessible, starting on a 64 MiB boundary below
 * 0x7000'0000'0000. glibc's malloc arenas look alike but live in the mmap area.
 */
#define GO_ARENA (64ULL << 20)
#define GO_MMAP_AREA 0x700000000000ULL

static bool heap_smaps(pid_t pid, __u64 *resident, __u64 *mapped)
{
	char path[64], line[512];
	unsigned long long run_end = 0;
	bool in = false, ok = false;
	FILE *f;

	*resident = *mapped = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, kb, ino;
		char perms[8];
		int name = 0;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %llu %n", &start, &end, perms, &ino,
			   &name) >= 4) {
			bool anon = !ino && (!name || line[name] == '\0' || line[name] == '\n');
			bool rw = !strcmp(perms, "rw-p"), none = !strcmp(perms, "---p");

			ok = true;
			if (!anon || !(rw || none) || start != run_end) {
				run_end = 0;	/* the run, if any, ends */
				if (anon && (rw || none) && !(start % GO_ARENA) && start < GO_MMAP_AREA)
					run_end = end;
			} else {
				run_end = end;
			}
			in = run_end && rw;
			if (in)
				*mapped += end - start;
		} else if (in && sscanf(line, "Rss: %llu kB", &kb) == 1) {
			*resident += kb << 10;
		}
	}
	fclose(f);
	return ok;
}

int golang__stats(struct golang *g, pid_t pid, struct cw_rec_go_stats *r)
{
	const struct gotarget *t = NULL;
	__u32 tgid = (__u32)pid;

	t = target_of(g, pid);
	if (!t)
		return -ENOENT;
	memset(r, 0, sizeof(*r));
	r->h.type = CW_REC_GO_STATS;
	r->h.size = sizeof(*r);
	r->h.tgid = tgid;
	util__strlcpy(r->version, g->bin[t->bin].version, sizeof(r->version));
	r->flags = t->flags;
	if (t->flags & CW_GO_GOROUTINES) {
		__u32 key = tgid;
		struct cw_go_stats v;

		if (probes__map_lookup(g->probes, "cw_go", &key, sizeof(key), &v, sizeof(v)) == 0)
			r->k = v;
	}
	if (heap_smaps(pid, &r->heap_resident, &r->heap_mapped))
		r->flags |= CW_GO_HEAP;
	return 0;
}

void golang__forget(struct golang *g, pid_t pid)
{
	__u32 tgid = (__u32)pid;
	struct gobin *b;

	for (size_t i = 0; i < g->nt; i++) {
		if (g->t[i].pid != pid)
			continue;
		probes__map_delete(g->probes, "cw_go", &tgid, sizeof(tgid));
		probes__map_delete(g->probes, "cw_go_layout", &tgid, sizeof(tgid));
		probes__map_forget_tgid(g->probes, "cw_gsites", tgid);
		probes__map_forget_tgid(g->probes, "cw_goroutines", tgid);
		probes__map_forget_tgid(g->probes, "cw_cgosites", tgid);
		probes__map_forget_tgid(g->probes, "cw_cgo_allocs", tgid);
		for (size_t k = 0; k < sizeof(g->t[i].cgo) / sizeof(g->t[i].cgo[0]); k++)
			probes__detach(g->probes, g->t[i].cgo[k]);
		b = &g->bin[g->t[i].bin];
		/* the last target of that binary gone: its probes too */
		if (b->refs > 0 && --b->refs == 0) {
			for (int k = 0; k < b->nlink; k++)
				probes__detach(g->probes, b->link[k]);
			b->nlink = 0;
		}
		g->t[i] = g->t[--g->nt];
		return;
	}
}
