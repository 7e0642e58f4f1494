/* SPDX-License-Identifier: ISC */
/*
 * batch: POST /batch (SPEC 12), many requests in one, under the same
 * limits: each item is an attempt of its own on its provider, with its
 * own access line (batch=ID), gathered in input order (mode all),
 * written as each finishes (as_completed), or raced (first: the first
 * 2xx answer streams to the client and every other item is cancelled
 * wherever it is, giving back its slot and reservation).
 */
#ifndef BATCH_H
#define BATCH_H

#include "queue.h"

struct client;
struct config;
struct evhttp_request;
struct exchange_env;

/*
 * Run the batch req carries (its body has fully arrived) under cf, for
 * client (its reference is taken over) at priority: every item is that
 * client's request.
 */
void	batch_start(const struct exchange_env *env,
	    struct evhttp_request *req, struct config *cf,
	    struct client *client, enum queue_priority priority);

#endif /* BATCH_H */
