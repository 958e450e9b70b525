// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Strict parsing and formatting. */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "util.h"

TEST(util_parse_u64_is_strict)
{
	__u64 v = 0;

	ASSERT_EQ(util__parse_u64("1234", 0, 10000, &v), 0);
	ASSERT_EQ(v, 1234);
	ASSERT_EQ(util__parse_u64("12x", 0, 10000, &v), -EINVAL);
	ASSERT_EQ(util__parse_u64("", 0, 10000, &v), -EINVAL);
	ASSERT_EQ(util__parse_u64("-1", 0, 10000, &v), -EINVAL);
	ASSERT_EQ(util__parse_u64(" 1", 0, 10000, &v), -EINVAL);
	ASSERT_EQ(util__parse_u64("10001", 0, 10000, &v), -ERANGE);
	ASSERT_EQ(util__parse_u64("0", 1, 10, &v), -ERANGE);
	ASSERT_EQ(util__parse_u64("99999999999999999999999", 0, ~0ULL, &v), -ERANGE);
}

TEST(util_parse_seconds)
{
	__u64 ns = 0;

	ASSERT_EQ(util__parse_seconds("2", &ns), 0);
	ASSERT_EQ(ns, 2000000000ULL);
	ASSERT_EQ(util__parse_seconds("0.25", &ns), 0);
	ASSERT_EQ(ns, 250000000ULL);
	ASSERT_EQ(util__parse_seconds("1.5", &ns), 0);
	ASSERT_EQ(ns, 1500000000ULL);
	ASSERT_EQ(util__parse_seconds("0", &ns), -ERANGE);
	ASSERT_EQ(util__parse_seconds("1.", &ns), -EINVAL);
	ASSERT_EQ(util__parse_seconds(".5", &ns), -EINVAL);
	ASSERT_EQ(util__parse_seconds("1s", &ns), -EINVAL);
	ASSERT_EQ(util__parse_seconds("-1", &ns), -EINVAL);
}

TEST(util_parse_bytes)
{
	__u64 b = 0;

	ASSERT_EQ(util__parse_bytes("4096", &b), 0);
	ASSERT_EQ(b, 4096);
	ASSERT_EQ(util__parse_bytes("1M", &b), 0);
	ASSERT_EQ(b, 1 << 20);
	ASSERT_EQ(util__parse_bytes("2g", &b), 0);
	ASSERT_EQ(b, 2ULL << 30);
	ASSERT_EQ(util__parse_bytes("M", &b), -EINVAL);
	ASSERT_EQ(util__parse_bytes("1MB", &b), -EINVAL);
}

TEST(util_fmt_bytes_fits_columns)
{
	char buf[16];

	ASSERT_STREQ(util__fmt_bytes(512, buf, sizeof(buf)), "512B");
	ASSERT_STREQ(util__fmt_bytes(1536, buf, sizeof(buf)), "1.5K");
	ASSERT_STREQ(util__fmt_bytes(300ULL << 20, buf, sizeof(buf)), "300M");
	ASSERT_TRUE(strlen(util__fmt_bytes(~0ULL, buf, sizeof(buf))) <= 6);
	ASSERT_STREQ(util__fmt_bytes_long(52ULL << 20, buf, sizeof(buf)), "52.0 MiB");
}

TEST(util_sbuf_appends_and_prints_into_one_string)
{
	struct util_sbuf b = {};
	char big[10000];

	memset(big, 'x', sizeof(big));
	util__sbuf_append(&b, "ab", 2);
	util__sbuf_printf(&b, "%d", 42);
	util__sbuf_append(&b, big, sizeof(big));	/* past the first 4096 bytes */
	util__sbuf_append(&b, "", 0);
	ASSERT_EQ(b.oom, 0);
	ASSERT_EQ(b.len, 4 + sizeof(big));
	ASSERT_EQ(strncmp(b.buf, "ab42xxx", 7), 0);
	ASSERT_EQ(b.buf[b.len - 1], 'x');
	ASSERT_EQ(b.buf[b.len], '\0');
	util__sbuf_free(&b);
	ASSERT_EQ(b.len, 0);
}
