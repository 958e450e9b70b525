/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The exporter's web configuration, in the file format of Prometheus's
 * exporter-toolkit: tls_server_config (cert_file, key_file) and
 * basic_auth_users (user: bcrypt hash).
 */
#ifndef CW_WEBCONFIG_H
#define CW_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;

#define WEBCONFIG_USERS 16

struct webconfig {
	bool tls;
	char *cert, *key;		/* PEM text */
	int nusers;
	char user[WEBCONFIG_USERS][64];
	char hash[WEBCONFIG_USERS][128];	/* bcrypt ($2a$, $2b$, $2y$) */
};

/* Read the file at @path; 0 or -errno/-EINVAL with "PATH:LINE: what" in @err. */
int webconfig__load(const char *path, struct webconfig *w, char *err, size_t errlen);
void webconfig__free(struct webconfig *w);
/* Does the request carry a user and password the file accepts (always, without users)? */
bool webconfig__authorized(const struct webconfig *w, struct MHD_Connection *c);
/* Answer 401 asking for basic auth. */
int webconfig__deny(struct MHD_Connection *c);

#endif /* CW_WEBCONFIG_H */
