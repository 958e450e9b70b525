/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Logging, strict number parsing and formatting shared by every module. */
#ifndef CW_UTIL_H
#define CW_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

enum util_level {
	UTIL_ERROR = 0,
	UTIL_WARN = 1,
	UTIL_INFO = 2,
	UTIL_DEBUG = 3,
};

/* Messages at or below this level are printed (stderr). */
extern enum util_level util_verbosity;
/* With --json, errors and warnings are JSON objects on stderr too. */
extern bool util_json_errors;

void util__log(enum util_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define cw_err(...) util__log(UTIL_ERROR, __VA_ARGS__)
#define cw_warn(...) util__log(UTIL_WARN, __VA_ARGS__)
#define cw_info(...) util__log(UTIL_INFO, __VA_ARGS__)
#define cw_debug(...) util__log(UTIL_DEBUG, __VA_ARGS__)

/* Errors logged so far, and the wall-clock second of the last (for metrics). */
extern __u64 util_errors;
extern __u64 util_last_error;

/*
 * A growable string: append with util__sbuf_printf or util__sbuf_append; buf
 * is NUL-terminated (or NULL). oom: an allocation failed, nothing more is added.
 */
struct util_sbuf {
	char *buf;
	size_t len, cap;
	int oom;
};

void util__sbuf_printf(struct util_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void util__sbuf_append(struct util_sbuf *b, const void *data, size_t n);
/* Room for @more bytes and a NUL after b->len; 0, or -1 (b->oom set, nothing added). */
int util__sbuf_reserve(struct util_sbuf *b, size_t more);
/*
 * One more element of @size at the end of array *@a (*@n used, *@cap
 * allocated), doubling it when full; NULL if out of memory (nothing changed).
 */
void *util__grow(void **a, size_t *n, size_t *cap, size_t size);
void util__sbuf_free(struct util_sbuf *b);

/* Parse all of @s as a decimal unsigned integer in [min, max]; 0 or -EINVAL/-ERANGE. */
int util__parse_u64(const char *s, __u64 min, __u64 max, __u64 *out);
/* Parse all of @s as seconds (decimal, fraction allowed) into ns, > 0; 0 or -EINVAL. */
int util__parse_seconds(const char *s, __u64 *ns);
/* Parse a byte count with an optional K/M/G suffix (powers of 1024); 0 or -EINVAL. */
int util__parse_bytes(const char *s, __u64 *out);

/* Format @bytes in at most 7 characters ("512B", "12.3K", "1.5G") into @buf. */
const char *util__fmt_bytes(__u64 bytes, char *buf, size_t len);
/* Format @bytes for sentences ("52.1 MiB") into @buf. */
const char *util__fmt_bytes_long(__u64 bytes, char *buf, size_t len);

/* Copy at most @n bytes of a NUL-padded kernel string into a C string. */
/* CLOCK_MONOTONIC in ns. */
__u64 util__mono_ns(void);
void util__strlcpy(char *dst, const char *src, size_t n);

#endif /* CW_UTIL_H */
