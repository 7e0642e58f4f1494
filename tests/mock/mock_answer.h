/* SPDX-License-Identifier: ISC */
/*
 * mock_answer: what the mock answers to a request, and its bytes: an
 * error body, a whole completion or an echo of the request in ex->buf,
 * or a stream, whose events it appends one at a time.  When and how the
 * bytes go out is mock_exch.c's business.
 */
#ifndef MOCK_ANSWER_H
#define MOCK_ANSWER_H

#include <stddef.h>

struct evbuffer;
struct exch;

/* Fill the padding that stream tokens are grown with. */
void	mock_answer_init(void);
/* Decide the answer: an error or a JSON body in ex->buf, or a stream. */
void	mock_answer_plan(struct exch *ex, const char *body, size_t len);
/* Count ex's stream events: the tokens, then the closing events. */
long	mock_answer_sse_total(const struct exch *ex);
/* Append what opens a stream before its first event (Anthropic only). */
void	mock_answer_sse_head(struct exch *ex, struct evbuffer *out);
/* Append stream event number ex->sent: a token or the closing events. */
void	mock_answer_sse_step(struct exch *ex, struct evbuffer *out);

#endif /* MOCK_ANSWER_H */
