// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ELF look-ups (libelf): symbols, Go detection, DT_NEEDED and library search. */
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "elfsym.h"
#include "gosym.h"

/* Open @path as ELF; NULL with *err set. The caller ends it and closes *fd. */
static Elf *elf_open(const char *path, int *fd, int *err)
{
	Elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		*err = -EINVAL;
		return NULL;
	}
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		*err = -errno;
		return NULL;
	}
	e = elf_begin(*fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(*fd);
		*err = -ENOEXEC;
		return NULL;
	}
	return e;
}

/* File offset of virtual address @vaddr, through the PT_LOAD segments. */
static int vaddr_to_off(Elf *e, __u64 vaddr, __u64 *off)
{
	size_t n;

	if (elf_getphdrnum(e, &n))
		return -ENOEXEC;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_memsz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* Look @name up in the symbol table of section @scn; its value into *val. */
static bool find_in(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, const char *name, __u64 *val)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	for (size_t i = 0; d && i < n; i++) {
		GElf_Sym sym;
		const char *s;
		int type;

		if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		s = elf_strptr(e, sh->sh_link, sym.st_name);
		/* a glob for names with build hashes (Rust's legacy mangling) */
		if (s && (!strcmp(s, name) || (strpbrk(name, "*?[") && !fnmatch(name, s, 0)))) {
			*val = sym.st_value;
			return true;
		}
	}
	return false;
}

/*
 * Look @name up in the pclntab of Go binary @path (stripped Go binaries have
 * no ELF symbols): exact names first, then as a glob.
 */
static bool go_find(const char *path, const char *name, __u64 *val)
{
	struct gosym *g = gosym__open(path);
	uint64_t entry, size;
	bool found;

	if (!g)
		return false;
	found = gosym__lookup(g, name, &entry, &size);
	for (size_t i = 0; !found && strpbrk(name, "*?[") && i < gosym__count(g); i++) {
		const char *s;

		found = gosym__nth(g, i, &s, &entry, &size) && !fnmatch(name, s, 0);
	}
	if (found)
		*val = entry;
	gosym__close(g);
	return found;
}

int elfsym__offset(const char *path, const char *name, __u64 *off)
{
	int fd, err = -ENOENT;
	Elf *e = elf_open(path, &fd, &err);
	__u64 val = 0;
	bool found = false;

	if (!e)
		return err;
	/* .symtab first (it has local functions), then .dynsym (stripped files) */
	for (int pass = 0; pass < 2 && !found; pass++) {
		Elf_Scn *scn = NULL;

		while (!found && (scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;

			if (!gelf_getshdr(scn, &sh) ||
			    sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB))
				continue;
			found = find_in(e, scn, &sh, name, &val);
		}
	}
	if (!found)
		found = go_find(path, name, &val);
	err = found ? vaddr_to_off(e, val, off) : -ENOENT;
	elf_end(e);
	close(fd);
	return err;
}

bool elfsym__is_go(const char *path)
{
	int fd, err;
	Elf *e = elf_open(path, &fd, &err);
	Elf_Scn *scn = NULL;
	size_t shstr;
	bool go = false;

	if (!e)
		return false;
	if (!elf_getshdrstrndx(e, &shstr)) {
		while (!go && (scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			const char *n;

			if (!gelf_getshdr(scn, &sh))
				continue;
			n = elf_strptr(e, shstr, sh.sh_name);
			go = n && (!strcmp(n, ".go.buildinfo") || !strcmp(n, ".gopclntab"));
		}
	}
	elf_end(e);
	close(fd);
	return go;
}

/* Call @fn for each DT_NEEDED, DT_RPATH and DT_RUNPATH string of @exe until it returns true. */
static bool dyn_each(const char *exe, bool (*fn)(__s64 tag, const char *val, void *ctx),
		     void *ctx)
{
	int fd, err;
	Elf *e = elf_open(exe, &fd, &err);
	Elf_Scn *scn = NULL;
	bool stop = false;

	if (!e)
		return false;
	while (!stop && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		d = elf_getdata(scn, NULL);
		n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; d && i < n && !stop; i++) {
			GElf_Dyn dyn;
			const char *s;

			if (!gelf_getdyn(d, (int)i, &dyn))
				continue;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RPATH && dyn.d_tag != DT_RUNPATH)
				continue;
			s = elf_strptr(e, sh.sh_link, dyn.d_un.d_val);
			if (s)
				stop = fn(dyn.d_tag, s, ctx);
		}
	}
	elf_end(e);
	close(fd);
	return stop;
}

struct needs_ctx {
	const char *prefix;
	char *out;
	size_t len;
};

static bool needs_fn(__s64 tag, const char *val, void *ctx)
{
	struct needs_ctx *c = ctx;

	if (tag != DT_NEEDED || strncmp(val, c->prefix, strlen(c->prefix)))
		return false;
	snprintf(c->out, c->len, "%s", val);
	return true;
}

bool elfsym__needs(const char *exe, const char *prefix, char *out, size_t len)
{
	struct needs_ctx c = { .prefix = prefix, .out = out, .len = len };

	return dyn_each(exe, needs_fn, &c);
}

struct search_ctx {
	const char *exe, *lib;
	char *out;
	size_t len;
};

/* Try each ':'-separated directory of @dirs ($ORIGIN = the executable's directory). */
static bool try_dirs(struct search_ctx *c, const char *dirs)
{
	char origin[512], buf[1024];
	const char *p = dirs, *slash = strrchr(c->exe, '/');

	snprintf(origin, sizeof(origin), "%.*s", slash ? (int)(slash - c->exe) : 1,
		 slash ? c->exe : ".");
	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char dir[512];

		snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
		if (!strncmp(dir, "$ORIGIN", 7))
			snprintf(buf, sizeof(buf), "%s%s/%s", origin, dir + 7, c->lib);
		else if (!strncmp(dir, "${ORIGIN}", 9))
			snprintf(buf, sizeof(buf), "%s%s/%s", origin, dir + 9, c->lib);
		else
			snprintf(buf, sizeof(buf), "%s/%s", dir, c->lib);
		if (n && !access(buf, R_OK) && realpath(buf, c->out))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static bool search_fn(__s64 tag, const char *val, void *ctx)
{
	return (tag == DT_RPATH || tag == DT_RUNPATH) && try_dirs(ctx, val);
}

int elfsym__find_library(const char *exe, const char *lib, char *out, size_t len)
{
	char path[4096];
	struct search_ctx c = { .exe = exe, .lib = lib, .out = path, .len = sizeof(path) };
	const char *env = getenv("LD_LIBRARY_PATH");

	if (dyn_each(exe, search_fn, &c) || (env && try_dirs(&c, env)) ||
	    try_dirs(&c, "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:"
			 "/lib:/usr/lib:/usr/local/lib")) {
		snprintf(out, len, "%s", path);
		return 0;
	}
	return -ENOENT;
}

int elfsym__build_id(const char *path, char *out, size_t len)
{
	int fd, err = -ENOENT;
	Elf *e = elf_open(path, &fd, &err);
	Elf_Scn *scn = NULL;

	if (!e)
		return err;
	err = -ENOENT;
	while (err && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, noff, doff;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || !(d = elf_getdata(scn, NULL)))
			continue;
		while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			const unsigned char *id = (const unsigned char *)d->d_buf + doff;

			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((const char *)d->d_buf + noff, "GNU", 4))
				continue;
			for (size_t i = 0; i < nh.n_descsz && 2 * i + 2 < len; i++)
				snprintf(out + 2 * i, 3, "%02x", id[i]);
			err = 0;
			break;
		}
	}
	elf_end(e);
	close(fd);
	return err;
}

/* Section @name of @e (its header into @sh), or NULL. */
static Elf_Scn *section(Elf *e, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstr;

	if (elf_getshdrstrndx(e, &shstr))
		return NULL;
	while ((scn = elf_nextscn(e, scn))) {
		const char *n;

		if (gelf_getshdr(scn, sh) && (n = elf_strptr(e, shstr, sh->sh_name)) &&
		    !strcmp(n, name))
			return scn;
	}
	return NULL;
}

int elfsym__debuglink(const char *path, char *name, size_t len, __u32 *crc)
{
	int fd, err = -ENOENT;
	Elf *e = elf_open(path, &fd, &err);
	GElf_Shdr sh;
	Elf_Scn *scn;
	Elf_Data *d;

	if (!e)
		return err;
	err = -ENOENT;
	scn = section(e, ".gnu_debuglink", &sh);
	d = scn && sh.sh_type != SHT_NOBITS ? elf_getdata(scn, NULL) : NULL;
	if (d && d->d_size >= 8) {
		/* the file name, NUL, padding to 4 bytes, then the CRC (the file's byte order) */
		size_t n = strnlen(d->d_buf, d->d_size), at = (n + 4) & ~(size_t)3;

		if (n && at + 4 <= d->d_size) {
			Elf_Data src = { .d_buf = (char *)d->d_buf + at, .d_type = ELF_T_WORD,
					 .d_size = 4, .d_version = EV_CURRENT };
			Elf_Data dst = { .d_buf = crc, .d_type = ELF_T_WORD, .d_size = 4,
					 .d_version = EV_CURRENT };

			if (gelf_xlatetom(e, &dst, &src, elf_getident(e, NULL)[EI_DATA])) {
				snprintf(name, len, "%.*s", (int)n, (const char *)d->d_buf);
				err = 0;
			}
		}
	}
	elf_end(e);
	close(fd);
	return err;
}

int elfsym__file_crc(const char *path, __u32 *crc)
{
	unsigned char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uLong c = crc32(0, NULL, 0);
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		c = crc32(c, buf, (uInt)n);
	close(fd);
	if (n < 0)
		return -EIO;
	*crc = (__u32)c;
	return 0;
}

/* MiniDebugInfo is at most this big decompressed (Fedora's are a few MiB at most). */
#define DEBUGDATA_MAX (256u << 20)

void *elfsym__debugdata(const char *path, size_t *len)
{
	int fd, err = -ENOENT;
	Elf *e = elf_open(path, &fd, &err);
	lzma_stream z = LZMA_STREAM_INIT;
	unsigned char *out = NULL;
	size_t cap = 0;
	GElf_Shdr sh;
	Elf_Scn *scn;
	Elf_Data *d;
	lzma_ret r = LZMA_DATA_ERROR;

	if (!e) {
		errno = -err;
		return NULL;
	}
	scn = section(e, ".gnu_debugdata", &sh);
	d = scn && sh.sh_type != SHT_NOBITS ? elf_getdata(scn, NULL) : NULL;
	if (!d || !d->d_size) {
		err = ENOENT;
		goto out;
	}
	err = EBADMSG;
	if (lzma_stream_decoder(&z, DEBUGDATA_MAX, 0) != LZMA_OK)
		goto out;
	z.next_in = d->d_buf;
	z.avail_in = d->d_size;
	do {
		if (z.avail_out == 0) {
			size_t used = cap - z.avail_out, ncap = cap ? cap * 2 : d->d_size * 4;
			unsigned char *n;

			if (cap >= DEBUGDATA_MAX)
				break;
			n = realloc(out, ncap);
			if (!n) {
				err = ENOMEM;
				break;
			}
			out = n;
			cap = ncap;
			z.next_out = out + used;
			z.avail_out = cap - used;
		}
		r = lzma_code(&z, LZMA_FINISH);
	} while (r == LZMA_OK);
	lzma_end(&z);
	if (r == LZMA_STREAM_END) {
		*len = z.total_out;
		err = 0;
	}
out:
	elf_end(e);
	close(fd);
	if (err) {
		free(out);
		errno = err;
		return NULL;
	}
	return out;
}
