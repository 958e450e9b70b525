// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Profiles: argument places, the YAML format, the built-ins. */
#include <string.h>

#include "harness.h"
#include "profile.h"

/* Parse @s and format it back; returns the text in @buf, or "ERR". */
static const char *round_trip(const char *s, char *buf, size_t len)
{
	struct cw_arg a;

	if (profile__parse_arg(s, &a))
		return "ERR";
	return profile__fmt_arg(&a, buf, len);
}

TEST(profile_arg_places)
{
	struct cw_arg a;
	char b[128];

	ASSERT_EQ(profile__parse_arg("arg1", &a), 0);
	ASSERT_EQ(a.base, CW_ARG_REG0 + 1);
	ASSERT_EQ(a.nderef, 0);
	ASSERT_EQ(a.size, 8);
	ASSERT_EQ(profile__parse_arg("*(*(arg1 + 8) + 24):u32", &a), 0);
	ASSERT_EQ(a.nderef, 2);
	ASSERT_EQ(a.off[0], 8);
	ASSERT_EQ(a.off[1], 24);
	ASSERT_EQ(a.size, 4);
	/* the first stack argument is past the return address */
	ASSERT_EQ(profile__parse_arg("stack[1]", &a), 0);
	ASSERT_EQ(a.base, CW_ARG_SP);
	ASSERT_EQ(a.off[0], 16);
	ASSERT_EQ(profile__parse_arg("*(arg3)@ret", &a), 0);
	ASSERT_EQ(a.flags, CW_ARGF_AT_RET);
	ASSERT_EQ(profile__parse_arg("export(arg0)", &a), 0);
	ASSERT_EQ(a.flags, CW_ARGF_EXPORT);
	ASSERT_STREQ(round_trip("*(*(arg1+8)+8):u32", b, sizeof(b)), "*(*(arg1+8)+8):u32");
	ASSERT_STREQ(round_trip("stack[2]", b, sizeof(b)), "stack[2]");
	ASSERT_STREQ(round_trip("*(arg3)@ret", b, sizeof(b)), "*(arg3)@ret");
	ASSERT_STREQ(round_trip("export(arg0)", b, sizeof(b)), "export(arg0)");
	ASSERT_STREQ(round_trip("*(arg0-16)", b, sizeof(b)), "*(arg0-16)");
}

TEST(profile_arg_places_rejected)
{
	static const char *const bad[] = {
		"arg6", "rax", "", "*(arg1", "*(arg1+)", "arg1+8", "stack[-1]", "ret@ret",
		"arg1@ret", "*(*(*(*(arg0)))))", "arg1:u16", "export(arg1", "ret junk",
	};
	struct cw_arg a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!ASSERT_EQ(profile__parse_arg(bad[i], &a), -22))
			printf("    accepted: '%s'\n", bad[i]);
}

TEST(profile_yaml_parses_roles_and_defaults)
{
	static const char text[] =
		"name: rt\n"
		"description: a runtime\n"
		"match: [librt.so]\n"
		"match_symbol: [rt_new]\n"
		"binary: librt.so\n"
		"lifetime: store\n"
		"probes:\n"
		"  - role: call\n"
		"    symbol: rt_call\n"
		"    instance: arg0\n"
		"  - {role: memory_grow, symbol: 'rt_grow*', binary: exe, delta: arg1, old: ret,\n"
		"     optional: true}\n";
	struct profile p;
	char err[256] = "";

	if (!ASSERT_EQ(profile__parse(text, strlen(text), "t.yaml", &p, err, sizeof(err)), 0)) {
		printf("    %s\n", err);
		return;
	}
	ASSERT_STREQ(p.name, "rt");
	ASSERT_EQ(p.lifetime, PROFILE_LIFETIME_STORE);
	ASSERT_EQ(p.nmatch, 1);
	ASSERT_STREQ(p.match_symbol[0], "rt_new");
	ASSERT_EQ(p.nprobes, 2);
	ASSERT_EQ(p.probe[0].role, CW_ROLE_CALL);
	ASSERT_STREQ(p.probe[0].binary, "librt.so");
	ASSERT_TRUE(profile__needs_ret(&p.probe[0]));
	ASSERT_EQ(p.probe[1].role, CW_ROLE_GROW);
	ASSERT_STREQ(p.probe[1].binary, "exe");
	ASSERT_STREQ(p.probe[1].symbol, "rt_grow*");
	ASSERT_TRUE(p.probe[1].optional);
	ASSERT_EQ(p.probe[1].arg[1].base, CW_ARG_RET);
}

TEST(profile_yaml_errors_name_the_line)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "name: x\nprobes:\n  - role: call\n    symbol: f\n    entry: arg1\n",
		  "x.yaml:3: role call needs 'instance'" },
		{ "name: x\nprobes:\n  - role: call\n    symbol: f\n    instance: arg0\n    delta: arg1\n",
		  "x.yaml:6: 'delta' is not an argument of role call" },
		{ "name: x\ncolour: blue\nprobes: []\n", "x.yaml:2: unknown key 'colour'" },
		{ "name: x\nlifetime: forever\nprobes: []\n", "x.yaml:2: lifetime is" },
		{ "name: x\nprobes:\n  - role: instance_create\n    instance: ret\n",
		  "x.yaml:3: probe for instance_create without a symbol" },
	};
	struct profile p;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		ASSERT_EQ(profile__parse(cases[i].text, strlen(cases[i].text), "x.yaml", &p, err,
					 sizeof(err)), -22);
		if (!ASSERT_TRUE(strstr(err, cases[i].msg) != NULL))
			printf("    got: %s\n    want: %s\n", err, cases[i].msg);
	}
}

TEST(profile_builtins_all_parse)
{
	ASSERT_EQ(profile__nr_builtin(), 3);
	for (size_t i = 0; i < profile__nr_builtin(); i++) {
		const struct profile *p = profile__builtin(i);

		if (!ASSERT_TRUE(p != NULL))
			continue;
		ASSERT_TRUE(p->name[0] != '\0');
		ASSERT_TRUE(p->nprobes >= 4);
		ASSERT_TRUE(p->nmatch + p->nmatch_symbol > 0);
	}
	ASSERT_TRUE(profile__find("wasmer") != NULL);
	ASSERT_TRUE(profile__find("wasmtime") != NULL);
	ASSERT_TRUE(profile__find("nosuch") == NULL);
	/* wasmer's call is attributed through the exported-function map */
	ASSERT_EQ(profile__find("wasmer")->probe[4].arg[0].flags, CW_ARGF_EXPORT);
}
