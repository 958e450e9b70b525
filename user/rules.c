// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The rule file (YAML) into struct detect_rules. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "util.h"
#include "yamlx.h"

static int get_bool(struct yamlx *c, const yaml_node_t *n, bool *out)
{
	const char *v = yamlx__scalar(n);

	if (v && (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")))
		*out = true;
	else if (v && (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off")))
		*out = false;
	else
		return yamlx__fail(c, n, "expected true or false");
	return 0;
}

static int get_bytes(struct yamlx *c, const yaml_node_t *n, __u64 *out)
{
	const char *v = yamlx__scalar(n);

	if (!v || util__parse_bytes(v, out))
		return yamlx__fail(c, n, "expected a byte count such as 4096, 64K, 8M, 2G");
	return 0;
}

/* "1.5s", "200ms", "2" (seconds) into ns. */
static int get_duration(struct yamlx *c, const yaml_node_t *n, __u64 *out)
{
	const char *v = yamlx__scalar(n);
	char num[32];
	size_t l;
	__u64 ns;

	if (!v || (l = strlen(v)) == 0 || l >= sizeof(num))
		return yamlx__fail(c, n, "expected a duration such as 1s or 250ms");
	memcpy(num, v, l + 1);
	if (l > 2 && !strcmp(num + l - 2, "ms")) {
		num[l - 2] = '\0';
		if (util__parse_seconds(num, &ns))
			return yamlx__fail(c, n, "expected a duration such as 1s or 250ms");
		*out = ns / 1000;
		return 0;
	}
	if (num[l - 1] == 's')
		num[l - 1] = '\0';
	if (util__parse_seconds(num, out))
		return yamlx__fail(c, n, "expected a duration such as 1s or 250ms");
	return 0;
}

static int get_fraction(struct yamlx *c, const yaml_node_t *n, double *out)
{
	const char *v = yamlx__scalar(n);
	char *end;

	if (v)
		*out = strtod(v, &end);
	if (!v || *end || *out < 0 || *out > 1)
		return yamlx__fail(c, n, "expected a fraction from 0 to 1");
	return 0;
}

static int get_u32(struct yamlx *c, const yaml_node_t *n, __u32 *out)
{
	__u64 v;

	if (!yamlx__scalar(n) || util__parse_u64(yamlx__scalar(n), 0, 1000000, &v))
		return yamlx__fail(c, n, "expected a whole number");
	*out = (__u32)v;
	return 0;
}

/* "10.0.0.0/8:7051", "127.0.0.1", "[::1]:80", "::/0" into an allow entry. */
static int get_net(struct yamlx *c, const yaml_node_t *n, struct detect_rules *r)
{
	const char *v = yamlx__scalar(n);
	char buf[96], *addr = buf, *port = NULL, *slash;
	__u64 p = 0, bits;
	int i = r->nnet_allow;

	if (!v || strlen(v) >= sizeof(buf) || i == DETECT_NETS)
		return yamlx__fail(c, n, "expected an address such as 10.0.0.0/8:7051 (at most %d)",
			    DETECT_NETS);
	strcpy(buf, v);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close)
			return yamlx__fail(c, n, "unclosed [ in '%s'", v);
		*close = '\0';
		addr = buf + 1;
		if (close[1] == ':')
			port = close + 2;
	} else if (strchr(buf, '.') && strchr(buf, ':')) {
		port = strrchr(buf, ':');
		*port++ = '\0';
	}
	if (port && util__parse_u64(port, 1, 65535, &p))
		return yamlx__fail(c, n, "bad port in '%s'", v);
	slash = strchr(addr, '/');
	if (slash)
		*slash++ = '\0';
	memset(&r->net_allow[i], 0, sizeof(r->net_allow[i]));
	if (inet_pton(AF_INET, addr, r->net_allow[i].addr) == 1) {
		r->net_allow[i].family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, addr, r->net_allow[i].addr) == 1) {
		r->net_allow[i].family = AF_INET6;
		bits = 128;
	} else {
		return yamlx__fail(c, n, "'%s' is not an IPv4 or IPv6 address", addr);
	}
	if (slash && util__parse_u64(slash, 0, bits, &bits))
		return yamlx__fail(c, n, "bad prefix length in '%s'", v);
	r->net_allow[i].prefix = (__u8)bits;
	r->net_allow[i].port = (__u16)p;
	r->nnet_allow++;
	return 0;
}

/* One rule's settings: enabled, severity, enforce, and its own keys. */
static int parse_rule(struct yamlx *c, int kind, const yaml_node_t *m, struct detect_rules *r)
{
	if (m->type != YAML_MAPPING_NODE)
		return yamlx__fail(c, m, "rule %s: expected a mapping (enabled: ..., severity: ...)",
			    detect__name(kind));
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yamlx__node(c, p->key), *vn = yamlx__node(c, p->value);
		const char *k = yamlx__scalar(kn);
		int err = 0;

		if (!k)
			return yamlx__fail(c, kn, "keys must be plain words");
		if (!strcmp(k, "enabled")) {
			err = get_bool(c, vn, &r->rule[kind].enabled);
		} else if (!strcmp(k, "enforce")) {
			err = get_bool(c, vn, &r->rule[kind].enforce);
		} else if (!strcmp(k, "in_calls_only")) {
			err = get_bool(c, vn, &r->rule[kind].in_calls_only);
		} else if (!strcmp(k, "severity")) {
			const char *v = yamlx__scalar(vn);
			int s;

			for (s = 0; s <= DETECT_CRITICAL; s++)
				if (v && !strcmp(v, detect__severity_name(s)))
					break;
			if (s > DETECT_CRITICAL)
				return yamlx__fail(c, vn, "severity is info, low, medium, high or critical");
			r->rule[kind].severity = s;
		} else if (kind == CW_RULE_FILE && !strcmp(k, "allow")) {
			if (vn->type != YAML_SEQUENCE_NODE)
				return yamlx__fail(c, vn, "'allow' is a list of path prefixes");
			r->nfile_allow = 0;
			for (yaml_node_item_t *it = vn->data.sequence.items.start;
			     it < vn->data.sequence.items.top; it++) {
				const char *v = yamlx__scalar(yamlx__node(c, *it));

				if (!v || v[0] != '/' || strlen(v) >= DETECT_PREFIX_LEN ||
				    r->nfile_allow == DETECT_PREFIXES)
					return yamlx__fail(c, yamlx__node(c, *it), "allow entries are absolute path "
						    "prefixes under %d characters, at most %d",
						    DETECT_PREFIX_LEN, DETECT_PREFIXES);
				util__strlcpy(r->file_allow[r->nfile_allow++], v, DETECT_PREFIX_LEN);
			}
		} else if (kind == CW_RULE_NET && !strcmp(k, "allow")) {
			if (vn->type != YAML_SEQUENCE_NODE)
				return yamlx__fail(c, vn, "'allow' is a list of addresses");
			r->nnet_allow = 0;
			for (yaml_node_item_t *it = vn->data.sequence.items.start;
			     it < vn->data.sequence.items.top && !err; it++)
				err = get_net(c, yamlx__node(c, *it), r);
		} else if (kind == CW_RULE_NET && !strcmp(k, "listen")) {
			err = get_bool(c, vn, &r->listen_allowed);
		} else if (kind == CW_RULE_HOST_SLOW && !strcmp(k, "limit")) {
			err = get_duration(c, vn, &r->host_slow_ns);
		} else if (kind == DETECT_LEAK_INSTANCE && !strcmp(k, "per_call")) {
			err = get_bytes(c, vn, &r->leak_per_call);
		} else if (kind == DETECT_LEAK_INSTANCE && !strcmp(k, "rate")) {
			err = get_bytes(c, vn, &r->leak_rate);
		} else if (kind == DETECT_LEAK_INSTANCE && !strcmp(k, "growth")) {
			err = get_bytes(c, vn, &r->leak_growth);
		} else if (kind == DETECT_LEAK_INSTANCE && !strcmp(k, "span")) {
			err = get_duration(c, vn, &r->leak_span_ns);
		} else if (kind == DETECT_LEAK_INSTANCE && !strcmp(k, "calls")) {
			err = get_u32(c, vn, &r->leak_calls);
		} else if ((kind == DETECT_LEAK_INSTANCE || kind == DETECT_LEAK_TARGET) &&
			   !strcmp(k, "fit")) {
			err = get_fraction(c, vn, &r->leak_fit);
		} else if (kind == DETECT_LEAK_TARGET && !strcmp(k, "rate")) {
			err = get_bytes(c, vn, &r->target_rate);
		} else if (kind == DETECT_LEAK_TARGET && !strcmp(k, "growth")) {
			err = get_bytes(c, vn, &r->target_growth);
		} else if (kind == DETECT_LEAK_TARGET && !strcmp(k, "span")) {
			err = get_duration(c, vn, &r->target_span_ns);
		} else if (kind == DETECT_PEAK && !strcmp(k, "rss")) {
			err = get_bytes(c, vn, &r->peak_rss);
		} else if (kind == DETECT_PEAK && !strcmp(k, "instance")) {
			err = get_bytes(c, vn, &r->peak_instance);
		} else if (kind == DETECT_PEAK && !strcmp(k, "rss_ratio")) {
			const char *v = yamlx__scalar(vn);
			char *end;

			r->peak_ratio = v ? strtod(v, &end) : 0;
			if (!v || *end || r->peak_ratio < 1)
				return yamlx__fail(c, vn, "rss_ratio is a number of times, at least 1");
		} else if (kind == DETECT_THREADS && !strcmp(k, "growth")) {
			err = get_u32(c, vn, &r->threads_growth);
		} else if (kind == DETECT_THREADS && !strcmp(k, "span")) {
			err = get_duration(c, vn, &r->threads_span_ns);
		} else if (kind == DETECT_GOROUTINES && !strcmp(k, "growth")) {
			err = get_u32(c, vn, &r->goroutines_growth);
		} else if (kind == DETECT_GOROUTINES && !strcmp(k, "span")) {
			err = get_duration(c, vn, &r->goroutines_span_ns);
		} else if (kind == DETECT_CGO && !strcmp(k, "growth")) {
			err = get_bytes(c, vn, &r->cgo_growth);
		} else if (kind == DETECT_CGO && !strcmp(k, "span")) {
			err = get_duration(c, vn, &r->cgo_span_ns);
		} else {
			return yamlx__fail(c, kn, "rule %s has no setting '%s'", detect__name(kind), k);
		}
		if (err)
			return err;
	}
	return 0;
}

int rules__parse(const char *text, size_t len, const char *source, struct detect_rules *r,
		 char *err, size_t errlen)
{
	struct yamlx y, *c = &y;
	yaml_node_t *root, *rules = NULL;
	int ret;

	ret = yamlx__load(&y, text, len, source, err, errlen);
	if (ret)
		return ret;
	root = yamlx__root(&y);
	if (!root || root->type != YAML_MAPPING_NODE) {
		ret = yamlx__fail(c, root, "a rule file is a mapping with a 'rules' key");
		goto out;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		const char *k = yamlx__scalar(yamlx__node(c, p->key));

		if (!k || strcmp(k, "rules")) {
			ret = yamlx__fail(c, yamlx__node(c, p->key),
					  "unknown key '%s' (a rule file has 'rules')", k ? k : "");
			goto out;
		}
		rules = yamlx__node(c, p->value);
	}
	if (!rules || rules->type != YAML_MAPPING_NODE) {
		ret = yamlx__fail(c, rules, "'rules' is a mapping of rule names to settings");
		goto out;
	}
	for (yaml_node_pair_t *p = rules->data.mapping.pairs.start;
	     p < rules->data.mapping.pairs.top && !ret; p++) {
		yaml_node_t *kn = yamlx__node(c, p->key);
		int kind = yamlx__scalar(kn) ? detect__kind(yamlx__scalar(kn)) : -1;

		if (kind < 0) {
			ret = yamlx__fail(c, kn, "unknown rule '%s'",
					  yamlx__scalar(kn) ? yamlx__scalar(kn) : "");
			break;
		}
		ret = parse_rule(c, kind, yamlx__node(c, p->value), r);
	}
out:
	yamlx__free(&y);
	return ret;
}

int rules__load(const char *path, struct detect_rules *r, char *err, size_t errlen)
{
	size_t n;
	char *buf = yamlx__read(path, &n, err, errlen);
	int ret;

	if (!buf)
		return -EINVAL;
	ret = rules__parse(buf, n, path, r, err, errlen);
	free(buf);
	return ret;
}
