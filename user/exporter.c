// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Prometheus metrics: formatting, and serving with libmicrohttpd. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter.h"
#include "webconfig.h"

struct exporter {
	struct exporter_opts o;
	struct MHD_Daemon *mhd;
	pthread_mutex_t lock;
	char *text;		/* the latest metrics, owned, under lock */
	size_t len;
	struct webconfig web;
};

/* A label value, escaped as the exposition format wants (\\, \", \n). */
static void put_value(struct util_sbuf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			util__sbuf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			util__sbuf_printf(b, "\\n");
		else
			util__sbuf_printf(b, "%c", *v);
	}
}

static void family(struct util_sbuf *b, const char *name, const char *type, const char *help)
{
	util__sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Labels of a target: target (its comm), pid, runtime. */
static void target_labels(struct util_sbuf *b, const struct model_target *t)
{
	util__sbuf_printf(b, "target=\"");
	put_value(b, t->comm);
	util__sbuf_printf(b, "\",pid=\"%u\",runtime=\"", t->pid);
	put_value(b, t->runtime);
	util__sbuf_printf(b, "\"");
}

/* What the exporter shows of the model at @now. */
struct view {
	const struct exporter_opts *o;
	const struct model *m;
	const struct detect *d;
	__u64 now;
	bool *own;		/* per instance: series of its own (else folded into _other) */
	size_t folded;
};

static bool target_shown(const struct view *v, const struct model_target *t)
{
	return t->state == MODEL_RUNNING || t->exit_ts + v->o->grace_ns >= v->now;
}

static bool inst_shown(const struct view *v, const struct model_instance *in)
{
	return target_shown(v, &v->m->t[in->target]) &&
	       (in->state == MODEL_RUNNING || in->ended_ts + v->o->grace_ns >= v->now);
}

/* Labels of instance @in (or the target's "_other" fold when @in is NULL). */
static void inst_labels(struct util_sbuf *b, const struct model_target *t,
			const struct model_instance *in)
{
	target_labels(b, t);
	if (!in) {
		util__sbuf_printf(b, ",instance=\"_other\",contract=\"_other\"");
		return;
	}
	util__sbuf_printf(b, ",instance=\"%u\",contract=\"", in->seq);
	put_value(b, in->contract);
	util__sbuf_printf(b, "\"");
}

/* Labels of something the target did outside any contract call. */
static void own_labels(struct util_sbuf *b, const struct model_target *t)
{
	target_labels(b, t);
	util__sbuf_printf(b, ",instance=\"\",contract=\"\"");
}

typedef double (*inst_get)(const struct model_instance *in);

static double i_held(const struct model_instance *in) { return (double)in->stats.charged; }
static double i_held_peak(const struct model_instance *in) { return (double)in->stats.charged_peak.value; }
static double i_linear(const struct model_instance *in) { return (double)in->stats.linear; }
static double i_linear_peak(const struct model_instance *in) { return (double)in->stats.linear_peak.value; }
static double i_mapped(const struct model_instance *in) { return (double)in->stats.mapped; }
static double i_retained(const struct model_instance *in) { return (double)model__retained_median(in); }
static double i_threads(const struct model_instance *in) { return (double)in->stats.threads_created; }
static double i_pages(const struct model_instance *in) { return (double)in->stats.page_allocs * 4096; }
static double i_calls(const struct model_instance *in)
{
	return (double)(in->stats.calls > in->calls ? in->stats.calls : in->calls);
}
static double i_host_calls(const struct model_instance *in)
{
	return (double)(in->stats.host_calls > in->host_calls ? in->stats.host_calls : in->host_calls);
}

/* One instance family: a series per shown instance, plus one "_other" per target that folds. */
static void inst_family(struct util_sbuf *b, const struct view *v, const char *name,
			const char *type, const char *help, inst_get get, bool fold_sum)
{
	const struct model *m = v->m;

	family(b, name, type, help);
	for (size_t i = 0; i < m->ninst; i++) {
		if (!inst_shown(v, &m->inst[i]) || !v->own[i])
			continue;
		util__sbuf_printf(b, "%s{", name);
		inst_labels(b, &m->t[m->inst[i].target], &m->inst[i]);
		util__sbuf_printf(b, "} %.17g\n", get(&m->inst[i]));
	}
	for (size_t t = 0; t < m->n; t++) {
		double sum = 0;
		bool any = false;

		for (size_t i = 0; i < m->ninst; i++) {
			if (m->inst[i].target != t || !inst_shown(v, &m->inst[i]) || v->own[i])
				continue;
			sum = fold_sum || !any ? sum + get(&m->inst[i]) :
				     (get(&m->inst[i]) > sum ? get(&m->inst[i]) : sum);
			any = true;
		}
		if (!any)
			continue;
		util__sbuf_printf(b, "%s{", name);
		inst_labels(b, &m->t[t], NULL);
		util__sbuf_printf(b, "} %.17g\n", sum);
	}
}

/* A latency histogram of instance @in (NULL: the fold of target @t) from @hist/@ns/@count. */
static void hist_series(struct util_sbuf *b, const char *name, const struct model_target *t,
			const struct model_instance *in, const __u64 *hist, double sum, __u64 count)
{
	__u64 cum = 0;

	for (int k = 0; k < MODEL_HIST; k++) {
		cum += hist[k];
		util__sbuf_printf(b, "%s_bucket{", name);
		inst_labels(b, t, in);
		if (k < MODEL_HIST - 1)
			util__sbuf_printf(b, ",le=\"%g\"} %llu\n", model_hist_le[k] / 1e9,
					  (unsigned long long)cum);
		else
			util__sbuf_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	util__sbuf_printf(b, "%s_sum{", name);
	inst_labels(b, t, in);
	util__sbuf_printf(b, "} %.9f\n%s_count{", sum, name);
	inst_labels(b, t, in);
	util__sbuf_printf(b, "} %llu\n", (unsigned long long)count);
}

static void histograms(struct util_sbuf *b, const struct view *v, bool host)
{
	const struct model *m = v->m;
	const char *name = host ? "cwatch_instance_host_call_duration_seconds" :
				  "cwatch_instance_call_duration_seconds";

	family(b, name, "histogram", host ? "Duration of host calls made by the instance." :
					      "Duration of calls into the instance.");
	for (size_t t = 0; t < m->n; t++) {
		__u64 fold[MODEL_HIST] = {}, fcount = 0;
		double fsum = 0;
		bool any = false;

		for (size_t i = 0; i < m->ninst; i++) {
			const struct model_instance *in = &m->inst[i];
			const __u64 *h = host ? in->host_hist : in->call_hist;
			double sum = (host ? in->host_ns : in->stats.call_ns) / 1e9;
			__u64 count = 0;

			if (in->target != t || !inst_shown(v, in))
				continue;
			for (int k = 0; k < MODEL_HIST; k++)
				count += h[k];
			if (v->own[i]) {
				hist_series(b, name, &m->t[t], in, h, sum, count);
				continue;
			}
			for (int k = 0; k < MODEL_HIST; k++)
				fold[k] += h[k];
			fsum += sum;
			fcount += count;
			any = true;
		}
		if (any)
			hist_series(b, name, &m->t[t], NULL, fold, fsum, fcount);
	}
}

typedef double (*target_get)(const struct model_target *t);

static double t_up(const struct model_target *t) { return t->state == MODEL_RUNNING; }
static double t_peak(const struct model_target *t) { return (double)t->stats.rss_peak.value; }
static double t_mapped(const struct model_target *t) { return (double)t->stats.data_vm; }
static double t_mapped_peak(const struct model_target *t) { return (double)t->stats.data_vm_peak.value; }
static double t_threads(const struct model_target *t) { return (double)t->stats.threads; }
static double t_threads_peak(const struct model_target *t) { return (double)t->stats.threads_peak.value; }
static double t_creates(const struct model_target *t) { return (double)t->stats.thread_creates; }
static double t_pages(const struct model_target *t) { return (double)t->stats.page_allocs * 4096; }
static double t_execs(const struct model_target *t) { return (double)t->stats.execs; }
static double t_forks(const struct model_target *t) { return (double)t->stats.forks; }

/* A family of one series per target, or with @go_flags only per Go target with those CW_GO_* flags. */
static void target_family_of(struct util_sbuf *b, const struct view *v, const char *name,
			     const char *type, const char *help, target_get get, __u32 go_flags)
{
	family(b, name, type, help);
	for (size_t t = 0; t < v->m->n; t++) {
		const struct model_target *tg = &v->m->t[t];

		if (!target_shown(v, tg) ||
		    (go_flags && (!tg->go || (tg->go_last.flags & go_flags) != go_flags)))
			continue;
		util__sbuf_printf(b, "%s{", name);
		target_labels(b, &v->m->t[t]);
		util__sbuf_printf(b, "} %.17g\n", get(&v->m->t[t]));
	}
}

static void target_family(struct util_sbuf *b, const struct view *v, const char *name,
			  const char *type, const char *help, target_get get)
{
	target_family_of(b, v, name, type, help, get, 0);
}

static double g_peak(const struct model_target *t) { return (double)t->go_user_peak.value; }
static double g_created(const struct model_target *t) { return (double)t->go_last.k.created; }
static double g_exited(const struct model_target *t) { return (double)t->go_last.k.exited; }
static double g_heap(const struct model_target *t) { return (double)t->go_last.heap_resident; }
static double g_heap_peak(const struct model_target *t) { return (double)t->go_heap_peak.value; }
static double g_cgo(const struct model_target *t) { return (double)t->go_last.k.cgo_bytes; }
static double g_cgo_allocs(const struct model_target *t) { return (double)t->go_last.k.cgo_allocs; }

/* Go programs: goroutines (the program's and the runtime's), the Go heap, cgo memory. */
static void go_families(struct util_sbuf *b, const struct view *v)
{
	const struct model *m = v->m;

	family(b, "cwatch_go_goroutines", "gauge",
	       "Live goroutines of a Go target: kind=\"user\" is runtime.NumGoroutine(), "
	       "kind=\"runtime\" the runtime's own.");
	for (size_t t = 0; t < m->n; t++) {
		const struct model_target *tg = &m->t[t];

		if (!target_shown(v, tg) || !tg->go || !(tg->go_last.flags & CW_GO_GOROUTINES))
			continue;
		for (int k = 0; k < 2; k++) {
			util__sbuf_printf(b, "cwatch_go_goroutines{");
			target_labels(b, tg);
			util__sbuf_printf(b, ",kind=\"%s\"} %llu\n", k ? "runtime" : "user",
					  (unsigned long long)(k ? tg->go_last.system : tg->go_last.user));
		}
	}
	target_family_of(b, v, "cwatch_go_goroutines_peak", "gauge",
			 "Highest number of the Go target's own goroutines.", g_peak, CW_GO_GOROUTINES);
	target_family_of(b, v, "cwatch_go_goroutine_creations_total", "counter",
			 "Goroutines the Go target created since cwatch attached.", g_created,
			 CW_GO_GOROUTINES);
	target_family_of(b, v, "cwatch_go_goroutine_exits_total", "counter",
			 "Goroutines of the Go target that ended since cwatch attached.", g_exited,
			 CW_GO_GOROUTINES);
	target_family_of(b, v, "cwatch_go_heap_resident_bytes", "gauge",
			 "Resident memory in the Go heap's arenas (heap and goroutine stacks).",
			 g_heap, CW_GO_HEAP);
	target_family_of(b, v, "cwatch_go_heap_resident_peak_bytes", "gauge",
			 "Highest resident memory in the Go heap's arenas.", g_heap_peak, CW_GO_HEAP);
	target_family_of(b, v, "cwatch_go_cgo_live_bytes", "gauge",
			 "C memory allocated through cgo (C.CString, C.CBytes, C.malloc) and not freed.",
			 g_cgo, CW_GO_CGO);
	target_family_of(b, v, "cwatch_go_cgo_allocations_total", "counter",
			 "C allocations made through cgo.", g_cgo_allocs, CW_GO_CGO);
}

/* Pick the instances with series of their own: the most memory held first, up to the cap. */
static void choose_own(struct view *v)
{
	const struct model *m = v->m;
	size_t shown = 0;

	for (size_t i = 0; i < m->ninst; i++)
		shown += inst_shown(v, &m->inst[i]);
	for (size_t i = 0; i < m->ninst; i++) {
		size_t bigger = 0;

		v->own[i] = false;
		if (!inst_shown(v, &m->inst[i]))
			continue;
		if (shown <= v->o->max_instances) {
			v->own[i] = true;
			continue;
		}
		for (size_t j = 0; j < m->ninst && bigger < v->o->max_instances; j++)
			if (j != i && inst_shown(v, &m->inst[j]) &&
			    (m->inst[j].stats.charged > m->inst[i].stats.charged ||
			     (m->inst[j].stats.charged == m->inst[i].stats.charged && j < i)))
				bigger++;
		v->own[i] = bigger < v->o->max_instances;
		v->folded += !v->own[i];
	}
}

/* Escape events per (target, instance, rule, severity), and leak states. */
static void verdict_families(struct util_sbuf *b, const struct view *v)
{
	const struct model *m = v->m;
	size_t n = v->d ? detect__count(v->d) : 0;

	family(b, "cwatch_escape_events_total", "counter",
	       "Sandbox-escape events, by rule; repeats within a second included.");
	for (size_t i = 0; i < n; i++) {
		const struct detect_verdict *a = detect__get(v->d, i);
		__u64 count = 0;
		bool first = true;

		if (a->kind >= CW_RULE_NR)
			continue;
		/* print each (pid, instance, rule) once, with the sum of its alerts */
		for (size_t j = 0; j < n && first; j++) {
			const struct detect_verdict *o = detect__get(v->d, j);

			if (o->kind == a->kind && o->pid == a->pid && o->inst == a->inst) {
				if (j < i)
					first = false;
				count += 1 + o->repeats;
			}
		}
		for (size_t t = m->n; first && t > 0; t--) {
			const struct model_target *tg = &m->t[t - 1];

			if (tg->pid != a->pid)
				continue;
			if (target_shown(v, tg)) {
				util__sbuf_printf(b, "cwatch_escape_events_total{");
				if (a->inst >= 0)
					inst_labels(b, tg, &m->inst[a->inst]);
				else
					own_labels(b, tg);
				util__sbuf_printf(b, ",rule=\"%s\",severity=\"%s\"} %llu\n",
						  detect__name(a->kind),
						  detect__severity_name(a->severity),
						  (unsigned long long)count);
			}
			break;
		}
	}
	/* leak state: 0 or 1 for every exported instance and target */
	family(b, "cwatch_leak_suspected", "gauge",
	       "1 while a leak verdict stands for the instance (instance=\"\": the target).");
	for (size_t t = 0; t < m->n; t++) {
		if (!target_shown(v, &m->t[t]))
			continue;
		util__sbuf_printf(b, "cwatch_leak_suspected{");
		own_labels(b, &m->t[t]);
		util__sbuf_printf(b, "} %d\n", v->d && detect__leaking(v->d, t, -1));
		for (size_t i = 0; i < m->ninst; i++) {
			if (m->inst[i].target != t || !inst_shown(v, &m->inst[i]) || !v->own[i])
				continue;
			util__sbuf_printf(b, "cwatch_leak_suspected{");
			inst_labels(b, &m->t[t], &m->inst[i]);
			util__sbuf_printf(b, "} %d\n", v->d && detect__leaking(v->d, t, (long)i));
		}
	}
	/* standing verdicts: leaks with their rate, limits, growth */
	family(b, "cwatch_verdict_active", "gauge",
	       "1 for each standing leak, limit or growth verdict, by rule.");
	family(b, "cwatch_leak_rate_bytes_per_second", "gauge",
	       "Growth rate of a standing leak verdict.");
	for (size_t i = 0; i < n; i++) {
		const struct detect_verdict *a = detect__get(v->d, i);
		const struct model_instance *in = a->inst >= 0 ? &m->inst[a->inst] : NULL;

		if (a->kind < CW_RULE_NR)
			continue;
		for (size_t t = m->n; t > 0; t--) {
			const struct model_target *tg = &m->t[t - 1];
			bool leak = a->kind == DETECT_LEAK_INSTANCE || a->kind == DETECT_LEAK_TARGET;

			if (tg->pid != a->pid)
				continue;
			if (!target_shown(v, tg) || (in && !inst_shown(v, in)))
				break;
			for (int f = 0; f < 1 + leak; f++) {
				util__sbuf_printf(b, "%s{", f ? "cwatch_leak_rate_bytes_per_second" :
								"cwatch_verdict_active");
				if (in)
					inst_labels(b, tg, in);
				else
					own_labels(b, tg);
				if (f)
					util__sbuf_printf(b, "} %.17g\n", a->rate);
				else
					util__sbuf_printf(b, ",rule=\"%s\",severity=\"%s\"} 1\n",
							  detect__name(a->kind),
							  detect__severity_name(a->severity));
			}
			break;
		}
	}
	family(b, "cwatch_verdicts_total", "counter", "Verdicts and alerts decided, by rule.");
	for (int k = 1; k < DETECT_NR; k++) {
		__u64 c = 0;

		for (size_t i = 0; i < n; i++)
			c += detect__get(v->d, i)->kind == (__u32)k;
		c += v->d ? detect__evicted(v->d, (__u32)k) : 0;	/* a counter never goes down */
		util__sbuf_printf(b, "cwatch_verdicts_total{rule=\"%s\"} %llu\n", detect__name(k),
				  (unsigned long long)c);
	}
}

/*
 * Crashes of targets, by kind (a signal's name, "go panic", ...): 1 for a
 * crashed target while it is shown; cwatch_verdicts_total{rule="crash"}
 * keeps the count after it is gone.
 */
static void crash_family(struct util_sbuf *b, const struct view *v)
{
	const struct model *m = v->m;

	family(b, "cwatch_crashes_total", "counter",
	       "Crashes (fatal signals, Go fatal errors) of the target, by kind.");
	for (size_t i = 0; i < m->ncrash; i++) {
		const struct model_target *t = &m->t[m->crash[i].target];

		if (!target_shown(v, t))
			continue;
		util__sbuf_printf(b, "cwatch_crashes_total{");
		target_labels(b, t);
		util__sbuf_printf(b, ",kind=\"");
		put_value(b, model__crash_kind(&m->crash[i].ev));
		util__sbuf_printf(b, "\"} 1\n");
	}
}

void exporter__format(struct util_sbuf *b, const struct exporter_opts *o, const struct model *m,
		      const struct detect *d, const struct exporter_health *h, __u64 now)
{
	struct view v = { .o = o, .m = m, .d = d, .now = now };
	size_t running = model__nr_live(m), live_inst = 0;

	v.own = calloc(m->ninst ? m->ninst : 1, sizeof(*v.own));
	if (!v.own) {
		b->oom = 1;
		return;
	}
	choose_own(&v);
	target_family(b, &v, "cwatch_target_up", "gauge",
		      "1 while the target runs; 0 for a gone target in its grace period.", t_up);
	family(b, "cwatch_target_resident_bytes", "gauge",
	       "Resident memory of the target, by kind (anon, file, shmem).");
	for (size_t t = 0; t < m->n; t++) {
		static const char *const kind[] = { "file", "anon", "swap", "shmem" };

		if (!target_shown(&v, &m->t[t]))
			continue;
		for (int k = 0; k < CW_RSS_NR; k++) {
			if (k == CW_RSS_SWAP)
				continue;
			util__sbuf_printf(b, "cwatch_target_resident_bytes{");
			target_labels(b, &m->t[t]);
			util__sbuf_printf(b, ",kind=\"%s\"} %llu\n", kind[k],
					  (unsigned long long)m->t[t].stats.rss[k]);
		}
	}
	target_family(b, &v, "cwatch_target_resident_peak_bytes", "gauge",
		      "Highest resident memory of the target.", t_peak);
	target_family(b, &v, "cwatch_target_mapped_bytes", "gauge",
		      "Private writable mapped memory (VmData) of the target.", t_mapped);
	target_family(b, &v, "cwatch_target_mapped_peak_bytes", "gauge",
		      "Highest private writable mapped memory of the target.", t_mapped_peak);
	target_family(b, &v, "cwatch_target_threads", "gauge", "Live threads of the target.",
		      t_threads);
	target_family(b, &v, "cwatch_target_threads_peak", "gauge",
		      "Highest number of live threads of the target.", t_threads_peak);
	target_family(b, &v, "cwatch_target_thread_creations_total", "counter",
		      "Threads the target started.", t_creates);
	target_family(b, &v, "cwatch_target_page_allocated_bytes_total", "counter",
		      "Bytes of pages allocated while the target's threads ran.", t_pages);
	target_family(b, &v, "cwatch_target_execs_total", "counter", "Execs by the target.",
		      t_execs);
	target_family(b, &v, "cwatch_target_forks_total", "counter",
		      "Child processes the target started.", t_forks);
	go_families(b, &v);

	inst_family(b, &v, "cwatch_instance_held_bytes", "gauge",
		    "Resident memory gained, net, while the instance ran.", i_held, true);
	inst_family(b, &v, "cwatch_instance_held_peak_bytes", "gauge",
		    "Highest resident memory held by the instance.", i_held_peak, true);
	inst_family(b, &v, "cwatch_instance_linear_memory_bytes", "gauge",
		    "Linear memory of the instance, from memory.grow and the host's queries.",
		    i_linear, true);
	inst_family(b, &v, "cwatch_instance_linear_memory_peak_bytes", "gauge",
		    "Highest linear memory of the instance.", i_linear_peak, true);
	inst_family(b, &v, "cwatch_instance_retained_per_call_bytes", "gauge",
		    "Median resident bytes its last 64 calls kept (the highest, for _other).",
		    i_retained, false);
	inst_family(b, &v, "cwatch_instance_mapped_bytes", "gauge",
		    "Bytes mapped minus unmapped while the instance ran.", i_mapped, true);
	inst_family(b, &v, "cwatch_instance_thread_creations_total", "counter",
		    "Threads started while the instance ran.", i_threads, true);
	inst_family(b, &v, "cwatch_instance_page_allocated_bytes_total", "counter",
		    "Bytes of pages allocated while the instance ran.", i_pages, true);
	inst_family(b, &v, "cwatch_instance_calls_total", "counter",
		    "Calls into the instance that returned.", i_calls, true);
	inst_family(b, &v, "cwatch_instance_host_calls_total", "counter",
		    "Host calls the instance made.", i_host_calls, true);
	histograms(b, &v, false);
	histograms(b, &v, true);
	verdict_families(b, &v);
	crash_family(b, &v);

	for (size_t i = 0; i < m->ninst; i++)
		live_inst += m->inst[i].state == MODEL_RUNNING;
	/* what the bounds let go: the model's, the detectors', the collector's cache */
	util__sbuf_printf(b,
		"# HELP cwatch_evicted_total Finished entries let go to bound memory, by what.\n"
		"# TYPE cwatch_evicted_total counter\n"
		"cwatch_evicted_total{what=\"targets\"} %llu\n"
		"cwatch_evicted_total{what=\"instances\"} %llu\n"
		"cwatch_evicted_total{what=\"sites\"} %llu\n"
		"cwatch_evicted_total{what=\"contracts\"} %llu\n"
		"cwatch_evicted_total{what=\"modules\"} %llu\n"
		"cwatch_evicted_total{what=\"crashes\"} %llu\n"
		"cwatch_evicted_total{what=\"verdicts\"} %llu\n"
		"cwatch_evicted_total{what=\"site_cache\"} %llu\n",
		(unsigned long long)m->evicted.targets, (unsigned long long)m->evicted.instances,
		(unsigned long long)m->evicted.sites, (unsigned long long)m->evicted.contracts,
		(unsigned long long)m->evicted.modules, (unsigned long long)m->evicted.crashes,
		(unsigned long long)(d ? detect__evicted(d, DETECT_NR) : 0),
		(unsigned long long)h->site_cache_evicted);
	util__sbuf_printf(b,
		"# HELP cwatch_targets Targets watched, by state.\n# TYPE cwatch_targets gauge\n"
		"cwatch_targets{state=\"running\"} %zu\ncwatch_targets{state=\"exited\"} %zu\n"
		"# HELP cwatch_instances Live contract instances.\n# TYPE cwatch_instances gauge\n"
		"cwatch_instances %zu\n"
		"# HELP cwatch_instances_folded Instances past --metrics-max-instances, exported "
		"as instance=\"_other\".\n# TYPE cwatch_instances_folded gauge\n"
		"cwatch_instances_folded %zu\n"
		"# HELP cwatch_records_total Records processed.\n# TYPE cwatch_records_total counter\n"
		"cwatch_records_total %llu\n"
		"# HELP cwatch_records_malformed_total Records refused as malformed.\n"
		"# TYPE cwatch_records_malformed_total counter\ncwatch_records_malformed_total %llu\n"
		"# HELP cwatch_events_lost_total Events the kernel side could not queue or store.\n"
		"# TYPE cwatch_events_lost_total counter\ncwatch_events_lost_total %llu\n"
		"# HELP cwatch_bpf_run_seconds_total Time cwatch's BPF programs ran.\n"
		"# TYPE cwatch_bpf_run_seconds_total counter\ncwatch_bpf_run_seconds_total %.9f\n"
		"# HELP cwatch_bpf_runs_total Runs of cwatch's BPF programs.\n"
		"# TYPE cwatch_bpf_runs_total counter\ncwatch_bpf_runs_total %llu\n"
		"# HELP cwatch_symbol_cache_binaries Binaries whose symbols are cached.\n"
		"# TYPE cwatch_symbol_cache_binaries gauge\ncwatch_symbol_cache_binaries %llu\n"
		"# HELP cwatch_errors_total Errors cwatch reported.\n"
		"# TYPE cwatch_errors_total counter\ncwatch_errors_total %llu\n"
		"# HELP cwatch_last_error_timestamp_seconds When cwatch last reported an error "
		"(0: never).\n# TYPE cwatch_last_error_timestamp_seconds gauge\n"
		"cwatch_last_error_timestamp_seconds %llu\n"
		"# HELP cwatch_build_info cwatch's version.\n# TYPE cwatch_build_info gauge\n"
		"cwatch_build_info{version=\"%s\"} 1\n",
		running, m->n - running, live_inst, v.folded, (unsigned long long)h->records,
		(unsigned long long)h->malformed, (unsigned long long)h->lost, h->bpf_run_ns / 1e9,
		(unsigned long long)h->bpf_runs, (unsigned long long)h->sym_binaries,
		(unsigned long long)util_errors, (unsigned long long)util_last_error,
		CWATCH_VERSION);
	free(v.own);
}

/* libmicrohttpd's request handler: GET /metrics, a pointer at /, 404 or 405 else. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **state)
{
	struct exporter *e = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	static const char index_page[] =
		"<html><head><title>cwatch</title></head><body><h1>cwatch</h1>"
		"<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

	(void)version;
	(void)data;
	(void)data_size;
	(void)state;
	if (!webconfig__authorized(&e->web, c))
		return webconfig__deny(c);
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Allow", "GET, HEAD");
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (!strcmp(url, "/metrics")) {
		pthread_mutex_lock(&e->lock);
		r = MHD_create_response_from_buffer(e->len, e->text ? e->text : (void *)"",
						    MHD_RESPMEM_MUST_COPY);
		pthread_mutex_unlock(&e->lock);
		MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	} else if (!strcmp(url, "/")) {
		r = MHD_create_response_from_buffer(sizeof(index_page) - 1, (void *)index_page,
						    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Content-Type", "text/html");
	} else {
		r = MHD_create_response_from_buffer(10, (void *)"not found\n", MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_NOT_FOUND;
	}
	if (!r)
		return MHD_NO;
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* "PORT", "HOST:PORT", "[V6]:PORT" into a socket address; 0 or -EINVAL. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128] = "127.0.0.1";
	const char *port = s, *colon = strrchr(s, ':');
	__u64 p;

	if (colon) {
		size_t n = (size_t)(colon - s);

		if (s[0] == '[' && n >= 2 && s[n - 1] == ']')
			snprintf(host, sizeof(host), "%.*s", (int)(n - 2), s + 1);
		else
			snprintf(host, sizeof(host), "%.*s", (int)n, s);
		port = colon + 1;
	}
	if (util__parse_u64(port, 1, 65535, &p))
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((__u16)p);
		*len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((__u16)p);
		*len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

int exporter__check(const struct exporter_opts *o)
{
	struct sockaddr_storage ss;
	struct webconfig web = {};
	socklen_t sl;
	char err[512];

	if (parse_listen(o->listen, &ss, &sl)) {
		cw_err("--listen: '%s' is not PORT, HOST:PORT or [IPV6]:PORT", o->listen);
		return -EINVAL;
	}
	if (o->web_config && webconfig__load(o->web_config, &web, err, sizeof(err))) {
		cw_err("--web-config: %s", err);
		webconfig__free(&web);
		return -EINVAL;
	}
	webconfig__free(&web);
	return 0;
}

struct exporter *exporter__new(const struct exporter_opts *o)
{
	struct exporter *e = calloc(1, sizeof(*e));
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	char err[512];

	if (!e)
		return NULL;
	e->o = *o;
	pthread_mutex_init(&e->lock, NULL);
	if (parse_listen(o->listen, &ss, &sl)) {
		cw_err("--listen: '%s' is not PORT, HOST:PORT or [IPV6]:PORT", o->listen);
		goto fail_einval;
	}
	if (o->web_config && webconfig__load(o->web_config, &e->web, err, sizeof(err))) {
		cw_err("--web-config: %s", err);
		goto fail_einval;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (e->web.tls)
		flags |= MHD_USE_TLS;
	/*
	 * Slow or stuck clients time out; a flood is capped; scrapes run on MHD's
	 * threads. Without TLS the option list ends before the certificate options.
	 */
	e->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, e,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
				  MHD_OPTION_THREAD_POOL_SIZE, (unsigned)2,
				  e->web.tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, e->web.cert,
				  MHD_OPTION_HTTPS_MEM_KEY, e->web.key, MHD_OPTION_END);
	if (!e->mhd) {
		int er = errno ? errno : EADDRINUSE;

		cw_err("serving metrics on %s failed: %s", o->listen, strerror(er));
		webconfig__free(&e->web);
		pthread_mutex_destroy(&e->lock);
		free(e);
		errno = er;
		return NULL;
	}
	return e;
fail_einval:
	webconfig__free(&e->web);
	pthread_mutex_destroy(&e->lock);
	free(e);
	errno = EINVAL;
	return NULL;
}

void exporter__free(struct exporter *e)
{
	if (!e)
		return;
	MHD_stop_daemon(e->mhd);
	free(e->text);
	webconfig__free(&e->web);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

int exporter__publish(struct exporter *e, const struct model *m, const struct detect *d,
		      const struct exporter_health *h, __u64 now)
{
	struct util_sbuf b = {};
	char *old;

	exporter__format(&b, &e->o, m, d, h, now);
	if (b.oom) {
		util__sbuf_free(&b);
		return -ENOMEM;
	}
	pthread_mutex_lock(&e->lock);
	old = e->text;
	e->text = b.buf;
	e->len = b.len;
	pthread_mutex_unlock(&e->lock);
	free(old);
	return 0;
}
