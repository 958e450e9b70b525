// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Probe placement in x86-64 code, on the byte sequences of the functions
 * cwatch probes (objdump of the Go fixtures and Debian 12's libc), and on
 * near misses that must leave a probe where it was.
 */
#include <string.h>

#include "harness.h"
#include "x86code.h"

TEST(x86_flags_then_branch_moves_to_the_branch)
{
	/* runtime.goexit0, Go 1.26: cmp 0x10(%r14),%rsp; jbe rel8; push %rbp */
	static const unsigned char go126[] = { 0x49, 0x3b, 0x66, 0x10, 0x76, 0x18, 0x55 };
	/* Go 1.19: the same check, jbe rel32 */
	static const unsigned char go119[] = { 0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0xe0, 0x02 };
	/* _cgo_cmalloc after CALL runtime.cgocall: cmpq $0,0x30(%rsp); jne rel8 */
	static const unsigned char cmalloc[] = { 0x48, 0x83, 0x7c, 0x24, 0x30, 0x00, 0x75, 0x1e };
	/* glibc 2.36 free: test %rdi,%rdi; je rel32 */
	static const unsigned char libc_free[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00 };

	ASSERT_EQ(x86__flags_then_branch(go126, sizeof(go126)), 4);
	ASSERT_EQ(x86__flags_then_branch(go119, sizeof(go119)), 4);
	ASSERT_EQ(x86__flags_then_branch(cmalloc, sizeof(cmalloc)), 6);
	ASSERT_EQ(x86__flags_then_branch(libc_free, sizeof(libc_free)), 3);
}

TEST(x86_flags_then_branch_leaves_other_code_alone)
{
	/* the compare, but a MOV follows: the probe stays */
	static const unsigned char no_branch[] = { 0x49, 0x3b, 0x66, 0x10, 0x48, 0x89, 0xe5 };
	/* cmpq $1,0x30(%rsp): not the nil check */
	static const unsigned char not_zero[] = { 0x48, 0x83, 0x7c, 0x24, 0x30, 0x01, 0x75, 0x1e };
	/* test %rsi,%rsi; je: another register */
	static const unsigned char rsi[] = { 0x48, 0x85, 0xf6, 0x74, 0x10, 0x00 };
	/* wasmtime's wrap_trampoline: mov %rdi,%rax */
	static const unsigned char mov[] = { 0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48 };
	/* cut short: the branch is not there to see */
	static const unsigned char go126[] = { 0x49, 0x3b, 0x66, 0x10, 0x76, 0x18 };

	ASSERT_EQ(x86__flags_then_branch(no_branch, sizeof(no_branch)), 0);
	ASSERT_EQ(x86__flags_then_branch(not_zero, sizeof(not_zero)), 0);
	ASSERT_EQ(x86__flags_then_branch(rsi, sizeof(rsi)), 0);
	ASSERT_EQ(x86__flags_then_branch(mov, sizeof(mov)), 0);
	ASSERT_EQ(x86__flags_then_branch(go126, 5), 0);
	ASSERT_EQ(x86__flags_then_branch(go126, 0), 0);
}

TEST(x86_call_return_finds_the_call_to_the_callee)
{
	/*
	 * runtime.newproc.func1 (Go 1.26) at 0x4582c0, from the CALL newproc1:
	 * e8 5b 00 00 00 at +0x20 calls 0x458340; the CALL runqput at +0x40
	 * calls 0x45d480.
	 */
	unsigned char code[0x60];
	__u64 base = 0x4582c0;

	memset(code, 0x90, sizeof(code));
	memcpy(code + 0x20, "\xe8\x5b\x00\x00\x00", 5);
	memcpy(code + 0x40, "\xe8\x7b\x51\x00\x00", 5);
	ASSERT_EQ(x86__call_return(code, sizeof(code), base, 0x458340), base + 0x25);
	ASSERT_EQ(x86__call_return(code, sizeof(code), base, 0x45d480), base + 0x45);
	/* a callee before the function: _cgo_cmalloc calling runtime.cgocall */
	memcpy(code + 0x10, "\xe8\x9b\xa5\xf9\xff", 5);
	ASSERT_EQ(x86__call_return(code, sizeof(code), 0x4e4fb0, 0x47f560), 0x4e4fc5);
	/* no such call, or the bytes cut before it */
	ASSERT_EQ(x86__call_return(code, sizeof(code), base, 0x400000), 0);
	ASSERT_EQ(x86__call_return(code, 0x24, base, 0x458340), 0);
	/* a callee just after the function ends the search there */
	ASSERT_EQ(x86__call_return(code, sizeof(code), base, base + 0x30), 0);
}
