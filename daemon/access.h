/* SPDX-License-Identifier: ISC */
/*
 * access: the one record of every request the daemon answered.
 *
 * Whoever ends a request (an exchange closing, the router refusing one
 * before any provider saw it, the HTTP layer refusing a head or a body)
 * fills a struct access_entry and calls access_record() once: it writes
 * the logfmt access line (SPEC 8) and counts the request in the metrics,
 * so the two can never disagree.  How a request ended is an enum, never
 * a string parsed back: the refusals of SPEC 8 (reason=, counted in
 * llmproxy_refused_total) and the other endings that were not normal
 * (end=).  The request target is written with control characters and
 * spaces escaped, since it is logged before anything checked it, and a
 * bad request's reason (why=) in quotes.
 */
#ifndef ACCESS_H
#define ACCESS_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct metrics_model;
struct metrics_provider;

/* How a request ended. */
enum access_end {
	ACCESS_OK,			/* answered in full: no label */
	/* The daemon refused it (reason=, llmproxy_refused_total). */
	ACCESS_QUEUE_FULL,
	ACCESS_QUEUE_TIMEOUT,
	ACCESS_TOO_LARGE,
	ACCESS_UNAUTHORIZED,
	ACCESS_FORBIDDEN,
	ACCESS_OVERLOAD,
	ACCESS_SHUTDOWN,
	ACCESS_CANCELLED,		/* a race's loser (SPEC 12, 13) */
	ACCESS_BATCH_DEADLINE,
	ACCESS_BAD_REQUEST,		/* framing, target, a bad header */
	ACCESS_HEAD_TOO_LARGE,		/* 431 */
	ACCESS_METHOD_NOT_ALLOWED,	/* 405 */
	/* It ended otherwise, not normally (end=). */
	ACCESS_CLIENT_CLOSED,		/* hung up before the end */
	ACCESS_CLIENT_STALLED,		/* stopped reading: idle_timeout */
	ACCESS_CONNECT_FAILED,
	ACCESS_CONNECT_TIMEOUT,
	ACCESS_FIRST_BYTE_TIMEOUT,
	ACCESS_IDLE_TIMEOUT,
	ACCESS_UPSTREAM_ERROR,		/* reset, garbage, cut */
	ACCESS_UPSTREAM_TRUNCATED,	/* SSE without its final event */
	ACCESS_PROVIDER_REMOVED,	/* retired by a reload */
	ACCESS_NO_TRANSFER,		/* no upstream transfer could start */
	ACCESS_NENDS
};

/* One answered request, as its access line and its metrics show it. */
struct access_entry {
	const char	*provider;	/* who answered; NULL: none */
	const char	*first;		/* whom the client asked; NULL */
	const char	*method;	/* NULL: "-" */
	const char	*target;	/* path and query; only the path shows */
	int		 status;	/* 0: nothing was sent */
	enum access_end	 end;
	const char	*detail;	/* why=, for a bad request; or NULL */
	uint64_t	 queue_ms;	/* waiting for admission */
	uint64_t	 upstream_ms;	/* admission to the end */
	uint64_t	 duration_ms;	/* arrival to the end */
	size_t		 bytes_in;
	uint64_t	 bytes_out;
	int		 attempts;	/* upstream transfers made */
	int64_t		 estimate;	/* tokens reserved; < 0: none */
	int		 timed;		/* counts in the duration histograms */
	const char	*batch;		/* a batch item: its batch's id */
	const char	*model;		/* its model group's match; or NULL */
	struct metrics_model *model_metrics;	/* that group's block */
	struct client	*client;	/* who asked; NULL: not known */
};

/* Return the label of end ("queue_full", "client_closed"), "" for OK. */
const char	*access_label(enum access_end end);
/* Return 1 if end is a refusal of the daemon's own (SPEC 8 reason=). */
int		 access_is_refusal(enum access_end end);
/*
 * Write e's access line and count it in m (the metrics block of the
 * provider asked, or metrics_unrouted()).
 */
void		 access_record(struct metrics_provider *m,
		    const struct access_entry *e);

#endif /* ACCESS_H */
