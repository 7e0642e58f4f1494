/* SPDX-License-Identifier: ISC */
/*
 * provint: the runtime state of a provider, shared by the modules that
 * make up the provider: provider.c (requests, the pump, reloads) and
 * provstatus.c (what /status and /metrics say of it).  Nothing else
 * includes it: the rest of the daemon goes through provider.h.
 */
#ifndef PROVINT_H
#define PROVINT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "admission.h"
#include "sched.h"

struct config;
struct event;
struct limiter;
struct metrics_model;
struct metrics_provider;
struct model_config;
struct provider_config;
struct shared_prov;

/* A model group's runtime state (SPEC 16). */
struct provider_group {
	char				*match;
	const struct model_config	*mc;	/* NULL: removed by a reload */
	struct sched_lane		*lane;	/* its FIFO and limiter */
	struct metrics_model		*m;
	uint64_t			 upstream_429;
};

struct provider {
	char				*name;
	struct config			*cf;	/* referenced: pc lives in it */
	const struct provider_config	*pc;
	struct limiter			*lm;
	struct metrics_provider		*m;	/* by name: outlives p */
	struct event			*wake;	/* runs the pump */
	struct event			*deliver; /* runs the decisions */
	struct sched			 sched;	/* the lanes */
	struct shared_prov		*sp;	/* shared limits; NULL */
	struct provider_group		**groups;	/* ever configured */
	size_t				 ngroups;
	TAILQ_HEAD(, admit_ticket)	 deliveries;	/* made, not run */
	TAILQ_HEAD(, admit_ticket)	 held;		/* slots out */
	uint64_t			 last_slot;	/* last slot id */
	uint64_t			 remote_held;	/* Redis leases */
	uint64_t			 remote_adopted; /* ...of them counted
							   by the limiter */
	unsigned			 refs;
	int				 retired;
	uint64_t			 admitted;
	uint64_t			 refused;
	uint64_t			 retried;
	uint64_t			 upstream_429;
	TAILQ_ENTRY(provider)		 entry;
};

TAILQ_HEAD(provider_list, provider);
/* Every provider, live and retired (provider.c's). */
extern struct provider_list	provider_list;

/*
 * What the shared backend (shared.c) does to a provider's queue: run the
 * pump on the next turn or in ms; take t out of lane to ask about it;
 * put it back in front ("not yet", or the call failed); grant it the
 * Redis lease of slot; give the local limiter 1/hosts of each limit
 * (hosts 1: the whole limits), while Redis is out of reach.
 */
void	provider_pump_soon(struct provider *p);
void	provider_arm(struct provider *p, uint64_t ms);
void	provider_take_asked(struct provider *p, struct admit_ticket *t,
	    struct sched_lane *lane);
void	provider_requeue_asked(struct provider *p, struct admit_ticket *t);
void	provider_grant_remote(struct provider *p, struct admit_ticket *t,
	    uint64_t slot);
void	provider_share_limits(struct provider *p, long long hosts);

#endif /* PROVINT_H */
