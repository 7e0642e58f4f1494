/* SPDX-License-Identifier: ISC */
/*
 * fake_upstream: transfers (upstream.h) that the test drives by hand,
 * linked in place of upstream.c by the state machine tests.
 *
 * upstream_start() records the request and its callbacks; the test then
 * plays the provider's side: headers, body bytes (seeing whether the
 * caller took them or paused), the end.  Cancelled and ended transfers
 * stay on the record until fake_upstream_reset(), so the test can ask
 * what happened to them; driving one of them, or cancelling one twice or
 * after its end, fails the test as the misuse it would be.
 */
#ifndef FAKE_UPSTREAM_H
#define FAKE_UPSTREAM_H

#include <stddef.h>

#include "upstream.h"

struct evkeyvalq;

/* What a transfer was asked and what became of it. */
struct fake_upstream_info {
	char	*method;
	char	*path;
	char	*body;
	size_t	 body_len;
	int	 cancelled;
	int	 ended;		/* done() was called */
	int	 resumed;	/* upstream_resume() calls */
};

/* Forget every transfer; return how many were still running. */
size_t		 fake_upstream_reset(void);
/* Make the next upstream_start() fail (return NULL). */
void		 fake_upstream_fail_next(void);
/* Return how many transfers were started since the reset. */
size_t		 fake_upstream_count(void);
/* Return transfer i (0: the first started), or NULL. */
struct upstream	*fake_upstream_nth(size_t i);
/* Return the last transfer started, or NULL. */
struct upstream	*fake_upstream_last(void);
/* Return how many transfers neither ended nor were cancelled. */
size_t		 fake_upstream_running(void);
/* Return what u was asked and what became of it. */
const struct fake_upstream_info *fake_upstream_info(struct upstream *u);
/* Play the status and fields (copied) arriving; u must be running. */
void		 fake_upstream_headers(struct upstream *u, int status,
		    struct evkeyvalq *fields);
/* Play body bytes arriving; return the caller's answer (0, 1: pause). */
int		 fake_upstream_body(struct upstream *u, const char *data,
		    size_t len);
/* Play the end of u with res; u must be running. */
void		 fake_upstream_done(struct upstream *u,
		    enum upstream_result res);

#endif /* FAKE_UPSTREAM_H */
