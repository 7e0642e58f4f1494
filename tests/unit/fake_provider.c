/* SPDX-License-Identifier: ISC */
/*
 * fake_provider: provider.h's admission calls on books the test reads
 * (see fake_provider.h).  It is strict where provider.c is strict (a
 * ticket asks only when idle and slotless, a slot is released only while
 * held, by an idle ticket) and fails the test through UNIT_ASSERT rather
 * than abort, so the report names the line that broke the contract.  The
 * ticket's queue place (qt) is the backend's; the fake keeps its provider
 * there.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "clock.h"
#include "config.h"
#include "fake_provider.h"
#include "headers.h"
#include "metrics.h"
#include "provider.h"
#include "unit.h"
#include "xmalloc.h"

enum fake_slot {
	FAKE_SLOT_NONE,
	FAKE_SLOT_HELD,
	FAKE_SLOT_RELEASED,
	FAKE_SLOT_HANDED_BACK
};

struct provider {
	struct config			*cf;	/* referenced: pc lives in it */
	const struct provider_config	*pc;
	struct metrics_provider		*m;
	unsigned			 refs;
	uint64_t			 retry_after_ms;
	TAILQ_HEAD(, admit_ticket)	 waiting;
	TAILQ_HEAD(, admit_ticket)	 deliveries;
	enum fake_slot			 slots[FAKE_PROVIDER_MAX + 1];
	uint64_t			 last_slot;
	struct fake_provider_books	 books;
	TAILQ_ENTRY(provider)		 entry;	/* provider_find()'s */
};

/* The live fake providers, for provider_find(). */
static TAILQ_HEAD(, provider)	fake_providers =
    TAILQ_HEAD_INITIALIZER(fake_providers);

static size_t	fake_provider_count(struct provider *p, int delivering);
static void	fake_provider_give_back(struct provider *p,
		    struct admit_ticket *t, enum fake_slot how);

/* Return a fake provider for cf's provider name. */
struct provider *
fake_provider_new(struct config *cf, const char *name)
{
	struct provider	*p;

	p = xcalloc(1, sizeof *p);
	p->pc = config_find_provider(cf, name, strlen(name));
	UNIT_ASSERT(p->pc != NULL);
	p->cf = config_ref(cf);
	p->m = metrics_provider(name);
	p->refs = 1;
	p->retry_after_ms = 1000;
	TAILQ_INIT(&p->waiting);
	TAILQ_INIT(&p->deliveries);
	TAILQ_INSERT_TAIL(&fake_providers, p, entry);
	return p;
}

/* Free p; the test's reference must be the last. */
void
fake_provider_free(struct provider *p)
{
	if (p == NULL)
		return;
	TAILQ_REMOVE(&fake_providers, p, entry);	/* even if it fails */
	UNIT_ASSERT_INT_EQ(p->refs, 1);
	config_unref(p->cf);
	free(p);
}

/* Return p's books. */
const struct fake_provider_books *
fake_provider_books(struct provider *p)
{
	return &p->books;
}

/* Return the waiting ticket i, or NULL. */
struct admit_ticket *
fake_provider_waiting(struct provider *p, size_t i)
{
	struct admit_ticket	*t;

	TAILQ_FOREACH(t, &p->waiting, entry) {
		if (i-- == 0)
			return t;
	}
	return NULL;
}

/* Return the length of the waiting list, or of the decisions made. */
static size_t
fake_provider_count(struct provider *p, int delivering)
{
	struct admit_ticket	*t;
	size_t			 n = 0;

	if (delivering) {
		TAILQ_FOREACH(t, &p->deliveries, entry)
			n++;
	} else {
		TAILQ_FOREACH(t, &p->waiting, entry)
			n++;
	}
	return n;
}

/* Return how many tickets wait for a decision. */
size_t
fake_provider_nwaiting(struct provider *p)
{
	return fake_provider_count(p, 0);
}

/* Return how many decisions are made and not yet delivered. */
size_t
fake_provider_ndelivering(struct provider *p)
{
	return fake_provider_count(p, 1);
}

/* Decide the waiting ticket t; a grant takes a slot with a new id. */
void
fake_provider_decide(struct admit_ticket *t, enum admit_verdict v)
{
	struct provider	*p = t->qt.arg;

	UNIT_ASSERT(t->state == ADMIT_WAITING);
	TAILQ_REMOVE(&p->waiting, t, entry);
	if (v == ADMIT_GRANTED) {
		UNIT_ASSERT(p->last_slot < FAKE_PROVIDER_MAX);
		t->slot = ++p->last_slot;
		p->slots[t->slot] = FAKE_SLOT_HELD;
		p->books.granted++;
	}
	if (v == ADMIT_FULL)
		t->retry_ms = p->retry_after_ms;
	t->verdict = v;
	t->state = ADMIT_DELIVERING;
	TAILQ_INSERT_TAIL(&p->deliveries, t, entry);
}

/* Run the callbacks of every decision made, as provider.c's event does. */
void
fake_provider_deliver(struct provider *p)
{
	struct admit_ticket	*t;

	provider_ref(p);
	while ((t = TAILQ_FIRST(&p->deliveries)) != NULL) {
		TAILQ_REMOVE(&p->deliveries, t, entry);
		t->state = ADMIT_IDLE;
		t->decided(t, t->verdict, t->arg);
	}
	provider_unref(p);
}

/* Set what provider_retry_after_ms() answers. */
void
fake_provider_set_retry_after(struct provider *p, uint64_t ms)
{
	p->retry_after_ms = ms;
}

/* Return how many references p has. */
unsigned
fake_provider_refs(struct provider *p)
{
	return p->refs;
}

/* Fail the running test unless every slot came back once. */
void
fake_provider_assert_balanced(struct provider *p)
{
	uint64_t	i;

	UNIT_ASSERT_INT_EQ(fake_provider_nwaiting(p), 0);
	UNIT_ASSERT_INT_EQ(fake_provider_ndelivering(p), 0);
	for (i = 1; i <= p->last_slot; i++)
		UNIT_ASSERT(p->slots[i] == FAKE_SLOT_RELEASED ||
		    p->slots[i] == FAKE_SLOT_HANDED_BACK);
	UNIT_ASSERT_INT_EQ(p->books.released + p->books.handed_back,
	    p->books.granted);
}

/* Mark t's slot given back (how), failing the test unless it is held. */
static void
fake_provider_give_back(struct provider *p, struct admit_ticket *t,
    enum fake_slot how)
{
	UNIT_ASSERT(t->slot != 0 && t->slot <= p->last_slot);
	UNIT_ASSERT(p->slots[t->slot] == FAKE_SLOT_HELD);
	p->slots[t->slot] = how;
	t->slot = 0;
}

/* File t as waiting, for the test to decide. */
void
provider_request(struct provider *p, struct admit_ticket *t)
{
	UNIT_ASSERT(t->state == ADMIT_IDLE && t->slot == 0);
	UNIT_ASSERT(p->books.requests < FAKE_PROVIDER_MAX);
	p->books.front[p->books.requests] = t->front;
	p->books.tokens[p->books.requests++] = t->tokens;
	t->asked_ms = clock_now_ms();
	t->qt.arg = p;
	t->state = ADMIT_WAITING;
	TAILQ_INSERT_TAIL(&p->waiting, t, entry);
}

/* Take t back from wherever it is; hand back a grant on its way. */
void
provider_withdraw(struct provider *p, struct admit_ticket *t)
{
	switch (t->state) {
	case ADMIT_WAITING:
		TAILQ_REMOVE(&p->waiting, t, entry);
		p->books.withdrawals++;
		break;
	case ADMIT_DELIVERING:
		TAILQ_REMOVE(&p->deliveries, t, entry);
		p->books.withdrawals++;
		if (t->slot != 0) {
			fake_provider_give_back(p, t, FAKE_SLOT_HANDED_BACK);
			p->books.handed_back++;
		}
		break;
	case ADMIT_ASKING:		/* only the shared backend asks */
		UNIT_ASSERT(t->state != ADMIT_ASKING);
		break;
	case ADMIT_IDLE:
		break;
	}
	t->state = ADMIT_IDLE;
}

/* Give back t's slot, which must be held. */
void
provider_release(struct provider *p, struct admit_ticket *t,
    int64_t unused_tokens)
{
	UNIT_ASSERT(t->state == ADMIT_IDLE);
	fake_provider_give_back(p, t, FAKE_SLOT_RELEASED);
	p->books.released++;
	p->books.unused_tokens += unused_tokens;
}

/* Return what the test set. */
uint64_t
provider_retry_after_ms(struct provider *p, const struct admit_ticket *t)
{
	return p->retry_after_ms;
}

/* Count a correction of the token bucket. */
void
provider_reconcile(struct provider *p, const struct admit_ticket *t,
    int64_t delta)
{
	p->books.reconciles++;
	p->books.reconcile_delta += delta;
}

/* Count a refusal. */
void
provider_count_refusal(struct provider *p, enum provider_refusal why)
{
	p->books.refusals++;
}

/* Count a retry. */
void
provider_count_retry(struct provider *p)
{
	p->books.retries++;
}

/* Read the rate-limit fields as provider.c does (no buckets to lower). */
void
provider_observe(struct provider *p, const struct admit_ticket *t,
    const char *const *names, const char *const *values, size_t n,
    struct headers_ratelimit *rl)
{
	p->books.observed++;
	headers_parse_ratelimit(names, values, n, clock_wall_ms(), rl);
}

/* Count a pause and remember its length. */
void
provider_pause(struct provider *p, const struct admit_ticket *t,
    uint64_t ms)
{
	p->books.pauses++;
	p->books.pause_ms = ms;
}

/* The fake has no model groups: the provider's queue_timeout holds. */
double
provider_queue_timeout(const struct provider *p,
    const struct admit_ticket *t, double dflt)
{
	return dflt;
}

/* Never called: the fake's tickets have no group. */
const char *
provider_group_match(const struct provider_group *g)
{
	return NULL;
}

/* Never called: the fake's tickets have no group. */
struct metrics_model *
provider_group_metrics(const struct provider_group *g)
{
	return NULL;
}

/* Return the live fake provider called name, or NULL. */
struct provider *
provider_find(const char *name)
{
	struct provider	*p;

	TAILQ_FOREACH(p, &fake_providers, entry) {
		if (strcmp(p->pc->name, name) == 0)
			return p;
	}
	return NULL;
}

/* Return p's configuration. */
const struct provider_config *
provider_config(const struct provider *p)
{
	return p->pc;
}

/* Return p's metrics block, from metrics.c as the real one. */
struct metrics_provider *
provider_metrics(const struct provider *p)
{
	return p->m;
}

/* Take a reference. */
void
provider_ref(struct provider *p)
{
	p->refs++;
}

/* Drop a reference; the test's own is freed by fake_provider_free(). */
void
provider_unref(struct provider *p)
{
	UNIT_ASSERT(p->refs > 1);
	p->refs--;
}
