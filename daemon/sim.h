/* SPDX-License-Identifier: ISC */
/*
 * sim: the simulated provider (type = "simulated").
 *
 * Answers OpenAI-style POST /v1/chat/completions and Anthropic-style
 * POST /v1/messages locally, as JSON or as SSE, after `latency` seconds and
 * at `tokens_per_second`, with as many tokens as the request's max_tokens
 * asks (16 when it names none).  It sits behind the same interface as a
 * real transfer (upstream.h), so limits, queueing, backpressure and
 * disconnects behave exactly as with a remote provider.
 */
#ifndef SIM_H
#define SIM_H

#include "upstream.h"

struct sim;

/* Start answering rq on base; cbs get arg, as upstream_start() says. */
struct sim	*sim_start(struct event_base *base,
		    const struct upstream_request *rq,
		    const struct upstream_cbs *cbs, void *arg);
/* Deliver again the bytes body() refused, then go on. */
void		 sim_resume(struct sim *s);
/* Stop and free s; no callback runs afterwards. */
void		 sim_cancel(struct sim *s);

#endif /* SIM_H */
