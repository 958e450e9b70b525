/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the YAML files cwatch reads (profiles, rule files, the web
 * configuration) share: loading a document with libyaml, errors as
 * "SOURCE:LINE: what", scalars, and reading a file of bounded size.
 */
#ifndef CW_YAMLX_H
#define CW_YAMLX_H

#include <stddef.h>
#include <yaml.h>

struct yamlx {
	yaml_document_t doc;
	const char *source;	/* the file's name, for messages */
	char *err;		/* where messages go */
	size_t errlen;
	int loaded;
};

/* Parse @text; 0, or -EINVAL with "SOURCE:LINE: problem" in @err. */
int yamlx__load(struct yamlx *y, const char *text, size_t len, const char *source, char *err,
		size_t errlen);
void yamlx__free(struct yamlx *y);
yaml_node_t *yamlx__root(struct yamlx *y);
yaml_node_t *yamlx__node(struct yamlx *y, int id);
/* The text of a scalar node, or NULL for anything else. */
const char *yamlx__scalar(const yaml_node_t *n);
/* Write "SOURCE:LINE: message" (the line of @n) into the error buffer; returns -EINVAL. */
int yamlx__fail(struct yamlx *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The whole of file @path (1 MiB at most), NUL-terminated; NULL with "PATH: why" in @err. */
char *yamlx__read(const char *path, size_t *len, char *err, size_t errlen);

#endif /* CW_YAMLX_H */
