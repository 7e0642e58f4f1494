/* SPDX-License-Identifier: ISC */

/*
 * mock_reqlog: the log of the last requests, for tests that check what
 * the proxy sent upstream and when.  Each entry holds the method, URI,
 * header fields in order and body bytes of one request, in a single
 * allocation, with its arrival time and when it was answered or its
 * client left.  The log keeps at most cap entries and MOCK_LOG_BYTES
 * bytes, evicting the oldest.  Control requests are not logged.
 */

#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <jansson.h>

#include "mock.h"
#include "mock_reqlog.h"
#include "mock_state.h"

#define MOCK_LOG_BYTES		((size_t)256 * 1024 * 1024)

/* One logged request; its strings share one allocation, blob. */
struct logent {
	char		*blob;		/* NULL: the slot is empty */
	size_t		 bytes;
	uint64_t	 seq;
	uint64_t	 conn;
	const char	*method;
	const char	*id;		/* NULL if none was given */
	const char	*uri;
	const char	*hdrs;		/* nhdrs "name\0value\0" pairs */
	size_t		 nhdrs;
	const char	*body;
	size_t		 body_len;
	double		 arrival_ms;
	double		 finished_ms;	/* < 0: not yet */
	double		 closed_ms;	/* < 0: the client did not leave */
};

/* The last cap requests, entry seq in slot seq % cap. */
struct reqlog {
	struct logent	*ring;
	size_t		 cap;		/* 0: logging is off */
	size_t		 bytes;		/* held in blobs */
	uint64_t	 first;		/* no older seq is held */
};

static char	*mock_reqlog_put(char *, const char *);
static struct logent *mock_reqlog_get(uint64_t);
static void	 mock_reqlog_drop(struct logent *);
static void	 mock_reqlog_fill(struct logent *, struct exch *,
		    const char *, size_t, size_t);
static json_t	*mock_reqlog_entry_json(const struct logent *);

static struct reqlog	reqlog;

/* Copy s with its NUL to p; return the byte after it. */
static char *
mock_reqlog_put(char *p, const char *s)
{
	size_t	n = strlen(s) + 1;

	memcpy(p, s, n);
	return p + n;
}

/* Size the log for cap entries; 0 turns it off. */
void
mock_reqlog_init(size_t cap)
{
	reqlog.cap = cap;
	reqlog.first = 1;
	mock.next_seq = 1;
	if (cap > 0)
		reqlog.ring = mock_calloc(cap, sizeof(*reqlog.ring));
}

/* Return log entry seq, or NULL if it is not held. */
static struct logent *
mock_reqlog_get(uint64_t seq)
{
	struct logent	*e;

	if (reqlog.cap == 0)
		return NULL;
	e = &reqlog.ring[seq % reqlog.cap];
	return e->blob != NULL && e->seq == seq ? e : NULL;
}

/* Empty a log slot; NULL is fine. */
static void
mock_reqlog_drop(struct logent *e)
{
	if (e == NULL || e->blob == NULL)
		return;
	reqlog.bytes -= e->bytes;
	free(e->blob);
	e->blob = NULL;
}

/*
 * Log ex's request (body: len bytes) as entry ex->seq.  It evicts the
 * oldest entries to stay within cap entries and MOCK_LOG_BYTES.
 */
void
mock_reqlog_add(struct exch *ex, const char *body, size_t len)
{
	struct reqlog	*l = &reqlog;
	struct evkeyval	*kv;
	const char	*uri = evhttp_request_get_uri(ex->req);
	size_t		 need;

	if (l->cap == 0)
		return;
	need = strlen(uri) + 1 + len;
	if (ex->o.id != NULL)
		need += strlen(ex->o.id) + 1;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(ex->req), next)
		need += strlen(kv->key) + strlen(kv->value) + 2;
	if (ex->seq - l->first >= l->cap)
		l->first = ex->seq - l->cap + 1;
	mock_reqlog_drop(&l->ring[ex->seq % l->cap]);
	while (l->bytes + need > MOCK_LOG_BYTES && l->first < ex->seq)
		mock_reqlog_drop(mock_reqlog_get(l->first++));
	mock_reqlog_fill(&l->ring[ex->seq % l->cap], ex, body, len, need);
}

/* Fill log slot e for ex, in one blob of need bytes. */
static void
mock_reqlog_fill(struct logent *e, struct exch *ex, const char *body,
    size_t len, size_t need)
{
	struct evkeyval	*kv;
	char		*p;

	p = e->blob = mock_malloc(need);
	e->bytes = need;
	reqlog.bytes += need;
	e->seq = ex->seq;
	e->conn = ex->conn->serial;
	e->method = mock_method(evhttp_request_get_command(ex->req));
	e->arrival_ms = mock_now_ms();
	e->finished_ms = e->closed_ms = -1;
	e->uri = p;
	p = mock_reqlog_put(p, evhttp_request_get_uri(ex->req));
	e->id = ex->o.id != NULL ? p : NULL;
	if (ex->o.id != NULL)
		p = mock_reqlog_put(p, ex->o.id);
	e->hdrs = p;
	e->nhdrs = 0;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(ex->req), next) {
		p = mock_reqlog_put(p, kv->key);
		p = mock_reqlog_put(p, kv->value);
		e->nhdrs++;
	}
	e->body = p;
	e->body_len = len;
	if (len > 0)
		memcpy(p, body, len);
}

/* Note that we sent the last byte of entry seq (or closed it) at ms. */
void
mock_reqlog_finished(uint64_t seq, double ms)
{
	struct logent	*e;

	if ((e = mock_reqlog_get(seq)) != NULL)
		e->finished_ms = ms;
}

/* Note that the client of entry seq left early, at ms. */
void
mock_reqlog_closed(uint64_t seq, double ms)
{
	struct logent	*e;

	if ((e = mock_reqlog_get(seq)) != NULL)
		e->closed_ms = ms;
}

/* Drop every entry; sequence numbers go on, never reused. */
void
mock_reqlog_clear(void)
{
	size_t	i;

	for (i = 0; i < reqlog.cap; i++)
		mock_reqlog_drop(&reqlog.ring[i]);
	reqlog.first = mock.next_seq;
}

/* Drop every entry and the ring that held them. */
void
mock_reqlog_free(void)
{
	mock_reqlog_clear();
	free(reqlog.ring);
}

/* Describe one log entry in JSON. */
static json_t *
mock_reqlog_entry_json(const struct logent *e)
{
	json_t		*hdrs = json_array();
	const char	*p = e->hdrs, *name;
	size_t		 i;

	for (i = 0; i < e->nhdrs; i++) {
		name = p;
		p += strlen(p) + 1;
		json_array_append_new(hdrs, json_pack("[o,o]",
		    mock_json_str(name), mock_json_str(p)));
		p += strlen(p) + 1;
	}
	return json_pack("{s:I,s:o,s:s,s:o,s:o,s:o,s:I,s:f,s:o,s:b,s:o,s:I}",
	    "seq", (json_int_t)e->seq,
	    "id", e->id != NULL ? mock_json_str(e->id) : json_null(),
	    "method", e->method,
	    "uri", mock_json_str(e->uri),
	    "headers", hdrs,
	    "body", mock_json_bytes(e->body, e->body_len),
	    "body_len", (json_int_t)e->body_len,
	    "arrival_ms", e->arrival_ms,
	    "finished_ms", mock_json_ms(e->finished_ms),
	    "closed_early", e->closed_ms >= 0,
	    "closed_ms", mock_json_ms(e->closed_ms),
	    "conn", (json_int_t)e->conn);
}

/* Describe the whole log, oldest first: {"requests":[...]}. */
json_t *
mock_reqlog_json(void)
{
	json_t		*a = json_array();
	struct logent	*e;
	uint64_t	 seq = reqlog.first;

	if (mock.next_seq - seq > reqlog.cap)
		seq = mock.next_seq - reqlog.cap;
	for (; seq < mock.next_seq; seq++)
		if ((e = mock_reqlog_get(seq)) != NULL)
			json_array_append_new(a, mock_reqlog_entry_json(e));
	return json_pack("{s:o}", "requests", a);
}

