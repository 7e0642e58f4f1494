/* SPDX-License-Identifier: ISC */
/*
 * exchange: one client request and its response, from arrival to the
 * last byte.
 *
 * An exchange owns the client side: the evhttp request and connection,
 * the response sink (status and fields sent or not, backpressure, the
 * drained callback), the hang-up watch, and one teardown,
 * exchange_close(), which records the access line and the metrics once
 * (access.h) and cancels every attempt the exchange still owns.  The
 * upstream side is attempts (attempt.h): today's proxy is an exchange
 * with one attempt, whose callbacks are this module's.  Ending walks
 * down the layers: closing an exchange cancels its attempts, each gives
 * back its admission and its transfer, and nothing below calls back up
 * while it closes.
 */
#ifndef EXCHANGE_H
#define EXCHANGE_H

#include <sys/time.h>

#include <stddef.h>

struct config;
struct evhttp_request;
struct provider;

/* What every exchange shares; owned by the server, outlives them. */
struct exchange_env {
	struct timeval	 keepalive;	/* client idle timeout */
	void		(*drained)(void *); /* the last exchange ended */
	void		*drained_arg;
};

/*
 * Proxy req (whose body has fully arrived) to prov, appending rest to
 * its base_url, under cf (referenced while the exchange lives), for
 * client (guard_token()'s: 0 the default client, i the i-th token).
 */
void		 exchange_proxy(const struct exchange_env *env,
		    struct evhttp_request *req, struct config *cf,
		    struct provider *prov, const char *rest, size_t client);
/* Return the number of live exchanges. */
size_t		 exchange_count(void);
/* End every exchange now: the shutdown deadline passed (SPEC 10). */
void		 exchange_shutdown_all(void);
/* Return req's method as the client sent it ("-" if unknown). */
const char	*exchange_method_name(const struct evhttp_request *req);

#endif /* EXCHANGE_H */
