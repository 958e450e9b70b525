// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Dropping capabilities after load, with libcap. */
#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "privs.h"
#include "util.h"

/*
 * What is still needed once the programs are loaded and attached, each
 * checked by a test that attaches after the drop (tests/integ/test_privs.py):
 * CAP_BPF and CAP_PERFMON for the uprobes of targets that appear later
 * (perf_event_open of a uprobe, BPF links) and the maps; CAP_SYS_PTRACE for
 * /proc/PID/maps, /proc/PID/exe, /proc/PID/root of other users' processes and
 * /proc/PID/mem of Go programs (ptrace access mode ATTACH); CAP_DAC_READ_SEARCH
 * for the binaries behind /proc/PID/root that only their owner may read, and
 * tracefs, which is root-only. --enforce kills from the kernel side
 * (bpf_send_signal): no CAP_KILL. Mounting tracefs, binding the metrics port,
 * BPF statistics and loading happen before.
 *
 * One more is kept permitted but not effective: CAP_SYS_ADMIN, raised only
 * while uprobes are attached (privs__attach). Since 2025 the kernel asks for
 * it to open a uprobe perf event (perf_uprobe_event_init went back from
 * perfmon_capable() to capable(CAP_SYS_ADMIN); Linux 6.18 here: EACCES
 * without it), so targets that appear later could not get runtime, Go or
 * crash probes otherwise.
 */
static const cap_value_t keep[] = { CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH,
				    CAP_SYS_ADMIN };
#define NKEEP ((int)(sizeof(keep) / sizeof(keep[0])))
#define NEFFECTIVE (NKEEP - 1)	/* CAP_SYS_ADMIN, the last, only while attaching */

static bool dropped;	/* before privs__drop, privs__attach leaves things as they are */

static bool kept(cap_value_t c)
{
	for (int i = 0; i < NKEEP; i++)
		if (keep[i] == c)
			return true;
	return false;
}

int privs__attach(bool raise)
{
	static const cap_value_t admin[] = { CAP_SYS_ADMIN };
	cap_flag_value_t v = CAP_CLEAR;
	cap_t now;
	int err = 0;

	if (!dropped)
		return 0;
	now = cap_get_proc();
	if (!now)
		return -errno;
	/* a process without it (a service given only the four) goes on as it can */
	if (!cap_get_flag(now, CAP_SYS_ADMIN, CAP_PERMITTED, &v) && v == CAP_SET &&
	    (cap_set_flag(now, CAP_EFFECTIVE, 1, admin, raise ? CAP_SET : CAP_CLEAR) ||
	     cap_set_proc(now)))
		err = -errno;
	cap_free(now);
	return err;
}

int privs__drop(void)
{
	cap_t now = cap_get_proc(), want = cap_init();
	cap_flag_value_t setpcap = CAP_CLEAR;
	cap_value_t have[NKEEP];
	int n = 0, neff = 0, err = 0;

	if (!now || !want) {
		err = -errno;
		goto out;
	}
	/* the bounding set first: changing it takes CAP_SETPCAP, which goes next */
	cap_get_flag(now, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
	for (cap_value_t c = 0; setpcap == CAP_SET && c <= CAP_LAST_CAP; c++) {
		if (kept(c) || CAP_IS_SUPPORTED(c) <= 0)
			continue;
		if (cap_drop_bound(c) && !err)
			err = -errno;
	}
	if (err) {
		cw_warn("dropping capabilities from the bounding set failed: %s", strerror(-err));
		err = 0;
	}
	/* effective and permitted: the kept ones this process has; nothing inheritable */
	for (int i = 0; i < NKEEP; i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (!cap_get_flag(now, keep[i], CAP_PERMITTED, &v) && v == CAP_SET) {
			have[n++] = keep[i];
			neff += i < NEFFECTIVE;
		}
	}
	if ((n && ((neff && cap_set_flag(want, CAP_EFFECTIVE, neff, have, CAP_SET)) ||
		   cap_set_flag(want, CAP_PERMITTED, n, have, CAP_SET))) ||
	    cap_set_proc(want)) {
		err = -errno;
		goto out;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	dropped = true;
	cw_debug("capabilities dropped: %d of CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, "
		 "CAP_DAC_READ_SEARCH kept, CAP_SYS_ADMIN %s%s", neff,
		 n > neff ? "for attaching only" : "not held",
		 setpcap == CAP_SET ? "; bounding set too" : "");
out:
	if (err)
		cw_warn("dropping capabilities failed: %s; cwatch goes on with them", strerror(-err));
	cap_free(now);
	cap_free(want);
	return err;
}
