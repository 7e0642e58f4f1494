/* SPDX-License-Identifier: ISC */
/*
 * proxy: a client's request to one provider, the plain case: an exchange
 * (exchange.h) whose response comes from one attempt (attempt.h), with
 * that attempt's status, fields and body passed on as they arrive.
 */
#ifndef PROXY_H
#define PROXY_H

#include <stddef.h>

#include "queue.h"

struct client;
struct config;
struct evhttp_request;
struct exchange_env;
struct provider;

/*
 * Forward req (whose body has fully arrived) to prov, appending rest to
 * its base_url, under cf (referenced while it lives), for client (its
 * reference, client_identify()'s, is taken over) at priority.
 */
void	proxy_start(const struct exchange_env *env, struct evhttp_request *req,
	    struct config *cf, struct provider *prov, const char *rest,
	    struct client *client, enum queue_priority priority);

#endif /* PROXY_H */
