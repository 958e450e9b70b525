// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Go's own symbol table (pclntab) and build info, read with libelf. The
 * layouts are those of the Go runtime (runtime/symtab.go: pcHeader, functab,
 * _func, pcvalue; debug/buildinfo for the build info). Every offset read from
 * the file is checked against the table's length before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gosym.h"

/* pcHeader.magic of each pclntab version (runtime/symtab.go) */
#define GO_PCLN_12 0xfffffffbU	/* Go 1.2 to 1.15: not read */
#define GO_PCLN_116 0xfffffffaU /* Go 1.16, 1.17 */
#define GO_PCLN_118 0xfffffff0U /* Go 1.18, 1.19 */
#define GO_PCLN_120 0xfffffff1U /* Go 1.20 and later */

#define GO_TAB_MAX (1ULL << 30) /* the largest pclntab we load */
#define GO_BUILDINFO_MAGIC "\xff Go buildinf:"
#define GO_BUILDINFO_SCAN (64 * 1024) /* where debug/buildinfo looks without a section */

struct gseg {
	uint64_t vaddr, off, filesz;
};

struct gosym {
	uint8_t *tab;		/* the pclntab, from its pcHeader */
	size_t len;
	int ver;		/* 116, 118 or 120 */
	unsigned int quantum, ptrsize, fsz; /* fsz: size of one functab field */
	uint64_t nfunc, text;
	/* table offsets from the start of tab, each checked <= len */
	uint64_t funcname, cu, filetab, pctab, functab;
	char version[64];
	int fd;			/* for gosym__code; -1 for tables from memory */
	struct gseg seg[16];
	int nseg;
};

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = n; i--;)
		v = v << 8 | p[i];
	return v;
}

/* An @n byte little-endian value at @off of the table; false if out of bounds. */
static bool rd(const struct gosym *g, uint64_t off, unsigned int n, uint64_t *v)
{
	if (off > g->len || g->len - off < n)
		return false;
	*v = le(g->tab + off, n);
	return true;
}

/* The NUL-terminated string at @base + @off of the table, or NULL. */
static const char *str_at(const struct gosym *g, uint64_t base, uint64_t off)
{
	if (base > g->len || off >= g->len - base)
		return NULL;
	if (!memchr(g->tab + base + off, 0, g->len - base - off))
		return NULL;
	return (const char *)g->tab + base + off;
}

/* functab entry @i (0..nfunc; nfunc is the end of the last function): its PC. */
static bool ft_entry(const struct gosym *g, uint64_t i, uint64_t *pc)
{
	if (i > g->nfunc || !rd(g, g->functab + 2 * i * g->fsz, g->fsz, pc))
		return false;
	if (g->ver >= 118)
		*pc += g->text; /* entryoff: an offset from runtime.text */
	return true;
}

/* Offset in the table of the _func of function @i. */
static bool ft_func(const struct gosym *g, uint64_t i, uint64_t *fp)
{
	uint64_t off;

	if (i >= g->nfunc || !rd(g, g->functab + (2 * i + 1) * g->fsz, g->fsz, &off))
		return false;
	*fp = g->functab + off;
	return *fp >= off; /* no wrap-around */
}

/* uint32 field @n (1 = nameOff .. 8 = cuOffset) of the _func at @fp. */
static bool fn_field(const struct gosym *g, uint64_t fp, unsigned int n, uint32_t *v)
{
	/* the first field is a uintptr entry before 1.18, a uint32 offset since */
	uint64_t off = (g->ver == 116 ? g->ptrsize : 4) + (n - 1) * 4, x;

	if (!rd(g, fp + off, 4, &x))
		return false;
	*v = (uint32_t)x;
	return true;
}

enum { FN_NAME = 1, FN_PCSP = 4, FN_PCFILE = 5, FN_PCLN = 6, FN_CU = 8 };

/* Index of the function containing @addr. */
static bool find_index(const struct gosym *g, uint64_t addr, uint64_t *idx)
{
	uint64_t lo = 0, hi = g->nfunc, pc;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (!ft_entry(g, mid, &pc))
			return false;
		if (pc <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || !ft_entry(g, lo, &pc) || addr >= pc)
		return false;
	*idx = lo - 1;
	return true;
}

/* A uint32 varint at *@p of the table, advancing *@p. */
static bool varint(const struct gosym *g, uint64_t *p, uint32_t *v)
{
	uint32_t x = 0;

	for (unsigned int shift = 0; shift < 35; shift += 7) {
		uint8_t b;

		if (*p >= g->len)
			return false;
		b = g->tab[(*p)++];
		x |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/*
 * Walk the pc-value table at pctab + @off of the function at @entry up to
 * @target (runtime/symtab.go: pcvalue and step): the value there into *@val.
 * With @target = UINT64_MAX it walks to the end and gives the last PC in
 * *@end instead. Each step reads at least two bytes, so it ends.
 */
static bool pcvalue(const struct gosym *g, uint32_t off, uint64_t entry, uint64_t target,
		    int32_t *val, uint64_t *end)
{
	uint64_t p = g->pctab + off, pc = entry;
	uint32_t v = (uint32_t)-1;

	if (!off)
		return false; /* no table */
	for (bool first = true;; first = false) {
		uint32_t dv, dpc;

		if (!varint(g, &p, &dv))
			return false;
		if (!dv && !first) {
			if (end) {
				*end = pc;
				return true;
			}
			return false; /* @target is past the function's end */
		}
		if (!varint(g, &p, &dpc))
			return false;
		/* zig-zag value delta; unsigned arithmetic wraps, as Go's int32 does */
		v += -(dv & 1) ^ (dv >> 1);
		pc += (uint64_t)dpc * g->quantum;
		if (target < pc) {
			*val = (int32_t)v;
			return true;
		}
	}
}

/* The function containing @addr: its _func offset and entry. */
static bool func_at(const struct gosym *g, uint64_t addr, uint64_t *fp, uint64_t *entry)
{
	uint64_t i;

	return find_index(g, addr, &i) && ft_entry(g, i, entry) && ft_func(g, i, fp);
}

static const char *func_name(const struct gosym *g, uint64_t fp)
{
	uint32_t off;

	if (!fn_field(g, fp, FN_NAME, &off) || (int32_t)off < 0)
		return NULL;
	return str_at(g, g->funcname, off);
}

bool gosym__func(const struct gosym *g, uint64_t addr, const char **name, uint64_t *entry)
{
	uint64_t fp, e;
	const char *n;

	if (!g || !func_at(g, addr, &fp, &e) || !(n = func_name(g, fp)))
		return false;
	*name = n;
	*entry = e;
	return true;
}

bool gosym__line(const struct gosym *g, uint64_t addr, const char **file, int *line)
{
	uint64_t fp, entry, fo;
	uint32_t pcfile, pcln, cu;
	int32_t fileno, ln;
	const char *f;

	/* pcfile and pcln already hold the innermost inlined position */
	if (!g || !func_at(g, addr, &fp, &entry) || !fn_field(g, fp, FN_PCFILE, &pcfile) ||
	    !fn_field(g, fp, FN_PCLN, &pcln) || !fn_field(g, fp, FN_CU, &cu) ||
	    !pcvalue(g, pcfile, entry, addr, &fileno, NULL) ||
	    !pcvalue(g, pcln, entry, addr, &ln, NULL) || fileno < 0 ||
	    !rd(g, g->cu + 4 * ((uint64_t)cu + (uint64_t)fileno), 4, &fo) ||
	    fo == UINT32_MAX || !(f = str_at(g, g->filetab, fo)))
		return false;
	*file = f;
	*line = ln;
	return true;
}

size_t gosym__count(const struct gosym *g)
{
	return g ? g->nfunc : 0;
}

bool gosym__nth(const struct gosym *g, size_t i, const char **name, uint64_t *entry,
		uint64_t *size)
{
	uint64_t fp, e, next, end;
	uint32_t tab;
	int32_t unused;
	const char *n;

	if (!g || !ft_entry(g, i, &e) || !ft_entry(g, i + 1, &next) || next < e ||
	    !ft_func(g, i, &fp) || !(n = func_name(g, fp)))
		return false;
	/*
	 * The pc-value tables end where the function's code ends; the next
	 * entry is further on by the alignment padding.
	 */
	if ((fn_field(g, fp, FN_PCSP, &tab) && pcvalue(g, tab, e, UINT64_MAX, &unused, &end) &&
	     end > e && end <= next) ||
	    (fn_field(g, fp, FN_PCLN, &tab) && pcvalue(g, tab, e, UINT64_MAX, &unused, &end) &&
	     end > e && end <= next))
		next = end;
	*name = n;
	*entry = e;
	*size = next - e;
	return true;
}

bool gosym__lookup(const struct gosym *g, const char *name, uint64_t *entry, uint64_t *size)
{
	for (size_t i = 0; g && i < g->nfunc; i++) {
		uint64_t fp;
		const char *n;

		if (ft_func(g, i, &fp) && (n = func_name(g, fp)) && !strcmp(n, name))
			return gosym__nth(g, i, &n, entry, size);
	}
	return false;
}

const char *gosym__version(const struct gosym *g)
{
	return g ? g->version : "";
}

int gosym__code(const struct gosym *g, uint64_t entry, void *buf, size_t size)
{
	if (!g || g->fd < 0)
		return -ENOENT;
	for (int i = 0; i < g->nseg; i++) {
		const struct gseg *s = &g->seg[i];
		ssize_t n;

		if (entry < s->vaddr || entry - s->vaddr >= s->filesz ||
		    size > s->filesz - (entry - s->vaddr))
			continue;
		n = pread(g->fd, buf, size, (off_t)(s->off + entry - s->vaddr));
		if (n < 0)
			return -errno;
		return (size_t)n == size ? 0 : -EIO;
	}
	return -ENOENT;
}

void gosym__close(struct gosym *g)
{
	if (!g)
		return;
	if (g->fd >= 0)
		close(g->fd);
	free(g->tab);
	free(g);
}

/*
 * Check the pcHeader at the start of g->tab and fill the table offsets.
 * @text: runtime.text if known, else @text_sect (the .text section) is
 * used when the header's textStart is 0 (Go 1.22+ leaves it 0). 0 or -errno.
 */
static int parse_header(struct gosym *g, uint64_t text, uint64_t text_sect)
{
	const uint8_t *h = g->tab;
	uint32_t magic;
	unsigned int w;
	uint64_t word[8], nwords;

	if (g->len < 8)
		return -ENOEXEC;
	magic = (uint32_t)le(h, 4);
	if (magic == GO_PCLN_116)
		g->ver = 116;
	else if (magic == GO_PCLN_118)
		g->ver = 118;
	else if (magic == GO_PCLN_120)
		g->ver = 120;
	else if ((magic & 0xfffffff0U) == 0xfffffff0U ||
		 (__builtin_bswap32(magic) & 0xfffffff0U) == 0xfffffff0U)
		return -EPROTONOSUPPORT; /* older, newer or big-endian */
	else
		return -ENOEXEC;
	g->quantum = h[6];
	g->ptrsize = h[7];
	if (h[4] || h[5] || (g->quantum != 1 && g->quantum != 2 && g->quantum != 4) ||
	    (g->ptrsize != 4 && g->ptrsize != 8))
		return -ENOEXEC;
	w = g->ptrsize;
	nwords = g->ver == 116 ? 7 : 8;
	if (g->len < 8 + nwords * w)
		return -ENOEXEC;
	for (unsigned int i = 0; i < nwords; i++)
		word[i] = le(h + 8 + i * w, w);
	g->nfunc = word[0];
	if (g->ver == 116) {
		g->funcname = word[2];
		g->cu = word[3];
		g->filetab = word[4];
		g->pctab = word[5];
		g->functab = word[6];
		g->fsz = w;
		g->text = 0;
	} else {
		g->text = text ? text : word[2] ? word[2] : text_sect;
		g->funcname = word[3];
		g->cu = word[4];
		g->filetab = word[5];
		g->pctab = word[6];
		g->functab = word[7];
		g->fsz = 4;
	}
	if (g->funcname > g->len || g->cu > g->len || g->filetab > g->len || g->pctab > g->len ||
	    g->functab > g->len || g->nfunc > g->len ||
	    (g->len - g->functab) / g->fsz < 2 * g->nfunc + 1)
		return -ENOEXEC;
	return 0;
}

static struct gosym *gosym_alloc(void)
{
	struct gosym *g = calloc(1, sizeof(*g));

	if (g)
		g->fd = -1;
	return g;
}

struct gosym *gosym__from_memory(const void *tab, size_t len, uint64_t text)
{
	struct gosym *g = gosym_alloc();
	int err;

	if (!g)
		return NULL;
	g->tab = malloc(len ? len : 1);
	if (!g->tab) {
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(g->tab, tab, len);
	g->len = len;
	err = parse_header(g, text, 0);
	if (err) {
		gosym__close(g);
		errno = -err;
		return NULL;
	}
	return g;
}

/* An unsigned varint (encoding/binary's) at *@p of @b, @len bytes; advances *@p. */
static bool uvarint(const uint8_t *b, size_t len, size_t *p, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned int shift = 0; shift < 64 && *p < len; shift += 7) {
		uint8_t c = b[(*p)++];

		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

int gosym__parse_buildinfo(const void *bi, size_t len, gosym_read_fn read, void *ctx, char *out,
			   size_t outlen)
{
	const uint8_t *b = bi;
	uint64_t n = 0;
	unsigned int ps;
	int err;

	if (!outlen)
		return -EINVAL;
	out[0] = '\0';
	if (len < 32 || memcmp(b, GO_BUILDINFO_MAGIC, 14))
		return -ENOENT;
	ps = b[14];
	if (b[15] & 2) {
		/* 1.18+: the version string follows the header, length first */
		size_t p = 32;

		if (!uvarint(b, len, &p, &n) || n > len - p)
			return -ENOEXEC;
		if (n >= outlen)
			return -ERANGE;
		memcpy(out, b + p, n);
	} else {
		/* before 1.18: a pointer to a Go string header {data, len} */
		uint8_t hdr[16];
		uint64_t data;

		if (b[15] & 1)
			return -EPROTONOSUPPORT; /* big-endian */
		if ((ps != 4 && ps != 8) || !read)
			return -ENOEXEC;
		err = read(ctx, le(b + 16, ps), hdr, 2 * ps);
		if (err)
			return err;
		data = le(hdr, ps);
		n = le(hdr + ps, ps);
		if (n >= outlen)
			return -ERANGE;
		err = read(ctx, data, out, n);
		if (err)
			return err;
	}
	for (uint64_t i = 0; i < n; i++) {
		if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e) {
			out[0] = '\0';
			return -ENOEXEC;
		}
	}
	out[n] = '\0';
	return 0;
}

/* Read @len bytes at file offset @off into a new buffer; NULL with *@err. */
static uint8_t *read_at(int fd, uint64_t off, uint64_t len, int *err)
{
	uint8_t *buf;
	ssize_t n;

	if (len > GO_TAB_MAX) {
		*err = -ENOEXEC;
		return NULL;
	}
	buf = malloc(len ? len : 1);
	if (!buf) {
		*err = -ENOMEM;
		return NULL;
	}
	n = pread(fd, buf, len, (off_t)off);
	if (n < 0 || (uint64_t)n != len) {
		*err = n < 0 ? -errno : -EIO;
		free(buf);
		return NULL;
	}
	return buf;
}

/* gosym_read_fn through the PT_LOAD segments of an open file. */
static int read_vaddr(void *ctx, uint64_t vaddr, void *buf, size_t len)
{
	const struct gosym *g = ctx;

	return gosym__code(g, vaddr, buf, len);
}

/* What gosym__open learns from the section and symbol tables. */
struct elf_go {
	GElf_Shdr pcln, buildinfo, text;
	bool has_pcln, has_buildinfo, has_text, is_go;
	uint64_t sym_pcln, sym_epcln, sym_text;
};

/* Find runtime.pclntab, runtime.epclntab and runtime.text in .symtab. */
static void scan_symtab(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct elf_go *eg)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	for (size_t i = 0; d && i < n; i++) {
		GElf_Sym sym;
		const char *s;

		if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		s = elf_strptr(e, sh->sh_link, sym.st_name);
		if (!s || strncmp(s, "runtime.", 8))
			continue;
		if (!strcmp(s + 8, "pclntab"))
			eg->sym_pcln = sym.st_value;
		else if (!strcmp(s + 8, "epclntab"))
			eg->sym_epcln = sym.st_value;
		else if (!strcmp(s + 8, "text"))
			eg->sym_text = sym.st_value;
	}
}

/* Read the sections of @e: where the Go tables are; is it Go at all? */
static void scan_sections(Elf *e, struct elf_go *eg)
{
	Elf_Scn *scn = NULL;
	size_t shstr;

	if (elf_getshdrstrndx(e, &shstr))
		return;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			scan_symtab(e, scn, &sh, eg);
			continue;
		}
		n = elf_strptr(e, shstr, sh.sh_name);
		if (!n || sh.sh_type == SHT_NOBITS)
			continue;
		/* PIE binaries of older Go put the table in .data.rel.ro.gopclntab */
		if (!strcmp(n, ".gopclntab") || !strcmp(n, ".data.rel.ro.gopclntab")) {
			eg->pcln = sh;
			eg->has_pcln = eg->is_go = true;
		} else if (!strcmp(n, ".go.buildinfo")) {
			eg->buildinfo = sh;
			eg->has_buildinfo = eg->is_go = true;
		} else if (!strcmp(n, ".note.go.buildid")) {
			eg->is_go = true;
		} else if (!strcmp(n, ".text")) {
			eg->text = sh;
			eg->has_text = true;
		}
	}
	if (eg->sym_pcln)
		eg->is_go = true;
}

/* File offset of @vaddr in @g's segments, with @avail bytes of file after it. */
static bool seg_off(const struct gosym *g, uint64_t vaddr, uint64_t *off, uint64_t *avail)
{
	for (int i = 0; i < g->nseg; i++) {
		const struct gseg *s = &g->seg[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz) {
			*off = s->off + vaddr - s->vaddr;
			*avail = s->filesz - (vaddr - s->vaddr);
			return true;
		}
	}
	return false;
}

/* Is there a plausible pcHeader at @p (@n bytes)? */
static bool looks_like_header(const uint8_t *p, size_t n)
{
	uint32_t magic;

	if (n < 16)
		return false;
	magic = (uint32_t)le(p, 4);
	return (magic == GO_PCLN_116 || magic == GO_PCLN_118 || magic == GO_PCLN_120 ||
		magic == GO_PCLN_12) &&
	       !p[4] && !p[5] && (p[6] == 1 || p[6] == 2 || p[6] == 4) && (p[7] == 4 || p[7] == 8);
}

/*
 * No section and no symbol (stripped, externally linked): search the
 * allocated, non-executable sections for a pcHeader that parses. 0 or -errno.
 */
static int scan_for_table(Elf *e, struct gosym *g, uint64_t text_sect)
{
	Elf_Scn *scn = NULL;
	int err = -ENOENT;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		uint8_t *buf;
		int rerr;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_ALLOC) || (sh.sh_flags & SHF_EXECINSTR) || sh.sh_size < 16)
			continue;
		buf = read_at(g->fd, sh.sh_offset, sh.sh_size, &rerr);
		if (!buf)
			continue;
		/* the table is pointer-aligned */
		for (uint64_t off = 0; off + 16 <= sh.sh_size; off += 8) {
			int perr;

			if (!looks_like_header(buf + off, sh.sh_size - off))
				continue;
			g->len = sh.sh_size - off;
			g->tab = malloc(g->len);
			if (!g->tab) {
				free(buf);
				return -ENOMEM;
			}
			memcpy(g->tab, buf + off, g->len);
			perr = parse_header(g, 0, text_sect);
			if (!perr) {
				free(buf);
				return 0;
			}
			err = perr;
			free(g->tab);
			g->tab = NULL;
		}
		free(buf);
	}
	return err;
}

/* The build info: the .go.buildinfo section, else the start of the first writable segment. */
static void read_version(Elf *e, struct gosym *g, const struct elf_go *eg)
{
	uint64_t off = 0, len = 0;
	uint8_t *buf;
	int err;
	size_t n;

	if (eg->has_buildinfo) {
		off = eg->buildinfo.sh_offset;
		len = eg->buildinfo.sh_size < GO_BUILDINFO_SCAN ? eg->buildinfo.sh_size
								: GO_BUILDINFO_SCAN;
	} else if (!elf_getphdrnum(e, &n)) {
		for (size_t i = 0; i < n && !len; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    (ph.p_flags & PF_W) && ph.p_filesz) {
				off = ph.p_offset;
				len = ph.p_filesz < GO_BUILDINFO_SCAN ? ph.p_filesz : GO_BUILDINFO_SCAN;
			}
		}
	}
	if (!len || !(buf = read_at(g->fd, off, len, &err)))
		return;
	/* the magic is 16-byte aligned */
	for (uint64_t i = 0; i + 32 <= len; i += 16) {
		if (!memcmp(buf + i, GO_BUILDINFO_MAGIC, 14) &&
		    !gosym__parse_buildinfo(buf + i, len - i, read_vaddr, g, g->version,
					    sizeof(g->version)))
			break;
	}
	free(buf);
}

/*
 * runtime.text from the module data, for stripped binaries whose header
 * leaves it 0 (Go 1.22+) and where it is not where .text starts (external
 * linking puts C start-up code first). firstmoduledata begins with a pointer
 * to the pcHeader; its text field follows six slices, findfunctab, minpc
 * and maxpc (the same layout from Go 1.16 on). 0 if not found.
 */
#define GO_MODULEDATA_TEXT (8 + 6 * 24 + 8 + 2 * 8)

static uint64_t moduledata_text(Elf *e, const struct gosym *g, uint64_t pcln,
				const struct elf_go *eg)
{
	Elf_Scn *scn = NULL;
	uint64_t text = 0;
	size_t shstr;

	if (!pcln || !eg->has_text || elf_getshdrstrndx(e, &shstr))
		return 0;
	while (!text && (scn = elf_nextscn(e, scn))) {
		const char *n;
		GElf_Shdr sh;
		uint8_t *buf;
		int err;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		n = elf_strptr(e, shstr, sh.sh_name);
		/* Go 1.26 gives it a section of its own */
		if (!n || (strcmp(n, ".go.module") && strcmp(n, ".noptrdata") && strcmp(n, ".data") &&
			   strcmp(n, ".data.rel.ro")))
			continue;
		buf = read_at(g->fd, sh.sh_offset, sh.sh_size, &err);
		if (!buf)
			continue;
		for (uint64_t off = 0; off + GO_MODULEDATA_TEXT + 8 <= sh.sh_size; off += 8) {
			uint64_t t = le(buf + off + GO_MODULEDATA_TEXT, 8);

			if (le(buf + off, 8) == pcln && t >= eg->text.sh_addr &&
			    t < eg->text.sh_addr + eg->text.sh_size) {
				text = t;
				break;
			}
		}
		free(buf);
	}
	return text;
}

/* Load the pclntab of @e into @g; 0 or -errno. */
static int load_table(Elf *e, struct gosym *g, const struct elf_go *eg)
{
	uint64_t text_sect = eg->has_text ? eg->text.sh_addr : 0, off, avail;
	int err = 0;

	if (eg->has_pcln) {
		g->len = eg->pcln.sh_size;
		g->tab = read_at(g->fd, eg->pcln.sh_offset, g->len, &err);
	} else if (eg->sym_pcln && seg_off(g, eg->sym_pcln, &off, &avail)) {
		g->len = eg->sym_epcln > eg->sym_pcln && eg->sym_epcln - eg->sym_pcln <= avail
				 ? eg->sym_epcln - eg->sym_pcln
				 : avail;
		g->tab = read_at(g->fd, off, g->len, &err);
	} else {
		return scan_for_table(e, g, text_sect);
	}
	if (!g->tab)
		return err;
	err = parse_header(g, eg->sym_text, text_sect);
	if (!err && !eg->sym_text && g->ver >= 118 && g->text == text_sect) {
		uint64_t t = moduledata_text(e, g, eg->has_pcln ? eg->pcln.sh_addr : eg->sym_pcln,
					     eg);

		if (t)
			g->text = t;
	}
	return err;
}

struct gosym *gosym__open(const char *path)
{
	struct elf_go eg = { 0 };
	struct gosym *g;
	Elf *e = NULL;
	size_t n;
	int err;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	g = gosym_alloc();
	if (!g)
		return NULL;
	g->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (g->fd < 0) {
		err = -errno;
		goto fail;
	}
	e = elf_begin(g->fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto fail;
	}
	if (!elf_getphdrnum(e, &n)) {
		for (size_t i = 0; i < n && g->nseg < 16; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD)
				g->seg[g->nseg++] =
					(struct gseg){ ph.p_vaddr, ph.p_offset, ph.p_filesz };
		}
	}
	scan_sections(e, &eg);
	if (!eg.is_go) {
		err = -ENOENT;
		goto fail;
	}
	err = load_table(e, g, &eg);
	if (err)
		goto fail;
	read_version(e, g, &eg);
	elf_end(e);
	return g;
fail:
	if (e)
		elf_end(e);
	gosym__close(g);
	errno = -err;
	return NULL;
}
