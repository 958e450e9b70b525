// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Recordings: round trip, and a reader that survives any mutation of a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>

#include "harness.h"
#include "record.h"
#include "cwatch.h"

/* Write @n attach records to a temporary file; return its bytes (malloc'd) and length. */
static unsigned char *make_recording(int n, size_t *len)
{
	char path[] = "/tmp/cwatch-unit-XXXXXX";
	int fd = mkstemp(path);
	struct record_header h = { .start_ts = 1000, .nprofiles = 1 };
	struct record_writer *w;
	unsigned char *buf = NULL;
	FILE *f;

	if (fd < 0)
		return NULL;
	close(fd);
	strcpy(h.profile[0], "demo");
	w = record_writer__new(path, &h, "{\"test\":true}", 0);
	for (int i = 0; w && i < n; i++) {
		struct cw_rec_attach a = { .h = { .type = CW_REC_ATTACH, .size = sizeof(a),
						  .tgid = (__u32)i + 1, .ts = 1000 + (__u64)i } };

		record_writer__add(w, &a, sizeof(a));
		if (i % 100 == 99)
			record_writer__flush(w);
	}
	if (record_writer__close(w) == 0 && (f = fopen(path, "rb"))) {
		fseek(f, 0, SEEK_END);
		*len = (size_t)ftell(f);
		rewind(f);
		buf = malloc(*len);
		if (buf && fread(buf, 1, *len, f) != *len) {
			free(buf);
			buf = NULL;
		}
		fclose(f);
	}
	unlink(path);
	return buf;
}

/* Read every record; return how many, or -1 when the reader reported damage. */
static int read_all(const unsigned char *buf, size_t len, char *err, size_t errlen)
{
	struct record_reader *r = record_reader__from_memory(buf, len, err, errlen);
	const void *rec;
	size_t rl;
	int n = 0, k;

	if (!r)
		return -1;
	while ((k = record_reader__next(r, &rec, &rl, err, errlen)) == 1)
		n++;
	record_reader__close(r);
	return k < 0 ? -1 : n;
}

TEST(record_round_trip)
{
	size_t len = 0;
	unsigned char *buf = make_recording(350, &len);
	struct record_reader *r;
	const void *rec;
	size_t rl;
	char err[256];
	__u32 pid = 0;

	if (!ASSERT_TRUE(buf != NULL))
		return;
	r = record_reader__from_memory(buf, len, err, sizeof(err));
	if (!ASSERT_TRUE(r != NULL))
		goto out;
	ASSERT_EQ(record_reader__header(r)->start_ts, 1000);
	ASSERT_STREQ(record_reader__header(r)->profile[0], "demo");
	ASSERT_STREQ(record_reader__json(r), "{\"test\":true}");
	while (record_reader__next(r, &rec, &rl, err, sizeof(err)) == 1) {
		const struct cw_hdr *h = rec;

		ASSERT_EQ(h->tgid, pid + 1);
		ASSERT_EQ(rl, sizeof(struct cw_rec_attach));
		pid = h->tgid;
	}
	ASSERT_EQ(pid, 350);
	record_reader__close(r);
out:
	free(buf);
}

TEST(record_cut_short_reads_to_the_last_whole_chunk)
{
	size_t len = 0;
	unsigned char *buf = make_recording(350, &len);
	char err[256] = "";

	if (!ASSERT_TRUE(buf != NULL))
		return;
	/* four chunks of 100, 100, 100 and 50 records: cut the last one */
	ASSERT_EQ(read_all(buf, len, err, sizeof(err)), 350);
	ASSERT_EQ(read_all(buf, len - 3, err, sizeof(err)), -1);
	ASSERT_TRUE(strstr(err, "cut short inside a chunk") != NULL);
	free(buf);
}

TEST(record_reader_survives_mutations)
{
	size_t len = 0;
	unsigned char *buf = make_recording(250, &len), *m;
	unsigned seed = 12345;
	char err[256];
	int damaged = 0;

	if (!ASSERT_TRUE(buf != NULL))
		return;
	m = malloc(len);
	/* flip bytes, cut, and overwrite lengths: the reader must end, in bounds, each time */
	for (int round = 0; round < 2000 && m; round++) {
		size_t cut = len;

		memcpy(m, buf, len);
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			m[(seed >> 8) % len] ^= (unsigned char)(seed >> 24 | 1);
		}
		if (round % 7 == 0)
			cut = (seed >> 4) % len;
		damaged += read_all(m, cut, err, sizeof(err)) < 0;
	}
	ASSERT_TRUE(damaged > 1000);	/* nearly every mutation is noticed */
	free(m);
	free(buf);
}
