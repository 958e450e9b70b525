// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Shared YAML plumbing for profiles, rule files and the web configuration. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamlx.h"

int yamlx__load(struct yamlx *y, const char *text, size_t len, const char *source, char *err,
		size_t errlen)
{
	yaml_parser_t parser;

	memset(y, 0, sizeof(*y));
	y->source = source;
	y->err = err;
	y->errlen = errlen;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", source);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &y->doc)) {
		snprintf(err, errlen, "%s:%zu: %s", source, parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "not valid YAML");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	yaml_parser_delete(&parser);
	y->loaded = 1;
	return 0;
}

void yamlx__free(struct yamlx *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	y->loaded = 0;
}

yaml_node_t *yamlx__root(struct yamlx *y)
{
	return yaml_document_get_root_node(&y->doc);
}

yaml_node_t *yamlx__node(struct yamlx *y, int id)
{
	return yaml_document_get_node(&y->doc, id);
}

const char *yamlx__scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int yamlx__fail(struct yamlx *y, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(y->err, y->errlen, "%s:%zu: %s", y->source, n ? n->start_mark.line + 1 : 1, msg);
	return -EINVAL;
}

char *yamlx__read(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(1 << 20);
	n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	if (buf && n == (1 << 20) - 1 && fgetc(f) != EOF) {
		free(buf);
		buf = NULL;
		snprintf(err, errlen, "%s: larger than 1 MiB", path);
	} else if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = n;
	}
	return buf;
}
