/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Addresses to names: a target's mappings (read while it lives) and each
 * mapped binary's ELF function symbols (.symtab, .dynsym, a debug file,
 * MiniDebugInfo) and a Go binary's pclntab, loaded once per binary (device
 * and inode, shared by build-id; a deleted or replaced file is read through
 * /proc/PID/map_files; the ELF symbols at the first lookup, the file held
 * open until then) and kept after the target exits; JIT code from perf map
 * files.
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
 * line is that of @addr as given: pass pc-1 for return addresses). C++ and
 * Rust symbols are demangled without their parameter lists, template
 * arguments abbreviated to "<...>" from the innermost out if the frame would
 * not fit @len. Symbols come from .symtab and .dynsym, else from a separate
 * debug file (build-id or .gnu_debuglink) or .gnu_debugdata. JIT code is
 * named from /tmp/perf-PID.map ("name+0xoff (perf map)"), else
 * "0xaddr (anonymous executable memory)"; "0xaddr (module+0xoff)" when the
 * module has no symbol there. Returns @buf.
 */
const char *symbolize__addr(struct symbolizer *s, pid_t pid, __u64 addr, char *buf, size_t len);
/*
 * The same, for a thread known to run contract instance @inst (a label such
 * as "#3"; NULL or "" for none): anonymous executable memory that no perf
 * map names is "0xaddr (contract code of instance #3)".
 */
const char *symbolize__addr_inst(struct symbolizer *s, pid_t pid, __u64 addr, const char *inst,
				 char *buf, size_t len);

/*
 * @pid is gone and what was seen of it named: drop its mappings, and the
 * symbols of binaries no other process maps.
 */
void symbolize__forget(struct symbolizer *s, pid_t pid);

/* Binaries whose symbols are cached. */
size_t symbolize__nbinaries(const struct symbolizer *s);

#endif /* CW_SYMBOLIZE_H */
