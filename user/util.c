// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Logging, strict number parsing and formatting. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "util.h"

enum util_level util_verbosity = UTIL_INFO;
bool util_json_errors;
__u64 util_errors;
__u64 util_last_error;

static const char *const level_name[] = { "error", "warning", "info", "debug" };

/*
 * Print a message on stderr as "cwatch: <level>: <text>", or as a JSON object
 * under --json so that a consumer of JSON lines never has to parse prose.
 */
void util__log(enum util_level level, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (level == UTIL_ERROR) {
		util_errors++;
		util_last_error = (__u64)time(NULL);
	}
	if (level > util_verbosity)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (util_json_errors && level <= UTIL_WARN) {
		struct json j;

		json__init(&j);
		json__str(&j, "type", level_name[level]);
		json__str(&j, "message", text);
		json__end(&j);
		fputs(json__text(&j), stderr);
		json__free(&j);
		return;
	}
	fprintf(stderr, "cwatch: %s: %s\n", level_name[level], text);
}

int util__parse_u64(const char *s, __u64 min, __u64 max, __u64 *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int util__parse_seconds(const char *s, __u64 *ns)
{
	__u64 whole = 0, frac = 0, scale = 1000000000ULL;
	const char *p = s;

	if (!s || !*s || *s == '.')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (__u64)(*p - '0');
		if (whole > 100000000ULL)	/* > 3 years: a typo */
			return -ERANGE;
	}
	if (*p == '.') {
		p++;
		if (!*p)
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (__u64)(*p - '0') * scale;
			}
		}
	}
	if (*p)
		return -EINVAL;
	*ns = whole * 1000000000ULL + frac;
	return *ns ? 0 : -ERANGE;
}

int util__parse_bytes(const char *s, __u64 *out)
{
	char num[32];
	size_t n;
	__u64 mult = 1, v;
	int err;

	if (!s || !*s)
		return -EINVAL;
	n = strlen(s);
	if (n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'K': case 'k': mult = 1ULL << 10; break;
	case 'M': case 'm': mult = 1ULL << 20; break;
	case 'G': case 'g': mult = 1ULL << 30; break;
	default: break;
	}
	if (mult > 1)
		num[n - 1] = '\0';
	err = util__parse_u64(num, 0, UINT64_MAX / mult, &v);
	if (err)
		return err;
	*out = v * mult;
	return 0;
}

/* Scale @bytes by 1024 until under 1024; returns the power of 1024 reached. */
static int scale_1024(__u64 bytes, double *v)
{
	int u = 0;

	*v = (double)bytes;
	while (*v >= 1024.0 && u < 5) {
		*v /= 1024.0;
		u++;
	}
	return u;
}

const char *util__fmt_bytes(__u64 bytes, char *buf, size_t len)
{
	static const char unit[] = "BKMGTP";
	double v;
	int u = scale_1024(bytes, &v);

	if (u == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
	else if (v < 100.0)
		snprintf(buf, len, "%.1f%c", v, unit[u]);
	else
		snprintf(buf, len, "%.0f%c", v, unit[u]);
	return buf;
}

const char *util__fmt_bytes_long(__u64 bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v;
	int u = scale_1024(bytes, &v);

	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

int util__sbuf_reserve(struct util_sbuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *nb;

	if (b->oom)
		return -1;
	if (b->buf && b->len + more < b->cap)
		return 0;
	while (cap <= b->len + more)
		cap *= 2;
	nb = realloc(b->buf, cap);
	if (!nb) {
		b->oom = 1;
		return -1;
	}
	b->buf = nb;
	b->cap = cap;
	return 0;
}

void util__sbuf_printf(struct util_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->buf && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		if (util__sbuf_reserve(b, (size_t)n))
			return;
	}
}

void util__sbuf_append(struct util_sbuf *b, const void *data, size_t n)
{
	if (util__sbuf_reserve(b, n))
		return;
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void util__sbuf_free(struct util_sbuf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

void *util__grow(void **a, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void *na = realloc(*a, c * size);

		if (!na)
			return NULL;
		*a = na;
		*cap = c;
	}
	return (char *)*a + (*n)++ * size;
}

__u64 util__mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

void util__strlcpy(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n && src[i]; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}
