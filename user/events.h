/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Draining the BPF ring buffer and handing whole, checked records on. */
#ifndef CW_EVENTS_H
#define CW_EVENTS_H

#include <stddef.h>
#include <linux/types.h>

/* Called for every record; returning non-zero stops the drain. */
typedef int (*events_fn)(void *ctx, const void *rec, size_t len);

struct events;

struct events *events__new(int ringbuf_fd, events_fn fn, void *ctx);
void events__free(struct events *e);
/* Wait up to @timeout_ms for a wake-up, then consume everything queued. */
int events__poll(struct events *e, int timeout_ms);
/* Records refused as malformed. */
__u64 events__malformed(const struct events *e);

#endif /* CW_EVENTS_H */
