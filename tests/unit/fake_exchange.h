/* SPDX-License-Identifier: ISC */
/*
 * fake_exchange: the client side (exchange.h) as the proxy drives it,
 * linked in place of exchange.c by test_proxy.c.
 *
 * It records what its owner did (the status sent and the provider the
 * note named then, the body bytes, how it ended) and calls the owner back
 * as the real exchange does: drained() when the test says the client
 * took what was queued, closing() exactly once, from inside whichever of
 * refuse, end, break or drop ends it, or when the test hangs the client
 * up.  The record outlives the owner, which frees itself in closing().
 */
#ifndef FAKE_EXCHANGE_H
#define FAKE_EXCHANGE_H

#include <stddef.h>

#include "access.h"

struct exchange;

/* The request body every exchange carries: model "m1". */
#define FAKE_EXCHANGE_BODY	"{\"model\":\"m1\",\"max_tokens\":5}"

/* What the owner did to one exchange. */
struct fake_exchange_seen {
	int		 status;	/* respond's or refuse's; 0: none */
	char		*provider;	/* the note's when it answered */
	char		*first;
	int		 refused;
	int		 ended;		/* end, break or drop */
	int		 broke;
	int		 dropped;
	enum access_end	 end;		/* closing's */
	char		*code;		/* refuse's or break's */
	char		 body[256];	/* bytes written */
	size_t		 body_len;
	int		 closed;	/* closing() calls: 0 or 1 */
};

/* Return the last exchange made, or NULL. */
struct exchange	*fake_exchange_last(void);
/* Return what was done to ex. */
const struct fake_exchange_seen *fake_exchange_seen(struct exchange *ex);
/* Make ex lag (1) or keep up (0). */
void		 fake_exchange_set_lags(struct exchange *ex, int lags);
/* The client took what was queued: call the owner's drained(). */
void		 fake_exchange_drain(struct exchange *ex);
/* The client is gone: close ex with end, as the hang-up watch does. */
void		 fake_exchange_hang_up(struct exchange *ex,
		    enum access_end end);
/* Free every exchange made (each must be closed). */
void		 fake_exchange_reset(void);

#endif /* FAKE_EXCHANGE_H */
