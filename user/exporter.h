/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Prometheus exposition: the figures, verdicts and cwatch's own health as
 * metrics (text format 0.0.4), served over HTTP by libmicrohttpd's own
 * threads. The collector publishes a new text once per interval; a scrape
 * only copies the latest, so scrapes never wait on monitoring or it on them.
 */
#ifndef CW_EXPORTER_H
#define CW_EXPORTER_H

#include <linux/types.h>
#include "detect.h"
#include "model.h"
#include "util.h"

struct exporter_opts {
	const char *listen;	/* "PORT", "HOST:PORT" or "[V6]:PORT"; host defaults to 127.0.0.1 */
	__u32 max_instances;	/* instances with series of their own; the rest are "_other" */
	__u64 grace_ns;		/* gone targets and instances stay this long */
	const char *web_config;	/* TLS and basic auth, the exporter-toolkit way; NULL = none */
};

/* cwatch's own figures. */
struct exporter_health {
	__u64 records, malformed, lost;
	__u64 bpf_run_ns, bpf_runs;	/* kernel BPF statistics of cwatch's programs */
	__u64 sym_binaries;		/* binaries in the symbol cache */
	__u64 site_cache_evicted;	/* the collector's per-stack entries let go */
};

struct exporter;

/* Check --listen and --web-config without serving; 0 or -EINVAL (printed). */
int exporter__check(const struct exporter_opts *o);
/* Start serving; NULL (errno set) after printing why. */
struct exporter *exporter__new(const struct exporter_opts *o);
void exporter__free(struct exporter *e);
/* Format the metrics at @now and make them what scrapes get; 0 or -ENOMEM. */
int exporter__publish(struct exporter *e, const struct model *m, const struct detect *d,
		      const struct exporter_health *h, __u64 now);
/* Format the metrics into @out (tests, and publish). */
void exporter__format(struct util_sbuf *out, const struct exporter_opts *o, const struct model *m,
		      const struct detect *d, const struct exporter_health *h, __u64 now);

#endif /* CW_EXPORTER_H */
