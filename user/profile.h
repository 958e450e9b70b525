/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runtime profiles: data (YAML) that maps a runtime's functions to roles and
 * says where each role's arguments are. Built-in profiles are the files in
 * profiles/, compiled in; --profile FILE loads another. README.md documents
 * the format.
 */
#ifndef CW_PROFILE_H
#define CW_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "cwatch.h"

#define PROFILE_MAX_PROBES 24
#define PROFILE_MAX_MATCH 4
#define PROFILE_NAME_LEN 32
#define PROFILE_SYM_LEN 128

enum profile_lifetime {
	PROFILE_LIFETIME_INSTANCE = 0,	/* instance create/destroy bound an instance */
	PROFILE_LIFETIME_STORE = 1,	/* the store is the unit: instances live until it dies */
};

struct profile_probe {
	enum cw_role role;
	char symbol[PROFILE_SYM_LEN];
	char binary[PROFILE_SYM_LEN];	/* "exe" or a library's file name */
	struct cw_arg arg[CW_ROLE_ARGS];
	bool optional;			/* a missing symbol is not an error */
	int line;			/* in the profile file, for messages */
};

struct profile {
	char name[PROFILE_NAME_LEN];
	char description[160];
	char match[PROFILE_MAX_MATCH][PROFILE_SYM_LEN];	/* mapped file names (globs) that select it */
	int nmatch;
	char match_symbol[PROFILE_MAX_MATCH][PROFILE_SYM_LEN];	/* or a function the executable defines */
	int nmatch_symbol;
	enum profile_lifetime lifetime;
	struct profile_probe probe[PROFILE_MAX_PROBES];
	int nprobes;
	char source[256];		/* file path, or "built-in" */
};

/*
 * Parse a profile from @text (@len bytes); @source names it in messages.
 * 0, or -EINVAL with a message "SOURCE:LINE: what is wrong" in @err.
 */
int profile__parse(const char *text, size_t len, const char *source, struct profile *p,
		   char *err, size_t errlen);
/* Load a profile file; 0 or -errno / -EINVAL with a message in @err. */
int profile__load(const char *path, struct profile *p, char *err, size_t errlen);
/*
 * Parse an argument place: "arg1", "ret", "stack[0]", "*(arg1+8)", wrapped in
 * "export(...)" to translate an exported object to its instance, followed by
 * "@ret" to dereference an out-parameter at return, and ":u32". 0 or -EINVAL.
 */
int profile__parse_arg(const char *s, struct cw_arg *a);
/* Format an argument place back to text. */
const char *profile__fmt_arg(const struct cw_arg *a, char *buf, size_t len);

/* Built-in profiles: count, and the i-th (parsed once). NULL if out of range. */
size_t profile__nr_builtin(void);
const struct profile *profile__builtin(size_t i);
/* The built-in profile called @name, or NULL. */
const struct profile *profile__find(const char *name);

const char *profile__role_name(enum cw_role role);
/* Does the probe need a return probe (some argument is the return value)? */
bool profile__needs_ret(const struct profile_probe *pp);

#endif /* CW_PROFILE_H */
