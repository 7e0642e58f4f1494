/* SPDX-License-Identifier: ISC */
/*
 * exchange: one client request and its response, from arrival to the
 * last byte.
 *
 * An exchange owns the client side: the evhttp request and connection,
 * the response sink (status and fields sent or not, backpressure, the
 * drained callback), the hang-up watch, and one teardown,
 * exchange_close(), which records the access line and the metrics once
 * (access.h) and has its owner cancel every attempt it still runs.  The
 * upstream side is attempts (attempt.h), driven by an owner: proxy.c's
 * one attempt for a plain request, later a batch's items or a race.
 * Ending walks down the layers: closing an exchange tells its owner,
 * which cancels its attempts, each gives back its admission and its
 * transfer, and nothing below calls back up while it closes.
 */
#ifndef EXCHANGE_H
#define EXCHANGE_H

#include <sys/time.h>

#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "queue.h"

struct client;
struct config;
struct evhttp_request;
struct evkeyvalq;
struct exchange;
struct metrics_model;
struct metrics_provider;
struct provider_config;

/* What every exchange shares; owned by the server, outlives them. */
struct exchange_env {
	struct timeval	 keepalive;	/* client idle timeout */
	void		(*drained)(void *); /* the last exchange ended */
	void		*drained_arg;
};

/*
 * Who produces the response (the proxy's one attempt, a batch's items):
 * the exchange calls it back, and it drives the exchange through the
 * functions below.
 */
struct exchange_owner {
	/* The client took what was queued: resume what was paused. */
	void	(*drained)(void *arg);
	/*
	 * The response has ended (end says how) or the client is gone:
	 * cancel every attempt, free the owner's state, call nothing back.
	 * Called exactly once.
	 */
	void	(*closing)(void *arg, enum access_end end);
};

/* What the access line of an exchange reports beyond the client side. */
struct exchange_note {
	const char	*provider;	/* who answered, or was tried last */
	const char	*first;		/* whom the client asked; NULL */
	uint64_t	 queue_ms;
	uint64_t	 admit_ms;	/* first admission, monotonic; 0 */
	int		 attempts;
	int64_t		 estimate;	/* < 0: none */
	const char	*model;		/* its model group's match; NULL */
	struct metrics_model *model_metrics;	/* that group's block */
};

/*
 * Take over req (whose body has fully arrived) under cf (referenced while
 * the exchange lives): its refusals speak pc's dialect (NULL: OpenAI's),
 * and it is counted in m; target is the path its access line shows.
 */
struct exchange	*exchange_new(const struct exchange_env *env,
		    struct evhttp_request *req, struct config *cf,
		    const struct provider_config *pc, struct metrics_provider *m,
		    const char *target);
/* Hand the response to owner; its callbacks get arg. */
void		 exchange_set_owner(struct exchange *ex,
		    const struct exchange_owner *owner, void *arg);
/* Speak pc's dialect in the daemon's own errors from now on. */
void		 exchange_set_dialect(struct exchange *ex,
		    const struct provider_config *pc);
/*
 * Say who is asking (SPEC 11), taking over the reference c holds
 * (client_get()'s; NULL: none), and at which priority.
 */
void		 exchange_set_client(struct exchange *ex, struct client *c,
		    enum queue_priority priority);
/* Return who is asking (NULL: not said), its priority in *priority. */
struct client	*exchange_client(const struct exchange *ex,
		    enum queue_priority *priority);
/* Set what the access line reports of the upstream side. */
void		 exchange_set_note(struct exchange *ex,
		    const struct exchange_note *note);
/* Return the request's method, header fields and body. */
const char	*exchange_method(const struct exchange *ex);
struct evkeyvalq *exchange_request_headers(struct exchange *ex);
const char	*exchange_body(struct exchange *ex, size_t *len);
/* Return 1 if the client lags: the owner should pause its sources. */
int		 exchange_lags(struct exchange *ex);
/*
 * Send status and the end-to-end fields of fields (moved out of it;
 * NULL for none), plus x-llmproxy-queue-ms and -attempts from the note.
 */
void		 exchange_respond(struct exchange *ex, int status,
		    struct evkeyvalq *fields);
/* Add a field to the response before exchange_respond(). */
void		 exchange_add_field(struct exchange *ex, const char *name,
		    const char *value);
/* Send len body bytes. */
void		 exchange_write(struct exchange *ex, const char *data,
		    size_t len);
/*
 * Answer with the daemon's own error (before anything was sent); with
 * retry_ms > 0, Retry-After and retry-after-ms.  Ends the exchange.
 */
void		 exchange_refuse(struct exchange *ex, int status,
		    enum access_end end, const char *code, const char *message,
		    uint64_t retry_ms);
/* The response is complete: end it, keep the connection. */
void		 exchange_end(struct exchange *ex, enum access_end end);
/* The response broke after its headers: tell the client as SPEC 6 says. */
void		 exchange_break(struct exchange *ex, enum access_end end,
		    const char *code, const char *message);
/* Drop the client connection: it stopped reading. */
void		 exchange_drop(struct exchange *ex, enum access_end end);

/* Return the number of live exchanges. */
size_t		 exchange_count(void);
/* End every exchange now: the shutdown deadline passed (SPEC 10). */
void		 exchange_shutdown_all(void);
/* Return req's method as the client sent it ("-" if unknown). */
const char	*exchange_method_name(const struct evhttp_request *req);

#endif /* EXCHANGE_H */
