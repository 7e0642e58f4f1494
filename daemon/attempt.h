/* SPDX-License-Identifier: ISC */
/*
 * attempt: one request's life on one provider, from asking for admission
 * to the end of the upstream's answer.
 *
 * An attempt holds an admission ticket (admission.h), then a slot, an
 * upstream transfer, its own deadline (queue_timeout, backoff,
 * first_byte_timeout, idle_timeout), the usage reader and the rate-limit
 * advice of its current try.  It retries on the same provider as SPEC 5
 * says (429 with a pause, 5xx and connect errors with backoff) while
 * nothing went to its owner, and reports to its owner through a table of
 * callbacks: final status and headers, body bytes (which the owner may
 * refuse, pausing the transfer), and the end.  It never sees the client:
 * the owner (an exchange, or a policy such as a race that owns several
 * attempts) decides what the client gets.
 *
 * attempt_cancel() ends an attempt from anywhere (its owner's callbacks,
 * another attempt's, a timer) and gives back everything it holds, slot,
 * reservation and transfer, exactly once; no callback runs afterwards.
 */
#ifndef ATTEMPT_H
#define ATTEMPT_H

#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "queue.h"

struct attempt;
struct client;
struct config;
struct evkeyvalq;
struct metrics_model;
struct provider;

/* What to send: method, path and query after base_url, fields, body. */
struct attempt_request {
	const char		*method;
	const char		*path;
	struct evkeyvalq	*headers;	/* end-to-end and not */
	const char		*body;
	size_t			 body_len;
	struct client		*client;	/* who asks (SPEC 11); NULL */
	enum queue_priority	 priority;
};

/* How an attempt ended. */
enum attempt_outcome {
	ATTEMPT_COMPLETE,	/* every byte of the answer was delivered */
	ATTEMPT_REFUSED,	/* nothing delivered: answer with status */
	ATTEMPT_BROKEN		/* failed after its headers were delivered */
};

/* The end of an attempt, and what its owner should tell the client. */
struct attempt_end {
	enum attempt_outcome	 outcome;
	enum access_end		 end;		/* for the access line */
	int			 status;	/* REFUSED: to send */
	const char		*code;		/* the daemon's error code */
	const char		*message;
	uint64_t		 retry_ms;	/* REFUSED: Retry-After */
};

/* What an attempt has done so far, for headers and the access line. */
struct attempt_stats {
	uint64_t	queue_ms;	/* every wait for admission, summed */
	uint64_t	admit_ms;	/* first admission (monotonic); 0 */
	int		tries;		/* upstream transfers started */
	int		waiting;	/* now queued or backing off */
	int64_t		estimate;	/* tokens reserved; -1: not read */
	const char	*model;		/* its model group's match; NULL */
	struct metrics_model *model_metrics;	/* that group's block */
};

struct attempt_cbs {
	/*
	 * The final status and header fields (never those of a try that is
	 * retried).  The owner may move fields out of headers.
	 */
	void	(*headers)(void *arg, struct attempt *a, int status,
		    struct evkeyvalq *headers);
	/* Body bytes.  Return 1 to pause: they come again on resume. */
	int	(*body)(void *arg, struct attempt *a, const char *data,
		    size_t len);
	/* The attempt is over and freed when this returns. */
	void	(*done)(void *arg, struct attempt *a,
		    const struct attempt_end *end);
};

/*
 * Start rq on p under cf (referenced while the attempt lives; rq's
 * strings and fields must stay valid as long).  The first callback runs
 * on a later loop turn at the earliest.
 */
struct attempt	*attempt_start(struct provider *p, struct config *cf,
		    const struct attempt_request *rq,
		    const struct attempt_cbs *cbs, void *arg);
/* Resume a transfer its body callback paused; a no-op otherwise. */
void		 attempt_resume(struct attempt *a);
/* End a at once, giving back all it holds; no callback runs after. */
void		 attempt_cancel(struct attempt *a);
/* Fill *st with what a has done so far. */
void		 attempt_stats(const struct attempt *a,
		    struct attempt_stats *st);
/* Return 1 if the answer being delivered is an SSE stream. */
int		 attempt_is_sse(const struct attempt *a);
/* Return the provider a runs on. */
struct provider	*attempt_provider(const struct attempt *a);

#endif /* ATTEMPT_H */
