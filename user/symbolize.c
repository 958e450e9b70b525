// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Addresses to function names through /proc/PID/maps and ELF symbol tables
 * (libelf): the binary's own, else its separate debug file (build-id,
 * .gnu_debuglink) or MiniDebugInfo (.gnu_debugdata); Go binaries also
 * through their pclntab, with file:line; JIT code through perf map files.
 * C++ and Rust names are demangled with libiberty.
 */
#define _GNU_SOURCE	/* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "elfsym.h"
#include "gosym.h"
#include "symbolize.h"

#define BUILD_ID_LEN 41		/* 20 bytes as hex, the usual; longer ones are cut */
#define PENDING_MAX 64		/* binaries whose symbols wait for a first lookup, at most */

struct sym {
	__u64 addr, size;
	char *name;
};

struct seg {
	__u64 off, vaddr, filesz;
};

/* One binary's function symbols, sorted by address, and its loadable segments. */
struct binary {
	char build_id[BUILD_ID_LEN];	/* "" if it has none */
	struct sym *sym;
	size_t nsym, cap;
	struct seg seg[16];
	int nseg;
	struct gosym *go;	/* a Go binary's pclntab, or NULL */
	bool dead;		/* no process maps it any more: its slot is free */
	/*
	 * Symbols and segments are read at the first lookup (binary_load):
	 * until then (orig set) the file and the root it was mapped from stay
	 * open, so a target that exited, or a file deleted or replaced, still
	 * reads as mapped.
	 */
	char *orig;		/* the path the target mapped it as; NULL once read */
	int fd, rootfd;		/* the file; the target's root directory (O_PATH) or -1 */
};

/* What a mapping maps (device and inode as /proc/PID/maps says), and its binary. */
struct bkey {
	dev_t dev;
	ino_t ino;
	char *name;		/* file name, for "(module)" */
	int bin;		/* index in symbolizer.bin */
};

struct mapping {
	__u64 start, end, pgoff;
	int key;		/* index in symbolizer.key; -1 anonymous, -2 [vdso] and kin */
	char tag[16];		/* "[vdso]" and the like */
};

/* A JIT's function from a perf map file. */
struct jit_sym {
	__u64 start, size;
	__u32 seq;		/* line number: a later line wins (code memory reused) */
	char *name;
};

/* /tmp/perf-PID.map as far as it was read. */
struct perf_map {
	struct jit_sym *sym;
	size_t n, cap;
	__u64 maxsize;		/* the longest entry, to bound the backward scan */
	off_t read;		/* bytes consumed (whole lines) */
	ino_t ino;
	__u32 seq;
	bool sorted;
};

struct proc_maps {
	pid_t pid;
	struct mapping *map;
	size_t nmap;
	struct perf_map perf;
};

struct symbolizer {
	struct binary *bin;
	size_t nbin;
	struct bkey *key;
	size_t nkey;
	struct proc_maps *proc;
	size_t nproc;
};

struct symbolizer *symbolize__new(void)
{
	elf_version(EV_CURRENT);
	return calloc(1, sizeof(struct symbolizer));
}

static void perf_map_clear(struct perf_map *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->sym[i].name);
	free(p->sym);
	memset(p, 0, sizeof(*p));
}

static void binary_clear(struct binary *b);

void symbolize__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nbin; i++)
		binary_clear(&s->bin[i]);
	for (size_t i = 0; i < s->nkey; i++)
		free(s->key[i].name);
	for (size_t i = 0; i < s->nproc; i++) {
		free(s->proc[i].map);
		perf_map_clear(&s->proc[i].perf);
	}
	free(s->bin);
	free(s->key);
	free(s->proc);
	free(s);
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

/*
 * Add the function symbols of ELF @e (its SHT_SYMTAB sections, and its
 * SHT_DYNSYM ones if @dyn) to @b. Returns whether @e had a .symtab.
 */
static bool add_symbols(struct binary *b, Elf *e, bool dyn)
{
	Elf_Scn *scn = NULL;
	bool symtab = false;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t n;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && (!dyn || sh.sh_type != SHT_DYNSYM)))
			continue;
		symtab |= sh.sh_type == SHT_SYMTAB;
		d = elf_getdata(scn, NULL);
		n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; d && i < n; i++) {
			GElf_Sym sym;
			const char *name;
			int type;

			if (!gelf_getsym(d, (int)i, &sym) || !sym.st_value ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			type = GELF_ST_TYPE(sym.st_info);
			if (type != STT_FUNC && type != STT_GNU_IFUNC)
				continue;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			if (b->nsym == b->cap) {
				size_t cap = b->cap ? b->cap * 2 : 1024;
				struct sym *ns = realloc(b->sym, cap * sizeof(*ns));

				if (!ns)
					return symtab;
				b->sym = ns;
				b->cap = cap;
			}
			b->sym[b->nsym].addr = sym.st_value;
			b->sym[b->nsym].size = sym.st_size;
			b->sym[b->nsym].name = strdup(name);
			if (b->sym[b->nsym].name)
				b->nsym++;
		}
	}
	return symtab;
}

/* Add the .symtab functions of ELF @e (may be NULL) to @b, and end it; false if none. */
static bool add_elf_symbols(struct binary *b, Elf *e)
{
	bool ok = e && elf_kind(e) == ELF_K_ELF && add_symbols(b, e, false);

	if (e)
		elf_end(e);
	return ok;
}

/* Add the function symbols of ELF file @path (.symtab only) to @b; false if it has none. */
static bool add_file_symbols(struct binary *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = add_elf_symbols(b, elf_begin(fd, ELF_C_READ, NULL));
	close(fd);
	return ok;
}

/*
 * A separate debug file for binary @b, mapped as @orig inside root @root
 * ("/proc/PID/root"), opened as @path: by build-id, then by .gnu_debuglink
 * (the CRC must match) in the places GDB looks, inside the target's root
 * first, then ours. Its .symtab goes into @b; false if none was found.
 */
static bool add_debug_file(struct binary *b, const char *root, const char *orig, const char *path)
{
	const char *roots[2] = { root, "" };
	char link[256], dir[4096], cand[8400];
	const char *slash = strrchr(orig, '/');
	__u32 crc, got;

	for (int r = 0; b->build_id[0] && b->build_id[1] && r < 2; r++) {
		snprintf(cand, sizeof(cand), "%s/usr/lib/debug/.build-id/%.2s/%s.debug", roots[r],
			 b->build_id, b->build_id + 2);
		if (add_file_symbols(b, cand))
			return true;
	}
	if (elfsym__debuglink(path, link, sizeof(link), &crc) || strchr(link, '/'))
		return false;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - orig) : 0, orig);
	for (int r = 0; r < 2; r++) {
		const char *fmt[3] = { "%s%s/%s", "%s%s/.debug/%s", "%s/usr/lib/debug%s/%s" };

		for (int i = 0; i < 3; i++) {
			snprintf(cand, sizeof(cand), fmt[i], roots[r], dir, link);
			if (!elfsym__file_crc(cand, &got) && got == crc && add_file_symbols(b, cand))
				return true;
		}
	}
	return false;
}

/* The MiniDebugInfo of @path (local functions the strip left out) into @b. */
static bool add_debugdata(struct binary *b, const char *path)
{
	size_t len = 0;
	char *img = elfsym__debugdata(path, &len);
	bool ok;

	if (!img)
		return false;
	ok = add_elf_symbols(b, elf_memory(img, len));
	free(img);
	return ok;
}

/*
 * Read the function symbols and PT_LOAD segments of @path (binary @orig of
 * root @root) into @b; without a .symtab, those of its debug file or
 * MiniDebugInfo as well.
 */
static void load_binary(struct binary *b, const char *root, const char *orig, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool symtab = false;
	Elf *e;
	size_t n;

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
	symtab = add_symbols(b, e, true);
out:
	if (e)
		elf_end(e);
	close(fd);
	if (b->nseg && !symtab && !add_debug_file(b, root, orig, path))
		add_debugdata(b, path);
	/* .symtab, .dynsym and debug files repeat each other; sorted, duplicates do no harm */
	qsort(b->sym, b->nsym, sizeof(*b->sym), cmp_sym);
}

static int key_add(struct symbolizer *s, dev_t dev, ino_t ino, const char *name, int bin)
{
	struct bkey *nk;

	/* a key symbolize__forget freed, else a new one */
	for (size_t i = 0; i < s->nkey; i++)
		if (!s->key[i].name) {
			s->key[i] = (struct bkey){ dev, ino, strdup(name), bin };
			return s->key[i].name ? (int)i : -1;
		}
	nk = realloc(s->key, (s->nkey + 1) * sizeof(*nk));
	if (!nk)
		return -1;
	s->key = nk;
	nk[s->nkey] = (struct bkey){ dev, ino, strdup(name), bin };
	if (!nk[s->nkey].name)
		return -1;
	return (int)s->nkey++;
}

/* Close what a binary whose symbols wait holds open. */
static void binary_unpend(struct binary *b)
{
	if (!b->orig)
		return;
	close(b->fd);
	if (b->rootfd >= 0)
		close(b->rootfd);
	free(b->orig);
	b->orig = NULL;
}

/* Binaries whose symbols wait for a first lookup. */
static size_t npending(const struct symbolizer *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nbin; i++)
		n += s->bin[i].orig != NULL;
	return n;
}

static void binary_clear(struct binary *b)
{
	binary_unpend(b);
	for (size_t j = 0; j < b->nsym; j++)
		free(b->sym[j].name);
	free(b->sym);
	gosym__close(b->go);
	memset(b, 0, sizeof(*b));
}

/* Read @b's symbols and segments now if they wait for it. */
static void binary_load(struct binary *b)
{
	char path[32], root[32];

	if (!b->orig)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", b->fd);
	/* a root that could not be opened: no such directory, debug files from ours */
	snprintf(root, sizeof(root), b->rootfd >= 0 ? "/proc/self/fd/%d" : "/nonexistent",
		 b->rootfd);
	load_binary(b, root, b->orig, path);
	binary_unpend(b);
}

void symbolize__forget(struct symbolizer *s, pid_t pid)
{
	bool *used;

	for (size_t i = 0; i < s->nproc; i++) {
		if (s->proc[i].pid != pid)
			continue;
		free(s->proc[i].map);
		perf_map_clear(&s->proc[i].perf);
		s->proc[i] = s->proc[--s->nproc];
		break;
	}
	/* binaries no process maps any more: their symbols go, their slots are reused */
	used = calloc(s->nbin + 1, sizeof(*used));
	if (!used)
		return;
	for (size_t i = 0; i < s->nproc; i++)
		for (size_t j = 0; j < s->proc[i].nmap; j++)
			if (s->proc[i].map[j].key >= 0)
				used[s->key[s->proc[i].map[j].key].bin] = true;
	for (size_t i = 0; i < s->nbin; i++) {
		if (used[i] || s->bin[i].dead)
			continue;
		binary_clear(&s->bin[i]);
		s->bin[i].dead = true;
		for (size_t k = 0; k < s->nkey; k++)
			if (s->key[k].bin == (int)i && s->key[k].name) {
				free(s->key[k].name);
				s->key[k] = (struct bkey){ .bin = -1 };
			}
	}
	free(used);
}

/*
 * The key of the file mapped at @start-@end of @pid (@dev, @ino as the maps
 * say; @file its path there), its binary loaded on first sight. The file is
 * read through /proc/PID/map_files when the path no longer names what is
 * mapped (deleted, replaced; needs CAP_SYS_ADMIN), else through the path.
 * Binaries with the same build-id share their symbols.
 */
static int key_get(struct symbolizer *s, pid_t pid, dev_t dev, ino_t ino, __u64 start, __u64 end,
		   const char *file, bool deleted)
{
	char root[32], full[4200], mf[96], id[BUILD_ID_LEN] = "";
	const char *base = strrchr(file, '/') + 1, *path = full;
	struct binary *nb;
	struct stat st;
	int k;

	for (size_t i = 0; i < s->nkey; i++)
		if (s->key[i].name && s->key[i].dev == dev && s->key[i].ino == ino)
			return (int)i;
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	snprintf(full, sizeof(full), "%s%s", root, file);
	if (deleted || stat(full, &st) || st.st_dev != dev || st.st_ino != ino) {
		int fd;

		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", pid,
			 (unsigned long long)start, (unsigned long long)end);
		fd = open(mf, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			path = mf;
		}
		/* else the path: overlayfs shows stat another device; a deleted file names nothing */
	}
	elfsym__build_id(path, id, sizeof(id));
	for (size_t i = 0; id[0] && i < s->nbin; i++)
		if (!s->bin[i].dead && !strcmp(s->bin[i].build_id, id))
			return key_add(s, dev, ino, base, (int)i);
	size_t slot = s->nbin;

	for (size_t i = 0; i < s->nbin && slot == s->nbin; i++)
		if (s->bin[i].dead)
			slot = i;
	if (slot == s->nbin) {
		nb = realloc(s->bin, (s->nbin + 1) * sizeof(*nb));
		if (!nb)
			return -1;
		s->bin = nb;
	}
	nb = &s->bin[slot];
	memset(nb, 0, sizeof(*nb));
	memcpy(nb->build_id, id, sizeof(id));
	/*
	 * The symbols wait for a first lookup: most binaries are never asked
	 * for (libc's, with its debug file, took 2-3 ms of CPU just as a
	 * launched target started). Past PENDING_MAX open binaries, now.
	 */
	nb->fd = npending(s) < PENDING_MAX ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	nb->orig = nb->fd >= 0 ? strdup(file) : NULL;
	if (nb->orig) {
		nb->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else {
		if (nb->fd >= 0)
			close(nb->fd);
		load_binary(nb, root, file, path);
	}
	nb->go = gosym__open(path); /* NULL (ENOENT) for all but Go binaries */
	k = key_add(s, dev, ino, base, (int)slot);
	if (k < 0) {
		binary_clear(nb);
		nb->dead = true;
	}
	if (slot == s->nbin)
		s->nbin++;
	return k;
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
	size_t n = 0;

	for (size_t i = 0; s && i < s->nbin; i++)
		n += !s->bin[i].dead;
	return n;
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
		struct mapping m = {};

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %4095[^\n]", &start, &end, perms,
			   &pgoff, &maj, &min, &ino, file) < 7 || perms[2] != 'x')
			continue;
		m = (struct mapping){ start, end, pgoff, -1, "" };
		if (file[0] == '/' && ino) {
			size_t l = strlen(file);
			bool deleted = l > 10 && !strcmp(file + l - 10, " (deleted)");

			if (deleted)
				file[l - 10] = '\0';
			m.key = key_get(s, pid, makedev(maj, min), (ino_t)ino, start, end, file,
					deleted);
		} else if (file[0] == '[') {
			m.key = -2;
			snprintf(m.tag, sizeof(m.tag), "%.15s", file);
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

static int cmp_jit(const void *a, const void *b)
{
	const struct jit_sym *x = a, *y = b;

	if (x->start != y->start)
		return (x->start > y->start) - (x->start < y->start);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/*
 * Read what was appended to @pid's perf map ("START SIZE name" lines in hex,
 * written by JITs: perf's tools/perf/Documentation/jit-interface.txt) since
 * the last call; from the start if the file was replaced or shrank. The file
 * is looked for in /tmp, then in the target's /tmp. What was read stays
 * when the file goes away.
 */
static void perf_map_update(struct perf_map *p, pid_t pid)
{
	char path[64], line[4096];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", pid);
	if (stat(path, &st)) {
		snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", pid, pid);
		if (stat(path, &st))
			return;
	}
	if (st.st_ino != p->ino || st.st_size < p->read)
		perf_map_clear(p);
	p->ino = st.st_ino;
	if (st.st_size == p->read)
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	if (fseeko(f, p->read, SEEK_SET)) {
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, size;
		size_t l = strlen(line);
		int at = 0;

		if (!l || line[l - 1] != '\n')
			break; /* a line still being written: read it next time */
		p->read += (off_t)l;
		line[l - 1] = '\0';
		if (sscanf(line, "%llx %llx %n", &start, &size, &at) < 2 || !at || !line[at])
			continue;
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 256;
			struct jit_sym *ns = realloc(p->sym, cap * sizeof(*ns));

			if (!ns)
				break;
			p->sym = ns;
			p->cap = cap;
		}
		p->sym[p->n] = (struct jit_sym){ start, size, ++p->seq, strdup(line + at) };
		if (!p->sym[p->n].name)
			break;
		if (size > p->maxsize)
			p->maxsize = size;
		p->n++;
		p->sorted = false;
	}
	fclose(f);
}

/* The newest perf map entry containing @addr, or NULL. */
static const struct jit_sym *perf_map_find(struct perf_map *p, __u64 addr)
{
	const struct jit_sym *best = NULL;
	size_t lo = 0, hi;

	if (!p->sorted) {
		qsort(p->sym, p->n, sizeof(*p->sym), cmp_jit);
		p->sorted = true;
	}
	hi = p->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->sym[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* entries may overlap (code memory reused): look back as far as the longest reaches */
	for (size_t i = lo; i-- > 0 && addr - p->sym[i].start < p->maxsize;)
		if (addr < p->sym[i].start + p->sym[i].size && (!best || p->sym[i].seq > best->seq))
			best = &p->sym[i];
	return best;
}

/*
 * @name with its template arguments nested @depth or deeper collapsed to
 * "<...>" (malloc'ed; NULL without memory). "operator<" and kin are not
 * brackets.
 */
static char *collapse_templates(const char *name, int depth)
{
	/* "<>" grows to "<...>": at most 3 bytes more per 2 */
	char *out = malloc(strlen(name) * 5 / 2 + 1), *w = out;
	int d = 0;

	if (!out)
		return NULL;
	for (const char *r = name; *r;) {
		if (!strncmp(r, "operator", 8) && (r == name || r[-1] == ':' || r[-1] == ' ')) {
			size_t n = 8 + strspn(r + 8, "<>=-*");

			/* "operator<<<int>" is rare enough: the template's '<' counts as operator */
			if (d < depth) {
				memcpy(w, r, n);
				w += n;
			}
			r += n;
			continue;
		}
		if (*r == '<') {
			if (++d == depth) {
				memcpy(w, "<...", 4);
				w += 4;
			} else if (d < depth) {
				*w++ = '<';
			}
		} else if (*r == '>' && d > 0) {
			if (d-- <= depth)
				*w++ = '>';
		} else if (d < depth) {
			*w++ = *r;
		}
		r++;
	}
	*w = '\0';
	return out;
}

/*
 * Demangle C++ and Rust (legacy and v0) @name into @out, which holds @len
 * bytes: without the parameter list, the Rust hash or the crate
 * disambiguators; template arguments abbreviated from the innermost out
 * when too long, then the outer namespaces cut ("...::f") so the function's
 * own name stays readable. Anything else is copied.
 */
static void demangle(const char *name, char *out, size_t len)
{
	char *d = NULL;
	size_t l;

	if (name[0] == '_' && (name[1] == 'Z' || name[1] == 'R'))
		d = cplus_demangle(name, DMGL_AUTO);
	if (!d) {
		snprintf(out, len, "%s", name);
		return;
	}
	for (int depth = 8; strlen(d) >= len && depth > 0; depth--) {
		char *c = collapse_templates(d, depth);

		if (!c)
			break;
		free(d);
		d = c;
	}
	l = strlen(d);
	if (l >= len) {
		/* keep the tail from a "::" on, behind "..." */
		const char *tail = d + l - (len - 4);
		const char *sep = strstr(tail, "::");

		snprintf(out, len, "...%s", sep ? sep : tail);
	} else {
		memcpy(out, d, l + 1);
	}
	free(d);
}

/* "NAME+0xOFF (WHERE)" into @buf, NAME demangled and shortened to fit. */
static void frame_print(char *buf, size_t len, const char *name, __u64 off, const char *where)
{
	char tail[512], dem[512];
	int t = snprintf(tail, sizeof(tail), "+0x%llx (%s)", (unsigned long long)off, where);
	size_t room = len > (size_t)t + 16 ? len - (size_t)t : 16;

	demangle(name, dem, room < sizeof(dem) ? room : sizeof(dem));
	snprintf(buf, len, "%s%s", dem, tail);
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
 * Name link-time address @vaddr of @b (file @module) into @buf: the ELF
 * symbol, else the Go function; Go code gets its source file's base name
 * and line. False if none.
 */
static bool name_vaddr(const struct binary *b, const char *module, __u64 vaddr, char *buf,
		       size_t len)
{
	const struct sym *sym = sym_find(b, vaddr);
	const char *name, *file, *base;
	char where[300];
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
		snprintf(where, sizeof(where), "%s:%d, %s", base ? base + 1 : file, line, module);
	} else {
		snprintf(where, sizeof(where), "%s", module);
	}
	frame_print(buf, len, name, vaddr - entry, where);
	return true;
}

/* JIT code of @pm: its perf map's name, else what the caller knows of it (@inst). */
static const char *name_jit(struct proc_maps *pm, __u64 addr, const char *inst, char *buf,
			    size_t len)
{
	const struct jit_sym *j;

	perf_map_update(&pm->perf, pm->pid);
	j = perf_map_find(&pm->perf, addr);
	if (j)
		frame_print(buf, len, j->name, addr - j->start, "perf map");
	else if (inst && *inst)
		snprintf(buf, len, "0x%llx (contract code of instance %s)", (unsigned long long)addr,
			 inst);
	else
		snprintf(buf, len, "0x%llx (anonymous executable memory)", (unsigned long long)addr);
	return buf;
}

const char *symbolize__addr_inst(struct symbolizer *s, pid_t pid, __u64 addr, const char *inst,
				 char *buf, size_t len)
{
	struct proc_maps *pm = proc_get(s, pid, 0);

	for (size_t i = 0; pm && i < pm->nmap; i++) {
		const struct mapping *m = &pm->map[i];
		struct binary *b;
		const struct bkey *k;
		__u64 off;

		if (addr < m->start || addr >= m->end)
			continue;
		if (m->key == -2) {
			snprintf(buf, len, "0x%llx (%s+0x%llx)", (unsigned long long)addr, m->tag,
				 (unsigned long long)(addr - m->start));
			return buf;
		}
		if (m->key < 0)
			return name_jit(pm, addr, inst, buf, len);
		k = &s->key[m->key];
		b = &s->bin[k->bin];
		binary_load(b);
		off = addr - m->start + m->pgoff;
		for (int j = 0; j < b->nseg; j++) {
			const struct seg *g = &b->seg[j];

			if (off < g->off || off >= g->off + g->filesz)
				continue;
			if (name_vaddr(b, k->name, off - g->off + g->vaddr, buf, len))
				return buf;
		}
		if (!b->nseg) { /* JIT code in a memfd, say */
			const struct jit_sym *j;

			perf_map_update(&pm->perf, pid);
			j = perf_map_find(&pm->perf, addr);
			if (j) {
				frame_print(buf, len, j->name, addr - j->start, "perf map");
				return buf;
			}
		}
		snprintf(buf, len, "0x%llx (%s+0x%llx)", (unsigned long long)addr, k->name,
			 (unsigned long long)off);
		return buf;
	}
	/* code mapped after the maps were read, named by the JIT */
	if (pm) {
		const struct jit_sym *j;

		perf_map_update(&pm->perf, pid);
		j = perf_map_find(&pm->perf, addr);
		if (j) {
			frame_print(buf, len, j->name, addr - j->start, "perf map");
			return buf;
		}
	}
	/* no executable mapping: a frame the frame-pointer walk made up */
	snprintf(buf, len, "0x%llx (not code: the stack walk lost its way)",
		 (unsigned long long)addr);
	return buf;
}

const char *symbolize__addr(struct symbolizer *s, pid_t pid, __u64 addr, char *buf, size_t len)
{
	return symbolize__addr_inst(s, pid, addr, NULL, buf, len);
}
