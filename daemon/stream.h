/* SPDX-License-Identifier: ISC */
/*
 * stream: one client request to a provider, from arrival to its last byte.
 *
 * It starts the upstream transfer, forwards the status and headers (minus
 * hop-by-hop fields, plus the x-llmproxy-* ones) when they arrive and body
 * bytes as they come, pauses the upstream while the client lags, runs the
 * first-byte and idle deadlines, and ends in exactly one place whatever
 * happens: success, upstream failure, deadline, or the client leaving.
 */
#ifndef STREAM_H
#define STREAM_H

#include <sys/time.h>

#include <stddef.h>

struct config;
struct event_base;
struct evhttp_request;
struct provider;
struct provider_config;
struct upstream_loop;

/* What every stream shares; owned by the server, outlives the streams. */
struct stream_env {
	struct event_base	*base;
	struct upstream_loop	*ul;
	struct timeval		 keepalive;	/* client idle timeout */
	void			(*drained)(void *); /* the last stream ended */
	void			*drained_arg;
};

/*
 * Forward req (whose body has fully arrived) to prov, appending rest to
 * its base_url, under configuration cf (referenced while the stream lives).
 */
void	stream_start(const struct stream_env *env, struct evhttp_request *req,
	    struct config *cf, struct provider *prov, const char *rest);

/* Return the number of live streams. */
size_t	stream_count(void);
/* End every stream now: the shutdown deadline passed (SPEC section 10). */
void	stream_shutdown_all(void);

#endif /* STREAM_H */
