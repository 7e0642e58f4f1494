/* SPDX-License-Identifier: ISC */
/*
 * fake_owner: what test_attempt.c needs to own attempts as exchange.c
 * does: a world with one fake provider "p" on a config made from a few
 * keys, owners that record every callback and can cancel an attempt
 * (their own or another's) from inside one, and short ways to play a
 * provider's answer.  It checks at teardown that the world is clean.
 */
#ifndef FAKE_OWNER_H
#define FAKE_OWNER_H

#include <stddef.h>
#include <stdint.h>

#include "attempt.h"
#include "fake_provider.h"
#include "upstream.h"

#define FAKE_OWNER_BODY_MAX	4096
#define FAKE_OWNER_REQUEST	"{\"model\":\"m\",\"max_tokens\":50," \
	"\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
#define FAKE_OWNER_PATH		"/v1/chat/completions"
#define FAKE_OWNER_JSON		"application/json"
#define FAKE_OWNER_SSE		"text/event-stream"

/* When an owner cancels an attempt from inside its callbacks. */
enum fake_owner_cancel {
	FAKE_OWNER_CANCEL_NONE,
	FAKE_OWNER_CANCEL_IN_HEADERS,
	FAKE_OWNER_CANCEL_IN_BODY,
	FAKE_OWNER_CANCEL_IN_DONE
};

/* An attempt's owner: what it was told, and what it does in return. */
struct fake_owner {
	struct attempt		*a;		/* NULL once over */
	int			 nheaders, nbody, ndone;
	int			 status;
	char			 body[FAKE_OWNER_BODY_MAX];
	size_t			 body_len;	/* all taken; body keeps
						   what fits */
	int			 lag;		/* refuse this many bodies */
	enum fake_owner_cancel	 when;		/* once, then NONE */
	struct fake_owner	*victim;	/* whose; NULL: its own */
	struct attempt_end	 end;
};

/*
 * Make the world for one case: the clock at its start, provider "p"
 * (simulated; queue_timeout 5 s, first_byte_timeout 10 s, idle_timeout
 * 20 s) with keys added, and the request to send.
 */
void		 fake_owner_setup(const char *keys);
/* Fail unless the books balance and nothing is left; free the world. */
void		 fake_owner_teardown(void);
/* Return the world's provider. */
struct provider	*fake_owner_provider(void);
/* Return the books of the world's provider. */
const struct fake_provider_books *fake_owner_books(void);
/* Start the world's request for o. */
void		 fake_owner_start(struct fake_owner *o);
/* Decide waiting ticket i (its callback waits for a delivery). */
void		 fake_owner_decide(size_t i, enum admit_verdict v);
/* Grant waiting ticket i, deliver it, return the transfer it began. */
struct upstream	*fake_owner_grant(size_t i);
/* Play status, a Content-Type and NULL-ended name, value pairs on u. */
void		 fake_owner_headers(struct upstream *u, int status,
		    const char *type, ...);
/* Play a whole answer on u: status, type, one body piece, the end. */
void		 fake_owner_reply(struct upstream *u, int status,
		    const char *type, const char *body);
/* Fail unless o's attempt ended once, in this shape. */
void		 fake_owner_assert_end(struct fake_owner *o,
		    enum attempt_outcome oc, enum access_end end, int status,
		    const char *code);
/*
 * Grant the first waiting ticket and fail its try: answer status (with a
 * retry-after-ms if given), or fail to connect if status is 0.  Return
 * the backoff the attempt armed.
 */
uint64_t	 fake_owner_fail_try(int status, const char *retry_after_ms);

#endif /* FAKE_OWNER_H */
