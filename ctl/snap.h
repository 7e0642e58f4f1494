/* SPDX-License-Identifier: ISC */
/*
 * snap: one reading of the daemon's GET /status (and, for the live view,
 * of its queue-wait histograms from GET /metrics), as plain data.
 */
#ifndef SNAP_H
#define SNAP_H

#include <stddef.h>

#include "hist.h"

#define SNAP_NAME_MAX	64		/* longer names are cut */

/* One client of a provider (SPEC 11): names only, never tokens. */
struct snap_client {
	char		 name[SNAP_NAME_MAX + 1];
	double		 weight;
	long long	 queued;
	long long	 in_flight;
	long long	 admitted;
};

/* One provider object of /status.  A limit of 0 is off. */
struct snap_provider {
	char			 name[SNAP_NAME_MAX + 1];
	int			 retired;	/* removed by a reload */
	long long		 in_flight;
	long long		 queued;
	long long		 requests_per_minute;
	long long		 tokens_per_minute;
	long long		 burst;
	long long		 max_concurrent;
	long long		 queue_max;
	int			 has_req_bucket;	/* else: off */
	double			 req_bucket;
	int			 has_tok_bucket;
	double			 tok_bucket;
	char			 cooldown[64];	/* RFC 3339; "" when none */
	long long		 admitted;
	long long		 refused;
	long long		 retried;
	long long		 upstream_429;
	int			 has_clients;	/* /status lists clients */
	struct snap_client	*clients;
	size_t			 nclients;
	struct hist		 wait;	/* queue wait; n == 0: not read */
};

/* A whole reading; t_s is the caller's clock when it was taken. */
struct snap {
	char			 version[32];
	long long		 uptime_s;
	long long		 connections;	/* -1: not in /status */
	struct snap_provider	*prov;
	size_t			 nprov;
	double			 t_s;
};

/* Parse a /status body; NULL on error, with why ("not JSON: ..."). */
struct snap	*snap_parse(const char *body, size_t len, char *why,
		    size_t whylen);
/* Read each provider's queue-wait histogram from a /metrics body. */
void		 snap_add_metrics(struct snap *s, const char *text);
/* Return the provider called name in s, or NULL (s may be NULL). */
const struct snap_provider *snap_find(const struct snap *s,
		    const char *name);
void		 snap_free(struct snap *s);

#endif /* SNAP_H */
