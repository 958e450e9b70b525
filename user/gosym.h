/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Go symbols without ELF symbols: function names, entries, sizes and source
 * positions from the runtime's own table (.gopclntab, pclntab formats of
 * Go 1.16/1.17, 1.18/1.19 and 1.20+), and the Go version from .go.buildinfo.
 * Addresses are link-time virtual addresses.
 */
#ifndef CW_GOSYM_H
#define CW_GOSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gosym;

/*
 * Open the Go metadata of ELF file @path. NULL with errno: ENOENT not a Go
 * binary, EPROTONOSUPPORT a pclntab version we do not read, ENOEXEC/EIO bad file.
 */
struct gosym *gosym__open(const char *path);
void gosym__close(struct gosym *g);
/*
 * The Go version the binary was built with, e.g. "go1.19.13", from the build
 * info (pre-1.18 pointer format and 1.18+ inline format); "" if unknown.
 */
const char *gosym__version(const struct gosym *g);
/* The function containing @addr: its name and entry; false if none. */
bool gosym__func(const struct gosym *g, uint64_t addr, const char **name, uint64_t *entry);
/*
 * Source position of @addr (as given; callers pass pc-1 for return
 * addresses): file and line. Inlined code gives the innermost position, as
 * runtime.FuncForPC(pc).FileLine(pc) does. False if none.
 */
bool gosym__line(const struct gosym *g, uint64_t addr, const char **file, int *line);
/* Entry and size in bytes of function @name (exact); false if none. */
bool gosym__lookup(const struct gosym *g, const char *name, uint64_t *entry, uint64_t *size);
/* Number of functions in the table, and function @i of them (in address order). */
size_t gosym__count(const struct gosym *g);
bool gosym__nth(const struct gosym *g, size_t i, const char **name, uint64_t *entry,
		uint64_t *size);
/*
 * Bytes of the function at @entry, @size long, read from the file into @buf
 * (for scanning call instructions); 0 or -errno.
 */
int gosym__code(const struct gosym *g, uint64_t entry, void *buf, size_t size);

/*
 * For tests and the fuzzer: a table from @len bytes of pclntab at @tab
 * (copied); @text is the address of runtime.text, 0 to take the header's.
 * NULL with errno as gosym__open. gosym__code fails with -ENOENT on it.
 */
struct gosym *gosym__from_memory(const void *tab, size_t len, uint64_t text);
/* Reads @len bytes at link-time address @vaddr into @buf; 0 or -errno. */
typedef int (*gosym_read_fn)(void *ctx, uint64_t vaddr, void *buf, size_t len);
/*
 * The Go version in build info @bi (@len bytes from its "\xff Go buildinf:"
 * magic), the pointer format resolved through @read, into @out; 0 or -errno.
 */
int gosym__parse_buildinfo(const void *bi, size_t len, gosym_read_fn read, void *ctx, char *out,
			   size_t outlen);

#endif /* CW_GOSYM_H */
