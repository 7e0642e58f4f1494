/* SPDX-License-Identifier: ISC */
/*
 * metrics: the counters, gauges and histograms behind GET /metrics, and
 * their Prometheus text exposition (format 0.0.4).
 *
 * Each provider name has one block of plain counters, found or made when
 * a provider of that name is created and kept until exit, so that a
 * reload which keeps, removes or brings back a provider never resets or
 * mixes its series.  Requests that never reached a provider (refused
 * before routing, or at accept) count under the unrouted block, rendered
 * with provider="".  Updates are O(1) and never allocate.  Pure: no
 * libevent, no clock; callers pass durations in.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics_model;
struct metrics_provider;

/* How a hedge (SPEC 13) ended. */
enum metrics_hedge {
	METRICS_HEDGE_WON,		/* its answer went to the client */
	METRICS_HEDGE_LOST,		/* the first attempt's did */
	METRICS_HEDGE_NOT_ADMITTED,	/* it never left its queue */
	METRICS_NHEDGE_OUTCOMES
};

/* POST /batch modes counted (all, as_completed, first). */
#define METRICS_NBATCH_MODES	3

/* The daemon's own refusals (SPEC section 8's reason labels). */
enum metrics_reason {
	METRICS_QUEUE_FULL,
	METRICS_QUEUE_TIMEOUT,
	METRICS_TOO_LARGE,
	METRICS_UNAUTHORIZED,
	METRICS_FORBIDDEN,
	METRICS_OVERLOAD,
	METRICS_SHUTDOWN,
	METRICS_CANCELLED,
	METRICS_BATCH_DEADLINE,
	METRICS_BAD_REQUEST,
	METRICS_HEAD_TOO_LARGE,
	METRICS_METHOD_NOT_ALLOWED,
	METRICS_NREASONS
};

enum metrics_histogram {
	METRICS_QUEUE_WAIT,	/* arrival to admission (or refusal) */
	METRICS_UPSTREAM_TTFB,	/* attempt start to upstream headers */
	METRICS_DURATION,	/* arrival to the end of the exchange */
	METRICS_NHISTOGRAMS
};

/* Return the block for provider name, made on first use. */
struct metrics_provider *metrics_provider(const char *name);
/* Return the block for requests no provider saw (provider=""). */
struct metrics_provider *metrics_unrouted(void);
/* Return m's provider name as a label value (escaped). */
const char	*metrics_label(const struct metrics_provider *m);

/* Count n requests answered with status (0: the client left first). */
void		metrics_count_request(struct metrics_provider *m,
		    int status, uint64_t n);
/* Return the block of m's model group match (SPEC 16), made on first use. */
struct metrics_model *metrics_model(struct metrics_provider *m,
		    const char *match);
/* Count a request of a model group answered with status. */
void		metrics_count_model_request(struct metrics_model *mm,
		    int status);
/* Add a live model group's in flight and waiting to its block. */
void		metrics_add_model_gauges(struct metrics_model *mm,
		    uint64_t in_flight, uint64_t queued);
/* Count n refusals of the daemon's own. */
void		metrics_count_refusal(struct metrics_provider *m,
		    enum metrics_reason why, uint64_t n);
/* Count a hedge of a request to m, by how it ended. */
void		metrics_count_hedge(struct metrics_provider *m,
		    enum metrics_hedge outcome);
/* Count a request sent on from one provider to its fallback. */
void		metrics_count_fallback(struct metrics_provider *from,
		    struct metrics_provider *to);
/* Count a POST /batch of mode (batchreq.h's enum batch_mode). */
void		metrics_count_batch(int mode);
void		metrics_count_retry(struct metrics_provider *m);
void		metrics_count_upstream_429(struct metrics_provider *m);
/* Count client body bytes received and sent. */
void		metrics_count_bytes(struct metrics_provider *m,
		    uint64_t in, uint64_t out);
/* Count tokens a response reported (a negative value: none reported). */
void		metrics_count_tokens(struct metrics_provider *m,
		    int64_t prompt, int64_t completion);
/* Count the tokens a request was estimated at before it was sent. */
void		metrics_count_estimate(struct metrics_provider *m,
		    int64_t tokens);
/* Record one duration in histogram h. */
void		metrics_observe_ms(struct metrics_provider *m,
		    enum metrics_histogram h, uint64_t ms);

/* Zero every block's gauges, before metrics_add_gauges() refills them. */
/* A shared-limits decision's round trip to Redis (SPEC 14). */
void		metrics_observe_backend_us(uint64_t us);
/* m's limits backend: 0 local, 1 Redis and up, 2 Redis and down. */
void		metrics_set_backend(struct metrics_provider *m, int backend);
void		metrics_clear_gauges(void);
/* Add a live provider's requests in flight and waiting to its block. */
void		metrics_add_gauges(struct metrics_provider *m,
		    uint64_t in_flight, uint64_t queued);

/*
 * Return every series as Prometheus text (NUL-terminated, length in
 * *len), with connections as the client connection gauge.
 */
char		*metrics_render(uint64_t connections, size_t *len);
/* Free every block (at exit). */
void		metrics_free_all(void);

#endif /* METRICS_H */
