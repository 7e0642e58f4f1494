/* SPDX-License-Identifier: ISC */
/*
 * view: the frame `llmproxyctl top` draws every second.
 *
 * Per provider, one line of numbers (slots in use against max_concurrent,
 * queued against queue_max, admissions and upstream 429s per second over
 * the last refresh, the p50 and p99 of the queue waits that ended in the
 * last VIEW_WAIT_WINDOW_S seconds, the cooldown left), one line with both
 * bucket levels as bars against their depths, and, when /status lists
 * them, a line of the busiest clients.  Everything fits the given width
 * (80 columns is the design size) and height: providers that do not fit
 * are counted, not drawn.  Colour is a hint layered on top: without it
 * (NO_COLOR, or not a terminal) every figure is still there.  Pure: the
 * caller passes the readings and the time, and writes the text out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "snap.h"
#include "view.h"
#include "xmalloc.h"

#define VIEW_RED	"31"
#define VIEW_GREEN	"32"
#define VIEW_YELLOW	"33"
#define VIEW_BOLD	"1"
#define VIEW_REVERSE	"7"

/* The frame being built. */
struct view {
	const struct view_in	*in;
	char			*buf;
	size_t			 len;
	size_t			 cap;
	int			 row;		/* lines finished */
	int			 col;		/* columns used on this line */
};

static void	view_add(struct view *v, const char *s, size_t n);
static void	view_text(struct view *v, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static void	view_sgr(struct view *v, const char *code);
static void	view_eol(struct view *v);
static int	view_rows_left(const struct view *v);
static void	view_title(struct view *v);
static void	view_problem(struct view *v);
static double	view_rate(const struct view *v, const struct snap_provider *p,
		    size_t off);
static void	view_load(struct view *v, const struct snap_provider *p);
static void	view_pace(struct view *v, const struct snap_provider *p);
static void	view_bar(struct view *v, const char *label, int on,
		    double level, long long depth, int pad);
static int	view_busier(const void *a, const void *b);
static void	view_clients(struct view *v, const struct snap_provider *p);
static void	view_providers(struct view *v);

/* Append n raw bytes (escape sequences, or text already clipped). */
static void
view_add(struct view *v, const char *s, size_t n)
{
	if (v->len + n + 1 > v->cap) {
		v->cap = (v->len + n + 1) * 2;
		v->buf = xreallocarray(v->buf, 1, v->cap);
	}
	memcpy(v->buf + v->len, s, n);
	v->len += n;
	v->buf[v->len] = '\0';
}

/* Append printable text, cut at the width; no-op past the height. */
static void
view_text(struct view *v, const char *fmt, ...)
{
	va_list	 ap;
	char	 tmp[512], c;
	size_t	 i;

	if (view_rows_left(v) == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	for (i = 0; tmp[i] != '\0' && v->col < v->in->width; i++) {
		c = tmp[i] >= 0x20 && tmp[i] < 0x7f ? tmp[i] : '?';
		view_add(v, &c, 1);
		v->col++;
	}
}

/* Switch on an attribute (SGR code), when colour is wanted. */
static void
view_sgr(struct view *v, const char *code)
{
	char	seq[16];

	if (!v->in->colour || view_rows_left(v) == 0)
		return;
	snprintf(seq, sizeof seq, "\033[%sm", code);
	view_add(v, seq, strlen(seq));
}

/*
 * End the line: reset attributes, then a newline unless the height is
 * reached (the cursor must not move below a full window and scroll it).
 */
static void
view_eol(struct view *v)
{
	if (view_rows_left(v) == 0)
		return;
	view_sgr(v, "0");
	v->row++;
	v->col = 0;
	if (view_rows_left(v) != 0)
		view_add(v, "\n", 1);
}

/* Return how many lines are left (-1: no limit). */
static int
view_rows_left(const struct view *v)
{
	if (v->in->height <= 0)
		return -1;
	return v->in->height > v->row ? v->in->height - v->row : 0;
}

/* Draw the title line: version, address, uptime, the time. */
static void
view_title(struct view *v)
{
	const struct snap	*s = v->in->cur;
	char			 age[FMT_SIZE], clock[16] = "";
	time_t			 t = (time_t)v->in->wall_s;
	struct tm		 tm;

	if (localtime_r(&t, &tm) != NULL)
		strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	view_sgr(v, VIEW_REVERSE);
	view_text(v, "llmproxyd %s  %s", s != NULL && !v->in->problem ?
	    s->version : "", v->in->url);
	if (s != NULL && v->in->problem == NULL) {
		view_text(v, "  up %s", fmt_age(age, sizeof age, s->uptime_s));
		if (s->connections >= 0)
			view_text(v, "  %lld conn", s->connections);
	}
	if (v->in->colour)	/* a full-width bar; plain text needs none */
		while (v->col < v->in->width - 9)
			view_text(v, " ");
	view_text(v, " %s", clock);
	view_eol(v);
}

/* Say that the last GET failed, and that llmproxyctl keeps trying. */
static void
view_problem(struct view *v)
{
	view_eol(v);
	view_sgr(v, VIEW_BOLD);
	view_sgr(v, VIEW_RED);
	if (v->in->unreachable)
		view_text(v, "llmproxyd is unreachable at %s", v->in->url);
	else
		view_text(v, "llmproxyd at %s answered an error", v->in->url);
	view_eol(v);
	view_text(v, "  %s", v->in->problem);
	view_eol(v);
	view_text(v, "  retrying every second (%ld failed attempt%s)",
	    v->in->failures, v->in->failures == 1 ? "" : "s");
	view_eol(v);
}

/* Return the per-second rate of the counter at off, or -1 if unknown. */
static double
view_rate(const struct view *v, const struct snap_provider *p, size_t off)
{
	const struct snap_provider	*q;
	double				 dt;
	long long			 a, b;

	if (v->in->prev == NULL ||
	    (q = snap_find(v->in->prev, p->name)) == NULL)
		return -1;
	dt = v->in->cur->t_s - v->in->prev->t_s;
	memcpy(&a, (const char *)p + off, sizeof a);
	memcpy(&b, (const char *)q + off, sizeof b);
	if (dt <= 0 || a < b)
		return -1;
	return (double)(a - b) / dt;
}

/* Draw a provider's name, its slots in use and its queue. */
static void
view_load(struct view *v, const struct snap_provider *p)
{
	char	a[FMT_SIZE];

	view_sgr(v, VIEW_BOLD);
	view_text(v, "%-14.14s", p->name);
	view_sgr(v, "0");
	if (p->max_concurrent > 0 && p->in_flight >= p->max_concurrent)
		view_sgr(v, VIEW_YELLOW);
	view_text(v, " %9s", fmt_of(a, sizeof a, p->in_flight,
	    p->max_concurrent));
	view_sgr(v, "0");
	if (p->queued > 0)	/* red from four fifths of queue_max */
		view_sgr(v, p->queue_max > 0 && p->queued * 5 >=
		    p->queue_max * 4 ? VIEW_RED : VIEW_YELLOW);
	view_text(v, " %10s", fmt_of(a, sizeof a, p->queued, p->queue_max));
	view_sgr(v, "0");
}

/* Draw a provider's rates, queue-wait percentiles and cooldown. */
static void
view_pace(struct view *v, const struct snap_provider *p)
{
	const struct snap_provider	*o;
	char				 a[FMT_SIZE], b[FMT_SIZE];
	double				 rq, r429, p50 = -1, p99 = -1, left = 0;

	rq = view_rate(v, p, offsetof(struct snap_provider, admitted));
	r429 = view_rate(v, p, offsetof(struct snap_provider, upstream_429));
	if (v->in->old != NULL) {
		o = snap_find(v->in->old, p->name);
		p50 = hist_quantile(&p->wait, o ? &o->wait : NULL, 0.50);
		p99 = hist_quantile(&p->wait, o ? &o->wait : NULL, 0.99);
	}
	if (p->cooldown[0] != '\0' &&
	    fmt_parse_rfc3339(p->cooldown, &left) == 0)
		left -= v->in->wall_s;
	snprintf(a, sizeof a, "%.1f", rq);
	view_text(v, " %7s", rq < 0 ? "-" : a);
	snprintf(a, sizeof a, "%.1f", r429);
	if (r429 > 0)
		view_sgr(v, VIEW_RED);
	view_text(v, " %6s", r429 < 0 ? "-" : a);
	view_sgr(v, "0");
	view_text(v, " %9s", fmt_wait(a, sizeof a, p50));
	view_text(v, " %7s", fmt_wait(b, sizeof b, p99));
	if (left > 0)
		view_sgr(v, VIEW_RED);
	view_text(v, "  %s", left > 0 ? fmt_wait(a, sizeof a, left) : "-");
	view_eol(v);
}

/*
 * Draw a bucket's level as a bar against its depth ("off": no limit),
 * its figures padded to pad columns.
 */
static void
view_bar(struct view *v, const char *label, int on, double level,
    long long depth, int pad)
{
	char	bar[VIEW_BAR + 1], a[FMT_SIZE], b[FMT_SIZE], num[40];
	double	frac = depth > 0 ? level / (double)depth : 0;
	int	fill;

	if (!on || depth <= 0) {
		view_text(v, "  %s [%*s%*s] %*s", label, VIEW_BAR / 2 + 1,
		    "off", VIEW_BAR - VIEW_BAR / 2 - 1, "", pad, "");
		return;
	}
	frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
	fill = (int)(frac * VIEW_BAR + 0.5);
	memset(bar, '#', fill);
	memset(bar + fill, '.', VIEW_BAR - fill);
	bar[VIEW_BAR] = '\0';
	snprintf(num, sizeof num, "%s/%s", fmt_qty(a, sizeof a, level),
	    fmt_qty(b, sizeof b, (double)depth));
	view_text(v, "  %s [", label);
	/* A low bucket is what throttles next: red below a fifth. */
	view_sgr(v, frac > 0.5 ? VIEW_GREEN : frac > 0.2 ? VIEW_YELLOW :
	    VIEW_RED);
	view_text(v, "%s", bar);
	view_sgr(v, "0");
	view_text(v, "] %-*s", pad, num);
}

/* Return the ordering of clients by requests held: most first. */
static int
view_busier(const void *a, const void *b)
{
	const struct snap_client	*x = a, *y = b;
	long long			 hx, hy;

	hx = x->in_flight + x->queued;
	hy = y->in_flight + y->queued;
	if (hx != hy)
		return hx > hy ? -1 : 1;
	if (x->admitted != y->admitted)
		return x->admitted > y->admitted ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Draw the busiest clients of p that fit on one line. */
static void
view_clients(struct view *v, const struct snap_provider *p)
{
	struct snap_client	*c;
	char			 one[SNAP_NAME_MAX + 48];
	size_t			 i, n = 0;

	c = xreallocarray(NULL, p->nclients + 1, sizeof *c);
	memcpy(c, p->clients, p->nclients * sizeof *c);
	qsort(c, p->nclients, sizeof *c, view_busier);
	view_text(v, "  clients (in flight+queued):");
	for (i = 0; i < p->nclients; i++) {
		snprintf(one, sizeof one, " %s %lld+%lld", c[i].name,
		    c[i].in_flight, c[i].queued);
		if (v->col + (int)strlen(one) > v->in->width - 8)
			break;
		view_text(v, "%s", one);
		n++;
	}
	if (n < p->nclients)
		view_text(v, " +%zu more", p->nclients - n);
	free(c);
	view_eol(v);
}

/* Draw every provider that fits, leaving the last line for the footer. */
static void
view_providers(struct view *v)
{
	const struct snap		*s = v->in->cur;
	const struct snap_provider	*p;
	size_t				 i;
	int				 need;

	view_eol(v);
	view_sgr(v, VIEW_BOLD);
	view_text(v, "%-14s %9s %10s %7s %6s %9s %7s  %s", "PROVIDER",
	    "IN FLIGHT", "QUEUED", "REQ/S", "429/S", "WAIT p50", "p99",
	    "COOLDOWN");
	view_eol(v);
	for (i = 0; i < s->nprov; i++) {
		p = &s->prov[i];
		need = 3 + (p->has_clients && p->nclients > 0);
		if (view_rows_left(v) >= 0 && view_rows_left(v) < need + 1) {
			view_text(v, "... %zu more provider%s: enlarge the "
			    "window", s->nprov - i, s->nprov - i == 1 ? "" :
			    "s");
			view_eol(v);
			return;
		}
		view_eol(v);
		view_load(v, p);
		view_pace(v, p);
		view_bar(v, "req", p->has_req_bucket, p->req_bucket, p->burst,
		    13);
		view_bar(v, "tok", p->has_tok_bucket, p->tok_bucket,
		    p->tokens_per_minute, 0);
		view_eol(v);
		if (need == 4)
			view_clients(v, p);
	}
}

char *
view_render(const struct view_in *in, size_t *len)
{
	struct view	v;
	int		left;

	memset(&v, 0, sizeof v);
	v.in = in;
	view_add(&v, "", 0);
	view_title(&v);
	if (in->problem != NULL)
		view_problem(&v);
	else if (in->cur != NULL)
		view_providers(&v);
	if (in->interactive) {
		/* The key help sits on the bottom line of the window. */
		while ((left = view_rows_left(&v)) > 1)
			view_eol(&v);
		if (left < 0)
			view_eol(&v);
		view_text(&v, "q quit   rates: last second   waits: queue "
		    "waits ended in the last %ds", VIEW_WAIT_WINDOW_S);
		view_eol(&v);
	}
	*len = v.len;
	return v.buf;
}
