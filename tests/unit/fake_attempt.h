/* SPDX-License-Identifier: ISC */
/*
 * fake_attempt: attempts (attempt.h) the test drives by hand, linked in
 * place of attempt.c by test_proxy.c.
 *
 * attempt_start() records what it was asked and returns a handle; the
 * test then plays the attempt's part: its final status, body bytes, its
 * end.  A cancelled attempt is kept (not freed) so the test can see that
 * it was cancelled, and where from; driving one, or cancelling it twice,
 * fails the test, since the real one is gone by then.
 */
#ifndef FAKE_ATTEMPT_H
#define FAKE_ATTEMPT_H

#include <stddef.h>

#include "attempt.h"

/* What one attempt was asked and what happened to it. */
struct fake_attempt_info {
	struct provider		*provider;
	char			*method;
	char			*path;
	char			*body;
	int			 cancelled;
	int			 cancelled_in_cb;	/* from its own callback */
	int			 finished;		/* done() ran */
	int			 resumes;
};

/* Return how many attempts were started. */
size_t		 fake_attempt_count(void);
/* Return the i-th attempt started (0: the first), or NULL. */
struct attempt	*fake_attempt_nth(size_t i);
/* Return what a was asked and what happened to it. */
const struct fake_attempt_info *fake_attempt_info(struct attempt *a);
/* Set what attempt_stats() answers for a. */
void		 fake_attempt_set_stats(struct attempt *a,
		    const struct attempt_stats *st);
/* Deliver a's final status (no fields). */
void		 fake_attempt_headers(struct attempt *a, int status);
/* Deliver body bytes; return the owner's answer (1: paused). */
int		 fake_attempt_body(struct attempt *a, const char *data);
/* End a with outcome, end, status and code (a is over afterwards). */
void		 fake_attempt_done(struct attempt *a,
		    enum attempt_outcome outcome, enum access_end end,
		    int status, const char *code);
/* Forget every attempt; return how many were neither done nor cancelled. */
size_t		 fake_attempt_reset(void);

#endif /* FAKE_ATTEMPT_H */
