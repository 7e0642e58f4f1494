/* SPDX-License-Identifier: ISC */
/*
 * fake_attempt: attempt.h on handles the test drives (see
 * fake_attempt.h).  Every callback is run with the attempt marked busy,
 * so a cancel from inside it is told apart from one from outside; an
 * attempt is over once done() ran or it was cancelled, and the real one
 * is freed then, so any later call on it fails the test.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "attempt.h"
#include "fake_attempt.h"
#include "unit.h"
#include "xmalloc.h"

struct attempt {
	struct fake_attempt_info	 info;
	const struct attempt_cbs	*cbs;
	void				*arg;
	struct attempt_stats		 stats;
	int				 busy;	/* in one of its callbacks */
	TAILQ_ENTRY(attempt)		 entry;
};

static TAILQ_HEAD(, attempt)	fake_attempts =
    TAILQ_HEAD_INITIALIZER(fake_attempts);

static void	fake_attempt_assert_live(const struct attempt *a);

/* Fail the test if a is over (freed, in the real module). */
static void
fake_attempt_assert_live(const struct attempt *a)
{
	UNIT_ASSERT(a != NULL);
	UNIT_ASSERT(!a->info.cancelled);
	UNIT_ASSERT(!a->info.finished);
}

/* Record the start; no callback runs until the test drives one. */
struct attempt *
attempt_start(struct provider *p, struct config *cf,
    const struct attempt_request *rq, const struct attempt_cbs *cbs,
    void *arg)
{
	struct attempt	*a;

	a = xcalloc(1, sizeof *a);
	a->info.provider = p;
	a->info.method = xstrdup(rq->method);
	a->info.path = xstrdup(rq->path);
	a->info.body = xmalloc(rq->body_len + 1);
	memcpy(a->info.body, rq->body, rq->body_len);
	a->info.body[rq->body_len] = '\0';
	a->cbs = cbs;
	a->arg = arg;
	a->stats.estimate = -1;
	TAILQ_INSERT_TAIL(&fake_attempts, a, entry);
	return a;
}

/* Count a resume (the test offers the bytes again itself). */
void
attempt_resume(struct attempt *a)
{
	fake_attempt_assert_live(a);
	a->info.resumes++;
}

/* Mark a cancelled: from anywhere, its own callbacks included, once. */
void
attempt_cancel(struct attempt *a)
{
	fake_attempt_assert_live(a);
	a->info.cancelled = 1;
	a->info.cancelled_in_cb = a->busy;
}

/* Return what the test set. */
void
attempt_stats(const struct attempt *a, struct attempt_stats *st)
{
	fake_attempt_assert_live(a);
	*st = a->stats;
}

/* No fake answer is a stream. */
int
attempt_is_sse(const struct attempt *a)
{
	return 0;
}

/* Return the provider a was started on. */
struct provider *
attempt_provider(const struct attempt *a)
{
	fake_attempt_assert_live(a);
	return a->info.provider;
}

/* Return how many attempts were started. */
size_t
fake_attempt_count(void)
{
	struct attempt	*a;
	size_t		 n = 0;

	TAILQ_FOREACH(a, &fake_attempts, entry)
		n++;
	return n;
}

/* Return the i-th attempt started, or NULL. */
struct attempt *
fake_attempt_nth(size_t i)
{
	struct attempt	*a;

	TAILQ_FOREACH(a, &fake_attempts, entry) {
		if (i-- == 0)
			return a;
	}
	return NULL;
}

/* Return a's record. */
const struct fake_attempt_info *
fake_attempt_info(struct attempt *a)
{
	UNIT_ASSERT(a != NULL);
	return &a->info;
}

/* Set a's stats. */
void
fake_attempt_set_stats(struct attempt *a, const struct attempt_stats *st)
{
	a->stats = *st;
}

/* Deliver a's final status with an empty field list. */
void
fake_attempt_headers(struct attempt *a, int status)
{
	struct evkeyvalq	fields;

	fake_attempt_assert_live(a);
	TAILQ_INIT(&fields);
	a->busy = 1;
	a->cbs->headers(a->arg, a, status, &fields);
	a->busy = 0;
}

/* Deliver body bytes; return the owner's answer. */
int
fake_attempt_body(struct attempt *a, const char *data)
{
	int	rc;

	fake_attempt_assert_live(a);
	a->busy = 1;
	rc = a->cbs->body(a->arg, a, data, strlen(data));
	a->busy = 0;
	return rc;
}

/* End a; it is over when done() returns. */
void
fake_attempt_done(struct attempt *a, enum attempt_outcome outcome,
    enum access_end end, int status, const char *code)
{
	struct attempt_end	e;

	fake_attempt_assert_live(a);
	memset(&e, 0, sizeof e);
	e.outcome = outcome;
	e.end = end;
	e.status = status;
	e.code = code;
	e.message = code;
	a->busy = 1;
	a->cbs->done(a->arg, a, &e);
	a->busy = 0;
	UNIT_ASSERT(!a->info.cancelled);	/* cancelled while ending */
	a->info.finished = 1;
}

/* Forget every attempt; return how many were left running. */
size_t
fake_attempt_reset(void)
{
	struct attempt	*a;
	size_t		 running = 0;

	while ((a = TAILQ_FIRST(&fake_attempts)) != NULL) {
		TAILQ_REMOVE(&fake_attempts, a, entry);
		running += !a->info.cancelled && !a->info.finished;
		free(a->info.method);
		free(a->info.path);
		free(a->info.body);
		free(a);
	}
	return running;
}
