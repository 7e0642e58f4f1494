/* SPDX-License-Identifier: ISC */
/*
 * batch: the owner of a /batch exchange (see batch.h).
 *
 * Every item runs as an attempt with the batch as its owner.  An item's
 * answer is kept (its status, its end-to-end fields, its body up to
 * max_body_size) until it ends; then it becomes a result object, written
 * at once (as_completed) or when the last item ends (all).  In mode
 * first, the first item whose headers are 2xx becomes the response: the
 * others are cancelled at that moment, from inside the winner's callback
 * (attempt_cancel() is safe there), and the winner's body streams under
 * the client's backpressure.  The deadline cancels whatever still runs.
 * When the exchange closes first (the client left, a shutdown), every
 * item still running is cancelled and logged as such.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "access.h"
#include "attempt.h"
#include "batch.h"
#include "batchreq.h"
#include "clock.h"
#include "config.h"
#include "deadline.h"
#include "exchange.h"
#include "headers.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "upstream.h"
#include "xmalloc.h"

struct batch;

/* One item of a batch, running or ended. */
struct batch_run {
	struct batch		*b;
	size_t			 index;
	const struct batch_item	*it;
	const struct provider_config *pc;
	struct provider		*prov;		/* referenced; NULL: none */
	struct attempt		*a;		/* NULL when not running */
	struct evkeyvalq	 fields;	/* what it sends */
	struct attempt_request	 rq;
	struct attempt_stats	 st;
	int			 ended;
	int			 paused;	/* the winner waits to drain */
	int			 status;	/* the upstream's; 0: none */
	json_t			*headers;	/* its end-to-end fields */
	struct evbuffer		*body;
	const char		*code;		/* the daemon's error, if any */
	const char		*message;
	enum access_end		 end;
};

struct batch {
	struct exchange		*ex;
	struct config		*cf;		/* referenced */
	struct batch_request	*br;
	struct batch_run	*runs;
	size_t			 left;		/* items not ended */
	struct deadline		*deadline;
	struct batch_run	*winner;	/* mode first */
	struct batch_run	*last_failed;	/* mode first */
	int			 finished;	/* the response was ended */
	uint64_t		 arrive_ms;
	char			 id[24];
};

static uint64_t	batch_seq;

static int	batch_prepare(struct batch *b, size_t i);
static void	batch_launch(struct batch *b);
static void	batch_headers_cb(void *arg, struct attempt *a, int status,
		    struct evkeyvalq *headers);
static void	batch_win(struct batch_run *r, int status,
		    struct evkeyvalq *headers);
static json_t	*batch_fields_json(struct evkeyvalq *headers);
static int	batch_body_cb(void *arg, struct attempt *a, const char *data,
		    size_t len);
static void	batch_done_cb(void *arg, struct attempt *a,
		    const struct attempt_end *e);
static void	batch_fail_run(struct batch_run *r, enum access_end end,
		    const char *code, const char *message);
static void	batch_stop_run(struct batch_run *r, enum access_end end,
		    const char *code, const char *message);
static void	batch_ended(struct batch_run *r);
static void	batch_record(struct batch_run *r);
static json_t	*batch_result(struct batch_run *r);
static void	batch_write_line(struct batch *b, struct batch_run *r);
static void	batch_finish(struct batch *b);
static void	batch_answer_all(struct batch *b);
static void	batch_no_winner(struct batch *b);
static void	batch_note(struct batch *b, struct batch_run *r);
static void	batch_deadline_cb(void *arg);
static void	batch_drained_cb(void *arg);
static void	batch_closing_cb(void *arg, enum access_end end);

static const struct attempt_cbs batch_attempt_cbs = {
	batch_headers_cb, batch_body_cb, batch_done_cb
};
static const struct exchange_owner batch_owner = {
	batch_drained_cb, batch_closing_cb
};

/* Run the batch req carries under cf. */
void
batch_start(const struct exchange_env *env, struct evhttp_request *req,
    struct config *cf, struct client *client, enum queue_priority priority)
{
	struct batch	*b;
	const char	*body;
	char		*cause = NULL;
	size_t		 len, i;
	int		 status;

	b = xcalloc(1, sizeof *b);
	b->arrive_ms = clock_now_ms();
	b->cf = config_ref(cf);
	b->ex = exchange_new(env, req, cf, NULL, metrics_unrouted(), "/batch");
	exchange_set_client(b->ex, client, priority);
	exchange_set_owner(b->ex, &batch_owner, b);
	body = exchange_body(b->ex, &len);
	if ((b->br = batchreq_parse(cf, body, len, &status, &cause)) == NULL) {
		exchange_refuse(b->ex, status, status == 413 ?
		    ACCESS_TOO_LARGE : ACCESS_BAD_REQUEST, status == 413 ?
		    "llmproxy_batch_too_large" : "llmproxy_bad_batch", cause, 0);
		free(cause);
		return;
	}
	snprintf(b->id, sizeof b->id, "%" PRIu64, ++batch_seq);
	metrics_count_batch((int)b->br->mode);
	b->runs = xcalloc(b->br->nitems, sizeof *b->runs);
	b->left = b->br->nitems;
	for (i = 0; i < b->br->nitems; i++)
		(void)batch_prepare(b, i);
	if (b->br->mode == BATCH_FIRST)
		exchange_set_dialect(b->ex, b->runs[0].pc);
	b->deadline = deadline_new(batch_deadline_cb, b);
	deadline_arm(b->deadline, b->br->deadline);
	if (b->br->mode == BATCH_AS_COMPLETED) {
		exchange_add_field(b->ex, "Content-Type", "application/x-ndjson");
		exchange_respond(b->ex, 200, NULL);
	}
	batch_launch(b);
}

/* Set item i up: its provider, the fields it sends; 0 if it can run. */
static int
batch_prepare(struct batch *b, size_t i)
{
	struct batch_run	*r = &b->runs[i];
	const struct batch_item	*it = &b->br->items[i];
	size_t			 f;

	r->b = b;
	r->index = i;
	r->it = it;
	r->pc = &b->cf->providers[it->provider];
	r->end = ACCESS_OK;
	TAILQ_INIT(&r->fields);
	for (f = 0; f < it->nfields; f++)
		evhttp_add_header(&r->fields, it->fields[f].name,
		    it->fields[f].value);
	if (it->body != NULL && evhttp_find_header(&r->fields,
	    "Content-Type") == NULL)
		evhttp_add_header(&r->fields, "Content-Type",
		    "application/json");
	r->rq.method = it->method;
	r->rq.path = it->path;
	r->rq.headers = &r->fields;
	r->rq.body = it->body;
	r->rq.body_len = it->body_len;
	r->rq.client = exchange_client(b->ex, &r->rq.priority);
	if ((r->prov = provider_find(r->pc->name)) != NULL)
		provider_ref(r->prov);
	return r->prov != NULL;
}

/*
 * Start every item that can run; end at once those that cannot (a
 * stream outside mode first, a provider gone in a reload).  The last of
 * those may end the batch: nothing touches b after.
 */
static void
batch_launch(struct batch *b)
{
	struct batch_run	*r;
	size_t			 i, n = b->br->nitems;

	for (i = 0; i < n; i++) {
		r = &b->runs[i];
		if (r->prov != NULL && (!r->it->stream ||
		    b->br->mode == BATCH_FIRST)) {
			r->a = attempt_start(r->prov, b->cf, &r->rq,
			    &batch_attempt_cbs, r);
			continue;
		}
		if (r->prov == NULL)
			r->code = "llmproxy_provider_removed";
		else
			r->code = "llmproxy_batch_stream_unsupported";
		r->message = r->prov == NULL ? "this provider was removed "
		    "from the configuration" : "streaming answers are "
		    "allowed in mode first only";
		r->end = ACCESS_BAD_REQUEST;
		if (b->left == 1) {
			batch_ended(r);		/* may free b */
			return;
		}
		batch_ended(r);
	}
}

/* attempt: an item's final status and fields. */
static void
batch_headers_cb(void *arg, struct attempt *a, int status,
    struct evkeyvalq *headers)
{
	struct batch_run	*r = arg;
	struct batch		*b = r->b;

	r->status = status;
	if (b->br->mode == BATCH_FIRST && b->winner == NULL &&
	    status >= 200 && status < 300) {
		batch_win(r, status, headers);
		return;
	}
	r->headers = batch_fields_json(headers);
	if ((r->body = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
}

/*
 * The race is won: cancel every other item (each gives back its slot
 * and reservation now) and answer with r's status and fields.
 */
static void
batch_win(struct batch_run *r, int status, struct evkeyvalq *headers)
{
	struct batch	*b = r->b;
	char		 buf[24];
	size_t		 i;

	b->winner = r;
	deadline_stop(b->deadline);
	for (i = 0; i < b->br->nitems; i++) {
		if (&b->runs[i] != r && !b->runs[i].ended)
			batch_stop_run(&b->runs[i], ACCESS_CANCELLED,
			    "llmproxy_cancelled", "another item answered first");
	}
	batch_note(b, r);
	snprintf(buf, sizeof buf, "%zu", r->index);
	exchange_add_field(b->ex, "x-llmproxy-batch-index", buf);
	exchange_respond(b->ex, status, headers);
}

/* Return headers' end-to-end fields as a JSON object, names lower-case. */
static json_t *
batch_fields_json(struct evkeyvalq *headers)
{
	json_t		*o = json_object();
	struct evkeyval	*h;
	char		*conn, *name, *joined;
	const char	*was;
	size_t		 i;

	conn = upstream_connection_tokens(headers);
	TAILQ_FOREACH(h, headers, next) {
		if (headers_is_hop_by_hop(h->key, conn))
			continue;
		name = xstrdup(h->key);
		for (i = 0; name[i] != '\0'; i++)
			name[i] = (char)tolower((unsigned char)name[i]);
		was = json_string_value(json_object_get(o, name));
		if (was != NULL) {
			xasprintf(&joined, "%s, %s", was, h->value);
			json_object_set_new(o, name, json_string(joined));
			free(joined);
		} else
			json_object_set_new(o, name, json_string(h->value));
		free(name);
	}
	free(conn);
	return o;
}

/* attempt: an item's body bytes: the winner's go out, others are kept. */
static int
batch_body_cb(void *arg, struct attempt *a, const char *data, size_t len)
{
	struct batch_run	*r = arg;
	struct batch		*b = r->b;

	if (b->winner == r) {
		if (exchange_lags(b->ex)) {
			r->paused = 1;
			return 1;	/* offered again after the drain */
		}
		exchange_write(b->ex, data, len);
		return 0;
	}
	if (evbuffer_get_length(r->body) + len >
	    (size_t)b->cf->max_body_size) {
		batch_stop_run(r, ACCESS_UPSTREAM_ERROR,
		    "llmproxy_batch_answer_too_large", "the item's answer is "
		    "larger than max_body_size");
		return 1;		/* cancelled: the transfer stops */
	}
	if (evbuffer_add(r->body, data, len) == -1)
		fatalx("%s: out of memory", __func__);
	return 0;
}

/* attempt: an item is over (the attempt is freed when this returns). */
static void
batch_done_cb(void *arg, struct attempt *a, const struct attempt_end *e)
{
	struct batch_run	*r = arg;
	struct batch		*b = r->b;

	attempt_stats(a, &r->st);
	r->a = NULL;
	if (b->winner == r) {
		batch_note(b, r);
		r->ended = 1;
		r->end = e->end;
		batch_record(r);
		if (e->outcome == ATTEMPT_COMPLETE)
			exchange_end(b->ex, e->end);
		else if (e->end == ACCESS_CLIENT_STALLED)
			exchange_drop(b->ex, e->end);
		else
			exchange_break(b->ex, e->end, e->code, e->message);
		return;
	}
	if (e->outcome == ATTEMPT_COMPLETE) {
		r->end = ACCESS_OK;
		batch_ended(r);
		return;
	}
	batch_fail_run(r, e->end, e->code, e->message);
	batch_ended(r);
}

/* Note that r got no whole answer: the daemon's code says why. */
static void
batch_fail_run(struct batch_run *r, enum access_end end, const char *code,
    const char *message)
{
	r->end = end;
	r->code = code;
	r->message = message;
	if (r->body != NULL)
		evbuffer_drain(r->body, evbuffer_get_length(r->body));
}

/* Cancel r where it is and end it with code (a loser, a deadline). */
static void
batch_stop_run(struct batch_run *r, enum access_end end, const char *code,
    const char *message)
{
	if (r->a != NULL) {
		attempt_stats(r->a, &r->st);
		attempt_cancel(r->a);
		r->a = NULL;
	}
	batch_fail_run(r, end, code, message);
	batch_ended(r);
}

/*
 * r ended: log it, hand its result on, and finish the batch with the
 * last item (which may free b: the callers touch nothing after).
 */
static void
batch_ended(struct batch_run *r)
{
	struct batch	*b = r->b;

	r->ended = 1;
	b->left--;
	batch_record(r);
	if (b->finished)
		return;			/* a loser cancelled by the winner */
	if (b->br->mode == BATCH_AS_COMPLETED)
		batch_write_line(b, r);
	if (b->br->mode == BATCH_FIRST)
		b->last_failed = r;
	if (b->left == 0)
		batch_finish(b);
}

/* Write r's access line: an item is a request of its own. */
static void
batch_record(struct batch_run *r)
{
	struct access_entry	e;
	uint64_t		now = clock_now_ms();

	memset(&e, 0, sizeof e);
	e.provider = r->pc->name;
	e.method = r->it->method;
	e.target = r->it->path;
	e.status = r->code != NULL ? 0 : r->status;
	e.end = r->end;
	e.queue_ms = r->st.queue_ms;
	e.upstream_ms = r->st.admit_ms != 0 ? now - r->st.admit_ms : 0;
	e.duration_ms = now - r->b->arrive_ms;
	e.timed = 1;
	e.bytes_in = r->it->body_len;
	e.bytes_out = r->body != NULL ? evbuffer_get_length(r->body) : 0;
	e.attempts = r->st.tries;
	e.estimate = r->st.tries > 0 ? r->st.estimate : -1;
	e.batch = r->b->id;
	e.model = r->st.model;
	e.model_metrics = r->st.model_metrics;
	access_record(metrics_provider(r->pc->name), &e);
}

/* Return r's result object (SPEC 12). */
static json_t *
batch_result(struct batch_run *r)
{
	json_t		*o, *body;
	const char	*text;
	size_t		 len;

	o = json_pack("{s:I,s:s}", "index", (json_int_t)r->index, "provider",
	    r->pc->name);
	if (r->code != NULL) {
		json_object_set_new(o, "status", json_integer(0));
		json_object_set_new(o, "error", json_pack("{s:s,s:s}", "code",
		    r->code, "message", r->message));
	} else {
		json_object_set_new(o, "status", json_integer(r->status));
		json_object_set(o, "headers", r->headers);
		len = evbuffer_get_length(r->body);
		text = (const char *)evbuffer_pullup(r->body, -1);
		if (len > 0 && (body = json_loadb(text, len, JSON_DECODE_ANY,
		    NULL)) != NULL)
			json_object_set_new(o, "body", body);
		else	/* not JSON; null if not UTF-8 text either */
			json_object_set_new(o, "body_text",
			    json_stringn(len > 0 ? text : "", len));
	}
	json_object_set_new(o, "attempts", json_integer(r->st.tries));
	json_object_set_new(o, "queue_ms", json_integer(
	    (json_int_t)r->st.queue_ms));
	return o;
}

/* as_completed: write r's result as one NDJSON line. */
static void
batch_write_line(struct batch *b, struct batch_run *r)
{
	json_t	*o = batch_result(r);
	char	*line;

	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (line == NULL)
		return;
	exchange_write(b->ex, line, strlen(line));
	exchange_write(b->ex, "\n", 1);
	free(line);
}

/* Every item ended: answer the way the mode says. */
static void
batch_finish(struct batch *b)
{
	b->finished = 1;
	batch_note(b, NULL);
	switch (b->br->mode) {
	case BATCH_ALL:
		batch_answer_all(b);
		break;
	case BATCH_AS_COMPLETED:
		exchange_end(b->ex, ACCESS_OK);
		break;
	case BATCH_FIRST:
		batch_no_winner(b);
		break;
	}
}

/* Mode all: one JSON object, the results in input order. */
static void
batch_answer_all(struct batch *b)
{
	json_t	*results = json_array(), *root;
	char	*text;
	size_t	 i;

	for (i = 0; i < b->br->nitems; i++)
		json_array_append_new(results, batch_result(&b->runs[i]));
	root = json_pack("{s:o}", "results", results);
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	exchange_add_field(b->ex, "Content-Type", "application/json");
	exchange_respond(b->ex, 200, NULL);
	if (text != NULL)
		exchange_write(b->ex, text, strlen(text));
	free(text);
	exchange_end(b->ex, ACCESS_OK);
}

/* Mode first with no 2xx: 502 with the error of the last to fail. */
static void
batch_no_winner(struct batch *b)
{
	struct batch_run	*r = b->last_failed;
	char			*msg;

	if (r->code != NULL)
		xasprintf(&msg, "no item answered 2xx; the last to fail was "
		    "item %zu: %s", r->index, r->message);
	else
		xasprintf(&msg, "no item answered 2xx; the last to fail was "
		    "item %zu: status %d from its provider", r->index,
		    r->status);
	exchange_refuse(b->ex, 502, ACCESS_UPSTREAM_ERROR, r->code != NULL ?
	    r->code : "llmproxy_batch_no_success", msg, 0);
	free(msg);
}

/* Tell the exchange what the batch's own access line reports. */
static void
batch_note(struct batch *b, struct batch_run *winner)
{
	struct exchange_note	note;
	size_t			i;

	memset(&note, 0, sizeof note);
	note.provider = winner != NULL ? winner->pc->name : NULL;
	note.estimate = -1;
	for (i = 0; i < b->br->nitems; i++) {
		note.attempts += b->runs[i].st.tries;
		if (b->runs[i].st.queue_ms > note.queue_ms)
			note.queue_ms = b->runs[i].st.queue_ms;
	}
	exchange_set_note(b->ex, &note);
}

/* The batch's deadline passed: cancel what still runs. */
static void
batch_deadline_cb(void *arg)
{
	struct batch	*b = arg;
	size_t		 i, n = b->br->nitems;

	if (b->br->mode == BATCH_FIRST) {
		exchange_refuse(b->ex, 504, ACCESS_BATCH_DEADLINE,
		    "llmproxy_batch_deadline", "no item answered 2xx before "
		    "the batch's deadline", 0);
		return;
	}
	for (i = 0; i < n; i++) {
		if (b->runs[i].ended)
			continue;
		if (b->left == 1) {	/* the last: it ends the batch */
			batch_stop_run(&b->runs[i], ACCESS_BATCH_DEADLINE,
			    "llmproxy_batch_deadline", "the batch's deadline "
			    "passed first");
			return;
		}
		batch_stop_run(&b->runs[i], ACCESS_BATCH_DEADLINE,
		    "llmproxy_batch_deadline", "the batch's deadline passed "
		    "first");
	}
}

/* exchange: the client took what was queued; resume the winner. */
static void
batch_drained_cb(void *arg)
{
	struct batch		*b = arg;
	struct batch_run	*r = b->winner;

	if (r != NULL && r->paused && r->a != NULL) {
		r->paused = 0;
		attempt_resume(r->a);
	}
}

/*
 * exchange: the response is over or the client gone: cancel every item
 * still running (logged with how the exchange ended), free b.
 */
static void
batch_closing_cb(void *arg, enum access_end end)
{
	struct batch		*b = arg;
	struct batch_run	*r;
	size_t			 i, n = b->br != NULL ? b->br->nitems : 0;

	b->finished = 1;
	for (i = 0; i < n; i++) {
		r = &b->runs[i];
		if (!r->ended)
			batch_stop_run(r, end == ACCESS_OK ? ACCESS_CANCELLED :
			    end, "llmproxy_cancelled", "the batch ended");
		if (r->prov != NULL)
			provider_unref(r->prov);
		evhttp_clear_headers(&r->fields);
		json_decref(r->headers);
		if (r->body != NULL)
			evbuffer_free(r->body);
	}
	deadline_free(b->deadline);
	batchreq_free(b->br);
	free(b->runs);
	config_unref(b->cf);
	free(b);
}
