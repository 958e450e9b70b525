// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * --unwind=dwarf: unwinding user stacks that the kernel copied (CW_EV_USTACK)
 * with elfutils' libdwfl. A session per process holds its module list (read
 * from /proc/PID/maps while it lives) and the modules' CFI, parsed lazily and
 * kept; the thread callbacks hand libdwfl the copied registers and read
 * memory from the copied stack, or from the module's file for addresses in
 * read-only segments. Where a module has no CFI for a PC (Go code has none in
 * .eh_frame), libdwfl's x86-64 backend follows the frame pointer instead, so
 * the walk is a hybrid: CFI where there is CFI, frame pointers elsewhere.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include "unwind.h"
#include "util.h"

#define UNWIND_PROCS 16		/* sessions kept (least recently used goes first) */
#define UNWIND_BUCKETS 4096	/* interned stacks' hash buckets; a power of two */
#define UNWIND_MAX_STACKS 65536	/* distinct stacks kept; past it a sample's stack is empty */
#define UNWIND_REOPEN_MIN 10000000ULL	/* ns: first wait before re-reading a module list */
#define UNWIND_REOPEN_MAX 2000000000ULL	/* ns: the longest wait */

struct uproc {
	pid_t pid;
	Dwfl *dwfl;		/* NULL: the module list could not be read */
	__u64 opened;		/* ns, CLOCK_MONOTONIC: when the module list was read */
	__u64 backoff;		/* ns to wait before reading it again for an unknown PC */
	__u64 used;		/* for the LRU */
	const struct cw_ev_ustack *cur;	/* the record being unwound */
};

struct ustack {
	struct ustack *next;	/* in the bucket of its id */
	__u32 tgid;
	__s32 id;
	__u32 n;
	__u64 ip[];
};

struct unwind {
	struct uproc proc[UNWIND_PROCS];
	struct ustack *bucket[UNWIND_BUCKETS];
	size_t nstacks;
	__u64 tick;
	struct unwind_stats st;
};

struct walk {
	__u64 *ips;
	int n, max;
	Dwarf_Word sp;		/* the last frame's stack pointer */
};

/* Separate debug files are not looked for: .eh_frame is in the binaries (no debuginfod either). */
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
	(void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
	return -1;
}

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = no_debuginfo,
};

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_arg)
{
	struct uproc *p = arg;

	(void)dwfl;
	if (*thread_arg)
		return 0;
	*thread_arg = p;
	return (pid_t)p->cur->h.tid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_arg)
{
	(void)dwfl, (void)tid;
	*thread_arg = arg;
	return true;
}

/* 8 bytes at @addr of a read-only segment of the module that maps it, from its file. */
static bool file_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *out)
{
	Dwfl_Module *m = dwfl_addrmodule(dwfl, addr);
	GElf_Addr bias;
	Elf *elf = m ? dwfl_module_getelf(m, &bias) : NULL;
	size_t nph, size;
	char *raw;

	if (!elf || elf_getphdrnum(elf, &nph) || !(raw = elf_rawfile(elf, &size)))
		return false;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		__u64 a = addr - bias;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || (ph.p_flags & PF_W) ||
		    a < ph.p_vaddr || a + 8 > ph.p_vaddr + ph.p_filesz)
			continue;
		if (ph.p_offset + (a - ph.p_vaddr) + 8 > size)
			return false;
		memcpy(out, raw + ph.p_offset + (a - ph.p_vaddr), 8);
		return true;
	}
	return false;
}

/* Memory for the unwinder: the stack copy, else the binaries' read-only data. */
static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *out, void *arg)
{
	const struct cw_ev_ustack *e = ((struct uproc *)arg)->cur;
	__u64 sp = e->regs[7];

	if (addr >= sp && addr - sp <= e->len && e->len - (addr - sp) >= 8) {
		memcpy(out, e->data + (addr - sp), 8);
		return true;
	}
	return file_read(dwfl, addr, out);
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct cw_ev_ustack *e = ((struct uproc *)thread_arg)->cur;
	Dwarf_Word regs[CW_UREGS];

	for (int i = 0; i < CW_UREGS; i++)
		regs[i] = e->regs[i];
	if (!dwfl_thread_state_registers(thread, 0, CW_UREGS, regs))
		return false;
	dwfl_thread_state_register_pc(thread, e->regs[16]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

static void proc_close(struct uproc *p)
{
	if (p->dwfl)
		dwfl_end(p->dwfl);
	p->dwfl = NULL;
}

/*
 * (Re)read @p's module list and attach the callbacks. On failure the session
 * read before stays (a crashing process may be gone before its stack copy is
 * unwound: the modules it had still name the frames); NULL if none.
 */
static void proc_open(struct unwind *u, struct uproc *p, __u64 now)
{
	Dwfl *d = dwfl_begin(&proc_callbacks);

	p->opened = now;
	if (!d)
		return;
	u->st.sessions++;
	dwfl_report_begin(d);
	if (dwfl_linux_proc_report(d, p->pid) || dwfl_report_end(d, NULL, NULL) ||
	    !dwfl_attach_state(d, NULL, p->pid, &thread_callbacks, p)) {
		cw_debug("unwind: pid %d: %s", p->pid, dwfl_errmsg(-1));
		dwfl_end(d);
		return;
	}
	proc_close(p);
	p->dwfl = d;
}

/*
 * The session of @pid, opened or re-read as needed: a PC outside every
 * module known (a library loaded since) re-reads the module list, with a
 * backoff that grows while that does not help (JIT code is in no module).
 */
static struct uproc *proc_get(struct unwind *u, pid_t pid, __u64 pc)
{
	struct uproc *p = NULL, *lru = &u->proc[0];
	__u64 now = util__mono_ns();

	for (int i = 0; i < UNWIND_PROCS; i++) {
		if (u->proc[i].pid == pid) {
			p = &u->proc[i];
			break;
		}
		if (u->proc[i].used < lru->used)
			lru = &u->proc[i];
	}
	if (!p) {
		p = lru;
		proc_close(p);
		memset(p, 0, sizeof(*p));
		p->pid = pid;
		p->backoff = UNWIND_REOPEN_MIN;
		proc_open(u, p, now);
	} else if ((!p->dwfl || !dwfl_addrmodule(p->dwfl, pc)) && now - p->opened >= p->backoff) {
		proc_open(u, p, now);
		if (p->dwfl && dwfl_addrmodule(p->dwfl, pc))
			p->backoff = UNWIND_REOPEN_MIN;
		else if (p->backoff < UNWIND_REOPEN_MAX)
			p->backoff *= 2;
	}
	p->used = ++u->tick;
	return p;
}

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	Dwarf_Word sp;

	if (!dwfl_frame_pc(state, &pc, NULL) || !pc)
		return DWARF_CB_ABORT;
	/* each caller's frame is above its callee's: a walk that does not climb is broken */
	if (dwfl_frame_reg(state, 7, &sp) == 0) {
		if (w->n && sp <= w->sp)
			return DWARF_CB_ABORT;
		w->sp = sp;
	}
	w->ips[w->n++] = pc;
	return w->n < w->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

struct unwind *unwind__new(void)
{
	struct unwind *u = calloc(1, sizeof(*u));

	return u;
}

void unwind__free(struct unwind *u)
{
	if (!u)
		return;
	for (int i = 0; i < UNWIND_PROCS; i++)
		proc_close(&u->proc[i]);
	for (int b = 0; b < UNWIND_BUCKETS; b++) {
		struct ustack *s = u->bucket[b], *n;

		for (; s; s = n) {
			n = s->next;
			free(s);
		}
	}
	free(u);
}

int unwind__sample(struct unwind *u, const struct cw_ev_ustack *e, size_t len, __u64 *ips,
		   int max)
{
	struct walk w = { .ips = ips, .max = max };
	struct uproc *p;
	__u64 t0 = util__mono_ns();

	u->st.samples++;
	if (len < __builtin_offsetof(struct cw_ev_ustack, data) + e->len ||
	    e->nregs != CW_UREGS || max < 2)
		return 0;
	p = proc_get(u, (pid_t)e->h.tgid, e->regs[16]);
	if (p->dwfl) {
		p->cur = e;
		/* a walk that ends in an error (the end of the copy) keeps the frames it made */
		dwfl_getthread_frames(p->dwfl, (pid_t)e->h.tid, on_frame, &w);
		p->cur = NULL;
	}
	u->st.ns += util__mono_ns() - t0;
	if (w.n < 2)
		return 0;
	u->st.dwarf++;
	u->st.frames += (__u64)w.n;
	return w.n;
}

static __u32 stack_hash(__u32 tgid, const __u64 *ips, int n)
{
	__u64 h = 1469598103934665603ULL ^ tgid;

	for (int i = 0; i < n; i++)
		h = (h ^ ips[i]) * 1099511628211ULL;
	return (__u32)(h ^ (h >> 32));
}

static struct ustack *find_id(const struct unwind *u, __u32 tgid, __s32 id)
{
	for (struct ustack *s = u->bucket[id & (UNWIND_BUCKETS - 1)]; s; s = s->next)
		if (s->id == id && s->tgid == tgid)
			return s;
	return NULL;
}

__s32 unwind__intern(struct unwind *u, __u32 tgid, const __u64 *ips, int n)
{
	__s32 id = UNWIND_ID_BASE | (stack_hash(tgid, ips, n) & (UNWIND_ID_BASE - 1));
	struct ustack *s;

	if (n < 0)
		n = 0;
	if (u->nstacks >= UNWIND_MAX_STACKS && n)
		return unwind__intern(u, tgid, ips, 0);
	/* the same hash for other frames: the next free id */
	while ((s = find_id(u, tgid, id))) {
		if (s->n == (__u32)n && !memcmp(s->ip, ips, (size_t)n * sizeof(*ips)))
			return id;
		id = UNWIND_ID_BASE | ((id + 1) & (UNWIND_ID_BASE - 1));
	}
	s = malloc(sizeof(*s) + (size_t)n * sizeof(*ips));
	if (!s)
		return -ENOMEM;
	s->tgid = tgid;
	s->id = id;
	s->n = (__u32)n;
	memcpy(s->ip, ips, (size_t)n * sizeof(*ips));
	s->next = u->bucket[id & (UNWIND_BUCKETS - 1)];
	u->bucket[id & (UNWIND_BUCKETS - 1)] = s;
	u->nstacks++;
	return id;
}

int unwind__stack(const struct unwind *u, __u32 tgid, __s32 id, __u64 *ips, int max)
{
	const struct ustack *s = find_id(u, tgid, id);
	int n;

	if (!s)
		return 0;
	n = (int)s->n < max ? (int)s->n : max;
	memcpy(ips, s->ip, (size_t)n * sizeof(*ips));
	return n;
}

void unwind__prepare(struct unwind *u, pid_t pid)
{
	for (int i = 0; i < UNWIND_PROCS; i++)
		if (u->proc[i].pid == pid && u->proc[i].dwfl)
			return;
	proc_get(u, pid, 0);
}

void unwind__forget(struct unwind *u, pid_t pid)
{
	for (int i = 0; i < UNWIND_PROCS; i++)
		if (u->proc[i].pid == pid) {
			proc_close(&u->proc[i]);
			memset(&u->proc[i], 0, sizeof(u->proc[i]));
		}
}

void unwind__stats(const struct unwind *u, struct unwind_stats *st)
{
	*st = u->st;
}
