// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Profiles to targets, and their probes to binaries, attached once per binary. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfsym.h"
#include "runtime.h"
#include "target.h"
#include "util.h"

#define MAX_ATTACHED 256

/* A probe in a binary, shared by every target that maps it; detached with the last. */
struct attached {
	dev_t dev;
	ino_t ino;
	int profile, probe;
	int refs;		/* live targets using it; 0 = a free slot */
	struct bpf_link *link[2];	/* entry, and return probe if any */
};

/* The probes a target holds (indexes in runtime.att). */
struct holder {
	pid_t pid;
	short att[PROFILE_MAX_PROBES];
	int n;
};

struct runtime {
	struct probes *probes;
	enum runtime_mode mode;
	struct profile prof[RUNTIME_MAX_PROFILES];
	int nprof;
	int spec[RUNTIME_MAX_PROFILES][PROFILE_MAX_PROBES];	/* cookie + 1, 0 = none yet */
	int nspecs;
	struct attached att[MAX_ATTACHED];
	int natt;
	struct holder *hold;
	size_t nhold;
};

struct runtime *runtime__new(struct probes *p, enum runtime_mode mode,
			     const struct profile *profiles, int nprofiles)
{
	struct runtime *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->probes = p;
	r->mode = mode;
	r->nprof = nprofiles < RUNTIME_MAX_PROFILES ? nprofiles : RUNTIME_MAX_PROFILES;
	memcpy(r->prof, profiles, sizeof(*profiles) * (size_t)r->nprof);
	return r;
}

void runtime__free(struct runtime *r)
{
	if (r)
		free(r->hold);
	free(r);
}

const struct profile *runtime__profile(const struct runtime *r, int i)
{
	return i >= 0 && i < r->nprof ? &r->prof[i] : NULL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Does file name @name match a profile's file pattern @pat? "libx.so" also matches "libx.so.1". */
static bool name_matches(const char *pat, const char *name)
{
	size_t n = strlen(pat);

	return !fnmatch(pat, name, 0) || (!strncmp(pat, name, n) && name[n] == '.');
}

/* The executable of @pid (through /proc, so it opens from our mount namespace). */
static int exe_of(pid_t pid, const char *exe, char *out, size_t len)
{
	if (exe) {
		snprintf(out, len, "%s", exe);
		return 0;
	}
	snprintf(out, len, "/proc/%d/exe", pid);
	return access(out, R_OK) ? -errno : 0;
}

/*
 * Find the mapped file of @pid whose name matches @pat; the path goes to
 * @out through /proc/PID/root. 0 or -ENOENT.
 */
static int mapped_file(pid_t pid, const char *pat, char *out, size_t len)
{
	char path[64], line[4608];
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/');

		if (!file)
			continue;
		file[strcspn(file, "\n")] = '\0';
		if (name_matches(pat, base_name(file))) {
			snprintf(out, len, "/proc/%d/root%s", pid, file);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int runtime__binary_path(const char *bin, pid_t pid, const char *exe, char *out, size_t len)
{
	char e[4096], needed[256];

	if (!strcmp(bin, "exe"))
		return exe_of(pid, exe, out, len);
	/* loaded already, or what the executable will load */
	if (pid > 0 && !exe && !mapped_file(pid, bin, out, len))
		return 0;
	if (exe_of(pid, exe, e, sizeof(e)))
		return -ENOENT;
	if (!elfsym__needs(e, bin, needed, sizeof(needed)))
		return -ENOENT;
	return elfsym__find_library(e, needed, out, len);
}

int runtime__match(const struct profile *profiles, int n, pid_t pid, const char *exe)
{
	char e[4096], buf[4096], needed[256];

	if (exe_of(pid, exe, e, sizeof(e)))
		return -ENOENT;
	for (int i = 0; i < n; i++) {
		const struct profile *p = &profiles[i];
		__u64 off;

		for (int m = 0; m < p->nmatch; m++) {
			const char *name = exe ? base_name(exe) : NULL;
			char real[4096];

			if (!name && !target__exe(pid, real, sizeof(real)))
				name = base_name(real);
			if ((name && name_matches(p->match[m], name)) ||
			    (pid > 0 && !exe && !mapped_file(pid, p->match[m], buf, sizeof(buf))) ||
			    elfsym__needs(e, p->match[m], needed, sizeof(needed)))
				return i;
		}
		for (int m = 0; m < p->nmatch_symbol; m++)
			if (!elfsym__offset(e, p->match_symbol[m], &off))
				return i;
	}
	return -ENOENT;
}

int runtime__resolve(const struct profile *pr, pid_t pid, const char *exe,
		     struct runtime_site *sites, int max)
{
	int n = 0;

	for (int i = 0; i < pr->nprobes && n < max; i++, n++) {
		struct runtime_site *s = &sites[n];

		memset(s, 0, sizeof(*s));
		s->pp = &pr->probe[i];
		s->err = runtime__binary_path(s->pp->binary, pid, exe, s->path, sizeof(s->path));
		if (s->err) {
			snprintf(s->path, sizeof(s->path), "%s", s->pp->binary);
			continue;
		}
		s->err = elfsym__offset(s->path, s->pp->symbol, &s->off);
		/* return probes are for C functions: on Go code they crash the program */
		if (!s->err && profile__needs_ret(s->pp) && elfsym__is_go(s->path) &&
		    s->pp->symbol[0] != '_' && strchr(s->pp->symbol, '.'))
			s->err = -EPERM;
	}
	return n;
}

/*
 * Attach site @s of profile @pi, probe @qi, unless that binary has it
 * already; its slot goes to *@ai. 1 if attached now, 0 if it was, -errno.
 */
static int attach_site(struct runtime *r, int pi, int qi, const struct runtime_site *s, int *ai)
{
	struct bpf_link *link[2] = {};
	struct cw_uspec u = {};
	struct stat st;
	int err, idx, slot = -1;

	if (stat(s->path, &st))
		return -errno;
	idx = r->spec[pi][qi] - 1;
	for (int i = 0; i < r->natt; i++) {
		/*
		 * a uprobe traps in every process mapping the file: after a reload a
		 * second one would count twice, so the probes in place are shared
		 * until the last target goes; the profile as reloaded comes after
		 */
		if (r->att[i].refs && r->att[i].dev == st.st_dev && r->att[i].ino == st.st_ino &&
		    r->att[i].profile == pi && r->att[i].probe == qi) {
			*ai = i;
			return 0;	/* every process mapping that file has it already */
		}
		if (!r->att[i].refs && slot < 0)
			slot = i;
	}
	if (slot < 0 && r->natt == MAX_ATTACHED)
		return -ENOSPC;
	if (idx < 0) {
		idx = r->nspecs;
		u.role = s->pp->role;
		u.has_ret = profile__needs_ret(s->pp);
		u.profile = (__u32)pi;
		memcpy(u.arg, s->pp->arg, sizeof(u.arg));
		err = probes__set_uspec(r->probes, (__u32)idx, &u);
		if (err)
			return err;
		r->spec[pi][qi] = ++r->nspecs;
	}
	/*
	 * The return probe first: a call entered before it is attached never
	 * comes back through it, and its entry frame would stay pushed (the
	 * kernel side drops such frames by stack pointer too, runtime.bpf.c).
	 */
	err = 0;
	if (profile__needs_ret(s->pp))
		err = probes__attach_link(r->probes, "ur_exit", -1, s->path, s->off, (__u32)idx,
					  true, &link[1]);
	if (!err)
		err = probes__attach_link(r->probes, "up_entry", -1, s->path, s->off, (__u32)idx,
					  false, &link[0]);
	if (err) {
		probes__detach(r->probes, link[1]);
		return err;
	}
	if (slot < 0)
		slot = r->natt++;
	/* refs is raised by the caller, for the target that holds it */
	r->att[slot] = (struct attached){ st.st_dev, st.st_ino, pi, qi, 0, { link[0], link[1] } };
	*ai = slot;
	return 1;
}

/* The holder entry of @pid, made when @create; NULL if none (or ENOMEM). */
static struct holder *holder_get(struct runtime *r, pid_t pid, bool create)
{
	struct holder *nh;

	for (size_t i = 0; i < r->nhold; i++)
		if (r->hold[i].pid == pid)
			return &r->hold[i];
	if (!create)
		return NULL;
	nh = realloc(r->hold, (r->nhold + 1) * sizeof(*nh));
	if (!nh)
		return NULL;
	r->hold = nh;
	memset(&nh[r->nhold], 0, sizeof(*nh));
	nh[r->nhold].pid = pid;
	return &nh[r->nhold++];
}

int runtime__set_profiles(struct runtime *r, const struct profile *profiles, int n)
{
	int changed = 0;

	if (n != r->nprof)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		if (!memcmp(&r->prof[i], &profiles[i], sizeof(profiles[i])))
			continue;
		r->prof[i] = profiles[i];
		/* new probe specs at the next attach; probes in place keep theirs */
		memset(r->spec[i], 0, sizeof(r->spec[i]));
		changed++;
	}
	return changed;
}

int runtime__release(struct runtime *r, pid_t pid)
{
	struct holder *h = r ? holder_get(r, pid, false) : NULL;
	int gone = 0;

	if (!h)
		return 0;
	for (int i = 0; i < h->n; i++) {
		struct attached *a = &r->att[h->att[i]];

		if (a->refs > 0 && --a->refs == 0) {
			probes__detach(r->probes, a->link[0]);
			probes__detach(r->probes, a->link[1]);
			a->link[0] = a->link[1] = NULL;
			gone++;
		}
	}
	*h = r->hold[--r->nhold];
	if (gone)
		cw_debug("process %d: %d runtime probes detached (no other target needs them)", pid,
			 gone);
	return gone;
}

int runtime__attach(struct runtime *r, pid_t pid, const char *exe)
{
	struct runtime_site sites[PROFILE_MAX_PROBES];
	char missing[512] = "";
	int pi, n, err = 0, fresh = 0;
	struct holder *h, *old;

	if (r->mode == RUNTIME_NONE || !r->nprof)
		return -ENOENT;
	pi = r->mode == RUNTIME_FIXED ? 0 : runtime__match(r->prof, r->nprof, pid, exe);
	if (pi < 0)
		return -ENOENT;
	n = runtime__resolve(&r->prof[pi], pid, exe, sites, PROFILE_MAX_PROBES);
	for (int i = 0; i < n; i++) {
		const struct runtime_site *s = &sites[i];

		if (s->err == -EPERM) {
			cw_err("profile %s: refusing a return probe on Go function %s (it crashes Go "
			       "programs)", r->prof[pi].name, s->pp->symbol);
			return -EPERM;
		}
		if (s->err && !s->pp->optional) {
			size_t l = strlen(missing);

			snprintf(missing + l, sizeof(missing) - l, "%s%s (%s)", l ? ", " : "",
				 s->pp->symbol, s->err == -ENOENT ? base_name(s->path) : strerror(-s->err));
		}
	}
	if (missing[0]) {
		cw_err("profile %s does not fit process %d: missing %s", r->prof[pi].name, pid,
		       missing);
		return -ENOENT;
	}
	/*
	 * An exec, or asked again: the new holdings are taken before the old
	 * are let go, so probes both need are never detached in between.
	 */
	old = holder_get(r, pid, false);
	if (old)
		old->pid = -pid;
	h = holder_get(r, pid, true);
	if (!h)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int ai = 0;

		if (sites[i].err)
			continue;
		err = attach_site(r, pi, i, &sites[i], &ai);
		if (err < 0) {
			cw_err("profile %s: attaching %s in %s failed: %s", r->prof[pi].name,
			       sites[i].pp->symbol, sites[i].path, strerror(-err));
			runtime__release(r, -pid);
			return err;
		}
		fresh += err;
		r->att[ai].refs++;
		h->att[h->n++] = (short)ai;
	}
	runtime__release(r, -pid);
	if (fresh)
		cw_info("process %d runs %s: %d probes attached (profile %s)", pid,
			r->prof[pi].name, fresh, r->prof[pi].source);
	return pi;
}
