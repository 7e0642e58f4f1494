/* SPDX-License-Identifier: ISC */
/*
 * curlev: libcurl multi handles driven by one libevent loop.
 *
 * curl's multi-event.c wiring (a socket callback keeping one event per
 * socket, a timer callback keeping one evtimer per multi handle), spread
 * over shards: each multi handle carries at most CURLEV_SHARD_TRANSFERS
 * transfers at once, because libcurl 7.88 walks every connection of a
 * host on each new transfer and every cached connection when its cache is
 * full, which costs O(transfers) each time in one big multi handle.  A
 * transfer goes to the first shard with room, so under light load every
 * transfer shares the first shard's connection cache.  This module does
 * not set up or read transfers; upstream.c does.
 */
#ifndef CURLEV_H
#define CURLEV_H

#include <stddef.h>

#include <curl/curl.h>

struct event_base;
struct curlev;
struct curlev_shard;

/* Transfers one multi handle takes before the next one is used. */
#define CURLEV_SHARD_TRANSFERS	256

/*
 * Called after every curl_multi_socket_action(), once curl has returned:
 * read the multi handle's finished transfers (curl_multi_info_read) and
 * free what was cancelled inside curl callbacks.
 */
typedef void	curlev_reap_cb(CURLM *multi, void *arg);

/* Return a set of multi handles run on base; reap gets arg. */
struct curlev	*curlev_new(struct event_base *base, curlev_reap_cb *reap,
		    void *arg);
/* Free ce: its multi handles (closing their connections), then events. */
void		 curlev_free(struct curlev *ce);
/*
 * Add easy to the first shard with room and return the shard; NULL if
 * curl refuses it.  Sets easy's socket close callback.
 */
struct curlev_shard *curlev_add(struct curlev *ce, CURL *easy);
/*
 * Remove easy from the shard curlev_add() gave it; never while
 * curlev_busy(sh) (curl refuses it then, CURLM_RECURSIVE_API_CALL).
 */
void		 curlev_remove(struct curlev_shard *sh, CURL *easy);
/*
 * Return 1 if sh's multi handle is inside a call that runs curl
 * callbacks (any transfer's): removals on it must wait for the reap.
 */
int		 curlev_busy(const struct curlev_shard *sh);
/* Pause or resume easy (curl_easy_pause), then reap sh. */
void		 curlev_pause(struct curlev_shard *sh, CURL *easy,
		    int bitmask);

#endif
