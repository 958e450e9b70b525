// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Go pclntab and build-info readers on made-up tables: a small valid
 * table of each format gives the right names, sizes and lines; every
 * truncation and every corrupted byte of it gives an error or an answer,
 * never an out-of-bounds read (this binary runs under ASan and UBSan).
 * tests/integ/test_gosym.py checks real binaries against Go's own tools.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gosym.h"
#include "harness.h"

#define TEXT 0x401000ULL

struct tab {
	uint8_t b[512];
	size_t len;
};

static void put(struct tab *t, size_t off, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		t->b[off + i] = (uint8_t)(v >> (8 * i));
}

static size_t append(struct tab *t, const void *p, size_t n)
{
	size_t off = t->len;

	memcpy(t->b + off, p, n);
	t->len += n;
	return off;
}

/*
 * A table of format @ver (116, 118, 120) with main.a at TEXT (16 bytes of
 * code, then padding to 0x20) and main.b at TEXT + 0x20 (16 bytes), both in
 * /src/x.go: line 10 for the first 8 bytes of each, then line 12.
 */
static void make_table(struct tab *t, int ver)
{
	static const uint8_t names[] = "\0main.a\0main.b";
	static const uint8_t files[] = "/src/x.go";
	/* pcfile: -1 -> 0 for 16 bytes; pcln: -1 -> 10 for 8, +2 for 8 */
	static const uint8_t pctab[] = { 0, 0x02, 0x10, 0x00, 0x16, 0x08, 0x04, 0x08, 0x00 };
	unsigned int ps = 8, fsz = ver == 116 ? 8 : 4, hdr = ver == 116 ? 64 : 72;
	unsigned int fn = ver == 116 ? 44 : ver == 118 ? 40 : 44; /* sizeof(_func) */
	size_t funcname, cu, filetab, pc, functab, f[2];
	uint32_t zero = 0;

	memset(t, 0, sizeof(*t));
	put(t, 0, ver == 116 ? 0xfffffffa : ver == 118 ? 0xfffffff0 : 0xfffffff1, 4);
	t->b[6] = 1;
	t->b[7] = (uint8_t)ps;
	t->len = hdr;
	funcname = append(t, names, sizeof(names));
	cu = append(t, &zero, 4); /* cutab[0]: file 0 is filetab + 0 */
	filetab = append(t, files, sizeof(files));
	pc = append(t, pctab, sizeof(pctab));
	t->len = (t->len + 7) & ~7UL;
	functab = t->len;
	t->len += 5 * fsz; /* two (entry, funcoff) pairs and the end */
	for (int i = 0; i < 2; i++) {
		size_t base = ver == 116 ? ps : 4;

		f[i] = t->len;
		put(t, f[i], (ver == 116 ? TEXT : 0) + 0x20ULL * (unsigned int)i, base);
		put(t, f[i] + base, i ? 8 : 1, 4);	   /* nameOff */
		put(t, f[i] + base + 12, 1, 4);	   /* pcsp (the pcfile table): ends at 16 */
		put(t, f[i] + base + 16, 1, 4);		   /* pcfile */
		put(t, f[i] + base + 20, 4, 4);		   /* pcln */
		put(t, f[i] + base + 28, 0, 4);		   /* cuOffset */
		t->len += fn;
	}
	for (int i = 0; i < 3; i++) {
		uint64_t entry = 0x20 * i + (ver == 116 ? TEXT : 0);

		put(t, functab + 2 * i * fsz, i == 2 ? entry - 0x10 : entry, fsz);
		if (i < 2)
			put(t, functab + (2 * i + 1) * fsz, f[i] - functab, fsz);
	}
	/* header words: nfunc, nfiles, [textStart], funcname, cu, filetab, pctab, pcln */
	{
		uint64_t w[8] = { 2, 1, TEXT, funcname, cu, filetab, pc, functab };
		unsigned int k = 0;

		for (unsigned int i = 0; i < 8; i++) {
			if (ver == 116 && i == 2)
				continue;
			put(t, 8 + k++ * ps, w[i], ps);
		}
	}
}

/* Every look-up on @g, for the sanitizers; true if they agree with make_table's table. */
static bool exercise(const struct gosym *g)
{
	const char *name = NULL, *file = NULL;
	uint64_t entry = 0, size = 0;
	int line = 0;
	bool ok = true;
	unsigned char code[4];

	ok &= gosym__func(g, TEXT + 4, &name, &entry) && !strcmp(name, "main.a") && entry == TEXT;
	ok &= gosym__line(g, TEXT + 4, &file, &line) && !strcmp(file, "/src/x.go") && line == 10;
	ok &= gosym__line(g, TEXT + 9, &file, &line) && line == 12;
	ok &= gosym__line(g, TEXT + 0x27, &file, &line) && line == 10;
	ok &= gosym__func(g, TEXT + 0x2f, &name, &entry) && !strcmp(name, "main.b") &&
	      entry == TEXT + 0x20;
	ok &= !gosym__func(g, TEXT + 0x30, &name, &entry) && !gosym__func(g, TEXT - 1, &name, &entry);
	ok &= !gosym__line(g, TEXT + 0x18, &file, &line); /* padding: no line */
	ok &= gosym__lookup(g, "main.b", &entry, &size) && entry == TEXT + 0x20 && size == 16;
	ok &= gosym__nth(g, 0, &name, &entry, &size) && size == 16;
	ok &= !gosym__lookup(g, "main.c", &entry, &size) && !gosym__nth(g, 2, &name, &entry, &size);
	ok &= gosym__count(g) == 2 && !strcmp(gosym__version(g), "");
	ok &= gosym__code(g, TEXT, code, sizeof(code)) == -ENOENT;
	return ok;
}

TEST(gosym_reads_each_format)
{
	static const int vers[] = { 116, 118, 120 };

	for (size_t i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
		struct tab t;
		struct gosym *g;

		make_table(&t, vers[i]);
		g = gosym__from_memory(t.b, t.len, 0);
		if (!ASSERT_TRUE(g != NULL))
			continue;
		if (!ASSERT_TRUE(exercise(g)))
			printf("  format %d\n", vers[i]);
		gosym__close(g);
	}
}

TEST(gosym_survives_truncation_and_corruption)
{
	static const int vers[] = { 116, 118, 120 };

	for (size_t v = 0; v < sizeof(vers) / sizeof(vers[0]); v++) {
		struct tab t;

		make_table(&t, vers[v]);
		/* cut short anywhere: an error, or (past the last table) the same answers */
		for (size_t n = 0; n < t.len; n++) {
			struct gosym *g = gosym__from_memory(t.b, n, 0);

			if (g)
				exercise(g);
			else
				ASSERT_TRUE(errno == ENOEXEC);
			gosym__close(g);
		}
		/* any byte set to values that break offsets, varints and terminators */
		for (size_t i = 0; i < t.len; i++) {
			static const uint8_t bad[] = { 0x00, 0x7f, 0x80, 0xff };

			for (size_t k = 0; k < sizeof(bad); k++) {
				struct tab c = t;
				struct gosym *g;

				c.b[i] = bad[k];
				g = gosym__from_memory(c.b, c.len, 0);
				if (g)
					exercise(g);
				gosym__close(g);
			}
		}
	}
}

TEST(gosym_rejects_what_it_does_not_read)
{
	uint8_t junk[256];
	struct tab t;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	errno = 0;
	ASSERT_TRUE(gosym__from_memory(junk, sizeof(junk), 0) == NULL);
	ASSERT_EQ(errno, ENOEXEC);
	make_table(&t, 120);
	put(&t, 0, 0xfffffffb, 4); /* Go 1.2 to 1.15 */
	ASSERT_TRUE(gosym__from_memory(t.b, t.len, 0) == NULL);
	ASSERT_EQ(errno, EPROTONOSUPPORT);
	put(&t, 0, 0xf1ffffff, 4); /* big-endian 1.20 */
	ASSERT_TRUE(gosym__from_memory(t.b, t.len, 0) == NULL);
	ASSERT_EQ(errno, EPROTONOSUPPORT);
	make_table(&t, 120);
	t.b[6] = 3; /* no such PC quantum */
	ASSERT_TRUE(gosym__from_memory(t.b, t.len, 0) == NULL);
	ASSERT_EQ(errno, ENOEXEC);
	make_table(&t, 120);
	put(&t, 8, 1000, 8); /* more functions than the table holds */
	ASSERT_TRUE(gosym__from_memory(t.b, t.len, 0) == NULL);
	ASSERT_EQ(errno, ENOEXEC);
	/* files: not ELF, and an ELF file that is not Go (this test binary) */
	ASSERT_TRUE(gosym__open("tests/harness.h") == NULL);
	ASSERT_EQ(errno, ENOEXEC);
	ASSERT_TRUE(gosym__open("/proc/self/exe") == NULL);
	ASSERT_EQ(errno, ENOENT);
	ASSERT_STREQ(gosym__version(NULL), "");
	gosym__close(NULL);
}

/* A fake address space for the pointer format: 64 bytes at 0x1000. */
static int read_fake(void *ctx, uint64_t vaddr, void *buf, size_t len)
{
	const uint8_t *mem = ctx;

	if (vaddr < 0x1000 || vaddr - 0x1000 > 64 || len > 64 - (vaddr - 0x1000))
		return -EIO;
	memcpy(buf, mem + (vaddr - 0x1000), len);
	return 0;
}

TEST(gosym_build_info_formats)
{
	uint8_t bi[64] = "\xff Go buildinf:", mem[64] = { 0 };
	char out[64];

	/* 1.18+: inline, the version first with its length as a varint */
	bi[14] = 8;
	bi[15] = 2;
	bi[32] = 9;
	memcpy(bi + 33, "go1.19.13", 9);
	ASSERT_EQ(gosym__parse_buildinfo(bi, sizeof(bi), NULL, NULL, out, sizeof(out)), 0);
	ASSERT_STREQ(out, "go1.19.13");
	ASSERT_EQ(gosym__parse_buildinfo(bi, 40, NULL, NULL, out, sizeof(out)), -ENOEXEC);
	ASSERT_EQ(gosym__parse_buildinfo(bi, sizeof(bi), NULL, NULL, out, 5), -ERANGE);
	bi[32] = 0x80; /* a varint that never ends */
	memset(bi + 33, 0xff, sizeof(bi) - 33);
	ASSERT_TRUE(gosym__parse_buildinfo(bi, sizeof(bi), NULL, NULL, out, sizeof(out)) < 0);
	ASSERT_STREQ(out, "");

	/* before 1.18: a pointer to a string header {data, len} */
	memset(bi + 16, 0, sizeof(bi) - 16);
	bi[15] = 0;
	bi[16] = 0x00;
	bi[17] = 0x10;			/* 0x1000: the string header */
	mem[0] = 0x10;
	mem[1] = 0x10;			/* data at 0x1010 */
	mem[8] = 9;			/* len 9 */
	memcpy(mem + 16, "go1.17.13", 9);
	ASSERT_EQ(gosym__parse_buildinfo(bi, sizeof(bi), read_fake, mem, out, sizeof(out)), 0);
	ASSERT_STREQ(out, "go1.17.13");
	mem[8] = 60; /* runs past the readable memory */
	ASSERT_EQ(gosym__parse_buildinfo(bi, sizeof(bi), read_fake, mem, out, sizeof(out)), -EIO);
	mem[8] = 9;
	mem[16] = '\n'; /* not a version */
	ASSERT_EQ(gosym__parse_buildinfo(bi, sizeof(bi), read_fake, mem, out, sizeof(out)),
		  -ENOEXEC);
	bi[0] = 0;
	ASSERT_EQ(gosym__parse_buildinfo(bi, sizeof(bi), read_fake, mem, out, sizeof(out)), -ENOENT);
}
