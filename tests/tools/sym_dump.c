// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test driver for user/symbolize.c, used by tests/integ/test_symbols.py to
 * compare frames with binutils' names. One symbolizer for the whole run,
 * so mappings read while a process lived serve after it exits.
 *
 * usage: sym_dump, then one query per line of stdin (addresses in hex):
 *	maps PID              -> maps PID 0 | maps PID -ERRNO    (symbolize__maps)
 *	sym PID ADDR [INST]   -> sym ADDR FRAME                  (symbolize__addr[_inst])
 *	binaries              -> binaries N                      (symbolize__nbinaries)
 * Frames are named into 112 bytes, as cwatch's records hold them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize.h"

int main(void)
{
	struct symbolizer *s = symbolize__new();
	char line[512];

	if (!s)
		return 1;
	while (fgets(line, sizeof(line), stdin)) {
		char cmd[16], inst[32] = "", frame[112];
		unsigned long long addr = 0;
		int pid = 0, n = sscanf(line, "%15s %d %llx %31s", cmd, &pid, &addr, inst);

		if (n >= 2 && !strcmp(cmd, "maps"))
			printf("maps %d %d\n", pid, symbolize__maps(s, pid));
		else if (n >= 3 && !strcmp(cmd, "sym"))
			printf("sym %llx %s\n", addr,
			       symbolize__addr_inst(s, pid, addr, n == 4 ? inst : NULL, frame,
						    sizeof(frame)));
		else if (n >= 1 && !strcmp(cmd, "binaries"))
			printf("binaries %zu\n", symbolize__nbinaries(s));
		else
			printf("bad query\n");
		fflush(stdout);
	}
	symbolize__free(s);
	return 0;
}
