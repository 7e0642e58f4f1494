/* SPDX-License-Identifier: ISC */
/*
 * confcheck: what a configuration's providers must say of each other
 * (SPEC 13): every fallback names another provider of the same dialect,
 * at most once.  A chain may go on through its fallbacks' own lists; a
 * request never tries a provider twice, so no chain can loop.  Pure: no
 * libevent, no clock.
 */
#ifndef CONFCHECK_H
#define CONFCHECK_H

struct config;

/*
 * Check cf's providers against each other; on error set *cause
 * ("path:line: providers[i].fallback: why") and return -1.
 */
int	confcheck_providers(const struct config *cf, char **cause);

#endif /* CONFCHECK_H */
