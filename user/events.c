// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The ring-buffer reader. The BPF side submits without waking us (DESIGN.md:
 * a wake-up costs microseconds per record), so the collector calls
 * events__poll() with a short timeout and drains on that timer; the kernel
 * still wakes us when the buffer passes a fill threshold.
 */
#include <errno.h>
#include <stdlib.h>
#include <bpf/libbpf.h>

#include "cwatch.h"
#include "events.h"
#include "util.h"

struct events {
	struct ring_buffer *rb;
	events_fn fn;
	void *ctx;
	__u64 malformed;
};

/* Check a record's header against the length the ring buffer reports. */
static int on_record(void *ctx, void *data, size_t len)
{
	struct events *e = ctx;
	const struct cw_hdr *h = data;

	if (len < sizeof(*h) || h->size > len || h->size < sizeof(*h)) {
		e->malformed++;
		return 0;
	}
	return e->fn(e->ctx, data, h->size);
}

struct events *events__new(int ringbuf_fd, events_fn fn, void *ctx)
{
	struct events *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->fn = fn;
	e->ctx = ctx;
	e->rb = ring_buffer__new(ringbuf_fd, on_record, e, NULL);
	if (!e->rb) {
		int err = errno;

		free(e);
		errno = err;
		return NULL;
	}
	return e;
}

void events__free(struct events *e)
{
	if (!e)
		return;
	ring_buffer__free(e->rb);
	free(e);
}

int events__poll(struct events *e, int timeout_ms)
{
	int n = ring_buffer__poll(e->rb, timeout_ms);

	if (n == -EINTR)
		n = 0;
	if (n < 0)
		return n;
	/* poll returns once woken; drain whatever arrived without a wake-up too */
	n = ring_buffer__consume(e->rb);
	return n == -EINTR ? 0 : n;
}

__u64 events__malformed(const struct events *e)
{
	return e->malformed;
}
