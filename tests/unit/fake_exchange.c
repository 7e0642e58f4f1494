/* SPDX-License-Identifier: ISC */
/*
 * fake_exchange: exchange.h's calls on a record the test reads (see
 * fake_exchange.h).  It is strict where the real exchange's contract is:
 * nothing is sent after the end, the status goes once and before any
 * body byte, a refusal comes only before the status, and the owner's
 * closing() runs once; a breach fails the running test through
 * UNIT_ASSERT, naming the line.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "exchange.h"
#include "fake_exchange.h"
#include "unit.h"
#include "xmalloc.h"

struct exchange {
	const struct exchange_owner	*owner;
	void				*arg;
	struct exchange_note		 note;	/* strings: the config's */
	struct evkeyvalq		 fields;
	int				 lags;
	struct fake_exchange_seen	 seen;
	TAILQ_ENTRY(exchange)		 entry;
};

static TAILQ_HEAD(fake_exchange_list, exchange) fake_exchanges =
    TAILQ_HEAD_INITIALIZER(fake_exchanges);

static void	fake_exchange_close(struct exchange *ex, enum access_end end);

/* Return the last exchange made, or NULL. */
struct exchange *
fake_exchange_last(void)
{
	return TAILQ_LAST(&fake_exchanges, fake_exchange_list);
}

/* Return what was done to ex. */
const struct fake_exchange_seen *
fake_exchange_seen(struct exchange *ex)
{
	return &ex->seen;
}

/* Make ex lag or keep up. */
void
fake_exchange_set_lags(struct exchange *ex, int lags)
{
	ex->lags = lags;
}

/* Call the owner's drained(), as a drained output buffer does. */
void
fake_exchange_drain(struct exchange *ex)
{
	UNIT_ASSERT(!ex->seen.closed);
	ex->owner->drained(ex->arg);
}

/* Close ex as the hang-up watch does. */
void
fake_exchange_hang_up(struct exchange *ex, enum access_end end)
{
	fake_exchange_close(ex, end);
}

/* Free every exchange made; an open one is a leaked owner. */
void
fake_exchange_reset(void)
{
	struct exchange	*ex;

	while ((ex = TAILQ_FIRST(&fake_exchanges)) != NULL) {
		TAILQ_REMOVE(&fake_exchanges, ex, entry);
		free(ex->seen.provider);
		free(ex->seen.first);
		free(ex->seen.code);
		free(ex);
	}
}

/*
 * The one teardown: tell the owner once, from inside the call that ends
 * ex, as exchange_close() does (the owner frees itself there).
 */
static void
fake_exchange_close(struct exchange *ex, enum access_end end)
{
	UNIT_ASSERT_INT_EQ(ex->seen.closed, 0);
	UNIT_ASSERT(ex->owner != NULL);
	ex->seen.closed = 1;
	ex->seen.end = end;
	ex->owner->closing(ex->arg, end);
}

/* Take over a request; the fake keeps a record of its own. */
struct exchange *
exchange_new(const struct exchange_env *env, struct evhttp_request *req,
    struct config *cf, const struct provider_config *pc,
    struct metrics_provider *m, const char *target)
{
	struct exchange	*ex;

	ex = xcalloc(1, sizeof *ex);
	TAILQ_INIT(&ex->fields);
	TAILQ_INSERT_TAIL(&fake_exchanges, ex, entry);
	return ex;
}

/* Hand the response to owner. */
void
exchange_set_owner(struct exchange *ex, const struct exchange_owner *owner,
    void *arg)
{
	ex->owner = owner;
	ex->arg = arg;
}

/* Keep the note as the access line would read it. */
void
exchange_set_note(struct exchange *ex, const struct exchange_note *note)
{
	ex->note = *note;
}

/* No client is named in these tests: the default one. */
void
exchange_set_client(struct exchange *ex, struct client *c,
    enum queue_priority priority)
{
}

/* Return NULL: the default client, interactive. */
struct client *
exchange_client(const struct exchange *ex, enum queue_priority *priority)
{
	if (priority != NULL)
		*priority = QUEUE_INTERACTIVE;
	return NULL;
}

/* Return POST, as every chat request is. */
const char *
exchange_method(const struct exchange *ex)
{
	return "POST";
}

/* Return the request's (empty) field list. */
struct evkeyvalq *
exchange_request_headers(struct exchange *ex)
{
	return &ex->fields;
}

/* Return FAKE_EXCHANGE_BODY. */
const char *
exchange_body(struct exchange *ex, size_t *len)
{
	*len = strlen(FAKE_EXCHANGE_BODY);
	return FAKE_EXCHANGE_BODY;
}

/* Return what the test set. */
int
exchange_lags(struct exchange *ex)
{
	return ex->lags;
}

/* Record the status and whom the note names (x-llmproxy-provider). */
void
exchange_respond(struct exchange *ex, int status, struct evkeyvalq *fields)
{
	UNIT_ASSERT(!ex->seen.closed);
	UNIT_ASSERT_INT_EQ(ex->seen.status, 0);
	UNIT_ASSERT(ex->note.provider != NULL);
	ex->seen.status = status;
	ex->seen.provider = xstrdup(ex->note.provider);
	if (ex->note.first != NULL)
		ex->seen.first = xstrdup(ex->note.first);
}

/* Fields added before the status are not looked at. */
void
exchange_add_field(struct exchange *ex, const char *name, const char *value)
{
	UNIT_ASSERT(!ex->seen.closed && ex->seen.status == 0);
}

/* Record len body bytes (after the status only). */
void
exchange_write(struct exchange *ex, const char *data, size_t len)
{
	UNIT_ASSERT(!ex->seen.closed && ex->seen.status != 0);
	UNIT_ASSERT(ex->seen.body_len + len < sizeof ex->seen.body);
	memcpy(ex->seen.body + ex->seen.body_len, data, len);
	ex->seen.body_len += len;
}

/* Record the refusal (before any status) and end ex. */
void
exchange_refuse(struct exchange *ex, int status, enum access_end end,
    const char *code, const char *message, uint64_t retry_ms)
{
	UNIT_ASSERT(!ex->seen.closed && ex->seen.status == 0);
	UNIT_ASSERT(ex->note.provider != NULL);
	ex->seen.status = status;
	ex->seen.refused = 1;
	ex->seen.provider = xstrdup(ex->note.provider);
	if (code != NULL)
		ex->seen.code = xstrdup(code);
	fake_exchange_close(ex, end);
}

/* Record a complete response and end ex. */
void
exchange_end(struct exchange *ex, enum access_end end)
{
	UNIT_ASSERT(!ex->seen.closed && ex->seen.status != 0);
	ex->seen.ended = 1;
	fake_exchange_close(ex, end);
}

/* Record a broken response and end ex. */
void
exchange_break(struct exchange *ex, enum access_end end, const char *code,
    const char *message)
{
	UNIT_ASSERT(!ex->seen.closed && ex->seen.status != 0);
	ex->seen.ended = ex->seen.broke = 1;
	if (code != NULL)
		ex->seen.code = xstrdup(code);
	fake_exchange_close(ex, end);
}

/* Record a dropped client and end ex. */
void
exchange_drop(struct exchange *ex, enum access_end end)
{
	UNIT_ASSERT(!ex->seen.closed);
	ex->seen.ended = ex->seen.dropped = 1;
	fake_exchange_close(ex, end);
}
