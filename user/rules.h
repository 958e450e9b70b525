/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The rule file: YAML (libyaml) over detect.c's defaults. README.md documents it. */
#ifndef CW_RULES_H
#define CW_RULES_H

#include <stddef.h>
#include "detect.h"

/*
 * Parse @text (@len bytes) over the defaults already in @r; @source names it
 * in messages. 0, or -EINVAL with "SOURCE:LINE: what is wrong" in @err.
 */
int rules__parse(const char *text, size_t len, const char *source, struct detect_rules *r,
		 char *err, size_t errlen);
/* Read and parse a rule file; 0 or -errno/-EINVAL with a message in @err. */
int rules__load(const char *path, struct detect_rules *r, char *err, size_t errlen);

#endif /* CW_RULES_H */
