/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runtimes in targets: choosing a profile for each target (by its mapped
 * files or the functions its executable defines, or as the user said) and
 * attaching the profile's probes once per binary, for every process that
 * maps it; the BPF programs keep only targets.
 */
#ifndef CW_RUNTIME_H
#define CW_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>
#include "probes.h"
#include "profile.h"

#define RUNTIME_MAX_PROFILES 16

enum runtime_mode {
	RUNTIME_AUTO = 0,	/* pick a built-in (or --profile) profile by what the target maps */
	RUNTIME_NONE = 1,	/* no runtime probes: the target is its single instance */
	RUNTIME_FIXED = 2,	/* the profiles the user named apply to every target */
};

/* Where one probe of a profile lands in one target. */
struct runtime_site {
	const struct profile_probe *pp;
	char path[4096];	/* the binary, as opened */
	__u64 off;		/* file offset of the symbol */
	int err;		/* 0, -ENOENT (symbol or binary missing), -errno */
};

struct runtime;

/* @profiles: the candidates (auto) or the chosen ones (fixed); copied. */
struct runtime *runtime__new(struct probes *p, enum runtime_mode mode,
			     const struct profile *profiles, int nprofiles);
void runtime__free(struct runtime *r);

/*
 * Choose a profile for @pid, running @exe (NULL: /proc/PID/exe; a path when
 * @pid is still held before exec), and attach its probes. Returns the
 * profile's index, -ENOENT when none applies, -errno after printing why the
 * probes could not be attached (symbols missing, a return probe on Go code).
 */
int runtime__attach(struct runtime *r, pid_t pid, const char *exe);
/*
 * Target @pid is gone (or exec'd): the probes only it held are detached,
 * to be attached again when a target needs them. Returns how many went.
 */
int runtime__release(struct runtime *r, pid_t pid);
/*
 * SIGHUP: the profiles again, in the same places (@n as at runtime__new).
 * A changed profile applies to binaries probed from now on; a binary whose
 * probes are in place keeps them, as they were, until its last target goes
 * (a second set would trap twice).
 * Returns how many changed, or -EINVAL.
 */
int runtime__set_profiles(struct runtime *r, const struct profile *profiles, int n);
/*
 * Where binary @bin ("exe", or a library's file name) is for @pid/@exe:
 * mapped already, or what the executable will load. 0 with the path, or -ENOENT.
 */
int runtime__binary_path(const char *bin, pid_t pid, const char *exe, char *out, size_t len);
/* The profile at index @i, or NULL. */
const struct profile *runtime__profile(const struct runtime *r, int i);

/*
 * Pure look-ups for `cwatch probe`: which of @profiles (n of them) matches
 * @pid/@exe (index, or -ENOENT), and where each probe of @pr lands (fills
 * @sites, returns how many; each with its own err).
 */
int runtime__match(const struct profile *profiles, int n, pid_t pid, const char *exe);
int runtime__resolve(const struct profile *pr, pid_t pid, const char *exe,
		     struct runtime_site *sites, int max);

#endif /* CW_RUNTIME_H */
