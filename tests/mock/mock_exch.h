/* SPDX-License-Identifier: ISC */
/*
 * mock_exch: one provider or echo request (struct exch, mock_state.h)
 * from its arrival to its last byte or its client's leaving: the delay,
 * the pacing of streams under backpressure, and the faults asked for
 * with x-mock-*.  What the answer says is mock_answer.c's business.
 */
#ifndef MOCK_EXCH_H
#define MOCK_EXCH_H

struct conn;
struct evhttp_request;
struct exch;

/* Start the exchange for a provider or echo request, and count it. */
struct exch *mock_exch_new(struct evhttp_request *req, struct conn *c,
	    const char *path);
/* Answer ex at once if nothing special was asked, else go asynchronous. */
void	mock_exch_begin(struct exch *ex);
/* The client left before ex was answered: log it and free ex. */
void	mock_exch_gone(struct exch *ex);
/* Free ex and detach it from its conn; ex->req is left alone. */
void	mock_exch_free(struct exch *ex);

#endif /* MOCK_EXCH_H */
