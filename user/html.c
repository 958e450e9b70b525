// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The HTML report and folded stacks. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "html.h"
#include "util.h"

#define POINTS 4000		/* points kept per series; past it, every other is dropped */
#define W 860			/* chart width, px */
#define H 180			/* chart height, px */

/* One timeline: times (s since start) and values. */
struct series {
	__u32 pid;
	__u64 key;		/* instance key, 0 = the target */
	char label[96];
	double *t, *v, *v2;	/* v2: a second line (anon), or NULL */
	size_t n, cap;
};

struct page {
	struct series *s;
	size_t n;
	struct series *thr;	/* threads per target */
	size_t nthr;
	__u64 start;
};

struct page *page__new(void)
{
	return calloc(1, sizeof(struct page));
}

static void series_free(struct series *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].t);
		free(s[i].v);
		free(s[i].v2);
	}
	free(s);
}

void page__free(struct page *p)
{
	if (!p)
		return;
	series_free(p->s, p->n);
	series_free(p->thr, p->nthr);
	free(p);
}

/* The series of (@pid, @key) in @arr, made on first use; NULL on ENOMEM. */
static struct series *series_get(struct series **arr, size_t *n, __u32 pid, __u64 key)
{
	struct series *ns;

	for (size_t i = 0; i < *n; i++)
		if ((*arr)[i].pid == pid && (*arr)[i].key == key)
			return &(*arr)[i];
	ns = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (!ns)
		return NULL;
	*arr = ns;
	memset(&ns[*n], 0, sizeof(ns[0]));
	ns[*n].pid = pid;
	ns[*n].key = key;
	return &ns[(*n)++];
}

static void push(struct series *s, double t, double v, double v2, bool two)
{
	if (s->n == s->cap) {
		if (s->cap == POINTS) {
			/* thin out: keep every other point */
			for (size_t i = 0; i < s->n / 2; i++) {
				s->t[i] = s->t[2 * i];
				s->v[i] = s->v[2 * i];
				if (s->v2)
					s->v2[i] = s->v2[2 * i];
			}
			s->n /= 2;
		} else {
			size_t cap = s->cap ? s->cap * 2 : 64;
			double *nt = realloc(s->t, cap * sizeof(double));
			double *nv = nt ? realloc(s->v, cap * sizeof(double)) : NULL;
			double *nv2 = nv && two ? realloc(s->v2, cap * sizeof(double)) : NULL;

			if (nt)
				s->t = nt;
			if (nv)
				s->v = nv;
			if (nv2)
				s->v2 = nv2;
			if (!nt || !nv || (two && !nv2))
				return;
			s->cap = cap > POINTS ? POINTS : cap;
		}
	}
	s->t[s->n] = t;
	s->v[s->n] = v;
	if (two && s->v2)
		s->v2[s->n] = v2;
	s->n++;
}

void page__sample(struct page *p, const struct model *m, const void *rec)
{
	const struct cw_hdr *h = rec;
	struct series *s;

	if (!p->start || h->ts < p->start)
		p->start = p->start ? p->start : h->ts;
	if (h->type == CW_REC_STATS && h->tgid) {
		const struct cw_rec_stats *r = rec;

		s = series_get(&p->s, &p->n, h->tgid, 0);
		if (s) {
			const struct model_target *t = model__live((struct model *)m, h->tgid);

			if (t && !s->label[0])
				snprintf(s->label, sizeof(s->label), "%s (pid %u)", t->comm, t->pid);
			push(s, (double)h->ts / 1e9, (double)model__rss(&r->stats),
			     (double)r->stats.rss[CW_RSS_ANON], true);
		}
		s = series_get(&p->thr, &p->nthr, h->tgid, 0);
		if (s) {
			const struct model_target *t = model__live((struct model *)m, h->tgid);

			if (t && !s->label[0])
				snprintf(s->label, sizeof(s->label), "%s (pid %u)", t->comm, t->pid);
			push(s, (double)h->ts / 1e9, (double)r->stats.threads, 0, false);
		}
	} else if (h->type == CW_REC_INST_STATS) {
		const struct cw_rec_inst_stats *r = rec;
		const struct model_instance *in = model__instance((struct model *)m, h->tgid,
								  h->instance);

		s = series_get(&p->s, &p->n, h->tgid, h->instance);
		if (s && in) {
			if (!s->label[0])
				snprintf(s->label, sizeof(s->label), "instance #%u %.40s (pid %u)",
					 in->seq, in->contract, h->tgid);
			push(s, (double)h->ts / 1e9, (double)r->stats.charged, 0, false);
		}
	}
}

/* Text for HTML: & < > " escaped. */
static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char *const color[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
				     "#8c564b", "#e377c2", "#17becf" };

/*
 * A line chart of the series @sel (indices into @s) over [t0, t1]: the
 * peak of each marked, and the verdicts of its process as dashed lines.
 */
static void chart(FILE *f, const char *title, const struct series *s, const size_t *sel,
		  size_t nsel, double t0, double t1, const struct detect *d, __u64 start,
		  bool bytes)
{
	double vmax = 1;
	char a[24];

	for (size_t k = 0; k < nsel; k++)
		for (size_t i = 0; i < s[sel[k]].n; i++) {
			vmax = s[sel[k]].v[i] > vmax ? s[sel[k]].v[i] : vmax;
			if (s[sel[k]].v2)
				vmax = s[sel[k]].v2[i] > vmax ? s[sel[k]].v2[i] : vmax;
		}
	if (t1 <= t0)
		t1 = t0 + 1;
	fprintf(f, "<h3>");
	esc(f, title);
	fprintf(f, "</h3>\n<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\n", W, H + 40, W, H + 40);
	fprintf(f, "<rect x=\"60\" y=\"10\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" "
		"stroke=\"#ccc\"/>\n", W - 70, H);
	if (bytes)
		util__fmt_bytes((__u64)vmax, a, sizeof(a));
	else
		snprintf(a, sizeof(a), "%.0f", vmax);
	fprintf(f, "<text x=\"4\" y=\"20\" class=\"ax\">%s</text><text x=\"4\" y=\"%d\" "
		"class=\"ax\">0</text>\n", a, H + 10);
	fprintf(f, "<text x=\"60\" y=\"%d\" class=\"ax\">+%.1fs</text><text x=\"%d\" y=\"%d\" "
		"class=\"ax\" text-anchor=\"end\">+%.1fs</text>\n", H + 28, t0 - start / 1e9,
		W - 10, H + 28, t1 - start / 1e9);
#define X(t) (60.0 + ((t) - t0) / (t1 - t0) * (W - 70))
#define Y(v) (10.0 + H - (v) / vmax * H)
	/* verdicts and alerts of these processes: where they were decided */
	for (size_t i = 0; d && i < detect__count(d); i++) {
		const struct detect_verdict *v = detect__get(d, i);
		bool mine = false;

		for (size_t k = 0; k < nsel; k++)
			mine |= s[sel[k]].pid == v->pid;
		if (!mine || v->ts / 1e9 < t0 || v->ts / 1e9 > t1)
			continue;
		fprintf(f, "<line x1=\"%.1f\" y1=\"10\" x2=\"%.1f\" y2=\"%d\" class=\"verdict\">"
			"<title>%s %s: ", X(v->ts / 1e9), X(v->ts / 1e9), H + 10,
			detect__severity_name(v->severity), detect__name(v->kind));
		esc(f, v->detail);
		fprintf(f, "</title></line>\n");
	}
	for (size_t k = 0; k < nsel; k++) {
		const struct series *z = &s[sel[k]];
		size_t peak = 0;

		for (int two = 0; two < 1 + (z->v2 != NULL); two++) {
			fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s "
				"points=\"", color[k % 8], two ? " stroke-dasharray=\"4 2\"" : "");
			for (size_t i = 0; i < z->n; i++)
				fprintf(f, "%.1f,%.1f ", X(z->t[i]), Y(two ? z->v2[i] : z->v[i]));
			fprintf(f, "\"/>\n");
		}
		for (size_t i = 1; i < z->n; i++)
			peak = z->v[i] > z->v[peak] ? i : peak;
		if (z->n) {
			if (bytes)
				util__fmt_bytes((__u64)z->v[peak], a, sizeof(a));
			else
				snprintf(a, sizeof(a), "%.0f", z->v[peak]);
			/* the label left of the point near the right edge */
			bool right = X(z->t[peak]) > W - 120;

			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>peak %s "
				"at +%.1fs</title></circle><text x=\"%.1f\" y=\"%.1f\" class=\"ax\"%s>"
				"peak %s</text>\n", X(z->t[peak]), Y(z->v[peak]), color[k % 8], a,
				z->t[peak] - start / 1e9, X(z->t[peak]) + (right ? -6 : 6),
				Y(z->v[peak]) + 14, right ? " text-anchor=\"end\"" : "", a);
		}
		fprintf(f, "<text x=\"66\" y=\"%zu\" class=\"legend\" fill=\"%s\">",
			24 + 14 * k, color[k % 8]);
		esc(f, z->label);
		fprintf(f, "%s</text>\n", z->v2 ? " (dashed: anon)" : "");
	}
#undef X
#undef Y
	fprintf(f, "</svg>\n");
}

/* A node of the flame graph: a frame, its weight, its children. */
struct node {
	char name[CW_FRAME_LEN];
	__u64 w;
	struct node *kid, *next;
};

static struct node *child(struct node *n, const char *name)
{
	struct node *c;

	for (c = n->kid; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	util__strlcpy(c->name, name, sizeof(c->name));
	c->next = n->kid;
	n->kid = c;
	return c;
}

static void tree_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;

		tree_free(n->kid);
		free(n);
		n = next;
	}
}

static int depth_of(const struct node *n)
{
	int d = 0;

	for (const struct node *c = n->kid; c; c = c->next) {
		int k = depth_of(c);

		d = k > d ? k : d;
	}
	return d + 1;
}

/* Draw @n at [x, x + w) on row @depth (row 0 at the bottom, @rows in all). */
static void flame_draw(FILE *f, const struct node *n, double x, double w, int depth, int rows,
		       __u64 total)
{
	double cx = x;
	char a[24];

	if (w < 0.5)
		return;
	fprintf(f, "<g><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"17\" fill=\"hsl(%d,80%%,"
		"%d%%)\"><title>", x, (rows - 1 - depth) * 18, w - 0.5,
		(int)(20 + (strlen(n->name) * 7) % 40), 55 + depth % 3 * 8);
	esc(f, n->name);
	fprintf(f, ": %s (%.1f%%)</title></rect>", util__fmt_bytes(n->w, a, sizeof(a)),
		100.0 * (double)n->w / (double)total);
	if (w > 60) {
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"fl\">", x + 3, (rows - 1 - depth) * 18 + 13);
		char cut[CW_FRAME_LEN];

		snprintf(cut, sizeof(cut), "%.*s", (int)(w / 7), n->name);
		esc(f, cut);
		fprintf(f, "</text>");
	}
	fprintf(f, "</g>\n");
	for (const struct node *c = n->kid; c; c = c->next) {
		double cw = w * (double)c->w / (double)(n->w ? n->w : 1);

		flame_draw(f, c, cx, cw, depth + 1, rows, total);
		cx += cw;
	}
}

/* The label of a site's owner: the instance or the target. */
static void site_owner(const struct model *m, const struct model_site *s, char *buf, size_t len)
{
	if (s->inst >= 0)
		snprintf(buf, len, "instance #%u %.40s", m->inst[s->inst].seq,
			 m->inst[s->inst].contract);
	else
		snprintf(buf, len, "%s (pid %u)", m->t[s->target].comm, s->pid);
}

static void flame(FILE *f, const struct model *m)
{
	struct node root = { .name = "all" };
	int rows;

	for (size_t i = 0; i < m->nsite; i++) {
		const struct model_site *s = &m->site[i];
		struct node *n;
		char owner[CW_FRAME_LEN];

		if (s->kind != MODEL_SITE_HEAP)
			continue;
		site_owner(m, s, owner, sizeof(owner));
		root.w += s->site.bytes;
		n = child(&root, owner);
		for (int k = (int)s->nframes - 1; n && k >= -1; k--) {
			n->w += s->site.bytes;
			if (k >= 0)
				n = child(n, s->frame[k]);
		}
	}
	if (!root.w) {
		fprintf(f, "<p>No heap sites in this recording (record with <code>--heap</code>).</p>\n");
		return;
	}
	rows = depth_of(&root);
	fprintf(f, "<svg width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\" "
		"role=\"img\">\n", W, rows * 18);
	flame_draw(f, &root, 0, W, 0, rows, root.w);
	fprintf(f, "</svg>\n");
	tree_free(root.kid);
}

void page__folded(FILE *out, const struct model *m)
{
	for (size_t i = 0; i < m->nsite; i++) {
		const struct model_site *s = &m->site[i];
		char owner[CW_FRAME_LEN];

		if (s->kind != MODEL_SITE_HEAP || !s->site.bytes)
			continue;
		site_owner(m, s, owner, sizeof(owner));
		/* folded: outermost first, frames joined by ';', the weight after the last space */
		for (char *c = owner; *c; c++)
			if (*c == ';')
				*c = ',';
		fputs(owner, out);
		for (int k = (int)s->nframes - 1; k >= 0; k--) {
			fputc(';', out);
			for (const char *c = s->frame[k]; *c; c++)
				fputc(*c == ';' ? ',' : *c, out);
		}
		fprintf(out, " %llu\n", (unsigned long long)s->site.bytes);
	}
}

static void verdict_rows(FILE *f, const struct model *m, const struct detect *d, bool alerts,
			 __u64 start)
{
	size_t shown = 0;

	fprintf(f, "<table><tr><th>time</th><th>severity</th><th>rule</th><th>process</th>"
		"<th>instance</th><th>what</th><th>where</th></tr>\n");
	for (size_t i = 0; d && i < detect__count(d); i++) {
		const struct detect_verdict *v = detect__get(d, i);

		if ((v->kind < CW_RULE_NR) != alerts)
			continue;
		shown++;
		fprintf(f, "<tr class=\"%s\"><td>+%.1fs</td><td>%s</td><td>%s</td><td>%u</td><td>",
			detect__severity_name(v->severity), (v->ts - start) / 1e9,
			detect__severity_name(v->severity), detect__name(v->kind), v->pid);
		if (v->inst >= 0 && (size_t)v->inst < m->ninst) {
			fprintf(f, "#%u ", m->inst[v->inst].seq);
			esc(f, m->inst[v->inst].contract);
		}
		fprintf(f, "</td><td>");
		esc(f, v->detail);
		if (v->repeats)
			fprintf(f, " (and %u more within a second)", v->repeats);
		fprintf(f, "</td><td><code>");
		for (int k = 0; k < DETECT_FRAMES && v->frame[k][0]; k++) {
			esc(f, v->frame[k]);
			fputs("<br>", f);
		}
		fprintf(f, "</code></td></tr>\n");
	}
	fprintf(f, "</table>\n");
	if (!shown)
		fprintf(f, "<p>None.</p>\n");
}

void page__write(struct page *p, FILE *f, const struct model *m, const struct detect *d,
		 const char *title, const char *desc, __u64 start_ts, __s64 wall_offset)
{
	double t0 = start_ts / 1e9, t1 = (m->last_ts > start_ts ? m->last_ts : start_ts + 1) / 1e9;
	time_t wall = (time_t)(((__s64)start_ts + wall_offset) / 1000000000);
	char when[40];
	size_t sel[8], nsel;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&wall));
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
	esc(f, title);
	fprintf(f, "</title>\n<style>\nbody{font-family:sans-serif;margin:1.5em;color:#222}"
		"table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
		"padding:3px 6px;text-align:left;vertical-align:top}tr.critical{background:#fdd}"
		"tr.high{background:#fee}.ax{font-size:11px;fill:#555}.legend{font-size:11px;"
		"}.fl{font-size:11px;fill:#000}.verdict{stroke:#d00;stroke-width:1;"
		"stroke-dasharray:3 3}code{font-size:12px}pre{font-size:12px;background:#f4f4f4;"
		"padding:6px;white-space:pre-wrap}\n</style></head><body>\n<h1>");
	esc(f, title);
	fprintf(f, "</h1>\n<p>Started %s; %zu target(s), %zu instance(s), %llu records, %llu "
		"events lost.</p>\n<pre>", when, m->n, m->ninst, (unsigned long long)m->records,
		(unsigned long long)m->lost);
	esc(f, desc);
	fprintf(f, "</pre>\n<h2>Memory</h2>\n");
	for (size_t i = 0; i < p->n; i++) {
		char t[160];

		if (p->s[i].key)
			continue;
		snprintf(t, sizeof(t), "Resident memory: %s", p->s[i].label);
		chart(f, t, p->s, &i, 1, t0, t1, d, start_ts, true);
	}
	nsel = 0;
	for (size_t i = 0; i < p->n && nsel < 8; i++)
		if (p->s[i].key)
			sel[nsel++] = i;
	if (nsel)
		chart(f, "Memory held by instance", p->s, sel, nsel, t0, t1, d, start_ts, true);
	fprintf(f, "<h2>Threads</h2>\n");
	for (size_t i = 0; i < p->nthr; i++) {
		char t[160];

		snprintf(t, sizeof(t), "Threads: %s", p->thr[i].label[0] ? p->thr[i].label : "target");
		chart(f, t, p->thr, &i, 1, t0, t1, d, start_ts, false);
	}
	fprintf(f, "<h2>Where memory grew (flame graph of heap sites, by sampled bytes)</h2>\n");
	flame(f, m);
	fprintf(f, "<h2>Verdicts</h2>\n");
	verdict_rows(f, m, d, false, start_ts);
	fprintf(f, "<h2>Sandbox-escape events</h2>\n");
	verdict_rows(f, m, d, true, start_ts);
	fprintf(f, "</body></html>\n");
}
