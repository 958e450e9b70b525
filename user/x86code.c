// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * x86-64 code reading for probe placement (x86code.h).
 *
 * Why move a probe at all: a uprobe replaces an instruction with a
 * breakpoint; on the hit, the kernel either emulates the original (CALL,
 * JMP, Jcc, NOP, PUSH) or copies it to a page of its own and single-steps
 * it there, a second exception. On these machines that debug exception is
 * the dearer of the two: DESIGN.md measured about 5 us a hit on an emulated
 * instruction against 19 us on a stepped one.
 */
#include <string.h>

#include "x86code.h"

__u64 x86__call_return(const unsigned char *code, size_t n, __u64 base, __u64 callee)
{
	for (size_t i = 0; i + 5 <= n; i++) {
		__s32 rel;

		if (base + i >= callee && callee > base)
			break;
		if (code[i] != 0xe8)
			continue;
		memcpy(&rel, &code[i + 1], sizeof(rel));
		if (base + i + 5 + (__u64)(__s64)rel == callee)
			return base + i + 5;
	}
	return 0;
}

/* Instructions that write nothing but flags: bytes under a mask, and length. */
static const struct {
	unsigned char b[6], mask[6];
	size_t len;
} flags_only[] = {
	/* cmp 0x10(%r14),%rsp: Go's stack check (ABIInternal, g in R14) */
	{ { 0x49, 0x3b, 0x66, 0x10 }, { 0xff, 0xff, 0xff, 0xff }, 4 },
	/* cmpq $0,disp8(%rsp): cgo's nil check of a result */
	{ { 0x48, 0x83, 0x7c, 0x24, 0x00, 0x00 }, { 0xff, 0xff, 0xff, 0xff, 0x00, 0xff }, 6 },
	/* test %rdi,%rdi: glibc's free(NULL) check */
	{ { 0x48, 0x85, 0xff }, { 0xff, 0xff, 0xff }, 3 },
};

size_t x86__flags_then_branch(const unsigned char *code, size_t n)
{
	for (size_t i = 0; i < sizeof(flags_only) / sizeof(flags_only[0]); i++) {
		size_t k, len = flags_only[i].len;

		if (n < len + 2)
			continue;
		for (k = 0; k < len; k++)
			if ((code[k] & flags_only[i].mask[k]) != flags_only[i].b[k])
				break;
		if (k < len)
			continue;
		/* Jcc rel8 (7x), or Jcc rel32 (0F 8x) */
		if ((code[len] & 0xf0) == 0x70 ||
		    (code[len] == 0x0f && (code[len + 1] & 0xf0) == 0x80))
			return len;
	}
	return 0;
}
