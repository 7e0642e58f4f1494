/* SPDX-License-Identifier: ISC */
/*
 * fake_upstream: upstream.h on a record of transfers the test drives
 * (see fake_upstream.h).  A transfer's memory is kept until the reset,
 * whatever the caller does, so a test can look at a cancelled one; the
 * caller is still held to the real contract (no cancel after done, none
 * twice, no resume of a transfer that is over).
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "fake_upstream.h"
#include "unit.h"
#include "upstream.h"
#include "xmalloc.h"

/* Most transfers one test may start. */
#define FAKE_UPSTREAM_MAX	256

struct upstream {
	struct fake_upstream_info	 info;
	const struct upstream_cbs	*cbs;
	void				*arg;
	struct evkeyvalq		 fields;	/* the response's */
};

static struct upstream	*fake_upstream_all[FAKE_UPSTREAM_MAX];
static size_t		 fake_upstream_n;
static int		 fake_upstream_failing;

static void	fake_upstream_assert_running(struct upstream *u);

/* Forget every transfer; return how many were still running. */
size_t
fake_upstream_reset(void)
{
	struct upstream	*u;
	size_t		 i, running = fake_upstream_running();

	for (i = 0; i < fake_upstream_n; i++) {
		u = fake_upstream_all[i];
		evhttp_clear_headers(&u->fields);
		free(u->info.method);
		free(u->info.path);
		free(u->info.body);
		free(u);
	}
	fake_upstream_n = 0;
	fake_upstream_failing = 0;
	return running;
}

/* Make the next upstream_start() fail. */
void
fake_upstream_fail_next(void)
{
	fake_upstream_failing = 1;
}

/* Return how many transfers were started. */
size_t
fake_upstream_count(void)
{
	return fake_upstream_n;
}

/* Return transfer i, or NULL. */
struct upstream *
fake_upstream_nth(size_t i)
{
	return i < fake_upstream_n ? fake_upstream_all[i] : NULL;
}

/* Return the last transfer started, or NULL. */
struct upstream *
fake_upstream_last(void)
{
	return fake_upstream_n > 0 ? fake_upstream_all[fake_upstream_n - 1] :
	    NULL;
}

/* Return how many transfers are neither over nor cancelled. */
size_t
fake_upstream_running(void)
{
	size_t	i, n = 0;

	for (i = 0; i < fake_upstream_n; i++)
		n += !fake_upstream_all[i]->info.cancelled &&
		    !fake_upstream_all[i]->info.ended;
	return n;
}

/* Return what u was asked and what became of it. */
const struct fake_upstream_info *
fake_upstream_info(struct upstream *u)
{
	return &u->info;
}

/* Fail the test unless u may still call back (a driver's misuse). */
static void
fake_upstream_assert_running(struct upstream *u)
{
	UNIT_ASSERT(u != NULL);
	UNIT_ASSERT(!u->info.cancelled);
	UNIT_ASSERT(!u->info.ended);
}

/* Play the status and fields arriving. */
void
fake_upstream_headers(struct upstream *u, int status,
    struct evkeyvalq *fields)
{
	struct evkeyval	*h;

	fake_upstream_assert_running(u);
	if (fields != NULL) {
		TAILQ_FOREACH(h, fields, next)
			evhttp_add_header(&u->fields, h->key, h->value);
	}
	u->cbs->headers(u->arg, status, &u->fields);
}

/* Play body bytes arriving; return the caller's answer. */
int
fake_upstream_body(struct upstream *u, const char *data, size_t len)
{
	fake_upstream_assert_running(u);
	return u->cbs->body(u->arg, data, len);
}

/* Play the end of u; the real one frees itself once done() returns. */
void
fake_upstream_done(struct upstream *u, enum upstream_result res)
{
	static const char *const why[] = {
		"ok", "connect failed", "connect timeout", "failed"
	};

	fake_upstream_assert_running(u);
	u->info.ended = 1;
	u->cbs->done(u->arg, res, why[res]);
}

/* Record rq and its callbacks; NULL if the test asked for a failure. */
struct upstream *
upstream_start(const struct upstream_request *rq,
    const struct upstream_cbs *cbs, void *arg)
{
	struct upstream	*u;

	if (fake_upstream_failing) {
		fake_upstream_failing = 0;
		return NULL;
	}
	UNIT_ASSERT(fake_upstream_n < FAKE_UPSTREAM_MAX);
	u = xcalloc(1, sizeof *u);
	u->info.method = xstrdup(rq->method);
	u->info.path = xstrdup(rq->rest);
	u->info.body = xmalloc(rq->body_len + 1);
	if (rq->body_len > 0)
		memcpy(u->info.body, rq->body, rq->body_len);
	u->info.body[rq->body_len] = '\0';
	u->info.body_len = rq->body_len;
	u->cbs = cbs;
	u->arg = arg;
	TAILQ_INIT(&u->fields);
	fake_upstream_all[fake_upstream_n++] = u;
	return u;
}

/* Return u's response fields. */
struct evkeyvalq *
upstream_headers(struct upstream *u)
{
	UNIT_ASSERT(u != NULL);
	return &u->fields;
}

/* Count a resume of a paused transfer. */
void
upstream_resume(struct upstream *u)
{
	fake_upstream_assert_running(u);
	u->info.resumed++;
}

/* Mark u cancelled; accepts NULL, as upstream.c does. */
void
upstream_cancel(struct upstream *u)
{
	if (u == NULL)
		return;
	UNIT_ASSERT(!u->info.ended);		/* freed after done() */
	UNIT_ASSERT(!u->info.cancelled);	/* freed at the first */
	u->info.cancelled = 1;
}

/* Join every Connection field value with ", ", as upstream.c does. */
char *
upstream_connection_tokens(struct evkeyvalq *hdrs)
{
	struct evkeyval	*h;
	char		*all = NULL, *next;

	TAILQ_FOREACH(h, hdrs, next) {
		if (strcasecmp(h->key, "Connection") != 0)
			continue;
		if (all == NULL)
			all = xstrdup(h->value);
		else {
			xasprintf(&next, "%s, %s", all, h->value);
			free(all);
			all = next;
		}
	}
	return all;
}

/* No machinery to start. */
void
upstream_init(struct event_base *base)
{
}

/* No machinery to stop. */
void
upstream_shutdown(void)
{
}
