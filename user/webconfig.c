// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The exporter-toolkit web configuration: TLS files and bcrypt basic auth. */
#include <crypt.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"
#include "webconfig.h"

/* The whole of file @path, NUL-terminated, or NULL with errno set. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

static const char *scalar(yaml_document_t *d, int id)
{
	yaml_node_t *n = yaml_document_get_node(d, id);

	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A mapping's pairs as (key, value node); the caller checks types. */
#define for_pairs(d, n, p) \
	for (yaml_node_pair_t *p = (n)->data.mapping.pairs.start; p < (n)->data.mapping.pairs.top; p++)

int webconfig__load(const char *path, struct webconfig *w, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	char *text = slurp(path), *cert = NULL, *key = NULL;
	int ret = -EINVAL;

	memset(w, 0, sizeof(*w));
	if (!text) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu: %s", path, parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "not valid YAML");
		yaml_parser_delete(&parser);
		free(text);
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "%s:1: expected tls_server_config and/or basic_auth_users", path);
		goto out;
	}
	for_pairs(&doc, root, p) {
		const char *k = scalar(&doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&doc, p->value);

		if (k && !strcmp(k, "tls_server_config") && v->type == YAML_MAPPING_NODE) {
			for_pairs(&doc, v, q) {
				const char *tk = scalar(&doc, q->key), *tv = scalar(&doc, q->value);

				if (tk && tv && !strcmp(tk, "cert_file"))
					cert = strdup(tv);
				else if (tk && tv && !strcmp(tk, "key_file"))
					key = strdup(tv);
			}
		} else if (k && !strcmp(k, "basic_auth_users") && v->type == YAML_MAPPING_NODE) {
			for_pairs(&doc, v, q) {
				const char *u = scalar(&doc, q->key), *h = scalar(&doc, q->value);

				if (!u || !h || w->nusers == WEBCONFIG_USERS || strlen(u) >= 64 ||
				    strlen(h) >= 128 || h[0] != '$') {
					snprintf(err, errlen, "%s:%zu: basic_auth_users maps a user to "
						 "a bcrypt hash (at most %d users)", path,
						 v->start_mark.line + 1, WEBCONFIG_USERS);
					goto out;
				}
				util__strlcpy(w->user[w->nusers], u, 64);
				util__strlcpy(w->hash[w->nusers++], h, 128);
			}
		} else {
			snprintf(err, errlen, "%s:%zu: unknown or malformed key '%s'", path,
				 p->key ? yaml_document_get_node(&doc, p->key)->start_mark.line + 1 : 0,
				 k ? k : "");
			goto out;
		}
	}
	if (!!cert != !!key) {
		snprintf(err, errlen, "%s: tls_server_config needs both cert_file and key_file", path);
		goto out;
	}
	if (cert) {
		w->cert = slurp(cert);
		w->key = slurp(key);
		if (!w->cert || !w->key) {
			snprintf(err, errlen, "%s: %s", !w->cert ? cert : key, strerror(errno));
			goto out;
		}
		w->tls = true;
	}
	ret = 0;
out:
	free(cert);
	free(key);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(text);
	if (ret)
		webconfig__free(w);
	return ret;
}

void webconfig__free(struct webconfig *w)
{
	free(w->cert);
	free(w->key);
	memset(w, 0, sizeof(*w));
}

bool webconfig__authorized(const struct webconfig *w, struct MHD_Connection *c)
{
	char *pass = NULL, *user;
	bool ok = false;

	if (!w->nusers)
		return true;
	user = MHD_basic_auth_get_username_password(c, &pass);
	for (int i = 0; user && pass && i < w->nusers && !ok; i++) {
		struct crypt_data cd;
		const char *h;

		if (strcmp(user, w->user[i]))
			continue;
		memset(&cd, 0, sizeof(cd));
		h = crypt_r(pass, w->hash[i], &cd);
		/* compare all of it: no early exit on the first differing byte */
		if (h && strlen(h) == strlen(w->hash[i])) {
			unsigned char diff = 0;

			for (size_t k = 0; k < strlen(h); k++)
				diff |= (unsigned char)(h[k] ^ w->hash[i][k]);
			ok = !diff;
		}
	}
	MHD_free(user);
	MHD_free(pass);
	return ok;
}

int webconfig__deny(struct MHD_Connection *c)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(13, (void *)"unauthorized\n",
								MHD_RESPMEM_PERSISTENT);
	int ret;

	if (!r)
		return MHD_NO;
	ret = MHD_queue_basic_auth_fail_response(c, "cwatch", r);
	MHD_destroy_response(r);
	return ret;
}
