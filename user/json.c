// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* One-line JSON object writer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/*
 * Room for @n more bytes and the NUL after them: where they go, or NULL
 * when out of memory (b.oom set, nothing written).
 */
static inline char *room(struct json *j, size_t n)
{
	if (__builtin_expect(j->b.len + n + 1 > j->b.cap, 0) && util__sbuf_reserve(&j->b, n))
		return NULL;
	return j->b.buf + j->b.len;
}

/* The @n bytes written at room()'s pointer are in, NUL after them. */
static inline void wrote(struct json *j, size_t n)
{
	j->b.len += n;
	j->b.buf[j->b.len] = '\0';
}

/* Append @n bytes. Most are a few bytes: copied inline, not through memcpy's call. */
static inline void put(struct json *j, const char *s, size_t n)
{
	char *d = room(j, n);

	if (!d)
		return;
	if (n <= 16) {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	} else {
		memcpy(d, s, n);
	}
	wrote(j, n);
}

static void puts_(struct json *j, const char *s)
{
	put(j, s, strlen(s));
}

/* Bytes a JSON string carries as they are: printable ASCII but '"' and '\\', and UTF-8. */
static const unsigned char plain[256] = {
	[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1, [0x80 ... 0xff] = 1,
};

/* Write @s as a JSON string: quotes, escapes, control characters as \u00XX. */
static void put_string(struct json *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	put(j, "\"", 1);
	while (*p) {
		const unsigned char *run = p;
		char esc[8];

		/* characters that go as they are, in one copy */
		while (plain[*p])
			p++;
		if (p > run)
			put(j, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		switch (*p) {
		case '"': puts_(j, "\\\""); break;
		case '\\': puts_(j, "\\\\"); break;
		case '\n': puts_(j, "\\n"); break;
		case '\r': puts_(j, "\\r"); break;
		case '\t': puts_(j, "\\t"); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			puts_(j, esc);
		}
		p++;
	}
	put(j, "\"", 1);
}

/* Decimal digits of @v. */
static inline size_t ndigits(uint64_t v)
{
	size_t n = 1;

	for (;;) {
		if (v < 10)
			return n;
		if (v < 100)
			return n + 1;
		if (v < 1000)
			return n + 2;
		if (v < 10000)
			return n + 3;
		v /= 10000;
		n += 4;
	}
}

/* Write @v in decimal, two digits a step from the last. */
static void put_u64(struct json *j, uint64_t v)
{
	static const char pairs[201] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	size_t n = ndigits(v);
	char *d = room(j, n), *p;

	if (!d)
		return;
	p = d + n;
	while (v >= 100) {
		const char *two = pairs + v % 100 * 2;

		v /= 100;
		*--p = two[1];
		*--p = two[0];
	}
	if (v >= 10) {
		*--p = pairs[v * 2 + 1];
		*--p = pairs[v * 2];
	} else {
		*--p = (char)('0' + v);
	}
	wrote(j, n);
}

/* Separator and key before a member. */
static void member(struct json *j, const char *key)
{
	size_t k = key ? strlen(key) : 0;
	char *d = room(j, k + 4), *p;

	if (!d)
		return;
	p = d;
	if (!j->first)
		*p++ = ',';
	j->first = 0;
	if (key) {	/* keys are cwatch's own names: nothing to escape */
		*p++ = '"';
		for (size_t i = 0; i < k; i++)
			*p++ = key[i];
		*p++ = '"';
		*p++ = ':';
	}
	wrote(j, (size_t)(p - d));
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
	j->b.len = 0;
	j->depth = 0;
	j->b.oom = 0;
	if (j->b.buf)
		j->b.buf[0] = '\0';
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
	member(j, key);
	put_u64(j, val);
}

void json__i64(struct json *j, const char *key, int64_t val)
{
	member(j, key);
	if (val < 0)
		put(j, "-", 1);
	put_u64(j, val < 0 ? -(uint64_t)val : (uint64_t)val);
}

void json__f64(struct json *j, const char *key, double val, int decimals)
{
	char b[48];

	member(j, key);
	if (val != val || val > 1e300 || val < -1e300) {	/* NaN/inf are not JSON */
		puts_(j, "null");
		return;
	}
	static const double scale[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6 };

	if (decimals >= 0 && decimals <= 6 && fabs(val) * scale[decimals] < 1e15) {
		/*
		 * Fixed point in integers, exact below 2^53: printf's float path cost
		 * a JSON record a microsecond. A tie rounds away from zero here.
		 */
		long long q = (long long)(fabs(val) * scale[decimals] + 0.5);
		uint64_t a = (uint64_t)q, unit = (uint64_t)scale[decimals];
		char frac[8];

		if (val < 0)
			put(j, "-", 1);
		put_u64(j, a / unit);
		if (decimals) {
			uint64_t f = a % unit;

			put(j, ".", 1);
			for (int i = decimals - 1; i >= 0; i--, f /= 10)
				frac[i] = (char)('0' + f % 10);
			put(j, frac, (size_t)decimals);
		}
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
	return j->b.buf && !j->b.oom ? j->b.buf : "{}\n";
}

size_t json__len(const struct json *j)
{
	return j->b.buf && !j->b.oom ? j->b.len : 3;
}

void json__free(struct json *j)
{
	if (!j)
		return;
	free(j->b.buf);
	memset(j, 0, sizeof(*j));
}
