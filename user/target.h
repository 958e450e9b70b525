/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Choosing processes to watch: by pid, comm, executable, or by launching one. */
#ifndef CW_TARGET_H
#define CW_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "cwatch.h"

#define TARGET_MAX_MATCH 16

/* What /proc/PID/status says, in bytes (kB fields) and counts. */
struct target_status {
	char comm[CW_COMM_LEN];
	pid_t tgid, ppid;
	__u64 rss_anon, rss_file, rss_shmem, swap, hwm, vm_data;
	__u64 threads;
};

/* Processes to pick up by name or executable, at start and whenever they exec. */
struct target_match {
	char comm[TARGET_MAX_MATCH][CW_COMM_LEN];
	int ncomm;
	struct {
		char path[CW_PATH_LEN];
		__u64 dev;	/* the kernel's encoding (major << 20 | minor) */
		__u64 ino;
	} exe[TARGET_MAX_MATCH];
	int nexe;
	struct {
		char path[CW_PATH_LEN];
		__u64 id;	/* the cgroup v2 id: the directory's inode */
	} cgroup[TARGET_MAX_MATCH];
	int ncgroup;
};

/* A command started by cwatch and held before exec until probes are attached. */
struct target_launch {
	pid_t pid;
	int go_fd;	/* write a byte: the child may exec */
	int err_fd;	/* the child's exec errno, or EOF when exec succeeded */
};

/* Read /proc/@pid/status; 0, -ESRCH if there is no such process, -errno. */
int target__status(pid_t pid, struct target_status *st);
/* Resolve /proc/@pid/exe into @buf; 0 or -errno. */
int target__exe(pid_t pid, char *buf, size_t len);

/* Add a --comm name (15 characters at most); 0 or -EINVAL/-ENOSPC. */
int target__match_comm(struct target_match *m, const char *comm);
/* Add an --exe path (must exist); 0 or -errno. */
int target__match_exe(struct target_match *m, const char *path);
/* Add a --cgroup directory (cgroup v2); 0 or -errno (-ENOTDIR: not a cgroup v2 directory). */
int target__match_cgroup(struct target_match *m, const char *path);
/*
 * Call @fn for every process in a --cgroup directory or below it (their
 * cgroup.procs files). Returns the number of processes seen.
 */
int target__scan_cgroups(const struct target_match *m,
			 void (*fn)(pid_t pid, __u32 why, void *ctx), void *ctx);
/* Does running process @pid match? Returns the enum cw_reason, or 0. */
__u32 target__matches(const struct target_match *m, pid_t pid);
/*
 * Call @fn for every running process (but cwatch itself) that matches @m.
 * Returns the number of matches.
 */
int target__scan(const struct target_match *m, void (*fn)(pid_t pid, __u32 why, void *ctx),
		 void *ctx);

/* Resolve a command name through PATH as execvp would; 0 with the path, or -ENOENT. */
int target__which(const char *cmd, char *out, size_t len);
/* Fork @argv held before exec; 0 or -errno. */
int target__launch(char *const argv[], struct target_launch *l);
/* Let the held child exec; 0, or the child's exec error as -errno. */
int target__release(struct target_launch *l);
/* Kill and reap a held child that will not be released. */
void target__abort(struct target_launch *l);

#endif /* CW_TARGET_H */
