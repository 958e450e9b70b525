// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test driver for user/gosym.c (and the Go paths of elfsym.c, symbolize.c),
 * used by tests/integ/test_gosym.py to compare with Go's own tools.
 *
 * usage: gosym_dump FILE [--list]
 * Prints "version V" and "count N", with --list "fn ENTRY SIZE NAME" for
 * every function, then answers one query per line of stdin (hex numbers):
 *	func ADDR         -> func ADDR NAME ENTRY    | func ADDR -
 *	line ADDR         -> line ADDR FILE:LINE     | line ADDR -
 *	lookup NAME       -> lookup NAME ENTRY SIZE  | lookup NAME -
 *	code ENTRY SIZE   -> code ENTRY HEXBYTES     | code ENTRY -ERRNO
 *	offset NAME       -> offset NAME 0xOFF       | offset NAME -ERRNO (elfsym__offset)
 *	sym PID ADDR      -> sym ADDR FRAME          (symbolize__addr)
 * If FILE cannot be opened: "error ERRNO" on stdout, exit 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfsym.h"
#include "gosym.h"
#include "symbolize.h"

static void query(const char *path, const struct gosym *g, struct symbolizer *s, char *line)
{
	char cmd[16], arg[4096];
	uint64_t a, b;
	const char *name;
	int ln;

	if (sscanf(line, "%15s %4095s", cmd, arg) != 2) {
		printf("bad query\n");
		return;
	}
	a = strtoull(arg, NULL, 16);
	if (!strcmp(cmd, "func")) {
		if (gosym__func(g, a, &name, &b))
			printf("func %" PRIx64 " %s %" PRIx64 "\n", a, name, b);
		else
			printf("func %" PRIx64 " -\n", a);
	} else if (!strcmp(cmd, "line")) {
		if (gosym__line(g, a, &name, &ln))
			printf("line %" PRIx64 " %s:%d\n", a, name, ln);
		else
			printf("line %" PRIx64 " -\n", a);
	} else if (!strcmp(cmd, "lookup")) {
		if (gosym__lookup(g, arg, &a, &b))
			printf("lookup %s %" PRIx64 " %" PRIu64 "\n", arg, a, b);
		else
			printf("lookup %s -\n", arg);
	} else if (!strcmp(cmd, "code")) {
		unsigned char buf[4096];
		int err;

		b = 0;
		sscanf(line, "%*s %*s %" SCNu64, &b);
		if (b > sizeof(buf))
			b = sizeof(buf);
		err = gosym__code(g, a, buf, b);
		printf("code %" PRIx64 " ", a);
		if (err)
			printf("%d", err);
		for (uint64_t i = 0; !err && i < b; i++)
			printf("%02x", buf[i]);
		printf("\n");
	} else if (!strcmp(cmd, "offset")) {
		__u64 off = 0;
		int err = elfsym__offset(path, arg, &off);

		if (err)
			printf("offset %s %d\n", arg, err);
		else
			printf("offset %s 0x%llx\n", arg, (unsigned long long)off);
	} else if (!strcmp(cmd, "sym")) {
		char frame[112];
		unsigned long long addr = 0;

		sscanf(line, "%*s %*s %llx", &addr);
		symbolize__maps(s, (pid_t)strtol(arg, NULL, 10));
		printf("sym %llx %s\n", addr,
		       symbolize__addr(s, (pid_t)strtol(arg, NULL, 10), addr, frame, sizeof(frame)));
	} else {
		printf("bad query\n");
	}
}

int main(int argc, char **argv)
{
	struct symbolizer *s;
	struct gosym *g;
	char line[8192];

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--list"))) {
		fprintf(stderr, "usage: %s FILE [--list]\n", argv[0]);
		return 2;
	}
	g = gosym__open(argv[1]);
	if (!g) {
		printf("error %d\n", errno);
		return 1;
	}
	printf("version %s\ncount %zu\n", gosym__version(g), gosym__count(g));
	for (size_t i = 0; argc == 3 && i < gosym__count(g); i++) {
		const char *name;
		uint64_t entry, size;

		if (gosym__nth(g, i, &name, &entry, &size))
			printf("fn %" PRIx64 " %" PRIu64 " %s\n", entry, size, name);
	}
	fflush(stdout);
	s = symbolize__new();
	while (s && fgets(line, sizeof(line), stdin)) {
		query(argv[1], g, s, line);
		fflush(stdout);
	}
	symbolize__free(s);
	gosym__close(g);
	return 0;
}
