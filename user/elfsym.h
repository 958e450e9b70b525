/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* ELF look-ups with libelf: function symbols to file offsets, Go binaries, libraries. */
#ifndef CW_ELFSYM_H
#define CW_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/*
 * The file offset of function @name (a glob if it has * ? or [) in the ELF
 * file @path (.symtab, then .dynsym, then a Go binary's pclntab), as uprobes
 * want it. 0, -ENOENT if there is no such defined function, -ENOEXEC if the
 * file is not ELF, -errno.
 */
int elfsym__offset(const char *path, const char *name, __u64 *off);
/* Is @path a Go binary (has .go.buildinfo or .gopclntab)? */
bool elfsym__is_go(const char *path);
/*
 * Where the dynamic loader would find library @lib (a file name) for the
 * executable @exe: DT_RPATH/DT_RUNPATH ($ORIGIN expanded), LD_LIBRARY_PATH,
 * the usual directories. 0 with the path in @out, or -ENOENT.
 */
int elfsym__find_library(const char *exe, const char *lib, char *out, size_t len);
/* Does @exe list a DT_NEEDED entry starting with @prefix? The entry goes to @out. */
bool elfsym__needs(const char *exe, const char *prefix, char *out, size_t len);

/* The GNU build-id of @path as hex into @out; 0 or -ENOENT. */
int elfsym__build_id(const char *path, char *out, size_t len);
/*
 * The .gnu_debuglink of @path: the debug file's name into @name and the
 * CRC-32 of its contents into *@crc; 0, -ENOENT if there is none, -errno.
 */
int elfsym__debuglink(const char *path, char *name, size_t len, __u32 *crc);
/* The CRC-32 of the contents of file @path, as .gnu_debuglink records it; 0 or -errno. */
int elfsym__file_crc(const char *path, __u32 *crc);
/*
 * The MiniDebugInfo of @path: its .gnu_debugdata section (an ELF file with
 * the local function symbols, xz-compressed) decompressed into a malloc'ed
 * buffer, its size into *@len. NULL with errno: ENOENT none, EBADMSG bad xz.
 */
void *elfsym__debugdata(const char *path, size_t *len);

#endif /* CW_ELFSYM_H */
