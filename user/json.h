/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A small writer for one-line JSON objects (JSON lines). Keys are written in
 * call order; strings are escaped per RFC 8259. Nesting: json__obj/json__arr
 * open a member, json__close closes it.
 */
#ifndef CW_JSON_H
#define CW_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct json {
	struct util_sbuf b;	/* the text; b.oom: an allocation failed, it is truncated */
	int depth;
	int first;	/* no member written yet at the current depth */
};

void json__init(struct json *j);			/* opens the top-level object */
void json__str(struct json *j, const char *key, const char *val);
void json__u64(struct json *j, const char *key, uint64_t val);
void json__i64(struct json *j, const char *key, int64_t val);
void json__f64(struct json *j, const char *key, double val, int decimals);
void json__bool(struct json *j, const char *key, int val);
void json__null(struct json *j, const char *key);
void json__obj(struct json *j, const char *key);	/* key NULL inside arrays */
void json__arr(struct json *j, const char *key);
void json__close(struct json *j, char bracket);		/* '}' or ']' */
void json__end(struct json *j);				/* closes all, appends '\n' */
const char *json__text(const struct json *j);
size_t json__len(const struct json *j);		/* strlen(json__text(j)) */
void json__reset(struct json *j);			/* empty, ready for json__init */
void json__free(struct json *j);

#endif /* CW_JSON_H */
