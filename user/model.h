/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-target state built from the record stream alone (cwatch.h records).
 * Pure: no I/O, no clocks; timestamps come from the records, so a live run
 * and a replay of its recording reach the same state.
 */
#ifndef CW_MODEL_H
#define CW_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "cwatch.h"

enum model_state {
	MODEL_RUNNING = 0,
	MODEL_EXITED = 1,
};

struct model_target {
	__u32 pid;
	__u32 ppid;
	__u32 reason;			/* enum cw_reason */
	enum model_state state;
	char comm[CW_COMM_LEN];
	char exe[CW_PATH_LEN];		/* last exec'd file, or the file chosen at attach */
	__s32 exit_code;		/* wait(2) status, valid when exited */
	__u64 first_ts;			/* ns: became a target */
	__u64 last_ts;			/* ns: last record about it */
	__u64 exit_ts;			/* ns: exited */
	struct cw_stats stats;		/* latest figures (final ones once exited) */
	char runtime[32];		/* the runtime profile attached for it, "" = none */
	__u32 inst_seq;			/* instances it has had: the last one's number */
	/* Go programs (CW_REC_GO_STATS): latest, the one before (rates), peaks */
	bool go;			/* a Go program: go, go_prev valid */
	struct cw_rec_go_stats go_last, go_prev;
	struct cw_peak go_user_peak;	/* goroutines: the program's */
	struct cw_peak go_heap_peak;	/* bytes resident in the Go heap */
};

#define MODEL_RETAINED_WINDOW 64	/* calls the retained-bytes median looks back on */
#define MODEL_CONTRACT_LEN 80

#define MODEL_HOST_FUNCS 16		/* host functions told apart per instance */
#define MODEL_HIST 8			/* latency histogram buckets, the last is +Inf */

/* Upper bounds of the latency buckets, in ns (the last is +Inf). */
extern const __u64 model_hist_le[MODEL_HIST];

/* Calls from one instance into one host function (the profile's func id). */
struct model_host_func {
	__u64 func;
	__u64 calls;
	__u64 ns_total, ns_max;
};

/* A contract instance (or store) inside a target. */
struct model_instance {
	__u32 pid;
	__u32 profile;			/* index of the runtime profile that saw it */
	__u64 key;			/* the runtime's pointer for it */
	size_t target;			/* index of its target in model.t */
	__u32 seq;			/* 1, 2, ... within its target, for people */
	enum model_state state;
	char name[CW_NAME_LEN];		/* the runtime's name for it, if any */
	char contract[MODEL_CONTRACT_LEN];	/* "sha256:<hex>" of the module, else the name */
	__u64 module;
	__u64 created_ts, ended_ts, last_ts;
	struct cw_inst_stats stats;	/* latest kernel figures */
	__s64 retained[MODEL_RETAINED_WINDOW];	/* bytes retained by recent calls (ring) */
	__u32 nretained;		/* valid entries */
	__u32 retained_pos;		/* next slot */
	__u64 calls;			/* CW_EV_CALL records seen */
	__s64 retained_total;		/* bytes, over all calls seen */
	__s64 retained_last;		/* bytes, the latest call */
	__u64 call_ns_max;		/* the slowest call seen */
	__u64 call_hist[MODEL_HIST];	/* calls by duration, bucket i: <= model_hist_le[i] */
	__u64 host_hist[MODEL_HIST];	/* host calls likewise */
	__u64 host_calls;		/* CW_EV_HOST_CALL records seen */
	__u64 host_ns;			/* their total duration */
	struct model_host_func host[MODEL_HOST_FUNCS];
	__u32 nhost;
	__u64 host_other;		/* host calls past MODEL_HOST_FUNCS functions */
};

/* Calls of one contract's entry point, over all its instances. */
struct model_contract {
	char contract[MODEL_CONTRACT_LEN];
	char entry[CW_NAME_LEN];	/* "" when the profile does not name entry points */
	__u32 profile;
	__u64 calls;
	__u64 last_ts;			/* ns: its latest call */
	__s64 retained[MODEL_RETAINED_WINDOW];	/* bytes retained by recent calls (ring) */
	__u32 nretained, retained_pos;
};

/* What a site counts (cwatch.h's site records). */
enum model_site_kind {
	MODEL_SITE_HEAP = 0,	/* --heap: sampled anon growth; bytes, samples */
	MODEL_SITE_THREAD = 1,	/* thread creation: bytes = alive, samples = created */
	MODEL_SITE_GO = 2,	/* goroutine creation (go statement): bytes = alive, samples = created */
	MODEL_SITE_CGO = 3,	/* cgo allocations: bytes live, samples = allocations live */
};

/* A site: where anon memory grew (--heap), threads or goroutines were made, C memory is held. */
struct model_site {
	enum model_site_kind kind;
	bool system;		/* goroutines: the runtime's own */
	char start[CW_FRAME_LEN];	/* goroutines: their function */
	__u32 pid;
	__u64 instance;		/* instance key, 0 = the target itself */
	size_t target;		/* index in model.t */
	long inst;		/* index in model.inst, -1 for the target */
	__s32 stack;
	__u32 nframes;
	struct cw_site site;
	char frame[CW_SITE_FRAMES][CW_FRAME_LEN];
};

/* A module whose code was hashed: module key -> contract id. */
struct model_module {
	__u32 pid;
	__u64 key;
	__u64 code_len;
	char contract[MODEL_CONTRACT_LEN];
};

/* Code arriving in chunks for a module not created yet. */
struct model_code {
	__u32 pid, tid;
	__u64 seq;
	__u64 total;		/* bytes the module has */
	__u64 got;		/* bytes received */
	unsigned char *buf;	/* min(total, CW_CODE_KEEP) bytes */
};

#define MODEL_CODE_KEEP (512 * 1024)	/* bytes of code hashed at most (keep in sync with runtime.bpf.c) */

#define MODEL_STACKS 64	/* named stacks kept (the most recent) */

/* A crash (CW_EV_CRASH, frames named): where it happened; the target says how it ended. */
struct model_crash {
	size_t target;			/* index in model.t */
	long inst;			/* index in model.inst of the instance running, -1 = none */
	struct cw_ev_crash ev;
};

#define MODEL_KEEP_GONE 1000	/* default: finished entries of each kind kept past their grace */
#define MODEL_GRACE_NS 60000000000ULL	/* default: how long a finished entry is kept whatever the cap */

/* What model__evict let go, in total (each kind counted on its own). */
struct model_evicted {
	__u64 targets;		/* exited targets */
	__u64 instances;	/* ended instances (with their targets, or on their own) */
	__u64 sites;		/* sites of those targets and instances */
	__u64 contracts;	/* contract entry points no kept instance runs */
	__u64 modules;		/* module ids and pending code of processes gone */
	__u64 crashes;		/* crashes of evicted targets */
};

/* Old index -> new index (-1: evicted) of targets and instances, after model__evict. */
struct model_remap {
	long *t;
	size_t nt;
	long *inst;
	size_t ninst;
};

struct model {
	struct cw_rec_stack stack[MODEL_STACKS];	/* ring of CW_REC_STACK records */
	size_t nstack;
	struct model_target *t;		/* in order of appearance; never reordered */
	size_t n, cap;
	struct model_instance *inst;	/* in order of appearance */
	size_t ninst, capinst;
	struct model_module *mod;
	size_t nmod, capmod;
	struct model_contract *con;
	size_t ncon, capcon;
	struct model_site *site;
	size_t nsite, capsite;
	struct model_code *code;
	size_t ncode, capcode;
	struct model_crash *crash;	/* in order of arrival, at most one per process */
	size_t ncrash, capcrash;
	__u64 records;			/* records applied */
	__u64 bad_records;		/* records refused as malformed */
	__u64 lost;			/* events the kernel could not queue, total */
	__u64 first_ts, last_ts;	/* ns: first and last record time */
	long last_inst;			/* instance touched by the last record, -1 if none */
	/* bounds: finished entries past grace_ns beyond keep_gone of a kind go (model__evict) */
	__u64 grace_ns;
	__u32 keep_gone;
	struct model_evicted evicted;
};

struct model *model__new(void);
void model__free(struct model *m);

/*
 * Apply one record of @len bytes. Returns the index of the target it touched
 * (>= 0), -ENOENT for a record about no known target (ignored), -EINVAL for a
 * malformed one, -ENOMEM. For instance records, m->last_inst is the index of
 * the instance touched (or -1).
 */
int model__apply(struct model *m, const void *rec, size_t len);

/*
 * Bound what grows with churn: of the targets that exited and the instances
 * that ended more than m->grace_ns before @now (record time), keep the newest
 * m->keep_gone of each; an evicted target takes its instances, sites and
 * crash along. Contract entry points no kept instance runs, idle past the
 * grace, are capped the same way; module ids and pending code of processes
 * that are no target any more go. Indices change: @r (freed with
 * model__remap_free) maps old to new for targets and instances. Returns the
 * number of targets and instances evicted (0: @r is empty, nothing moved),
 * or -ENOMEM (nothing changed).
 */
int model__evict(struct model *m, __u64 now, struct model_remap *r);
void model__remap_free(struct model_remap *r);

/* The live (not exited) target with @pid, or NULL. */
struct model_target *model__live(struct model *m, __u32 pid);
/* Number of targets still running. */
size_t model__nr_live(const struct model *m);

/* The live instance @key of @pid, or NULL. */
struct model_instance *model__instance(struct model *m, __u32 pid, __u64 key);
/* Median of the bytes retained by an instance's recent calls (0 without calls). */
__s64 model__retained_median(const struct model_instance *in);
/* The same over a contract's entry point, all instances together. */
__s64 model__contract_median(const struct model_contract *c);
/* Live instances of target @t. */
size_t model__nr_instances(const struct model *m, size_t t);

/*
 * The @k-th biggest heap site of target @t (@inst = -1) or of instance @inst
 * (index in m->inst), or NULL past the last.
 */
const struct model_site *model__top_site(const struct model *m, size_t t, long inst, size_t k);
/* The same for thread creation sites, by threads alive. */
const struct model_site *model__top_thread_site(const struct model *m, size_t t, size_t k);
/*
 * The same for goroutine creation sites (by goroutines alive; the runtime's
 * own with @system) and cgo allocation sites (by bytes live).
 */
const struct model_site *model__top_go_site(const struct model *m, size_t t, bool system,
					    size_t k);
const struct model_site *model__top_cgo_site(const struct model *m, size_t t, size_t k);

/* The frames of stack @id of @pid, if a CW_REC_STACK named it lately; NULL else. */
const struct cw_rec_stack *model__stack(const struct model *m, __u32 pid, __s32 id);

/* The crash of target @t, or NULL if it did not crash. */
const struct model_crash *model__crash(const struct model *m, size_t t);
/*
 * What killed it, for people and labels: the signal's name ("SIGSEGV") for a
 * fatal signal, else "go panic", "go fatal error" or "go fatal signal".
 */
const char *model__crash_kind(const struct cw_ev_crash *e);
/* "SIGSEGV" for 11 ... (the signals crashes carry), "" for 0, else "unknown signal". */
const char *model__signal_name(int signo);
/* The name of si_code @code of signal @signo ("SEGV_MAPERR", "SI_USER"), or NULL if unknown. */
const char *model__sigcode_name(int signo, int code);

/* Resident bytes (file + anon + shmem) of @st now. */
__u64 model__rss(const struct cw_stats *st);

#endif /* CW_MODEL_H */
