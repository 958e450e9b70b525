// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the recording reader: any bytes must end in records
 * or a clean error, in bounds, without hanging or allocating past the caps.
 * Built by `make fuzz` (clang -fsanitize=fuzzer,address,undefined); the
 * corpus in tests/fuzz/corpus/record holds real recordings to start from.
 */
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "record.h"
#include "cwatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct record_reader *r = record_reader__from_memory(data, size, err, sizeof(err));
	const void *rec;
	size_t len, seen = 0;

	if (!r)
		return 0;
	while (record_reader__next(r, &rec, &len, err, sizeof(err)) == 1) {
		const struct cw_hdr *h = rec;

		/* touch every byte the reader hands out */
		seen += h->size + ((const unsigned char *)rec)[len - 1];
	}
	record_reader__close(r);
	return seen == (size_t)-1;
}
