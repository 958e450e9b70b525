/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Crash forensics in user space: the Go runtime's fatal paths probed per
 * binary (bpf/crash.bpf.c; the fatal-signal tracepoint needs no attaching).
 * The names of crash kinds and signals are the model's (model__crash_kind).
 */
#ifndef CW_CRASH_H
#define CW_CRASH_H

#include <sys/types.h>
#include "probes.h"

/*
 * If the executable of @pid (@exe: the file it is about to exec, when still
 * held; NULL: /proc/PID/exe) is a Go binary, attach go_fatal at the entry of runtime.fatalpanic,
 * runtime.fatalthrow and runtime.startpanic_m (for every process; the program
 * keeps targets), once per binary. Returns the probes newly attached (0 for
 * a binary seen before or not Go), or -errno. A missing symbol is only said
 * under -v: that path goes unreported.
 */
int crash__attach_go(struct probes *p, pid_t pid, const char *exe);

#endif /* CW_CRASH_H */
