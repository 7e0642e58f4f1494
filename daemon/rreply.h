/* SPDX-License-Identifier: ISC */
/*
 * rreply: what the shared-limits script answered (SPEC 14), checked.
 *
 * Each parser takes a hiredis reply and either fills a struct and returns
 * 0, or returns -1 and writes why to a buffer: an error reply ("redis:
 * ERR ..."), a reply of the wrong type or element count, or a value out
 * of the range the script's interface allows.  A reply that fails here is
 * never acted on: the caller treats the call as failed.  Pure: no
 * libevent, no clock.
 */
#ifndef RREPLY_H
#define RREPLY_H

#include <stddef.h>

struct redisReply;

/* The longest note an admit reply may carry ("R by HOST"). */
#define RREPLY_NOTE_MAX		512
/* Room for any message written by the parsers. */
#define RREPLY_WHY_MAX		160

/* An admit reply: {admitted, retry_ms, now_ms, hosts_alive,
   lease_expiry_ms, note}. */
struct rreply_admit {
	long long	admitted;	/* 0..n: a prefix of those asked */
	long long	retry_ms;	/* for the first not admitted: > 0, 0,
					   or -1 (only a release helps); the
					   script says 0 when all were
					   admitted, not checked here */
	long long	now_ms;		/* Redis's clock, with the offset */
	long long	hosts_alive;	/* >= 0 */
	long long	lease_expiry_ms; /* earliest lease, from now; -1 none */
	char		note[RREPLY_NOTE_MAX + 1];
	size_t		note_len;	/* 0: no difference in limits */
};

/* A status reply (scope 1): {in_flight, requests_level, tokens_level,
   pause_ms, hosts_alive}, the levels as strings. */
struct rreply_status {
	long long	in_flight;	/* >= 0 */
	double		requests_level;	/* finite; may be negative (debt) */
	double		tokens_level;
	long long	pause_ms;	/* >= 0 */
	long long	hosts_alive;	/* >= 0 */
};

/*
 * Parse the reply to an admit of n requests into a; return 0, or -1 with
 * why (whylen bytes).  The note must be a bulk string of printable bytes.
 */
int	rreply_admit(const struct redisReply *r, long long n,
	    struct rreply_admit *a, char *why, size_t whylen);
/*
 * Parse an integer reply from min to max (release, adjust, renew, pause,
 * observe, heartbeat, leave) into *v; return 0, or -1 with why.
 */
int	rreply_integer(const struct redisReply *r, long long min,
	    long long max, long long *v, char *why, size_t whylen);
/* Parse the reply to status into st; return 0, or -1 with why. */
int	rreply_status(const struct redisReply *r, struct rreply_status *st,
	    char *why, size_t whylen);

#endif /* RREPLY_H */
