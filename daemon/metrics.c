/* SPDX-License-Identifier: ISC */
/*
 * metrics: plain per-provider counters and their Prometheus text.
 *
 * Blocks live in one list in creation order and are never freed before
 * exit: a provider keeps a pointer to its block, a retired provider's
 * last requests may still count into it, and a provider that a reload
 * brings back finds its counters where it left them (Prometheus wants
 * counters that only go up).  Histograms keep per-bucket counts and are
 * made cumulative only when rendered.  A provider's model groups (SPEC
 * 16) have blocks of their own inside its block, kept the same way.  This module reads no provider
 * state: the gauges are filled in by the caller just before rendering.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "metrics.h"
#include "xmalloc.h"

/* Statuses are three digits; anything else counts as 0 (none sent). */
#define METRICS_NSTATUS		1000
/* Histogram buckets, +Inf included. */
#define METRICS_NBUCKETS	17

struct metrics_histo {
	uint64_t	buckets[METRICS_NBUCKETS];	/* not cumulative */
	uint64_t	sum_us;
	uint64_t	count;
};

/* One model group of a provider (SPEC 16), by its match text. */
struct metrics_model {
	char				*label;	/* match, escaped */
	uint64_t			 requests[METRICS_NSTATUS];
	uint64_t			 in_flight;
	uint64_t			 queued;
	TAILQ_ENTRY(metrics_model)	 entry;
};

struct metrics_provider {
	char				*name;
	char				*label;	/* name, escaped */
	int				 routed;
	uint64_t			 requests[METRICS_NSTATUS];
	uint64_t			 refused[METRICS_NREASONS];
	uint64_t			 prompt_tokens;
	uint64_t			 completion_tokens;
	uint64_t			 estimated_tokens;
	uint64_t			 upstream_429;
	uint64_t			 retries;
	uint64_t			 bytes_in;
	uint64_t			 bytes_out;
	uint64_t			 in_flight;
	uint64_t			 queued;
	uint64_t			 hedges[METRICS_NHEDGE_OUTCOMES];
	int				 backend;	/* 0 local, 1 up, 2 down */
	struct metrics_histo		 histo[METRICS_NHISTOGRAMS];
	TAILQ_HEAD(, metrics_model)	 models;	/* made on first use */
	TAILQ_ENTRY(metrics_provider)	 entry;
};

/* A per-provider number rendered as one sample per routed provider. */
struct metrics_scalar {
	const char	*name;
	const char	*type;
	const char	*help;
	size_t		 offset;	/* of a uint64_t in the block */
};

/* Batch modes, in the order of batchreq.h's enum batch_mode. */
static const char *const metrics_batch_modes[METRICS_NBATCH_MODES] = {
	"all", "as_completed", "first"
};
static uint64_t				metrics_batches[METRICS_NBATCH_MODES];

/* Hedge outcomes, in enum metrics_hedge's order. */
static const char *const metrics_hedge_outcomes[METRICS_NHEDGE_OUTCOMES] = {
	"won", "lost", "not_admitted"
};

/* Fallbacks from one provider to another: few pairs, found by walking. */
struct metrics_fallback {
	struct metrics_provider		*from;
	struct metrics_provider		*to;
	uint64_t			 n;
	TAILQ_ENTRY(metrics_fallback)	 entry;
};
static TAILQ_HEAD(, metrics_fallback)	metrics_fallbacks =
    TAILQ_HEAD_INITIALIZER(metrics_fallbacks);

static TAILQ_HEAD(, metrics_provider)	metrics_all =
    TAILQ_HEAD_INITIALIZER(metrics_all);
static struct metrics_provider		*metrics_unrouted_block;

/* SPEC section 8's labels, in enum metrics_reason's order. */
static const char *const metrics_reasons[METRICS_NREASONS] = {
	"queue_full", "queue_timeout", "too_large", "unauthorized",
	"forbidden", "overload", "shutdown", "cancelled", "batch_deadline",
	"bad_request", "header_too_large", "method_not_allowed"
};

/* Upper bounds in microseconds (ms to minutes), then +Inf. */
static const uint64_t metrics_bounds_us[METRICS_NBUCKETS - 1] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 30000000, 60000000, 120000000
};
static const char *const metrics_le[METRICS_NBUCKETS] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "5", "10", "30", "60", "120", "+Inf"
};

static const char *const metrics_histo_names[METRICS_NHISTOGRAMS][2] = {
	{ "llmproxy_queue_wait_seconds", "Time from arrival to admission "
	    "(or to refusal, for requests never admitted)." },
	{ "llmproxy_upstream_ttfb_seconds", "Time from the start of an "
	    "upstream attempt to its response headers." },
	{ "llmproxy_request_duration_seconds", "Time from arrival to the "
	    "end of the exchange with the client." }
};

static const struct metrics_scalar metrics_scalars[] = {
	{ "llmproxy_in_flight", "gauge", "Requests holding a concurrency "
	    "slot now.", offsetof(struct metrics_provider, in_flight) },
	{ "llmproxy_queue_depth", "gauge", "Requests waiting for "
	    "admission now.", offsetof(struct metrics_provider, queued) },
	{ "llmproxy_upstream_429_total", "counter", "Upstream 429 rate "
	    "limits (billing errors excluded); each pauses the provider.",
	    offsetof(struct metrics_provider, upstream_429) },
	{ "llmproxy_retries_total", "counter", "Upstream attempts made "
	    "again after a 429, 5xx or connect error.",
	    offsetof(struct metrics_provider, retries) },
	{ "llmproxy_bytes_received_total", "counter", "Request body bytes "
	    "received from clients.",
	    offsetof(struct metrics_provider, bytes_in) },
	{ "llmproxy_bytes_sent_total", "counter", "Response body bytes "
	    "forwarded to clients.",
	    offsetof(struct metrics_provider, bytes_out) },
	{ "llmproxy_tokens_estimated_total", "counter", "Token estimates "
	    "of the requests sent upstream, where a token limit is set.",
	    offsetof(struct metrics_provider, estimated_tokens) },
};

static struct metrics_provider *metrics_new(const char *name, int routed);
static char	*metrics_escape(const char *s);
static void	metrics_head(FILE *f, const char *name, const char *type,
		    const char *help);
static void	metrics_render_patterns(FILE *f);
static void	metrics_render_backend(FILE *f);
static void	metrics_render_requests(FILE *f);
static void	metrics_render_refused(FILE *f);
static void	metrics_render_models(FILE *f);
static void	metrics_render_model_gauge(FILE *f, const char *name,
		    const char *help, size_t offset);
static void	metrics_render_tokens(FILE *f);
static void	metrics_render_scalar(FILE *f,
		    const struct metrics_scalar *sc);
static void	metrics_render_histogram(FILE *f, enum metrics_histogram h);
static void	metrics_render_buckets(FILE *f, const char *name,
		    const struct metrics_provider *m,
		    const struct metrics_histo *hg);

/* Return a new block, at the end of the list. */
static struct metrics_provider *
metrics_new(const char *name, int routed)
{
	struct metrics_provider	*m;

	m = xcalloc(1, sizeof *m);
	m->name = xstrdup(name);
	m->label = metrics_escape(name);
	m->routed = routed;
	TAILQ_INIT(&m->models);
	TAILQ_INSERT_TAIL(&metrics_all, m, entry);
	return m;
}

/* Return m's provider name as a label value. */
const char *
metrics_label(const struct metrics_provider *m)
{
	return m->label;
}

/*
 * Return name escaped for a label value: backslash, double quote and
 * line feed are the three characters the text format escapes.
 */
static char *
metrics_escape(const char *s)
{
	char	*out, *o;

	o = out = xmalloc(2 * strlen(s) + 1);
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			*o++ = '\\';
		if (*s == '\n') {
			*o++ = '\\';
			*o++ = 'n';
			continue;
		}
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* Return the block for provider name, made on first use. */
struct metrics_provider *
metrics_provider(const char *name)
{
	struct metrics_provider	*m;

	TAILQ_FOREACH(m, &metrics_all, entry) {
		if (m->routed && strcmp(m->name, name) == 0)
			return m;
	}
	return metrics_new(name, 1);
}

/* Return the block for requests no provider saw. */
struct metrics_provider *
metrics_unrouted(void)
{
	if (metrics_unrouted_block == NULL)
		metrics_unrouted_block = metrics_new("", 0);
	return metrics_unrouted_block;
}

/* Count n requests answered with status. */
void
metrics_count_request(struct metrics_provider *m, int status, uint64_t n)
{
	if (status < 0 || status >= METRICS_NSTATUS)
		status = 0;
	m->requests[status] += n;
}

/* Return the block of m's model group match, made on first use. */
struct metrics_model *
metrics_model(struct metrics_provider *m, const char *match)
{
	struct metrics_model	*mm;
	char			*label = metrics_escape(match);

	TAILQ_FOREACH(mm, &m->models, entry) {
		if (strcmp(mm->label, label) == 0) {
			free(label);
			return mm;
		}
	}
	mm = xcalloc(1, sizeof *mm);
	mm->label = label;
	TAILQ_INSERT_TAIL(&m->models, mm, entry);
	return mm;
}

/* Count a request of model group mm answered with status. */
void
metrics_count_model_request(struct metrics_model *mm, int status)
{
	if (status < 0 || status >= METRICS_NSTATUS)
		status = 0;
	mm->requests[status]++;
}

/* Add a live group's requests in flight and waiting to its block. */
void
metrics_add_model_gauges(struct metrics_model *mm, uint64_t in_flight,
    uint64_t queued)
{
	mm->in_flight += in_flight;
	mm->queued += queued;
}

/* Count n refusals of the daemon's own. */
void
metrics_count_refusal(struct metrics_provider *m, enum metrics_reason why,
    uint64_t n)
{
	m->refused[why] += n;
}

/* Count a hedge of a request to m, by how it ended. */
void
metrics_count_hedge(struct metrics_provider *m, enum metrics_hedge outcome)
{
	m->hedges[outcome]++;
}

/* Count a request sent on from one provider to its fallback. */
void
metrics_count_fallback(struct metrics_provider *from,
    struct metrics_provider *to)
{
	struct metrics_fallback	*f;

	TAILQ_FOREACH(f, &metrics_fallbacks, entry) {
		if (f->from == from && f->to == to)
			break;
	}
	if (f == NULL) {
		f = xcalloc(1, sizeof *f);
		f->from = from;
		f->to = to;
		TAILQ_INSERT_TAIL(&metrics_fallbacks, f, entry);
	}
	f->n++;
}

/* Count a batch of mode (its index in enum batch_mode). */
void
metrics_count_batch(int mode)
{
	if (mode >= 0 && mode < METRICS_NBATCH_MODES)
		metrics_batches[mode]++;
}

/* Count an upstream attempt made again. */
void
metrics_count_retry(struct metrics_provider *m)
{
	m->retries++;
}

/* Count an upstream 429 that paused the provider. */
void
metrics_count_upstream_429(struct metrics_provider *m)
{
	m->upstream_429++;
}

/* Count client body bytes received and sent. */
void
metrics_count_bytes(struct metrics_provider *m, uint64_t in, uint64_t out)
{
	m->bytes_in += in;
	m->bytes_out += out;
}

/* Count tokens a response reported. */
void
metrics_count_tokens(struct metrics_provider *m, int64_t prompt,
    int64_t completion)
{
	if (prompt > 0)
		m->prompt_tokens += (uint64_t)prompt;
	if (completion > 0)
		m->completion_tokens += (uint64_t)completion;
}

/* Count the tokens a request was estimated at. */
void
metrics_count_estimate(struct metrics_provider *m, int64_t tokens)
{
	if (tokens > 0)
		m->estimated_tokens += (uint64_t)tokens;
}

/* Record one duration in histogram h: a fixed walk of 16 bounds. */
void
metrics_observe_ms(struct metrics_provider *m, enum metrics_histogram h,
    uint64_t ms)
{
	struct metrics_histo	*hg = &m->histo[h];
	uint64_t		 us = ms * 1000;
	size_t			 i;

	for (i = 0; i < METRICS_NBUCKETS - 1; i++) {
		if (us <= metrics_bounds_us[i])
			break;
	}
	hg->buckets[i]++;
	hg->sum_us += us;
	hg->count++;
}

/* Redis round trips: 100 us to a second, then +Inf. */
#define METRICS_NBACKEND	12
static const uint64_t metrics_backend_us[METRICS_NBACKEND - 1] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000
};
static const char *const metrics_backend_le[METRICS_NBACKEND] = {
	"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
	"0.025", "0.05", "0.1", "1", "+Inf"
};
static struct {
	uint64_t	buckets[METRICS_NBACKEND];	/* not cumulative */
	uint64_t	sum_us;
	uint64_t	count;
} metrics_backend;

/* Count one shared-limits decision's round trip. */
void
metrics_observe_backend_us(uint64_t us)
{
	size_t	i;

	for (i = 0; i < METRICS_NBACKEND - 1; i++) {
		if (us <= metrics_backend_us[i])
			break;
	}
	metrics_backend.buckets[i]++;
	metrics_backend.sum_us += us;
	metrics_backend.count++;
}

/* Set m's limits backend (a gauge, set before each scrape). */
void
metrics_set_backend(struct metrics_provider *m, int backend)
{
	m->backend = backend;
}

/* llmproxy_limits_backend_up and llmproxy_backend_seconds (SPEC 14). */
static void
metrics_render_backend(FILE *f)
{
	struct metrics_provider	*m;
	uint64_t		 cumulative = 0;
	size_t			 i;

	metrics_head(f, "llmproxy_limits_backend_up", "gauge", "1 while a "
	    "shared provider's limits are decided in Redis, 0 while it "
	    "falls back to its local share.");
	TAILQ_FOREACH(m, &metrics_all, entry) {
		if (m->backend != 0)
			fprintf(f, "llmproxy_limits_backend_up{provider=\"%s\"} "
			    "%d\n", m->label, m->backend == 1);
	}
	metrics_head(f, "llmproxy_backend_seconds", "histogram", "Round "
	    "trips of shared-limits decisions to Redis.");
	for (i = 0; i < METRICS_NBACKEND; i++) {
		cumulative += metrics_backend.buckets[i];
		fprintf(f, "llmproxy_backend_seconds_bucket{le=\"%s\"} %"
		    PRIu64 "\n", metrics_backend_le[i], cumulative);
	}
	fprintf(f, "llmproxy_backend_seconds_sum %" PRIu64 ".%06" PRIu64 "\n"
	    "llmproxy_backend_seconds_count %" PRIu64 "\n",
	    metrics_backend.sum_us / 1000000, metrics_backend.sum_us % 1000000,
	    metrics_backend.count);
}

/* Zero every block's gauges. */
void
metrics_clear_gauges(void)
{
	struct metrics_provider	*m;
	struct metrics_model	*mm;

	TAILQ_FOREACH(m, &metrics_all, entry) {
		m->in_flight = m->queued = 0;
		TAILQ_FOREACH(mm, &m->models, entry)
			mm->in_flight = mm->queued = 0;
	}
}

/*
 * Add a live provider's gauges to its block: a retired provider and its
 * successor of the same name share one block, and both hold requests.
 */
void
metrics_add_gauges(struct metrics_provider *m, uint64_t in_flight,
    uint64_t queued)
{
	m->in_flight += in_flight;
	m->queued += queued;
}

/* Return every series as Prometheus text. */
char *
metrics_render(uint64_t connections, size_t *len)
{
	char	*buf = NULL;
	FILE	*f;
	size_t	 i;

	(void)metrics_unrouted();	/* its zero refusals are series too */
	if ((f = open_memstream(&buf, len)) == NULL)
		return xstrdup("");
	metrics_render_requests(f);
	metrics_render_refused(f);
	for (i = 0; i < sizeof metrics_scalars / sizeof metrics_scalars[0];
	    i++)
		metrics_render_scalar(f, &metrics_scalars[i]);
	metrics_render_tokens(f);
	metrics_render_models(f);
	client_render_metrics(f);
	for (i = 0; i < METRICS_NHISTOGRAMS; i++)
		metrics_render_histogram(f, (enum metrics_histogram)i);
	metrics_head(f, "llmproxy_connections", "gauge",
	    "Client connections open now.");
	fprintf(f, "llmproxy_connections %" PRIu64 "\n", connections);
	metrics_render_patterns(f);
	metrics_render_backend(f);
	metrics_head(f, "llmproxy_batches_total", "counter",
	    "POST /batch requests taken, by mode.");
	for (i = 0; i < METRICS_NBATCH_MODES; i++)
		fprintf(f, "llmproxy_batches_total{mode=\"%s\"} %" PRIu64 "\n",
		    metrics_batch_modes[i], metrics_batches[i]);
	if (fclose(f) != 0) {
		free(buf);
		return xstrdup("");
	}
	return buf;
}

/* llmproxy_fallbacks_total and llmproxy_hedges_total (SPEC 13). */
static void
metrics_render_patterns(FILE *f)
{
	struct metrics_fallback	*fb;
	struct metrics_provider	*m;
	int			 i;

	metrics_head(f, "llmproxy_fallbacks_total", "counter", "Requests "
	    "sent on to a fallback provider, by the provider left and the "
	    "one tried next.");
	TAILQ_FOREACH(fb, &metrics_fallbacks, entry)
		fprintf(f, "llmproxy_fallbacks_total{from=\"%s\",to=\"%s\"} %"
		    PRIu64 "\n", fb->from->label, fb->to->label, fb->n);
	metrics_head(f, "llmproxy_hedges_total", "counter", "Hedged "
	    "requests by the provider asked, and how the hedge ended.");
	TAILQ_FOREACH(m, &metrics_all, entry) {
		if (!m->routed)
			continue;
		for (i = 0; i < METRICS_NHEDGE_OUTCOMES; i++)
			fprintf(f, "llmproxy_hedges_total{provider=\"%s\","
			    "outcome=\"%s\"} %" PRIu64 "\n", m->label,
			    metrics_hedge_outcomes[i], m->hedges[i]);
	}
}

/* Write a family's HELP and TYPE lines. */
static void
metrics_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* llmproxy_requests_total: only the statuses seen, by provider. */
static void
metrics_render_requests(FILE *f)
{
	struct metrics_provider	*m;
	int			 st;

	metrics_head(f, "llmproxy_requests_total", "counter", "Requests "
	    "answered (one per access log line), by the status sent; "
	    "code 0: the client left before any.");
	TAILQ_FOREACH(m, &metrics_all, entry) {
		for (st = 0; st < METRICS_NSTATUS; st++) {
			if (m->requests[st] == 0)
				continue;
			fprintf(f, "llmproxy_requests_total{provider=\"%s\","
			    "code=\"%d\"} %" PRIu64 "\n", m->label, st,
			    m->requests[st]);
		}
	}
}

/* llmproxy_refused_total: every reason, zero or not, by provider. */
static void
metrics_render_refused(FILE *f)
{
	struct metrics_provider	*m;
	int			 i;

	metrics_head(f, "llmproxy_refused_total", "counter", "Requests the "
	    "daemon refused itself, by reason.");
	TAILQ_FOREACH(m, &metrics_all, entry) {
		for (i = 0; i < METRICS_NREASONS; i++)
			fprintf(f, "llmproxy_refused_total{provider=\"%s\","
			    "reason=\"%s\"} %" PRIu64 "\n", m->label,
			    metrics_reasons[i], m->refused[i]);
	}
}

/* The model group families of SPEC 16, by provider and match. */
static void
metrics_render_models(FILE *f)
{
	struct metrics_provider	*m;
	struct metrics_model	*mm;
	int			 st;

	metrics_head(f, "llmproxy_model_requests_total", "counter",
	    "Requests of a model group answered, by the status sent.");
	TAILQ_FOREACH(m, &metrics_all, entry) {
		TAILQ_FOREACH(mm, &m->models, entry) {
			for (st = 0; st < METRICS_NSTATUS; st++) {
				if (mm->requests[st] == 0)
					continue;
				fprintf(f, "llmproxy_model_requests_total{"
				    "provider=\"%s\",model=\"%s\",code=\"%d\"} "
				    "%" PRIu64 "\n", m->label, mm->label, st,
				    mm->requests[st]);
			}
		}
	}
	metrics_render_model_gauge(f, "llmproxy_model_in_flight", "Requests "
	    "of a model group holding a concurrency slot now.",
	    offsetof(struct metrics_model, in_flight));
	metrics_render_model_gauge(f, "llmproxy_model_queue_depth",
	    "Requests of a model group waiting for admission now.",
	    offsetof(struct metrics_model, queued));
}

/* One sample per model group of the gauge at offset. */
static void
metrics_render_model_gauge(FILE *f, const char *name, const char *help,
    size_t offset)
{
	struct metrics_provider	*m;
	struct metrics_model	*mm;
	uint64_t		 v;

	metrics_head(f, name, "gauge", help);
	TAILQ_FOREACH(m, &metrics_all, entry) {
		TAILQ_FOREACH(mm, &m->models, entry) {
			memcpy(&v, (const char *)mm + offset, sizeof v);
			fprintf(f, "%s{provider=\"%s\",model=\"%s\"} %" PRIu64
			    "\n", name, m->label, mm->label, v);
		}
	}
}

/* llmproxy_tokens_total: reported usage, prompt and completion. */
static void
metrics_render_tokens(FILE *f)
{
	struct metrics_provider	*m;

	metrics_head(f, "llmproxy_tokens_total", "counter", "Tokens the "
	    "responses reported in their usage, where a token limit is set.");
	TAILQ_FOREACH(m, &metrics_all, entry) {
		if (!m->routed)
			continue;
		fprintf(f, "llmproxy_tokens_total{provider=\"%s\","
		    "kind=\"prompt\"} %" PRIu64 "\n", m->label,
		    m->prompt_tokens);
		fprintf(f, "llmproxy_tokens_total{provider=\"%s\","
		    "kind=\"completion\"} %" PRIu64 "\n", m->label,
		    m->completion_tokens);
	}
}

/* One sample per routed provider of the number at sc->offset. */
static void
metrics_render_scalar(FILE *f, const struct metrics_scalar *sc)
{
	struct metrics_provider	*m;
	uint64_t		 v;

	metrics_head(f, sc->name, sc->type, sc->help);
	TAILQ_FOREACH(m, &metrics_all, entry) {
		if (!m->routed)
			continue;
		memcpy(&v, (const char *)m + sc->offset, sizeof v);
		fprintf(f, "%s{provider=\"%s\"} %" PRIu64 "\n", sc->name,
		    m->label, v);
	}
}

/* A histogram family: buckets, sum and count per routed provider. */
static void
metrics_render_histogram(FILE *f, enum metrics_histogram h)
{
	const char		*name = metrics_histo_names[h][0];
	struct metrics_provider	*m;
	const struct metrics_histo *hg;

	metrics_head(f, name, "histogram", metrics_histo_names[h][1]);
	TAILQ_FOREACH(m, &metrics_all, entry) {
		if (!m->routed)
			continue;
		hg = &m->histo[h];
		metrics_render_buckets(f, name, m, hg);
		fprintf(f, "%s_sum{provider=\"%s\"} %" PRIu64 ".%06" PRIu64
		    "\n", name, m->label, hg->sum_us / 1000000,
		    hg->sum_us % 1000000);
		fprintf(f, "%s_count{provider=\"%s\"} %" PRIu64 "\n", name,
		    m->label, hg->count);
	}
}

/* The _bucket lines: each counts every observation up to its bound. */
static void
metrics_render_buckets(FILE *f, const char *name,
    const struct metrics_provider *m, const struct metrics_histo *hg)
{
	uint64_t	cumulative = 0;
	size_t		i;

	for (i = 0; i < METRICS_NBUCKETS; i++) {
		cumulative += hg->buckets[i];
		fprintf(f, "%s_bucket{provider=\"%s\",le=\"%s\"} %" PRIu64
		    "\n", name, m->label, metrics_le[i], cumulative);
	}
}

/* Free every block (at exit). */
void
metrics_free_all(void)
{
	struct metrics_provider	*m;
	struct metrics_fallback	*f;
	struct metrics_model	*mm;

	while ((f = TAILQ_FIRST(&metrics_fallbacks)) != NULL) {
		TAILQ_REMOVE(&metrics_fallbacks, f, entry);
		free(f);
	}
	while ((m = TAILQ_FIRST(&metrics_all)) != NULL) {
		TAILQ_REMOVE(&metrics_all, m, entry);
		while ((mm = TAILQ_FIRST(&m->models)) != NULL) {
			TAILQ_REMOVE(&m->models, mm, entry);
			free(mm->label);
			free(mm);
		}
		free(m->label);
		free(m->name);
		free(m);
	}
	metrics_unrouted_block = NULL;
}
