// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Choosing processes: /proc reads, name and executable matching, launching. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "target.h"
#include "util.h"

int target__status(pid_t pid, struct target_status *st)
{
	char path[64], line[256];
	bool zombie = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	memset(st, 0, sizeof(*st));
	while (fgets(line, sizeof(line), f)) {
		char key[32];
		unsigned long long v;

		if (!strncmp(line, "State:\t", 7)) {
			/* a zombie (Z) or dead (X) process has nothing left to watch */
			zombie = line[7] == 'Z' || line[7] == 'X';
			continue;
		}
		if (!strncmp(line, "Name:\t", 6)) {
			line[strcspn(line, "\n")] = '\0';
			util__strlcpy(st->comm, line + 6, sizeof(st->comm));
			continue;
		}
		if (sscanf(line, "%31[^:]: %llu", key, &v) != 2)
			continue;
		if (!strcmp(key, "Tgid"))
			st->tgid = (pid_t)v;
		else if (!strcmp(key, "PPid"))
			st->ppid = (pid_t)v;
		else if (!strcmp(key, "RssAnon"))
			st->rss_anon = v << 10;
		else if (!strcmp(key, "RssFile"))
			st->rss_file = v << 10;
		else if (!strcmp(key, "RssShmem"))
			st->rss_shmem = v << 10;
		else if (!strcmp(key, "VmSwap"))
			st->swap = v << 10;
		else if (!strcmp(key, "VmHWM"))
			st->hwm = v << 10;
		else if (!strcmp(key, "VmData"))
			st->vm_data = v << 10;
		else if (!strcmp(key, "Threads"))
			st->threads = v;
	}
	fclose(f);
	return st->tgid && !zombie ? 0 : -ESRCH;
}

int target__exe(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int target__match_comm(struct target_match *m, const char *comm)
{
	if (!*comm || strlen(comm) >= CW_COMM_LEN)
		return -EINVAL;
	if (m->ncomm == TARGET_MAX_MATCH)
		return -ENOSPC;
	memset(m->comm[m->ncomm], 0, CW_COMM_LEN);
	memcpy(m->comm[m->ncomm++], comm, strlen(comm));
	return 0;
}

int target__match_exe(struct target_match *m, const char *path)
{
	struct stat st;

	if (m->nexe == TARGET_MAX_MATCH)
		return -ENOSPC;
	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	util__strlcpy(m->exe[m->nexe].path, path, CW_PATH_LEN);
	/* the kernel's internal dev_t, as the BPF side reads i_sb->s_dev */
	m->exe[m->nexe].dev = ((__u64)major(st.st_dev) << 20) | minor(st.st_dev);
	m->exe[m->nexe].ino = st.st_ino;
	m->nexe++;
	return 0;
}

int target__match_cgroup(struct target_match *m, const char *path)
{
	struct statfs fs;
	struct stat st;

	if (m->ncgroup == TARGET_MAX_MATCH)
		return -ENOSPC;
	if (stat(path, &st) || statfs(path, &fs))
		return -errno;
	if (!S_ISDIR(st.st_mode) || fs.f_type != CGROUP2_SUPER_MAGIC)
		return -ENOTDIR;
	util__strlcpy(m->cgroup[m->ncgroup].path, path, CW_PATH_LEN);
	m->cgroup[m->ncgroup].id = st.st_ino;
	m->ncgroup++;
	return 0;
}

/* The processes of cgroup directory @dir and of those below it (depth-first, bounded). */
static int scan_cgroup_dir(const char *dir, int depth,
			   void (*fn)(pid_t pid, __u32 why, void *ctx), void *ctx)
{
	char path[4096];
	struct dirent *de;
	unsigned long long pid;
	int n = 0;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (f) {
		while (fscanf(f, "%llu", &pid) == 1) {
			fn((pid_t)pid, CW_WHY_CGROUP, ctx);
			n++;
		}
		fclose(f);
	}
	if (depth >= CW_CGROUP_DEPTH || !(d = opendir(dir)))
		return n;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n += scan_cgroup_dir(path, depth + 1, fn, ctx);
	}
	closedir(d);
	return n;
}

int target__scan_cgroups(const struct target_match *m,
			 void (*fn)(pid_t pid, __u32 why, void *ctx), void *ctx)
{
	int n = 0;

	for (int i = 0; i < m->ncgroup; i++)
		n += scan_cgroup_dir(m->cgroup[i].path, 0, fn, ctx);
	return n;
}

__u32 target__matches(const struct target_match *m, pid_t pid)
{
	char path[64], comm[CW_COMM_LEN + 2] = "";
	struct stat st;
	FILE *f;

	if (m->ncomm) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "re");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		for (int i = 0; i < m->ncomm; i++)
			if (!strcmp(comm, m->comm[i]))
				return CW_WHY_COMM;
	}
	if (m->nexe) {
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		if (stat(path, &st))
			return 0;
		for (int i = 0; i < m->nexe; i++) {
			__u64 dev = ((__u64)major(st.st_dev) << 20) | minor(st.st_dev);

			if (dev == m->exe[i].dev && st.st_ino == m->exe[i].ino)
				return CW_WHY_EXE;
		}
	}
	return 0;
}

int target__scan(const struct target_match *m, void (*fn)(pid_t pid, __u32 why, void *ctx),
		 void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		__u64 pid;
		__u32 why;

		if (!isdigit((unsigned char)de->d_name[0]) ||
		    util__parse_u64(de->d_name, 1, INT32_MAX, &pid) || (pid_t)pid == self)
			continue;
		why = target__matches(m, (pid_t)pid);
		if (why) {
			fn((pid_t)pid, why, ctx);
			n++;
		}
	}
	closedir(d);
	return n;
}

int target__which(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(cmd, '/'))
		return realpath(cmd, out) && len >= 4096 ? 0 : -ENOENT;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, cmd);
		if (!access(buf, X_OK) && realpath(buf, out))
			return 0;
		path += n + (path[n] == ':');
	}
	return -ENOENT;
}

int target__launch(char *const argv[], struct target_launch *l)
{
	int go[2], err[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		int e = -errno;

		close(go[0]);
		close(go[1]);
		return e;
	}
	pid = fork();
	if (pid < 0) {
		int e = -errno;

		close(go[0]);
		close(go[1]);
		close(err[0]);
		close(err[1]);
		return e;
	}
	if (pid == 0) {
		char c;
		int e;

		close(go[1]);
		close(err[0]);
		/* die with cwatch while held; exec clears this */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		e = errno;
		if (write(err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	l->pid = pid;
	l->go_fd = go[1];
	l->err_fd = err[0];
	return 0;
}

int target__release(struct target_launch *l)
{
	int e = 0;
	ssize_t n;

	if (write(l->go_fd, "g", 1) != 1)
		e = errno;
	close(l->go_fd);
	l->go_fd = -1;
	if (e)
		return -e;
	do
		n = read(l->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(l->err_fd);
	l->err_fd = -1;
	if (n == (ssize_t)sizeof(e)) {
		waitpid(l->pid, NULL, 0);
		return -e;
	}
	return 0;
}

void target__abort(struct target_launch *l)
{
	if (l->pid <= 0)
		return;
	kill(l->pid, SIGKILL);
	waitpid(l->pid, NULL, 0);
	if (l->go_fd >= 0)
		close(l->go_fd);
	if (l->err_fd >= 0)
		close(l->err_fd);
	l->pid = 0;
	l->go_fd = l->err_fd = -1;
}
