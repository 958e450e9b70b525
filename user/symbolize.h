/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Addresses to names: a target's mappings (read while it lives) and each
 * mapped binary's ELF function symbols (.symtab, .dynsym) and a Go binary's
 * pclntab, loaded once per binary (device and inode) and kept after the
 * target exits.
 */
#ifndef CW_SYMBOLIZE_H
#define CW_SYMBOLIZE_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct symbolizer;

struct symbolizer *symbolize__new(void);
void symbolize__free(struct symbolizer *s);
/* Read (again) the executable mappings of @pid; 0 or -errno. */
int symbolize__maps(struct symbolizer *s, pid_t pid);
/*
 * Name @addr of @pid as "symbol+0xoff (module)", "symbol+0xoff (file.go:LINE,
 * module)" for Go code (named from the pclntab in stripped Go binaries; the
 * line is that of @addr as given: pass pc-1 for return addresses),
 * "0xaddr (module)" when the module has no symbol there, or
 * "0xaddr (anonymous executable memory)" for JIT code. Returns @buf.
 */
const char *symbolize__addr(struct symbolizer *s, pid_t pid, __u64 addr, char *buf, size_t len);

/* Binaries whose symbols are cached. */
size_t symbolize__nbinaries(const struct symbolizer *s);

#endif /* CW_SYMBOLIZE_H */
