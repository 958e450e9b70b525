/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Recordings: every record the collector delivered, so a replay runs the
 * same model and detectors over the same stream. The file:
 *
 *   header   struct record_header (little-endian, fixed size), then
 *            json_len bytes of JSON describing the run for people
 *            (host, kernel, cwatch version, start time, targets and their
 *            binaries with build-ids, profiles and rules in force)
 *   chunks   struct record_chunk, then comp_len bytes: zlib-compressed
 *            records (struct cw_hdr each, h.size bytes long), back to back
 *
 * Each chunk carries its lengths and the CRC-32 of its compressed bytes; a
 * file cut short (a crash, a power loss) reads up to its last whole chunk.
 */
#ifndef CW_RECORD_H
#define CW_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#define RECORD_MAGIC "CWATCHR1"
#define RECORD_CHUNK_MAGIC 0x4b484357u	/* "CWHK" */
#define RECORD_CHUNK_MAX (8u << 20)	/* bytes of records per chunk, at most */
#define RECORD_JSON_MAX (1u << 20)
#define RECORD_PROFILES 16

struct record_header {
	char magic[8];			/* RECORD_MAGIC */
	__u32 version;			/* CW_ABI_VERSION of the records */
	__u32 header_size;		/* sizeof(struct record_header) */
	__u64 start_ts;			/* ns, CLOCK_MONOTONIC: the run's start */
	__s64 wall_offset;		/* ns: CLOCK_REALTIME - CLOCK_MONOTONIC at the start */
	__u32 nprofiles;
	__u32 json_len;			/* bytes of JSON after this header */
	char profile[RECORD_PROFILES][32];	/* runtime profile names by index */
	__u32 flags;			/* RECORD_F_*: how the run was made */
	__u32 pad;
};

#define RECORD_F_HEAP 0x1		/* --heap was on */

struct record_chunk {
	__u32 magic;			/* RECORD_CHUNK_MAGIC */
	__u32 raw_len;			/* bytes of records */
	__u32 comp_len;			/* bytes that follow */
	__u32 crc;			/* CRC-32 (zlib) of the bytes that follow */
	__u32 nrecords;
	__u32 pad;
	__u64 first_ts;			/* ns: the first record's time */
};

struct record_writer;

/*
 * Create @path (mode 0600: recordings hold what targets did) and write the
 * header; NULL with errno set. Chunks are cut at @max_chunk bytes or by
 * record_writer__tick(); past @max_file bytes (0: never) the file is
 * rotated to PATH.1, PATH.2, ...
 */
struct record_writer *record_writer__new(const char *path, const struct record_header *h,
					 const char *json, __u64 max_file);
/* Add a record; 0 or -errno (the first error is kept and reported by close). */
int record_writer__add(struct record_writer *w, const void *rec, size_t len);
/* Write what is buffered as a chunk and flush it to the file (call at least every second). */
int record_writer__flush(struct record_writer *w);
/* Flush, fsync and close; 0 or the first error. */
int record_writer__close(struct record_writer *w);

struct record_reader;

/* Open and check the header; NULL with a message ("PATH: at offset N: what") in @err. */
struct record_reader *record_reader__open(const char *path, char *err, size_t errlen);
const struct record_header *record_reader__header(const struct record_reader *r);
const char *record_reader__json(const struct record_reader *r);
/*
 * The next record: 1 with *rec and *len set (valid until the next call), 0 at a
 * clean end, -1 on a damaged or cut-short file with "at offset N: what" in @err
 * (everything before it was returned).
 */
int record_reader__next(struct record_reader *r, const void **rec, size_t *len, char *err,
			size_t errlen);
void record_reader__close(struct record_reader *r);

/* Read a whole recording held in memory (tests, fuzzing): like open from a buffer. */
struct record_reader *record_reader__from_memory(const void *buf, size_t len, char *err,
						 size_t errlen);

#endif /* CW_RECORD_H */
