/* SPDX-License-Identifier: ISC */
/*
 * fake_owner: attempts' owner and the world around them for
 * test_attempt.c (see fake_owner.h).  The owner's callbacks check that
 * they are called in order (headers, bodies, one done) and only for the
 * attempt they own, which is how a call after a cancel shows up.
 */
#include <sys/queue.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admission.h"
#include "attempt.h"
#include "config.h"
#include "fake_loop.h"
#include "fake_owner.h"
#include "fake_provider.h"
#include "fake_upstream.h"
#include "unit.h"

/* The provider block; %s adds keys. */
#define FAKE_OWNER_CONF	"providers = ( { name = \"p\"; " \
	"type = \"simulated\"; queue_timeout = 5.0; " \
	"first_byte_timeout = 10.0; idle_timeout = 20.0; %s } );\n"

/* One case's world: the config, the provider, the request. */
struct fake_owner_world {
	struct config		*cf;
	struct provider		*p;
	struct evkeyvalq	 fields;
	struct attempt_request	 rq;
};

static void	fake_owner_headers_cb(void *arg, struct attempt *a,
		    int status, struct evkeyvalq *headers);
static int	fake_owner_body_cb(void *arg, struct attempt *a,
		    const char *data, size_t len);
static void	fake_owner_done_cb(void *arg, struct attempt *a,
		    const struct attempt_end *end);
static void	fake_owner_maybe_cancel(struct fake_owner *o,
		    enum fake_owner_cancel when);

static const struct attempt_cbs fake_owner_cbs = {
	fake_owner_headers_cb, fake_owner_body_cb, fake_owner_done_cb
};
static struct fake_owner_world	world;

/* attempt: record the final status; cancel if the case says so. */
static void
fake_owner_headers_cb(void *arg, struct attempt *a, int status,
    struct evkeyvalq *headers)
{
	struct fake_owner	*o = arg;

	UNIT_ASSERT(a == o->a);
	UNIT_ASSERT(o->nheaders == 0 && o->ndone == 0);
	o->nheaders++;
	o->status = status;
	fake_owner_maybe_cancel(o, FAKE_OWNER_CANCEL_IN_HEADERS);
}

/* attempt: take the bytes, or lag; cancel if the case says so. */
static int
fake_owner_body_cb(void *arg, struct attempt *a, const char *data,
    size_t len)
{
	struct fake_owner	*o = arg;

	UNIT_ASSERT(a == o->a);
	UNIT_ASSERT(o->nheaders == 1 && o->ndone == 0);
	o->nbody++;
	if (o->lag > 0) {
		o->lag--;
		return 1;
	}
	if (o->body_len + len < FAKE_OWNER_BODY_MAX)	/* else count it */
		memcpy(o->body + o->body_len, data, len);
	o->body_len += len;
	fake_owner_maybe_cancel(o, FAKE_OWNER_CANCEL_IN_BODY);
	return 0;
}

/* attempt: record the end; a is freed when this returns. */
static void
fake_owner_done_cb(void *arg, struct attempt *a,
    const struct attempt_end *end)
{
	struct fake_owner	*o = arg;

	UNIT_ASSERT(a == o->a);
	UNIT_ASSERT(o->ndone == 0);
	o->ndone++;
	o->end = *end;
	fake_owner_maybe_cancel(o, FAKE_OWNER_CANCEL_IN_DONE);
	o->a = NULL;
}

/* Cancel the victim's attempt (o's own unless set) if now is the time. */
static void
fake_owner_maybe_cancel(struct fake_owner *o, enum fake_owner_cancel when)
{
	struct fake_owner	*v = o->victim != NULL ? o->victim : o;

	if (o->when != when)
		return;
	o->when = FAKE_OWNER_CANCEL_NONE;
	attempt_cancel(v->a);
	if (when != FAKE_OWNER_CANCEL_IN_DONE || v != o)
		v->a = NULL;
}

/* Make the world for one case: provider "p" with extra keys. */
void
fake_owner_setup(const char *keys)
{
	char	 text[1024];
	char	*cause = NULL;

	fake_loop_reset();
	fake_upstream_reset();		/* a failed case's leftovers */
	snprintf(text, sizeof text, FAKE_OWNER_CONF, keys);
	world.cf = config_load_string(text, "t.conf", &cause);
	if (world.cf == NULL)
		printf("# %s\n", cause);
	UNIT_ASSERT(world.cf != NULL);
	world.p = fake_provider_new(world.cf, "p");
	TAILQ_INIT(&world.fields);
	world.rq.method = "POST";
	world.rq.path = FAKE_OWNER_PATH;
	world.rq.headers = &world.fields;
	world.rq.body = FAKE_OWNER_REQUEST;
	world.rq.body_len = strlen(FAKE_OWNER_REQUEST);
}

/* Fail unless the books balance and nothing is left; free the world. */
void
fake_owner_teardown(void)
{
	fake_provider_assert_balanced(world.p);
	UNIT_ASSERT_INT_EQ(fake_loop_live(), 0);
	UNIT_ASSERT_INT_EQ(fake_provider_refs(world.p), 1);
	UNIT_ASSERT_INT_EQ(fake_upstream_reset(), 0);
	fake_provider_free(world.p);
	config_unref(world.cf);
	memset(&world, 0, sizeof world);
}

/* Return the world's provider. */
struct provider *
fake_owner_provider(void)
{
	return world.p;
}

/* Return the books of the world's provider. */
const struct fake_provider_books *
fake_owner_books(void)
{
	return fake_provider_books(world.p);
}

/* Start the world's request for o. */
void
fake_owner_start(struct fake_owner *o)
{
	o->a = attempt_start(world.p, world.cf, &world.rq, &fake_owner_cbs,
	    o);
	UNIT_ASSERT(o->a != NULL);
}

/* Decide waiting ticket i (its callback waits for a delivery). */
void
fake_owner_decide(size_t i, enum admit_verdict v)
{
	struct admit_ticket	*t = fake_provider_waiting(world.p, i);

	UNIT_ASSERT(t != NULL);
	fake_provider_decide(t, v);
}

/* Grant waiting ticket i, deliver it, return the transfer it began. */
struct upstream *
fake_owner_grant(size_t i)
{
	struct admit_ticket	*t = fake_provider_waiting(world.p, i);
	size_t			 n = fake_upstream_count();

	UNIT_ASSERT(t != NULL);
	fake_provider_decide(t, ADMIT_GRANTED);
	fake_provider_deliver(world.p);
	UNIT_ASSERT_INT_EQ(fake_upstream_count(), n + 1);
	return fake_upstream_last();
}

/* Play status, a Content-Type and NULL-ended name, value pairs on u. */
void
fake_owner_headers(struct upstream *u, int status, const char *type, ...)
{
	struct evkeyvalq	 q;
	va_list			 ap;
	const char		*k, *v;

	TAILQ_INIT(&q);
	if (type != NULL)
		evhttp_add_header(&q, "Content-Type", type);
	va_start(ap, type);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		evhttp_add_header(&q, k, v);
	}
	va_end(ap);
	fake_upstream_headers(u, status, &q);
	evhttp_clear_headers(&q);
}

/* Play a whole answer on u: status, type, one body piece, the end. */
void
fake_owner_reply(struct upstream *u, int status, const char *type,
    const char *body)
{
	fake_owner_headers(u, status, type, NULL);
	UNIT_ASSERT_INT_EQ(fake_upstream_body(u, body, strlen(body)), 0);
	fake_upstream_done(u, UPSTREAM_OK);
}

/* Fail unless o's attempt ended once, in this shape. */
void
fake_owner_assert_end(struct fake_owner *o, enum attempt_outcome oc,
    enum access_end end, int status, const char *code)
{
	UNIT_ASSERT_INT_EQ(o->ndone, 1);
	UNIT_ASSERT(o->a == NULL);
	UNIT_ASSERT_INT_EQ(o->end.outcome, oc);
	UNIT_ASSERT_INT_EQ(o->end.end, end);
	UNIT_ASSERT_INT_EQ(o->end.status, status);
	if (code == NULL)
		UNIT_ASSERT(o->end.code == NULL);
	else
		UNIT_ASSERT_STR_EQ(o->end.code, code);
}

/* Grant the first waiting ticket and fail its try; return the backoff. */
uint64_t
fake_owner_fail_try(int status, const char *retry_after_ms)
{
	struct upstream	*u = fake_owner_grant(0);

	if (status == 0)
		fake_upstream_done(u, UPSTREAM_CONNECT_FAILED);
	else if (retry_after_ms != NULL)
		fake_owner_headers(u, status, FAKE_OWNER_JSON,
		    "retry-after-ms", retry_after_ms, NULL);
	else
		fake_owner_headers(u, status, FAKE_OWNER_JSON, NULL);
	UNIT_ASSERT(status == 0 || fake_upstream_info(u)->cancelled);
	UNIT_ASSERT_INT_EQ(fake_provider_nwaiting(world.p), 0);
	return fake_loop_next_ms();
}
