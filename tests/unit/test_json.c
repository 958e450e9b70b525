// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The JSON lines writer: escaping and nesting. */
#include "harness.h"
#include "json.h"

TEST(json_escapes_and_nests)
{
	struct json j;

	json__init(&j);
	json__str(&j, "s", "a\"b\\c\n\x01");
	json__u64(&j, "n", 18446744073709551615ULL);
	json__i64(&j, "i", -5);
	json__f64(&j, "f", 1.5, 2);
	json__arr(&j, "a");
	json__obj(&j, NULL);
	json__bool(&j, "t", 1);
	json__close(&j, '}');
	json__null(&j, NULL);
	json__close(&j, ']');
	json__end(&j);
	ASSERT_STREQ(json__text(&j), "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":18446744073709551615,"
				     "\"i\":-5,\"f\":1.50,\"a\":[{\"t\":true},null]}\n");
	json__free(&j);
}

TEST(json_reset_reuses_buffer_and_nan_is_null)
{
	struct json j;

	json__init(&j);
	json__str(&j, "x", "1");
	json__reset(&j);
	json__f64(&j, "nan", 0.0 / 0.0, 1);
	json__end(&j);
	ASSERT_STREQ(json__text(&j), "{\"nan\":null}\n");
	json__free(&j);
}
