// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Runtime profiles: YAML (libyaml's document API) into struct profile. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "util.h"
#include "yamlx.h"

/* Generated from the profiles directory's YAML files by the Makefile (build/profiles.c). */
extern const char *const profile_builtin_text[];
extern const char *const profile_builtin_file[];
extern const size_t profile_builtin_count;

static const char *const role_name[CW_ROLE_NR] = {
	[CW_ROLE_MODULE_NEW] = "module_new",
	[CW_ROLE_INSTANCE_NEW] = "instance_create",
	[CW_ROLE_INSTANCE_DEL] = "instance_destroy",
	[CW_ROLE_CALL] = "call",
	[CW_ROLE_CALL_ENTER] = "call_enter",
	[CW_ROLE_CALL_EXIT] = "call_exit",
	[CW_ROLE_HOST_CALL] = "host_call",
	[CW_ROLE_GROW] = "memory_grow",
	[CW_ROLE_EXPORTS] = "exports",
	[CW_ROLE_MEMORY] = "memory",
};

/* The YAML key of each role's arguments, in cw_uspec.arg order (cwatch.h). */
static const char *const arg_name[CW_ROLE_NR][CW_ROLE_ARGS] = {
	[CW_ROLE_MODULE_NEW] = { "code", "code_len", "module" },
	[CW_ROLE_INSTANCE_NEW] = { "instance", "module", "name" },
	[CW_ROLE_INSTANCE_DEL] = { "instance" },
	[CW_ROLE_CALL] = { "instance", "entry" },
	[CW_ROLE_CALL_ENTER] = { "instance", "entry" },
	[CW_ROLE_CALL_EXIT] = { "instance" },
	[CW_ROLE_HOST_CALL] = { "func", "guest_ptr", "guest_len", "nargs" },
	[CW_ROLE_GROW] = { "delta", "old" },
	[CW_ROLE_EXPORTS] = { "instance", "vector" },
	[CW_ROLE_MEMORY] = { "size", "base" },
};

/* Arguments a role cannot do without (bit i = arg i). */
static const unsigned arg_required[CW_ROLE_NR] = {
	[CW_ROLE_MODULE_NEW] = 0x3,
	[CW_ROLE_INSTANCE_NEW] = 0x1,
	[CW_ROLE_INSTANCE_DEL] = 0x1,
	[CW_ROLE_CALL] = 0x1,
	[CW_ROLE_CALL_ENTER] = 0x1,
	[CW_ROLE_CALL_EXIT] = 0x1,
	[CW_ROLE_GROW] = 0x1,
	[CW_ROLE_EXPORTS] = 0x3,
};

const char *profile__role_name(enum cw_role role)
{
	return role > 0 && role < CW_ROLE_NR ? role_name[role] : "?";
}

bool profile__needs_ret(const struct profile_probe *pp)
{
	for (int i = 0; i < CW_ROLE_ARGS; i++)
		if (pp->arg[i].base == CW_ARG_RET || (pp->arg[i].flags & CW_ARGF_AT_RET))
			return true;
	/* a call's duration needs its return even when no argument does */
	return pp->role == CW_ROLE_CALL || pp->role == CW_ROLE_HOST_CALL ||
	       pp->role == CW_ROLE_EXPORTS;
}

/* Parse a signed decimal or 0x number at *s; 0 or -EINVAL. */
static int parse_num(const char **s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(*s, &end, 0);
	if (end == *s || errno)
		return -EINVAL;
	*s = end;
	return 0;
}

static void skip_ws(const char **s)
{
	while (**s == ' ' || **s == '\t')
		(*s)++;
}

/* expr := "arg"N | "ret" | "stack[" N "]" | "*(" expr [("+"|"-") K] ")" */
static int parse_expr(const char **s, struct cw_arg *a)
{
	long n;

	skip_ws(s);
	if (!strncmp(*s, "*(", 2)) {
		*s += 2;
		if (parse_expr(s, a))
			return -EINVAL;
		skip_ws(s);
		n = 0;
		if (**s == '+' || **s == '-') {
			int neg = **s == '-';

			(*s)++;
			skip_ws(s);
			if (parse_num(s, &n) || n < 0 || n > 1 << 20)
				return -EINVAL;
			if (neg)
				n = -n;
			skip_ws(s);
		}
		if (**s != ')' || a->nderef >= CW_ARG_DEREF)
			return -EINVAL;
		(*s)++;
		a->off[a->nderef++] = (__s32)n;
		return 0;
	}
	if (!strncmp(*s, "arg", 3) && (*s)[3] >= '0' && (*s)[3] <= '5') {
		a->base = CW_ARG_REG0 + ((*s)[3] - '0');
		*s += 4;
		return 0;
	}
	if (!strncmp(*s, "ret", 3)) {
		a->base = CW_ARG_RET;
		*s += 3;
		return 0;
	}
	if (!strncmp(*s, "stack[", 6)) {
		*s += 6;
		if (parse_num(s, &n) || n < 0 || n > 64 || **s != ']')
			return -EINVAL;
		(*s)++;
		/* at entry the return address is at sp; stack arguments follow it */
		a->base = CW_ARG_SP;
		a->off[a->nderef++] = (__s32)(8 + 8 * n);
		return 0;
	}
	return -EINVAL;
}

int profile__parse_arg(const char *s, struct cw_arg *a)
{
	bool export = false;

	memset(a, 0, sizeof(*a));
	a->size = 8;
	skip_ws(&s);
	if (!strncmp(s, "export(", 7)) {
		export = true;
		s += 7;
	}
	if (parse_expr(&s, a))
		return -EINVAL;
	skip_ws(&s);
	if (export) {
		if (*s != ')')
			return -EINVAL;
		s++;
		a->flags |= CW_ARGF_EXPORT;
	}
	if (!strncmp(s, "@ret", 4)) {
		/* an out-parameter: the pointer is an argument, the value is there at return */
		if (a->base == CW_ARG_RET || !a->nderef)
			return -EINVAL;
		a->flags |= CW_ARGF_AT_RET;
		s += 4;
	}
	if (!strncmp(s, ":u32", 4) || !strncmp(s, ":i32", 4)) {
		a->size = 4;
		s += 4;
	} else if (!strncmp(s, ":u64", 4) || !strncmp(s, ":ptr", 4)) {
		s += 4;
	}
	skip_ws(&s);
	return *s ? -EINVAL : 0;
}

const char *profile__fmt_arg(const struct cw_arg *a, char *buf, size_t len)
{
	char inner[96], tmp[128];
	int d = 0;

	if (a->base == CW_ARG_NONE) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (a->base == CW_ARG_SP) {
		snprintf(inner, sizeof(inner), "stack[%d]", (a->off[0] - 8) / 8);
		d = 1;
	} else if (a->base == CW_ARG_RET) {
		snprintf(inner, sizeof(inner), "ret");
	} else {
		snprintf(inner, sizeof(inner), "arg%d", a->base - CW_ARG_REG0);
	}
	for (; d < a->nderef; d++) {
		if (a->off[d])
			snprintf(tmp, sizeof(tmp), "*(%s%+d)", inner, a->off[d]);
		else
			snprintf(tmp, sizeof(tmp), "*(%s)", inner);
		snprintf(inner, sizeof(inner), "%.95s", tmp);
	}
	snprintf(buf, len, "%s%s%s%s%s", a->flags & CW_ARGF_EXPORT ? "export(" : "", inner,
		 a->flags & CW_ARGF_EXPORT ? ")" : "", a->flags & CW_ARGF_AT_RET ? "@ret" : "",
		 a->size == 4 ? ":u32" : "");
	return buf;
}

/* Copy scalar @n into @dst (@len bytes); error if not a scalar or too long. */
static int copy_scalar(struct yamlx *c, const yaml_node_t *n, const char *key, char *dst,
		       size_t len)
{
	const char *v = yamlx__scalar(n);

	if (!v)
		return yamlx__fail(c, n, "'%s' must be a plain value", key);
	if (strlen(v) >= len)
		return yamlx__fail(c, n, "'%s' is longer than %zu characters", key, len - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int parse_probe(struct yamlx *c, const yaml_node_t *n, const char *binary,
		       struct profile_probe *pp)
{
	const yaml_node_t *args[CW_ROLE_ARGS] = {};
	yaml_node_pair_t *pair;

	if (n->type != YAML_MAPPING_NODE)
		return yamlx__fail(c, n, "each probe must be a mapping (role: ..., symbol: ...)");
	memset(pp, 0, sizeof(*pp));
	pp->line = (int)n->start_mark.line + 1;
	snprintf(pp->binary, sizeof(pp->binary), "%s", binary);
	/* the role first: it says which argument keys are valid */
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		const char *k = yamlx__scalar(yamlx__node(c, pair->key));
		const char *v = yamlx__scalar(yamlx__node(c, pair->value));

		if (k && !strcmp(k, "role")) {
			for (int r = 1; r < CW_ROLE_NR; r++)
				if (v && !strcmp(v, role_name[r]))
					pp->role = r;
			if (!pp->role)
				return yamlx__fail(c, n, "unknown role '%s' (one of module_new, instance_create, "
					    "instance_destroy, call, call_enter, call_exit, host_call, "
					    "memory_grow, exports, memory)", v ? v : "");
		}
	}
	if (!pp->role)
		return yamlx__fail(c, n, "probe without a role");
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yamlx__node(c, pair->key);
		yaml_node_t *vn = yamlx__node(c, pair->value);
		const char *k = yamlx__scalar(kn);
		int i;

		if (!k)
			return yamlx__fail(c, kn, "keys must be plain words");
		if (!strcmp(k, "role"))
			continue;
		if (!strcmp(k, "symbol")) {
			if (copy_scalar(c, vn, k, pp->symbol, sizeof(pp->symbol)))
				return -EINVAL;
			continue;
		}
		if (!strcmp(k, "binary")) {
			if (copy_scalar(c, vn, k, pp->binary, sizeof(pp->binary)))
				return -EINVAL;
			continue;
		}
		if (!strcmp(k, "optional")) {
			const char *v = yamlx__scalar(vn);

			if (!v || (strcmp(v, "true") && strcmp(v, "false")))
				return yamlx__fail(c, vn, "'optional' is true or false");
			pp->optional = !strcmp(v, "true");
			continue;
		}
		for (i = 0; i < CW_ROLE_ARGS; i++)
			if (arg_name[pp->role][i] && !strcmp(k, arg_name[pp->role][i]))
				break;
		if (i == CW_ROLE_ARGS)
			return yamlx__fail(c, kn, "'%s' is not an argument of role %s", k,
				    role_name[pp->role]);
		args[i] = vn;
	}
	if (!pp->symbol[0])
		return yamlx__fail(c, n, "probe for %s without a symbol", role_name[pp->role]);
	for (int i = 0; i < CW_ROLE_ARGS; i++) {
		const char *v;

		if (!args[i]) {
			if (arg_required[pp->role] & (1u << i))
				return yamlx__fail(c, n, "role %s needs '%s'", role_name[pp->role],
					    arg_name[pp->role][i]);
			continue;
		}
		v = yamlx__scalar(args[i]);
		if (!v || profile__parse_arg(v, &pp->arg[i]))
			return yamlx__fail(c, args[i], "'%s' is not an argument place (arg0..arg5, ret, "
				    "stack[N], *(PLACE+OFFSET), export(PLACE), then @ret, :u32)", v ? v : "");
		if ((pp->arg[i].base == CW_ARG_RET || (pp->arg[i].flags & CW_ARGF_AT_RET)) &&
		    (pp->role == CW_ROLE_CALL_ENTER || pp->role == CW_ROLE_CALL_EXIT ||
		     pp->role == CW_ROLE_INSTANCE_DEL))
			return yamlx__fail(c, args[i], "role %s is probed at entry only: '%s' cannot use ret",
				    role_name[pp->role], arg_name[pp->role][i]);
	}
	return 0;
}

static int parse_root(struct yamlx *c, const yaml_node_t *root, struct profile *p)
{
	const yaml_node_t *probes = NULL;
	char binary[PROFILE_SYM_LEN] = "exe";
	yaml_node_pair_t *pair;

	if (!root || root->type != YAML_MAPPING_NODE)
		return yamlx__fail(c, root, "a profile is a mapping (name: ..., probes: ...)");
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yamlx__node(c, pair->key);
		yaml_node_t *vn = yamlx__node(c, pair->value);
		const char *k = yamlx__scalar(kn);

		if (!k)
			return yamlx__fail(c, kn, "keys must be plain words");
		if (!strcmp(k, "name")) {
			if (copy_scalar(c, vn, k, p->name, sizeof(p->name)))
				return -EINVAL;
		} else if (!strcmp(k, "description")) {
			if (copy_scalar(c, vn, k, p->description, sizeof(p->description)))
				return -EINVAL;
		} else if (!strcmp(k, "binary")) {
			if (copy_scalar(c, vn, k, binary, sizeof(binary)))
				return -EINVAL;
		} else if (!strcmp(k, "lifetime")) {
			const char *v = yamlx__scalar(vn);

			if (v && !strcmp(v, "instance"))
				p->lifetime = PROFILE_LIFETIME_INSTANCE;
			else if (v && !strcmp(v, "store"))
				p->lifetime = PROFILE_LIFETIME_STORE;
			else
				return yamlx__fail(c, vn, "lifetime is 'instance' or 'store'");
		} else if (!strcmp(k, "match") || !strcmp(k, "match_symbol")) {
			bool sym = !strcmp(k, "match_symbol");
			int *n = sym ? &p->nmatch_symbol : &p->nmatch;
			yaml_node_item_t *it;

			if (vn->type != YAML_SEQUENCE_NODE)
				return yamlx__fail(c, vn, "'%s' is a list of %s", k,
					    sym ? "function names" : "file names");
			for (it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
				char *dst = sym ? p->match_symbol[*n] : p->match[*n];

				if (*n == PROFILE_MAX_MATCH)
					return yamlx__fail(c, vn, "at most %d %s entries", PROFILE_MAX_MATCH, k);
				if (copy_scalar(c, yamlx__node(c, *it), k, dst,
						PROFILE_SYM_LEN))
					return -EINVAL;
				(*n)++;
			}
		} else if (!strcmp(k, "probes")) {
			probes = vn;
		} else {
			return yamlx__fail(c, kn, "unknown key '%s' (name, description, match, "
				    "match_symbol, binary, lifetime, probes)", k);
		}
	}
	if (!p->name[0])
		return yamlx__fail(c, root, "the profile has no name");
	if (!probes || probes->type != YAML_SEQUENCE_NODE)
		return yamlx__fail(c, root, "the profile has no list of probes");
	for (yaml_node_item_t *it = probes->data.sequence.items.start;
	     it < probes->data.sequence.items.top; it++) {
		if (p->nprobes == PROFILE_MAX_PROBES)
			return yamlx__fail(c, probes, "at most %d probes", PROFILE_MAX_PROBES);
		if (parse_probe(c, yamlx__node(c, *it), binary,
				&p->probe[p->nprobes]))
			return -EINVAL;
		p->nprobes++;
	}
	return 0;
}

int profile__parse(const char *text, size_t len, const char *source, struct profile *p,
		   char *err, size_t errlen)
{
	struct yamlx y;
	int ret;

	memset(p, 0, sizeof(*p));
	snprintf(p->source, sizeof(p->source), "%s", source);
	ret = yamlx__load(&y, text, len, source, err, errlen);
	if (ret)
		return ret;
	ret = parse_root(&y, yamlx__root(&y), p);
	yamlx__free(&y);
	return ret;
}

int profile__load(const char *path, struct profile *p, char *err, size_t errlen)
{
	size_t n;
	char *buf = yamlx__read(path, &n, err, errlen);
	int ret;

	if (!buf)
		return -EINVAL;
	ret = profile__parse(buf, n, path, p, err, errlen);
	free(buf);
	return ret;
}

static struct profile *builtins;

size_t profile__nr_builtin(void)
{
	return profile_builtin_count;
}

const struct profile *profile__builtin(size_t i)
{
	char err[256];

	if (i >= profile_builtin_count)
		return NULL;
	if (!builtins) {
		builtins = calloc(profile_builtin_count, sizeof(*builtins));
		if (!builtins)
			return NULL;
		for (size_t j = 0; j < profile_builtin_count; j++) {
			/* tests parse every built-in: a failure here is a build defect */
			if (profile__parse(profile_builtin_text[j], strlen(profile_builtin_text[j]),
					   profile_builtin_file[j], &builtins[j], err, sizeof(err)))
				cw_err("built-in profile %s", err);
			snprintf(builtins[j].source, sizeof(builtins[j].source), "built-in");
		}
	}
	return &builtins[i];
}

const struct profile *profile__find(const char *name)
{
	for (size_t i = 0; i < profile__nr_builtin(); i++) {
		const struct profile *p = profile__builtin(i);

		if (p && !strcmp(p->name, name))
			return p;
	}
	return NULL;
}
