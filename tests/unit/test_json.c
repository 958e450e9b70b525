// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The JSON lines writer: escaping and nesting. */
#include "harness.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Numbers are formatted without printf: they must read as printf's would. */
TEST(json_numbers_read_as_printf_would)
{
	static const double vals[] = { 0, 0.0004, 0.0005, 0.9996, 1, -1, 1.25, -0.2, 3.14159,
				       12345.678901, -98765.4321, 999999.9999, 1e11 + 0.125,
				       2e12, -3e15 };
	static const int64_t ints[] = { 0, 1, -1, 9, 10, -10, 1234567890123LL,
					INT64_MAX, INT64_MIN + 1, INT64_MIN };
	char want[64], got[64];
	struct json j;

	json__init(&j);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		for (int d = 0; d <= 6; d++) {
			json__reset(&j);
			json__f64(&j, "v", vals[i], d);
			json__end(&j);
			snprintf(want, sizeof(want), "%.*f", d, vals[i]);
			snprintf(got, sizeof(got), "%s", json__text(&j) + 5);
			got[strcspn(got, "}")] = '\0';
			/* a last digit may round the other way where the binary value is a tie */
			if (strcmp(got, want)) {
				double a = strtod(got, NULL), b = strtod(want, NULL), ulp = 1;

				for (int k = 0; k < d; k++)
					ulp /= 10;
				ASSERT_NEAR(a, b, ulp * 1.5);
				ASSERT_EQ(strlen(got), strlen(want));
			}
		}
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json__reset(&j);
		json__i64(&j, "v", ints[i]);
		json__u64(&j, "u", (uint64_t)ints[i]);
		json__end(&j);
		snprintf(want, sizeof(want), "{\"v\":%lld,\"u\":%llu}\n", (long long)ints[i],
			 (unsigned long long)(uint64_t)ints[i]);
		ASSERT_STREQ(json__text(&j), want);
	}
	json__free(&j);
}

/* Integers are written two digits a step: every digit count, at both ends, reads as printf's. */
TEST(json_integers_of_every_length_read_as_printf_would)
{
	char want[64];
	struct json j;
	uint64_t p = 1;

	json__init(&j);
	for (int d = 0; d < 20; d++, p *= 10) {
		const uint64_t vals[] = { p - 1, p, p + 1, p * 9 + 7, p * 5 };

		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			json__reset(&j);
			json__u64(&j, "u", vals[i]);
			json__end(&j);
			snprintf(want, sizeof(want), "{\"u\":%llu}\n", (unsigned long long)vals[i]);
			ASSERT_STREQ(json__text(&j), want);
		}
	}
	json__free(&j);
}
