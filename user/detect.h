/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Verdicts from the record stream: sandbox-escape alerts (rules), memory
 * leaks, peak limits, thread growth. Pure like the model: timestamps come
 * from records, no I/O, so a replay reaches the same verdicts. README.md
 * documents every rule and threshold.
 */
#ifndef CW_DETECT_H
#define CW_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "cwatch.h"
#include "model.h"

/* Verdicts that are not escape rules, numbered after them. */
enum detect_kind {
	DETECT_LEAK_INSTANCE = CW_RULE_NR,	/* leak.instance */
	DETECT_LEAK_TARGET,			/* leak.target */
	DETECT_PEAK,				/* peak.limit */
	DETECT_THREADS,				/* threads.growth */
	DETECT_CRASH,				/* crash: a fatal signal or Go fatal error */
	DETECT_GOROUTINES,			/* goroutines.growth */
	DETECT_CGO,				/* cgo.leak */
	DETECT_NR,
};

enum detect_severity {
	DETECT_INFO = 0,
	DETECT_LOW = 1,
	DETECT_MEDIUM = 2,
	DETECT_HIGH = 3,
	DETECT_CRITICAL = 4,
};

#define DETECT_PREFIXES CW_FILE_ALLOW_MAX
#define DETECT_PREFIX_LEN 60	/* keep in sync with struct cw_prefix */
#define DETECT_NETS 16

/* Thresholds and switches: the rule file (user/rules.c), or the defaults. */
struct detect_rules {
	struct {
		bool enabled;
		bool enforce;		/* kill the process (with --enforce; kernel-side rules) */
		bool in_calls_only;	/* only while a contract call runs (targets with instances) */
		enum detect_severity severity;
	} rule[DETECT_NR];
	char file_allow[DETECT_PREFIXES][DETECT_PREFIX_LEN];	/* path prefixes */
	int nfile_allow;
	struct {
		__u16 family;		/* 2 or 10 */
		__u8 addr[16];
		__u8 prefix;		/* bits */
		__u16 port;		/* 0 = any */
	} net_allow[DETECT_NETS];
	int nnet_allow;
	bool listen_allowed;
	__u64 host_slow_ns;		/* hostcall.slow */
	/* leak.instance: per-call retained bytes and their trend over calls */
	__u64 leak_per_call;		/* bytes: median retained per call at least this */
	__u64 leak_rate;		/* bytes/s: Theil-Sen slope at least this */
	__u64 leak_growth;		/* bytes: grown over the window at least this */
	__u64 leak_span_ns;		/* the window covers at least this long */
	__u32 leak_calls;		/* ... and at least this many calls */
	double leak_fit;		/* share of rising point pairs, 0..1 */
	/* leak.target: anon resident memory per interval */
	__u64 target_rate, target_growth, target_span_ns;
	/* peak.limit: 0 = off */
	__u64 peak_rss;			/* bytes of target RSS */
	__u64 peak_instance;		/* bytes held by one instance */
	double peak_ratio;		/* target RSS peak over its first-seen RSS, 0 = off */
	/* threads.growth */
	__u32 threads_growth;		/* threads above the window's low */
	__u64 threads_span_ns;
	/* goroutines.growth: the program's goroutines (Go programs) */
	__u32 goroutines_growth;	/* goroutines above the window's low */
	__u64 goroutines_span_ns;
	/* cgo.leak: C memory live from cgo allocations (Go programs) */
	__u64 cgo_growth;		/* bytes above the window's low */
	__u64 cgo_span_ns;
};

#define DETECT_FRAMES 4

struct detect_verdict {
	__u32 kind;			/* enum cw_rule or enum detect_kind */
	enum detect_severity severity;
	__u32 pid;
	__u64 instance;			/* instance key, 0 = the target */
	long inst;			/* index in model.inst, -1 = none */
	__u64 call;			/* which call of the thread, 0 = none */
	__u32 tid;
	bool enforced;
	__u64 ts;			/* ns: when decided */
	__u64 since;			/* ns: leak/growth: where the window starts */
	double rate;			/* bytes/s or threads/s */
	double per_call;		/* bytes per call */
	double confidence;		/* 0..1 */
	__u64 value;			/* the figure that crossed a limit */
	char detail[300];
	char frame[DETECT_FRAMES][CW_FRAME_LEN];
	__u32 repeats;			/* the same alert again within a second: counted, not listed */
	char what[128];			/* alerts: the path or file it was about, for repeats */
};

struct detect;

/* @rules is copied. */
struct detect *detect__new(const struct detect_rules *rules);
void detect__free(struct detect *d);
/*
 * The model evicted entries (model__evict, map @r): move the state of the
 * rest along, and let go the verdicts about processes the model no longer
 * has (counted by kind). Returns the verdicts let go.
 */
int detect__remap(struct detect *d, const struct model *m, const struct model_remap *r);
/* Verdicts let go by detect__remap, of @kind (DETECT_NR: all). */
__u64 detect__evicted(const struct detect *d, __u32 kind);
/* New rules from now on (SIGHUP); state and verdicts so far are kept. */
void detect__set_rules(struct detect *d, const struct detect_rules *rules);
void detect__defaults(struct detect_rules *r);
/* Rule names ("process.exec", "leak.instance", ...) and back; -1 if unknown. */
const char *detect__name(__u32 kind);
int detect__kind(const char *name);
const char *detect__severity_name(enum detect_severity s);

/*
 * Look at record @rec, just applied to @m. New verdicts are appended; the
 * return value is how many (their indices are detect__count() - n ...).
 */
int detect__apply(struct detect *d, const struct model *m, const void *rec, size_t len);
size_t detect__count(const struct detect *d);
const struct detect_verdict *detect__get(const struct detect *d, size_t i);
/* Is a leak verdict standing for instance index @inst (or target @t with @inst -1)? */
bool detect__leaking(const struct detect *d, size_t t, long inst);

/* Theil-Sen: median of pairwise slopes of (@x, @y), and the share of rising pairs. */
double detect__theil_sen(const double *x, const double *y, size_t n, double *fit);

#endif /* CW_DETECT_H */
