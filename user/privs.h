/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Least privilege: the capabilities cwatch keeps once its programs are loaded. */
#ifndef CW_PRIVS_H
#define CW_PRIVS_H

#include <stdbool.h>

/*
 * Keep only what attaching runtime uprobes and reading other processes'
 * /proc files need from now on (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE,
 * CAP_DAC_READ_SEARCH) in the effective and permitted sets, and
 * CAP_SYS_ADMIN permitted only (privs__attach); drop every other capability
 * from the bounding set when CAP_SETPCAP allows it, and clear the
 * inheritable and ambient sets. 0 or -errno (printed as a warning).
 */
int privs__drop(void);
/* Raise (@raise) or lower CAP_SYS_ADMIN around attaching uprobes, if permitted; 0 or -errno. */
int privs__attach(bool raise);

#endif /* CW_PRIVS_H */
