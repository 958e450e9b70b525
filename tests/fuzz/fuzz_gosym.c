// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the Go pclntab and build-info readers: any bytes
 * must give a table or a clean error, and every look-up on a table must stay
 * in bounds and end. Built by `make OUT=... OUT/fuzz_gosym`; the seed is the
 * table of a real Go binary (tests/integ/test_gosym.py extracts one).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gosym.h"

/* Pointers in the build info resolve into the input itself, at address 0. */
static int read_input(void *ctx, uint64_t vaddr, void *buf, size_t len)
{
	const uint8_t **in = ctx;
	size_t size = (size_t)(in[1] - in[0]);

	if (vaddr > size || len > size - vaddr)
		return -5;
	memcpy(buf, in[0] + vaddr, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *in[2] = { data, data + size };
	struct gosym *g = gosym__from_memory(data, size, 0);
	char version[64];
	size_t seen = 0;

	gosym__parse_buildinfo(data, size, read_input, in, version, sizeof(version));
	if (!g)
		return 0;
	for (size_t i = 0; i < gosym__count(g) && i < 4096; i++) {
		const char *name, *file;
		uint64_t entry, sz, e2;
		int line;

		if (!gosym__nth(g, i, &name, &entry, &sz))
			continue;
		seen += strlen(name);
		if (gosym__func(g, entry + sz / 2, &name, &e2))
			seen += strlen(name);
		if (gosym__line(g, entry + sz / 2, &file, &line))
			seen += strlen(file) + (size_t)line;
		if (i < 16 && gosym__lookup(g, name, &e2, &sz))
			seen++;
	}
	gosym__close(g);
	return seen == (size_t)-1;
}
