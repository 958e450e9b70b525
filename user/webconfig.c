// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The exporter-toolkit web configuration: TLS files and bcrypt basic auth. */
#include <crypt.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "webconfig.h"
#include "yamlx.h"

/* A mapping's pairs. */
#define for_pairs(n, p) \
	for (yaml_node_pair_t *p = (n)->data.mapping.pairs.start; p < (n)->data.mapping.pairs.top; p++)

/* tls_server_config: the two file names into @cert and @key. */
static void tls_files(struct yamlx *y, yaml_node_t *v, char **cert, char **key)
{
	for_pairs(v, q) {
		const char *k = yamlx__scalar(yamlx__node(y, q->key));
		const char *val = yamlx__scalar(yamlx__node(y, q->value));

		if (k && val && !strcmp(k, "cert_file"))
			*cert = strdup(val);
		else if (k && val && !strcmp(k, "key_file"))
			*key = strdup(val);
	}
}

int webconfig__load(const char *path, struct webconfig *w, char *err, size_t errlen)
{
	struct yamlx y;
	yaml_node_t *root;
	size_t len;
	char *text = yamlx__read(path, &len, err, errlen), *cert = NULL, *key = NULL;
	int ret;

	memset(w, 0, sizeof(*w));
	if (!text)
		return -EINVAL;
	ret = yamlx__load(&y, text, len, path, err, errlen);
	free(text);
	if (ret)
		return ret;
	ret = -EINVAL;
	root = yamlx__root(&y);
	if (!root || root->type != YAML_MAPPING_NODE) {
		yamlx__fail(&y, root, "expected tls_server_config and/or basic_auth_users");
		goto out;
	}
	for_pairs(root, p) {
		yaml_node_t *kn = yamlx__node(&y, p->key), *v = yamlx__node(&y, p->value);
		const char *k = yamlx__scalar(kn);

		if (k && !strcmp(k, "tls_server_config") && v->type == YAML_MAPPING_NODE) {
			tls_files(&y, v, &cert, &key);
		} else if (k && !strcmp(k, "basic_auth_users") && v->type == YAML_MAPPING_NODE) {
			for_pairs(v, q) {
				const char *u = yamlx__scalar(yamlx__node(&y, q->key));
				const char *h = yamlx__scalar(yamlx__node(&y, q->value));

				if (!u || !h || w->nusers == WEBCONFIG_USERS || strlen(u) >= 64 ||
				    strlen(h) >= 128 || h[0] != '$') {
					yamlx__fail(&y, v, "basic_auth_users maps a user to a bcrypt "
						    "hash (at most %d users)", WEBCONFIG_USERS);
					goto out;
				}
				util__strlcpy(w->user[w->nusers], u, 64);
				util__strlcpy(w->hash[w->nusers++], h, 128);
			}
		} else {
			yamlx__fail(&y, kn, "unknown or malformed key '%s'", k ? k : "");
			goto out;
		}
	}
	if (!!cert != !!key) {
		snprintf(err, errlen, "%s: tls_server_config needs both cert_file and key_file", path);
		goto out;
	}
	if (cert) {
		w->cert = yamlx__read(cert, NULL, err, errlen);
		w->key = w->cert ? yamlx__read(key, NULL, err, errlen) : NULL;
		if (!w->cert || !w->key)
			goto out;
		w->tls = true;
	}
	ret = 0;
out:
	free(cert);
	free(key);
	yamlx__free(&y);
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
