// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Recordings: zlib-compressed chunks of records, each with lengths and a CRC. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "record.h"
#include "cwatch.h"

struct record_writer {
	char *path;
	FILE *f;
	struct record_header h;
	char *json;
	__u64 max_file;
	__u64 written;		/* bytes in the current file */
	unsigned rotations;
	unsigned char *raw, *comp;
	size_t used, comp_cap;
	__u32 nrecords;
	__u64 first_ts;
	int err;		/* the first error, kept for close */
};

/* Write the header and the JSON to the current file. */
static int write_header(struct record_writer *w)
{
	if (fwrite(&w->h, sizeof(w->h), 1, w->f) != 1 ||
	    fwrite(w->json, 1, w->h.json_len, w->f) != w->h.json_len)
		return -EIO;
	w->written = sizeof(w->h) + w->h.json_len;
	return 0;
}

/* Open @w->path afresh: owner-only, since recordings hold what targets did. */
static int open_file(struct record_writer *w)
{
	int fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	w->f = fdopen(fd, "w");
	if (!w->f) {
		int e = -errno;

		close(fd);
		return e;
	}
	return write_header(w);
}

struct record_writer *record_writer__new(const char *path, const struct record_header *h,
					 const char *json, __u64 max_file)
{
	struct record_writer *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return NULL;
	w->h = *h;
	memcpy(w->h.magic, RECORD_MAGIC, 8);
	w->h.version = CW_ABI_VERSION;
	w->h.header_size = sizeof(w->h);
	w->h.json_len = (__u32)strnlen(json, RECORD_JSON_MAX - 1);
	w->json = strndup(json, w->h.json_len);
	w->path = strdup(path);
	w->max_file = max_file;
	w->comp_cap = compressBound(RECORD_CHUNK_MAX);
	w->raw = malloc(RECORD_CHUNK_MAX);
	w->comp = malloc(w->comp_cap);
	if (!w->json || !w->path || !w->raw || !w->comp) {
		err = ENOMEM;
		goto fail;
	}
	err = -open_file(w);
	if (err)
		goto fail;
	return w;
fail:
	if (w->f)
		fclose(w->f);
	free(w->json);
	free(w->path);
	free(w->raw);
	free(w->comp);
	free(w);
	errno = err;
	return NULL;
}

/* Past --record-max: the file becomes PATH.N and a new PATH starts, with its own header. */
static int rotate(struct record_writer *w)
{
	char *old = malloc(strlen(w->path) + 16);
	int err = 0;

	if (!old)
		return -ENOMEM;
	if (fflush(w->f) || fsync(fileno(w->f)))
		err = -errno;
	fclose(w->f);
	w->f = NULL;
	sprintf(old, "%s.%u", w->path, ++w->rotations);
	if (!err && rename(w->path, old))
		err = -errno;
	free(old);
	return err ? err : open_file(w);
}

int record_writer__flush(struct record_writer *w)
{
	struct record_chunk c = { .magic = RECORD_CHUNK_MAGIC };
	uLongf clen = w->comp_cap;

	if (w->err)
		return w->err;
	if (w->used) {
		if (compress2(w->comp, &clen, w->raw, w->used, Z_DEFAULT_COMPRESSION) != Z_OK) {
			w->err = -ENOMEM;
			return w->err;
		}
		c.raw_len = (__u32)w->used;
		c.comp_len = (__u32)clen;
		c.crc = (__u32)crc32(0, w->comp, (uInt)clen);
		c.nrecords = w->nrecords;
		c.first_ts = w->first_ts;
		if (fwrite(&c, sizeof(c), 1, w->f) != 1 || fwrite(w->comp, 1, clen, w->f) != clen)
			w->err = -EIO;
		w->written += sizeof(c) + clen;
		w->used = 0;
		w->nrecords = 0;
	}
	if (!w->err && fflush(w->f))
		w->err = -errno;
	if (!w->err && w->max_file && w->written >= w->max_file)
		w->err = rotate(w);
	return w->err;
}

int record_writer__add(struct record_writer *w, const void *rec, size_t len)
{
	const struct cw_hdr *h = rec;

	if (w->err)
		return w->err;
	if (len > 65535)
		return -EINVAL;
	if (w->used + len > RECORD_CHUNK_MAX && record_writer__flush(w))
		return w->err;
	if (!w->used)
		w->first_ts = h->ts;
	memcpy(w->raw + w->used, rec, len);
	w->used += len;
	w->nrecords++;
	return 0;
}

int record_writer__close(struct record_writer *w)
{
	int err;

	if (!w)
		return 0;
	err = record_writer__flush(w);
	if (w->f) {
		if (!err && fsync(fileno(w->f)))
			err = -errno;
		if (fclose(w->f) && !err)
			err = -errno;
	}
	free(w->json);
	free(w->path);
	free(w->raw);
	free(w->comp);
	free(w);
	return err;
}

struct record_reader {
	FILE *f;
	struct record_header h;
	char *json;
	__u64 off;		/* bytes read so far */
	unsigned char *raw, *comp;
	size_t raw_cap, comp_cap;	/* grown to the chunks seen, within the caps */
	size_t raw_len, pos;
};

static int say(char *err, size_t len, __u64 off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "at offset N: what" into @err; returns -1. */
static int say(char *err, size_t len, __u64 off, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, len, "at offset %llu: %s", (unsigned long long)off, msg);
	return -1;
}

/* Read the header from @f (owned); NULL with a message. */
static struct record_reader *reader_start(FILE *f, char *err, size_t errlen)
{
	struct record_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->f = f;
	if (fread(&r->h, sizeof(r->h), 1, f) != 1 || memcmp(r->h.magic, RECORD_MAGIC, 8)) {
		say(err, errlen, 0, "not a cwatch recording");
		goto fail;
	}
	if (r->h.version != CW_ABI_VERSION) {
		say(err, errlen, 8, "recording format version %u; this cwatch reads version %u",
		    r->h.version, CW_ABI_VERSION);
		goto fail;
	}
	if (r->h.header_size != sizeof(r->h) || r->h.json_len >= RECORD_JSON_MAX ||
	    r->h.nprofiles > RECORD_PROFILES) {
		say(err, errlen, 12, "header fields out of range");
		goto fail;
	}
	r->json = calloc(1, r->h.json_len + 1);
	if (!r->json || fread(r->json, 1, r->h.json_len, f) != r->h.json_len) {
		say(err, errlen, sizeof(r->h), "cut short inside the header");
		goto fail;
	}
	for (int i = 0; i < RECORD_PROFILES; i++)
		r->h.profile[i][31] = '\0';
	r->off = sizeof(r->h) + r->h.json_len;
	return r;
fail:
	record_reader__close(r);
	return NULL;
}

struct record_reader *record_reader__open(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char msg[256];
	struct record_reader *r;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	r = reader_start(f, msg, sizeof(msg));
	if (!r)
		snprintf(err, errlen, "%s: %s", path, msg);
	return r;
}

struct record_reader *record_reader__from_memory(const void *buf, size_t len, char *err,
						 size_t errlen)
{
	FILE *f = len ? fmemopen((void *)buf, len, "r") : NULL;

	if (!f) {
		say(err, errlen, 0, "not a cwatch recording");
		return NULL;
	}
	return reader_start(f, err, errlen);
}

const struct record_header *record_reader__header(const struct record_reader *r)
{
	return &r->h;
}

const char *record_reader__json(const struct record_reader *r)
{
	return r->json;
}

/* Read, check and inflate the next chunk; 1, 0 at a clean end, -1 on damage. */
static int next_chunk(struct record_reader *r, char *err, size_t errlen)
{
	struct record_chunk c;
	size_t n = fread(&c, 1, sizeof(c), r->f);
	uLongf raw = RECORD_CHUNK_MAX;

	if (n == 0)
		return 0;
	if (n != sizeof(c))
		return say(err, errlen, r->off, "cut short inside a chunk header; the recording "
			   "is whole up to here");
	if (c.magic != RECORD_CHUNK_MAGIC)
		return say(err, errlen, r->off, "damaged: no chunk starts here");
	if (!c.raw_len || c.raw_len > RECORD_CHUNK_MAX || !c.comp_len ||
	    c.comp_len > compressBound(RECORD_CHUNK_MAX))
		return say(err, errlen, r->off, "damaged: chunk lengths out of range");
	/* the lengths are checked against the caps above: grow to them, no further */
	if (c.comp_len > r->comp_cap) {
		unsigned char *n = realloc(r->comp, c.comp_len);

		if (!n)
			return say(err, errlen, r->off, "out of memory");
		r->comp = n;
		r->comp_cap = c.comp_len;
	}
	if (c.raw_len > r->raw_cap) {
		unsigned char *n = realloc(r->raw, c.raw_len);

		if (!n)
			return say(err, errlen, r->off, "out of memory");
		r->raw = n;
		r->raw_cap = c.raw_len;
	}
	raw = c.raw_len;
	if (fread(r->comp, 1, c.comp_len, r->f) != c.comp_len)
		return say(err, errlen, r->off, "cut short inside a chunk; the recording is whole "
			   "up to here");
	if ((__u32)crc32(0, r->comp, c.comp_len) != c.crc)
		return say(err, errlen, r->off, "damaged: chunk checksum mismatch");
	if (uncompress(r->raw, &raw, r->comp, c.comp_len) != Z_OK || raw != c.raw_len)
		return say(err, errlen, r->off, "damaged: chunk does not inflate to its length");
	r->off += sizeof(c) + c.comp_len;
	r->raw_len = raw;
	r->pos = 0;
	return 1;
}

int record_reader__next(struct record_reader *r, const void **rec, size_t *len, char *err,
			size_t errlen)
{
	const struct cw_hdr *h;

	while (r->pos >= r->raw_len) {
		int n = next_chunk(r, err, errlen);

		if (n <= 0)
			return n;
	}
	h = (const struct cw_hdr *)(r->raw + r->pos);
	if (r->raw_len - r->pos < sizeof(*h) || h->size < sizeof(*h) ||
	    h->size > r->raw_len - r->pos) {
		r->pos = r->raw_len;
		return say(err, errlen, r->off, "damaged: a record in the chunk before this offset "
			   "overruns it");
	}
	*rec = h;
	*len = h->size;
	r->pos += h->size;
	return 1;
}

void record_reader__close(struct record_reader *r)
{
	if (!r)
		return;
	if (r->f)
		fclose(r->f);
	free(r->json);
	free(r->raw);
	free(r->comp);
	free(r);
}
