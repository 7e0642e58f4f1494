/* SPDX-License-Identifier: ISC */
/*
 * sharedint: what shared.c (the link, the admit calls) and sharedcall.c
 * (how a call is written, the calls whose answer hardly matters, the
 * renewals and heartbeats) share.  Nothing else includes it.
 */
#ifndef SHAREDINT_H
#define SHAREDINT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "rlink.h"
#include "shared.h"

struct admit_ticket;
struct event;
struct event_base;
struct provider;
struct provider_group;
struct redisReply;
struct rlink_script;

/* Which scopes a call names: a lease's, or the one a 429 or header hit. */
enum shared_scopes {
	SHARED_BOTH,		/* the provider, and g when given */
	SHARED_OWN		/* g alone when given, else the provider */
};

/* The calls whose answer only matters when it is a failure. */
enum shared_op {
	SHARED_RELEASE,
	SHARED_ADJUST,
	SHARED_PAUSE,
	SHARED_OBSERVE,
	SHARED_LEAVE
};
#define SHARED_OP(op)	((void *)(uintptr_t)(op))

/* Arguments of one call: the script's KEYS then its ARGV. */
#define SHARED_ARGS_MAX		(16 + 2 * SHARED_BATCH + 8)
/* Leases renewed in one call (a provider holding more makes several). */
#define SHARED_RENEW_MAX	(SHARED_BATCH * 2)
/* How often each daemon says it is alive, and a minute of them. */
#define SHARED_HEARTBEAT_MS	10000

/* One call's arguments, with room for the numbers and lease ids. */
struct shared_args {
	const char	*v[SHARED_ARGS_MAX];
	char		 buf[SHARED_ARGS_MAX][160];
	int		 n;
	int		 nkeys;
};

/* An admit call out: the requests it asks about, in queue order. */
struct shared_ask {
	struct shared_prov	*sp;	/* NULL: the provider went first */
	struct provider_group	*group;	/* their model group; NULL */
	size_t			 n;
	struct admit_ticket	*t[SHARED_BATCH];	/* NULL: withdrawn */
	uint64_t		 slot[SHARED_BATCH];
	int64_t			 tokens[SHARED_BATCH];
	uint64_t		 sent_us;
};

struct shared_prov {
	struct provider		*p;
	char			*name;
	char			*k_waiters;
	char			*k_hosts;
	char			*k_slots;
	char			*k_state;
	char			*channel;
	struct shared_ask	*ask;		/* out now; NULL: none */
	long long		 hosts;		/* alive in the last minute */
	char			*warned;	/* the last limits note logged */
	uint64_t		 bad_until_ms;	/* a bad answer: local till */
	int			 in_line;	/* refused: in the hosts' line */
	int			 woken;		/* a wake-up while asking */
	TAILQ_ENTRY(shared_prov) entry;
};

struct shared_state {
	struct event_base	*base;
	struct rlink		*link;
	struct rlink_script	*script;
	char			 host[128];	/* this daemon's identity */
	char			*prefix;
	char			*signature;	/* the redis group, to compare */
	uint64_t		 lease_ms;
	struct event		*tick;		/* renewals and heartbeats */
	uint64_t		 beat_ms;	/* the last heartbeat */
	int			 up;
	unsigned int		 timeout_ms;	/* per call */
	size_t			 pending;	/* calls not answered yet */
	int			 stopping;	/* the exit waits for them */
	TAILQ_HEAD(, shared_prov) provs;
};
/* The daemon's one link and its shared providers (shared.c's). */
extern struct shared_state	shared;

/* Fill a's KEYS and the ARGV every op starts with, for sp and group g. */
void		 shared_args_begin(struct shared_args *a,
		    const struct shared_prov *sp,
		    const struct provider_group *g, const char *op,
		    enum shared_scopes scopes);
/* Add a number, or the lease id of slot, to a's ARGV; return its text. */
const char	*shared_args_num(struct shared_args *a, long long v);
const char	*shared_args_lease(struct shared_args *a, uint64_t slot);
/* Run the script with a; cb gets the answer. */
void		 shared_call(struct shared_args *a, rlink_reply_cb *cb,
		    void *arg);
/* Release slot (of group g): unused tokens back, the request too. */
void		 shared_release_slot(struct shared_prov *sp,
		    struct provider_group *g, uint64_t slot,
		    int64_t unused_tokens, int refund_request);
/* rlink: an op of enum shared_op (arg) ended; only failures say. */
void		 shared_done_cb(void *arg, const struct redisReply *r,
		    const char *why);
/* Timer: renew the running leases, say this daemon is alive. */
void		 shared_tick_cb(evutil_socket_t fd, short what, void *arg);

#endif /* SHAREDINT_H */
