/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reading x86-64 machine code where cwatch places probes inside functions:
 * the return site of a CALL, and an instruction the kernel emulates next to
 * one it would step out of line. Pure: the callers read the bytes.
 */
#ifndef CW_X86CODE_H
#define CW_X86CODE_H

#include <stddef.h>
#include <linux/types.h>

/*
 * The address right after the first CALL rel32 to @callee in @code (@n bytes
 * of a function at @base), or 0. A callee after @base ends the search there.
 */
__u64 x86__call_return(const unsigned char *code, size_t n, __u64 base, __u64 callee);

/*
 * How many bytes to move a probe at @code (@n bytes) so that it sits on an
 * instruction the kernel emulates: the length of the instruction there if
 * that one only sets flags (the compares and tests Go's and glibc's code
 * have there, x86code.c lists them) and a conditional branch follows, where
 * registers and memory are still as they were; else 0.
 */
size_t x86__flags_then_branch(const unsigned char *code, size_t n);

#endif
