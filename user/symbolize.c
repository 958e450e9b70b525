// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Addresses to function names through /proc/PID/maps and ELF symbol tables
 * (libelf); Go binaries also through their pclntab, with file:line.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gosym.h"
#include "symbolize.h"

struct sym {
	__u64 addr, size;
	char *name;
};

struct seg {
	__u64 off, vaddr, filesz;
};

/* One binary's function symbols, sorted by address, and its loadable segments. */
struct binary {
	dev_t dev;
	ino_t ino;
	char *name;		/* file name, for "(module)" */
	struct sym *sym;
	size_t nsym;
	struct seg seg[16];
	int nseg;
	struct gosym *go;	/* a Go binary's pclntab, or NULL */
};

struct mapping {
	__u64 start, end, pgoff;
	int bin;		/* index in symbolizer.bin, -1 = anonymous */
};

struct proc_maps {
	pid_t pid;
	struct mapping *map;
	size_t nmap;
};

struct symbolizer {
	struct binary *bin;
	size_t nbin;
	struct proc_maps *proc;
	size_t nproc;
};

struct symbolizer *symbolize__new(void)
{
	elf_version(EV_CURRENT);
	return calloc(1, sizeof(struct symbolizer));
}

void symbolize__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nbin; i++) {
		for (size_t j = 0; j < s->bin[i].nsym; j++)
			free(s->bin[i].sym[j].name);
		free(s->bin[i].sym);
		free(s->bin[i].name);
		gosym__close(s->bin[i].go);
	}
	for (size_t i = 0; i < s->nproc; i++)
		free(s->proc[i].map);
	free(s->bin);
	free(s->proc);
	free(s);
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

/* Read the function symbols and PT_LOAD segments of @path into @b. */
static void load_binary(struct binary *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e;
	Elf_Scn *scn = NULL;
	size_t n, cap = 0;

	if (fd < 0)
		return;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF)
		goto out;
	if (!elf_getphdrnum(e, &n)) {
		for (size_t i = 0; i < n && b->nseg < 16; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD)
				b->seg[b->nseg++] = (struct seg){ ph.p_offset, ph.p_vaddr, ph.p_filesz };
		}
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		d = elf_getdata(scn, NULL);
		n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; d && i < n; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    !sym.st_value || sym.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			if (b->nsym == cap) {
				struct sym *ns;

				cap = cap ? cap * 2 : 1024;
				ns = realloc(b->sym, cap * sizeof(*ns));
				if (!ns)
					goto out;
				b->sym = ns;
			}
			b->sym[b->nsym].addr = sym.st_value;
			b->sym[b->nsym].size = sym.st_size;
			b->sym[b->nsym].name = strdup(name);
			if (b->sym[b->nsym].name)
				b->nsym++;
		}
	}
	/* .symtab and .dynsym repeat each other; sorted, duplicates do no harm */
	qsort(b->sym, b->nsym, sizeof(*b->sym), cmp_sym);
out:
	if (e)
		elf_end(e);
	close(fd);
}

/* The binary for (@dev, @ino), loaded from @path on first sight. */
static int binary_get(struct symbolizer *s, dev_t dev, ino_t ino, const char *path,
		      const char *name)
{
	struct binary *nb;

	for (size_t i = 0; i < s->nbin; i++)
		if (s->bin[i].dev == dev && s->bin[i].ino == ino)
			return (int)i;
	nb = realloc(s->bin, (s->nbin + 1) * sizeof(*nb));
	if (!nb)
		return -1;
	s->bin = nb;
	memset(&nb[s->nbin], 0, sizeof(*nb));
	nb[s->nbin].dev = dev;
	nb[s->nbin].ino = ino;
	nb[s->nbin].name = strdup(name);
	load_binary(&nb[s->nbin], path);
	nb[s->nbin].go = gosym__open(path); /* NULL (ENOENT) for all but Go binaries */
	return (int)s->nbin++;
}

static struct proc_maps *proc_get(struct symbolizer *s, pid_t pid, int create)
{
	struct proc_maps *np;

	for (size_t i = 0; i < s->nproc; i++)
		if (s->proc[i].pid == pid)
			return &s->proc[i];
	if (!create)
		return NULL;
	np = realloc(s->proc, (s->nproc + 1) * sizeof(*np));
	if (!np)
		return NULL;
	s->proc = np;
	memset(&np[s->nproc], 0, sizeof(*np));
	np[s->nproc].pid = pid;
	return &np[s->nproc++];
}

size_t symbolize__nbinaries(const struct symbolizer *s)
{
	return s ? s->nbin : 0;
}

int symbolize__maps(struct symbolizer *s, pid_t pid)
{
	char path[64], line[4608];
	struct proc_maps *pm;
	struct mapping *map = NULL;
	size_t n = 0, cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, pgoff, ino;
		unsigned int maj, min;
		char perms[8], file[4096] = "";
		struct mapping m;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %4095[^\n]", &start, &end, perms,
			   &pgoff, &maj, &min, &ino, file) < 7 || perms[2] != 'x')
			continue;
		m = (struct mapping){ start, end, pgoff, -1 };
		if (file[0] == '/' && ino) {
			char full[4200];
			const char *base = strrchr(file, '/') + 1;
			struct stat st;

			/* open it through the target's root; key it by what we opened */
			snprintf(full, sizeof(full), "/proc/%d/root%s", pid, file);
			if (!stat(full, &st))
				m.bin = binary_get(s, st.st_dev, st.st_ino, full, base);
		}
		if (n == cap) {
			struct mapping *nm;

			cap = cap ? cap * 2 : 64;
			nm = realloc(map, cap * sizeof(*nm));
			if (!nm)
				break;
			map = nm;
		}
		map[n++] = m;
	}
	fclose(f);
	if (!n) {
		/* exited (a zombie's maps are empty): keep what was known */
		free(map);
		return -ESRCH;
	}
	pm = proc_get(s, pid, 1);
	if (!pm) {
		free(map);
		return -ENOMEM;
	}
	free(pm->map);
	pm->map = map;
	pm->nmap = n;
	return 0;
}

/* The symbol containing @vaddr in @b, or NULL. */
static const struct sym *sym_find(const struct binary *b, __u64 vaddr)
{
	size_t lo = 0, hi = b->nsym;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (b->sym[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	/* a sized symbol must contain the address; an unsized one is the nearest below */
	if (b->sym[lo - 1].size && vaddr >= b->sym[lo - 1].addr + b->sym[lo - 1].size)
		return NULL;
	return &b->sym[lo - 1];
}

/*
 * Name link-time address @vaddr of @b into @buf: the ELF symbol, else the Go
 * function; Go code gets its source file's base name and line. False if none.
 */
static bool name_vaddr(const struct binary *b, __u64 vaddr, char *buf, size_t len)
{
	const struct sym *sym = sym_find(b, vaddr);
	const char *name, *file, *base;
	uint64_t entry;
	int line;

	if (sym) {
		name = sym->name;
		entry = sym->addr;
	} else if (!gosym__func(b->go, vaddr, &name, &entry)) {
		return false;
	}
	if (gosym__line(b->go, vaddr, &file, &line)) {
		base = strrchr(file, '/');
		snprintf(buf, len, "%s+0x%llx (%s:%d, %s)", name,
			 (unsigned long long)(vaddr - entry), base ? base + 1 : file, line, b->name);
	} else {
		snprintf(buf, len, "%s+0x%llx (%s)", name, (unsigned long long)(vaddr - entry),
			 b->name);
	}
	return true;
}

const char *symbolize__addr(struct symbolizer *s, pid_t pid, __u64 addr, char *buf, size_t len)
{
	struct proc_maps *pm = proc_get(s, pid, 0);

	for (size_t i = 0; pm && i < pm->nmap; i++) {
		const struct mapping *m = &pm->map[i];
		const struct binary *b;
		__u64 off;

		if (addr < m->start || addr >= m->end)
			continue;
		if (m->bin < 0) {
			snprintf(buf, len, "0x%llx (anonymous executable memory)",
				 (unsigned long long)addr);
			return buf;
		}
		b = &s->bin[m->bin];
		off = addr - m->start + m->pgoff;
		for (int j = 0; j < b->nseg; j++) {
			const struct seg *g = &b->seg[j];

			if (off < g->off || off >= g->off + g->filesz)
				continue;
			if (name_vaddr(b, off - g->off + g->vaddr, buf, len))
				return buf;
		}
		snprintf(buf, len, "0x%llx (%s+0x%llx)", (unsigned long long)addr, b->name,
			 (unsigned long long)off);
		return buf;
	}
	/* no executable mapping: a frame the frame-pointer walk made up */
	snprintf(buf, len, "0x%llx (not code: the stack walk lost its way)",
		 (unsigned long long)addr);
	return buf;
}
