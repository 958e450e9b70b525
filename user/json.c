// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* One-line JSON object writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Append @n bytes, growing the buffer; on failure remember it and drop the text. */
static void put(struct json *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 256;
		char *b;

		while (cap < j->len + n + 1)
			cap *= 2;
		b = realloc(j->buf, cap);
		if (!b) {
			j->oom = 1;
			return;
		}
		j->buf = b;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void puts_(struct json *j, const char *s)
{
	put(j, s, strlen(s));
}

/* Write @s as a JSON string: quotes, escapes, control characters as \u00XX. */
static void put_string(struct json *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	put(j, "\"", 1);
	for (; *p; p++) {
		char esc[8];

		switch (*p) {
		case '"': puts_(j, "\\\""); break;
		case '\\': puts_(j, "\\\\"); break;
		case '\n': puts_(j, "\\n"); break;
		case '\r': puts_(j, "\\r"); break;
		case '\t': puts_(j, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				puts_(j, esc);
			} else {
				put(j, (const char *)p, 1);
			}
		}
	}
	put(j, "\"", 1);
}

/* Separator and key before a member. */
static void member(struct json *j, const char *key)
{
	if (!j->first)
		put(j, ",", 1);
	j->first = 0;
	if (key) {
		put_string(j, key);
		put(j, ":", 1);
	}
}

void json__init(struct json *j)
{
	memset(j, 0, sizeof(*j));
	put(j, "{", 1);
	j->depth = 1;
	j->first = 1;
}

void json__reset(struct json *j)
{
	j->len = 0;
	j->depth = 0;
	j->oom = 0;
	if (j->buf)
		j->buf[0] = '\0';
	put(j, "{", 1);
	j->depth = 1;
	j->first = 1;
}

void json__str(struct json *j, const char *key, const char *val)
{
	member(j, key);
	put_string(j, val ? val : "");
}

void json__u64(struct json *j, const char *key, uint64_t val)
{
	char b[24];

	member(j, key);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)val);
	puts_(j, b);
}

void json__i64(struct json *j, const char *key, int64_t val)
{
	char b[24];

	member(j, key);
	snprintf(b, sizeof(b), "%lld", (long long)val);
	puts_(j, b);
}

void json__f64(struct json *j, const char *key, double val, int decimals)
{
	char b[48];

	member(j, key);
	if (val != val || val > 1e300 || val < -1e300) {	/* NaN/inf are not JSON */
		puts_(j, "null");
		return;
	}
	snprintf(b, sizeof(b), "%.*f", decimals, val);
	puts_(j, b);
}

void json__bool(struct json *j, const char *key, int val)
{
	member(j, key);
	puts_(j, val ? "true" : "false");
}

void json__null(struct json *j, const char *key)
{
	member(j, key);
	puts_(j, "null");
}

void json__obj(struct json *j, const char *key)
{
	member(j, key);
	put(j, "{", 1);
	j->depth++;
	j->first = 1;
}

void json__arr(struct json *j, const char *key)
{
	member(j, key);
	put(j, "[", 1);
	j->depth++;
	j->first = 1;
}

void json__close(struct json *j, char bracket)
{
	put(j, &bracket, 1);
	j->depth--;
	j->first = 0;
}

void json__end(struct json *j)
{
	while (j->depth > 1)
		json__close(j, '}');
	put(j, "}\n", 2);
	j->depth = 0;
}

const char *json__text(const struct json *j)
{
	return j->buf && !j->oom ? j->buf : "{}\n";
}

void json__free(struct json *j)
{
	if (!j)
		return;
	free(j->buf);
	memset(j, 0, sizeof(*j));
}
