// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The Go runtime's fatal paths, probed once per binary (device and inode). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "crash.h"
#include "elfsym.h"
#include "util.h"

#define CRASH_BINARIES 256	/* binaries looked at; past that, new ones are not probed */

/* Binaries looked at, Go or not, so an unsettled target costs a stat per interval. */
static struct {
	dev_t dev;
	ino_t ino;
} seen[CRASH_BINARIES];
static int nseen;

int crash__attach_go(struct probes *p, pid_t pid, const char *exe)
{
	/* keep in sync with bpf/crash.bpf.c (go_fatal) */
	static const struct {
		const char *sym;
		__u32 kind;
	} fatal[] = {
		{ "runtime.fatalpanic", CW_CRASH_GO_PANIC },
		{ "runtime.fatalthrow", CW_CRASH_GO_THROW },
		{ "runtime.startpanic_m", CW_CRASH_GO_SIGNAL },
	};
	char path[4096];
	struct stat st;
	int n = 0;

	if (exe)
		snprintf(path, sizeof(path), "%s", exe);
	else
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st))
		return -errno;
	for (int i = 0; i < nseen; i++)
		if (seen[i].dev == st.st_dev && seen[i].ino == st.st_ino)
			return 0;
	if (nseen == CRASH_BINARIES)
		return -ENOSPC;
	seen[nseen].dev = st.st_dev;
	seen[nseen++].ino = st.st_ino;
	if (!elfsym__is_go(path))
		return 0;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		__u64 off;
		int err = elfsym__offset(path, fatal[i].sym, &off);

		if (err) {
			cw_debug("crash forensics: %s not found in %s (%s): not watched", fatal[i].sym,
				 path, strerror(-err));
			continue;
		}
		err = probes__attach_prog(p, "go_fatal", path, off, fatal[i].kind, false);
		if (err) {
			cw_warn("crash forensics: attaching %s in %s failed: %s", fatal[i].sym, path,
				 strerror(-err));
			continue;
		}
		n++;
	}
	cw_debug("crash forensics: %d Go runtime probes in %s", n, path);
	return n;
}
