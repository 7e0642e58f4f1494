/* SPDX-License-Identifier: ISC */
/*
 * curlev: libcurl multi handles driven by one libevent loop.
 *
 * Each shard is one multi handle with its own evtimer; every socket curl
 * uses has one persistent event, kept in a table indexed by descriptor
 * with the shard it belongs to.  Every wake-up calls
 * curl_multi_socket_action() on that shard and then the owner's reap
 * callback.  When curl stops watching a socket (a connection back in its
 * cache, say) its event is freed at once, and curlev_close_cb makes sure
 * of it before a descriptor can be reused.  Keeping idle connections
 * registered saves two epoll_ctl calls a request, but together with the
 * epoll changelist (main.c) it lost clients: a descriptor closed while
 * still registered and reused within one loop turn sometimes never
 * reached epoll.  The changelist is worth more (1.40 x the CPU per
 * request without it in one A/B run; 0.91 x without parking, within
 * noise).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "clock.h"
#include "curlev.h"
#include "log.h"
#include "xmalloc.h"

/* Shards at most; past them all, the least busy one takes more. */
#define CURLEV_MAX_SHARDS	128
/* A shard's connection cache: its transfers' connections plus idle ones. */
#define CURLEV_SHARD_CONNS	(2L * CURLEV_SHARD_TRANSFERS)

struct curlev_shard {
	struct curlev		*ce;
	CURLM			*multi;
	struct event		*timer;
	size_t			 active;
	int			 busy;	/* inside a call that runs callbacks */
};

/* What the loop knows of one curl socket. */
struct curlev_sock {
	struct curlev_shard	*sh;		/* last shard to watch it */
	struct event		*ev;		/* NULL: not watched */
	short			 kind;		/* EV_READ|EV_WRITE added, or 0 */
};

struct curlev {
	struct event_base	*base;
	curlev_reap_cb		*reap;
	void			*arg;
	struct curlev_shard	*shards[CURLEV_MAX_SHARDS];
	size_t			 nshards;
	struct curlev_sock	*socks;		/* indexed by descriptor */
	size_t			 nsocks;
};

static struct curlev_shard *curlev_shard_new(struct curlev *ce);
static struct curlev_shard *curlev_pick(struct curlev *ce);
static struct curlev_sock *curlev_sock(struct curlev *ce, curl_socket_t fd);
static void	curlev_watch(struct curlev *ce, struct curlev_sock *cs,
		    curl_socket_t fd, short kind);
static void	curlev_unwatch(struct curlev_sock *cs);
static int	curlev_socket_cb(CURL *easy, curl_socket_t fd, int what,
		    void *arg, void *sockp);
static int	curlev_close_cb(void *arg, curl_socket_t fd);
static int	curlev_timer_cb(CURLM *multi, long timeout_ms, void *arg);
static void	curlev_event_cb(evutil_socket_t fd, short what, void *arg);
static void	curlev_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void	curlev_act(struct curlev_shard *sh, curl_socket_t fd,
		    int flags);

/* Return a set of multi handles run on base; reap gets arg. */
struct curlev *
curlev_new(struct event_base *base, curlev_reap_cb *reap, void *arg)
{
	struct curlev	*ce;

	ce = xcalloc(1, sizeof *ce);
	ce->base = base;
	ce->reap = reap;
	ce->arg = arg;
	curlev_shard_new(ce);
	return ce;
}

/* Free ce: its multi handles (closing their connections), then events. */
void
curlev_free(struct curlev *ce)
{
	size_t	i;

	if (ce == NULL)
		return;
	for (i = 0; i < ce->nshards; i++)
		curl_multi_cleanup(ce->shards[i]->multi);
	for (i = 0; i < ce->nsocks; i++) {
		if (ce->socks[i].ev != NULL)
			event_free(ce->socks[i].ev);
	}
	for (i = 0; i < ce->nshards; i++) {
		event_free(ce->shards[i]->timer);
		free(ce->shards[i]);
	}
	free(ce->socks);
	free(ce);
}

/* Make one more shard: a multi handle and its timer. */
static struct curlev_shard *
curlev_shard_new(struct curlev *ce)
{
	struct curlev_shard	*sh;

	sh = xcalloc(1, sizeof *sh);
	sh->ce = ce;
	if ((sh->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	if ((sh->timer = evtimer_new(ce->base, curlev_timeout_cb, sh)) == NULL)
		fatalx("evtimer_new failed");
	curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, curlev_socket_cb);
	curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
	curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, curlev_timer_cb);
	curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
	/*
	 * curl's default cache holds 4 x the transfers added at the moment:
	 * after each dip in load it closed connections it had just made.
	 */
	curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, CURLEV_SHARD_CONNS);
	ce->shards[ce->nshards++] = sh;
	return sh;
}

/* Return the first shard with room, a new one, or the least busy. */
static struct curlev_shard *
curlev_pick(struct curlev *ce)
{
	struct curlev_shard	*best = NULL;
	size_t			 i;

	for (i = 0; i < ce->nshards; i++) {
		if (ce->shards[i]->active < CURLEV_SHARD_TRANSFERS)
			return ce->shards[i];
		if (best == NULL || ce->shards[i]->active < best->active)
			best = ce->shards[i];
	}
	if (ce->nshards < CURLEV_MAX_SHARDS)
		return curlev_shard_new(ce);
	return best;
}

/* Add easy to the first shard with room and return the shard. */
struct curlev_shard *
curlev_add(struct curlev *ce, CURL *easy)
{
	struct curlev_shard	*sh = curlev_pick(ce);
	CURLMcode		 mc;

	curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, curlev_close_cb);
	curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, ce);
	if ((mc = curl_multi_add_handle(sh->multi, easy)) != CURLM_OK) {
		log_warnx("curl_multi_add_handle: %s",
		    curl_multi_strerror(mc));
		return NULL;
	}
	sh->active++;
	return sh;
}

/* Remove easy from the shard curlev_add() gave it. */
void
curlev_remove(struct curlev_shard *sh, CURL *easy)
{
	CURLMcode	mc;

	/* A refusal here would leave easy in the multi handle, in use. */
	if ((mc = curl_multi_remove_handle(sh->multi, easy)) != CURLM_OK)
		fatalx("curl_multi_remove_handle: %s", curl_multi_strerror(mc));
	sh->active--;
}

/* Return 1 if sh's multi handle is inside a call that runs callbacks. */
int
curlev_busy(const struct curlev_shard *sh)
{
	return sh != NULL && sh->busy > 0;
}

/*
 * curl_easy_pause(easy, bitmask), which may run easy's callbacks before
 * it returns: sh is busy meanwhile, and reaped afterwards.
 */
void
curlev_pause(struct curlev_shard *sh, CURL *easy, int bitmask)
{
	CURLcode	rc;

	sh->busy++;
	rc = curl_easy_pause(easy, bitmask);
	sh->busy--;
	if (rc != CURLE_OK)
		log_warnx("curl_easy_pause: %s", curl_easy_strerror(rc));
	sh->ce->reap(sh->multi, sh->ce->arg);
}

/* Let curl act on fd (or its timeouts), then reap what it finished. */
static void
curlev_act(struct curlev_shard *sh, curl_socket_t fd, int flags)
{
	CURLMcode	mc;
	int		running;

	sh->busy++;
	mc = curl_multi_socket_action(sh->multi, fd, flags, &running);
	sh->busy--;
	if (mc != CURLM_OK)
		log_warnx("curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	sh->ce->reap(sh->multi, sh->ce->arg);
}

/* Return the table entry of fd, growing the table to hold it. */
static struct curlev_sock *
curlev_sock(struct curlev *ce, curl_socket_t fd)
{
	size_t	n = ce->nsocks;

	if ((size_t)fd >= n) {
		while (n <= (size_t)fd)
			n = n == 0 ? 64 : n * 2;
		ce->socks = xreallocarray(ce->socks, n, sizeof *ce->socks);
		memset(ce->socks + ce->nsocks, 0,
		    (n - ce->nsocks) * sizeof *ce->socks);
		ce->nsocks = n;
	}
	return &ce->socks[fd];
}

/* Watch fd for kind, touching epoll only when the interest changes. */
static void
curlev_watch(struct curlev *ce, struct curlev_sock *cs, curl_socket_t fd,
    short kind)
{
	if (cs->ev == NULL)
		cs->ev = event_new(ce->base, fd, kind | EV_PERSIST,
		    curlev_event_cb, ce);
	else if (cs->kind != kind) {
		event_del(cs->ev);
		event_assign(cs->ev, ce->base, fd, kind | EV_PERSIST,
		    curlev_event_cb, ce);
	} else
		return;
	if (cs->ev == NULL)
		fatalx("%s: out of memory", __func__);
	event_add(cs->ev, NULL);
	cs->kind = kind;
}

/* Stop watching a socket, and forget its event. */
static void
curlev_unwatch(struct curlev_sock *cs)
{
	if (cs->ev != NULL)
		event_free(cs->ev);
	cs->ev = NULL;
	cs->kind = 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch what curl asks for, no more. */
static int
curlev_socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg,
    void *sockp)
{
	struct curlev_shard	*sh = arg;
	struct curlev_sock	*cs = curlev_sock(sh->ce, fd);
	short			 kind = 0;

	if (what == CURL_POLL_REMOVE) {
		curlev_unwatch(cs);
		return 0;
	}
	cs->sh = sh;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	curlev_watch(sh->ce, cs, fd, kind);
	return 0;
}

/* CURLOPT_CLOSESOCKETFUNCTION: forget fd's event before fd is gone. */
static int
curlev_close_cb(void *arg, curl_socket_t fd)
{
	struct curlev		*ce = arg;
	struct curlev_sock	*cs = curlev_sock(ce, fd);

	curlev_unwatch(cs);
	cs->sh = NULL;
	return close(fd);
}

/* CURLMOPT_TIMERFUNCTION: replace the shard's timer; -1 removes it. */
static int
curlev_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct curlev_shard	*sh = arg;
	struct timeval		 tv;

	if (timeout_ms < 0) {
		evtimer_del(sh->timer);
		return 0;
	}
	tv = clock_tv_ms((uint64_t)timeout_ms);
	evtimer_add(sh->timer, &tv);	/* even 0: no curl calls from here */
	return 0;
}

/* A curl socket is ready: let its shard act on it, then reap. */
static void
curlev_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev		*ce = arg;
	struct curlev_sock	*cs = &ce->socks[fd];
	int			 flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curlev_act(cs->sh, fd, flags);
}

/* A shard's curl timer expired: let curl run its timeouts, then reap. */
static void
curlev_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev_shard	*sh = arg;

	curlev_act(sh, CURL_SOCKET_TIMEOUT, 0);
}
