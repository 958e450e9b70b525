/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Go programs: goroutine and cgo probes placed by reading the binary (its
 * build info and .gopclntab, so stripped binaries work), goroutines alive at
 * attach read from the process, and the Go heap's resident size.
 */
#ifndef CW_GOLANG_H
#define CW_GOLANG_H

#include <stdbool.h>
#include <sys/types.h>
#include "cwatch.h"
#include "probes.h"

/* Go versions whose runtime cwatch knows (newproc, newproc1, goexit0 and the g layout). */
#define GOLANG_MIN_MINOR 19
#define GOLANG_MAX_MINOR 27

struct golang;

struct golang *golang__new(struct probes *p);
void golang__free(struct golang *g);
/*
 * Go support for @pid, running @exe (NULL: /proc/PID/exe; a path while @pid
 * is held before exec); with @cgo, C allocations made through cgo too (this
 * probes libc's malloc and free in @pid: every call of theirs pays a uprobe
 * hit). 1: attached (or attached before for that binary), 0: not a Go
 * program, -errno after a warning (a Go version cwatch does not know,
 * runtime functions missing): the target is watched without Go figures.
 */
int golang__attach(struct golang *g, pid_t pid, const char *exe, bool cgo);
/* @pid's Go figures now (user and system are left to the caller); 0, or -ENOENT if not Go. */
int golang__stats(struct golang *g, pid_t pid, struct cw_rec_go_stats *r);
/*
 * Count the goroutines that ended on a g the runtime has not reused yet: read
 * each tracked g's status in its process. Called before the sites are read
 * once an interval; it holds itself to a twentieth of a CPU, sweeping less
 * often when there are very many goroutines.
 */
void golang__sweep(struct golang *g);
/* Drop @pid's kernel-side Go state once it has exited and was reported. */
void golang__forget(struct golang *g, pid_t pid);
/* Is @name (a function) one of the runtime's own goroutines, as runtime.NumGoroutine counts? */
bool golang__is_system(const char *name);

#endif /* CW_GOLANG_H */
