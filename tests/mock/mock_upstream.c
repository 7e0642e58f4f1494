/* SPDX-License-Identifier: ISC */

/*
 * mock_upstream: a fake LLM provider for the integration tests and the
 * benchmarks.  It answers POST /v1/chat/completions (OpenAI) and POST
 * /v1/messages (Anthropic), whole or streamed as server-sent events, and
 * echoes any other request back as JSON.  Request headers named x-mock-*
 * make it misbehave on purpose: delay, fail with a status, stall, reset,
 * truncate, trickle or answer garbage.  It keeps a bounded log of what it
 * received and serves that log and its counters under /_mock/.  It does
 * not check keys, count real tokens or speak anything but HTTP/1.x, and
 * it never logs per request, so that it can stand behind a proxy under
 * benchmark load.
 *
 * usage: mock_upstream [-p port] [-a address] [-n maxlog]
 *	Listens on address (127.0.0.1) port (0: any), prints "PORT <n>",
 *	logs the last maxlog (10000; 0: none) requests, exits 0 on SIGTERM.
 * Request headers:
 *	x-mock-delay-ms: N	wait before the status line
 *	x-mock-status: S	answer S with an error body (OpenAI shape,
 *				Anthropic's on /v1/messages)
 *	x-mock-error-code: C	the OpenAI error "code"
 *	x-mock-response-header: Name: value	(may repeat)
 *	x-mock-chunks: N	tokens (else max_tokens, else 5)
 *	x-mock-interval-ms: N	between stream tokens
 *	x-mock-chunk-bytes: N	pad each stream token's text to N bytes
 *	x-mock-stall: headers|body	send nothing (more) till the client goes
 *	x-mock-reset: headers|body	RST at once, or after the first chunk
 *				(half the JSON body)
 *	x-mock-truncate: 1	streams: no closing events; JSON: half the
 *				body, then close
 *	x-mock-trickle-ms: N	JSON body one byte every N ms, chunked
 *	x-mock-garbage: 1	"this is not http\r\n\r\n", then close
 *	x-mock-id: ID		recorded in the log
 * Control: GET /_mock/requests, GET /_mock/stats, POST /_mock/reset.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <jansson.h>

#define MOCK_DEFAULT_MAXLOG	10000
#define MOCK_MAX_MAXLOG		10000000L
#define MOCK_LOG_BYTES		((size_t)256 * 1024 * 1024)
#define MOCK_LISTEN_BACKLOG	4096
#define MOCK_HIGH_WATER		((size_t)256 * 1024)
#define MOCK_DEFAULT_CHUNKS	5
#define MOCK_MAX_CHUNKS		1000000L
#define MOCK_MAX_CHUNK_BYTES	(16L * 1024 * 1024)
#define MOCK_MAX_MS		86400000L	/* one day */
#define MOCK_GARBAGE		"this is not http\r\n\r\n"
#define MOCK_JSON_FLAGS		(JSON_COMPACT | JSON_REAL_PRECISION(15))
#define MOCK_METHODS		(EVHTTP_REQ_GET | EVHTTP_REQ_POST | \
    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | \
    EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS)

/* Fixed pieces of the answers; %s is the model, already JSON-encoded. */
#define OAI_CHUNK_HEAD	"data: {\"id\":\"chatcmpl-mock\",\"object\":" \
    "\"chat.completion.chunk\",\"created\":1700000000,\"model\":%s,"
#define OAI_DELTA_HEAD	"\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
#define OAI_DELTA_TAIL	"\"},\"finish_reason\":null}]}\n\n"
#define OAI_STOP	"\"choices\":[{\"index\":0,\"delta\":{}," \
    "\"finish_reason\":\"stop\"}]}\n\n"
#define OAI_USAGE	"\"choices\":[],\"usage\":{\"prompt_tokens\":%ld," \
    "\"completion_tokens\":%ld,\"total_tokens\":%ld}}\n\n"
#define OAI_DONE	"data: [DONE]\n\n"
#define OAI_BODY_HEAD	"{\"id\":\"chatcmpl-mock\",\"object\":" \
    "\"chat.completion\",\"created\":1700000000,\"model\":%s,\"choices\":" \
    "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""
#define OAI_BODY_TAIL	"\"},\"finish_reason\":\"stop\"}],\"usage\":{" \
    "\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld}}"
#define ANT_BODY_HEAD	"{\"id\":\"msg_mock\",\"type\":\"message\",\"role\":" \
    "\"assistant\",\"model\":%s,\"content\":[{\"type\":\"text\",\"text\":\""
#define ANT_BODY_TAIL	"\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":" \
    "null,\"usage\":{\"input_tokens\":%ld,\"output_tokens\":%ld}}"
#define ANT_START	"event: message_start\ndata: {\"type\":" \
    "\"message_start\",\"message\":{\"id\":\"msg_mock\",\"type\":\"message\"," \
    "\"role\":\"assistant\",\"model\":%s,\"content\":[],\"stop_reason\":null," \
    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":%ld," \
    "\"output_tokens\":1}}}\n\n" \
    "event: content_block_start\ndata: {\"type\":\"content_block_start\"," \
    "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
#define ANT_DELTA_HEAD	"event: content_block_delta\ndata: {\"type\":" \
    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\"," \
    "\"text\":\""
#define ANT_DELTA_TAIL	"\"}}\n\n"
#define ANT_END		"event: content_block_stop\ndata: {\"type\":" \
    "\"content_block_stop\",\"index\":0}\n\n" \
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":" \
    "{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":" \
    "{\"output_tokens\":%ld}}\n\n" \
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

enum mock_route { ROUTE_ECHO, ROUTE_OPENAI, ROUTE_ANTHROPIC };
enum mock_fault { FAULT_NONE, FAULT_HEADERS, FAULT_BODY };
enum mock_finish {
	FINISH_REPLY,		/* evhttp_send_reply() of ex->buf */
	FINISH_END,		/* evhttp_send_reply_end() */
	FINISH_CLOSE,		/* close the connection (FIN) */
	FINISH_RST,		/* reset the connection (RST) */
	FINISH_GARBAGE		/* write MOCK_GARBAGE, then close */
};

/* What the x-mock-* request headers asked for. */
struct mock_opts {
	long		 delay_ms;
	long		 status;
	long		 chunks;	/* -1: from max_tokens, or 5 */
	long		 interval_ms;
	long		 chunk_bytes;
	long		 trickle_ms;
	enum mock_fault	 stall;
	enum mock_fault	 reset;
	int		 truncate;
	int		 garbage;
	int		 resp_headers;	/* has x-mock-response-header */
	const char	*error_code;	/* in the request's headers */
	const char	*id;		/* in the request's headers */
};

/* One client connection, from accept to close. */
struct conn {
	struct bufferevent	 *bev;		/* made in mock_conn_bev_cb */
	struct evhttp_connection *evcon;	/* set once adopted */
	struct exch		 *ex;		/* the exchange in flight */
	uint64_t		  serial;
	evutil_socket_t		  fd;
	int			  adopted;	/* on the open list */
	TAILQ_ENTRY(conn)	  entry;	/* pending or open list */
};
TAILQ_HEAD(conn_list, conn);

/* One provider or echo request, from arrival to its last byte. */
struct exch {
	struct evhttp_request	*req;		/* handed back at the finish */
	struct conn		*conn;
	struct event		*timer;		/* delay, pacing, trickle */
	struct event		*watch;		/* is the client still there? */
	struct evbuffer		*buf;		/* the JSON body to send */
	struct evbuffer		*out;		/* scratch for each write */
	void			(*timer_step)(struct exch *);
	void			(*drain_step)(struct exch *);
	char			*model;		/* JSON-encoded, with quotes */
	uint64_t		 seq;
	enum mock_route		 route;
	int			 provider;	/* POST to a provider path */
	int			 code;
	int			 stream;
	int			 include_usage;
	long			 prompt_tokens;
	long			 sent;		/* stream events sent */
	struct mock_opts	 o;
};

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

/* An HTTP status and the error shapes the mock gives it. */
struct mock_status {
	int		 code;
	const char	*reason;
	const char	*oai_type;
	const char	*oai_code;
	const char	*ant_type;
};

struct mock_args {
	const char	*addr;
	int		 port;
	long		 maxlog;
};

static void	*mock_malloc(size_t);
static void	*mock_calloc(size_t, size_t);
static char	*mock_strdup(const char *);
static struct evbuffer *mock_evbuffer(void);
static double	 mock_now_ms(void);
static void	 mock_opts_set_long(long *, const char *, long);
static enum mock_fault mock_opts_fault(const char *);
static int	 mock_opts_flag(const char *);
static int	 mock_exch_has_token(const char *, const char *);
static const char *mock_method(enum evhttp_cmd_type);
static const struct mock_status *mock_status_find(int);
static const char *mock_reason(int);
static int	 mock_needs_body(int);
static size_t	 mock_utf8_len(const unsigned char *, size_t);
static json_t	*mock_json_bytes(const char *, size_t);
static json_t	*mock_json_str(const char *);
static json_t	*mock_json_ms(double);
static json_t	*mock_json_headers(struct evkeyvalq *);
static int	 mock_dump_cb(const char *, size_t, void *);
static void	 mock_json_out(struct evbuffer *, json_t *);
static char	*mock_reqlog_put(char *, const char *);
static void	 mock_answer_pad(struct evbuffer *, size_t);
static void	 mock_answer_tokens(struct evbuffer *, long);
static int	 mock_exch_add_header(struct evkeyvalq *, const char *);
static void	 mock_exch_rst(struct evhttp_connection *);
static void	 mock_exch_garbage(struct evhttp_connection *);

static void	 mock_reqlog_init(size_t);
static struct logent *mock_reqlog_get(uint64_t);
static void	 mock_reqlog_drop(struct logent *);
static void	 mock_reqlog_add(struct exch *, const char *, size_t);
static void	 mock_reqlog_fill(struct logent *, struct exch *, const char *,
		    size_t, size_t);
static void	 mock_reqlog_finished(uint64_t, double);
static void	 mock_reqlog_closed(uint64_t, double);
static void	 mock_reqlog_clear(void);
static json_t	*mock_reqlog_entry_json(const struct logent *);
static json_t	*mock_reqlog_json(void);

static struct conn *mock_conn_new(struct bufferevent *);
static void	 mock_conn_attach(struct conn *, struct evhttp_connection *,
		    evutil_socket_t);
static void	 mock_conn_free(struct conn *);
static struct conn *mock_conn_byfd(evutil_socket_t);
static void	 mock_conn_setfd(evutil_socket_t, struct conn *);
static struct bufferevent *mock_conn_bev_cb(struct event_base *, void *);
static void	 mock_conn_adopt_cb(evutil_socket_t, short, void *);
static void	 mock_conn_adopt_all(void);
static struct conn *mock_conn_lookup(struct evhttp_request *);
static void	 mock_conn_close_cb(struct evhttp_connection *, void *);

static struct exch *mock_exch_new(struct evhttp_request *, struct conn *,
		    const char *);
static void	 mock_opts_read(struct exch *);
static void	 mock_opts_apply(struct mock_opts *, const char *,
		    const char *);
static void	 mock_opts_normalize(struct mock_opts *);
static void	 mock_answer_plan(struct exch *, const char *, size_t);
static void	 mock_answer_read_request(struct exch *, json_t *);
static long	 mock_answer_prompt_tokens(json_t *);
static void	 mock_answer_completion(struct exch *);
static void	 mock_answer_error(struct exch *, int, const char *);
static void	 mock_answer_echo(struct exch *, const char *, size_t);
static int	 mock_exch_simple(const struct exch *);
static void	 mock_exch_begin(struct exch *);
static void	 mock_exch_respond(struct exch *);
static void	 mock_exch_headers(struct exch *, const char *);
static void	 mock_exch_start_unframed(struct exch *, int);
static void	 mock_exch_complete_cb(struct evhttp_request *, void *);
static void	 mock_exch_after(struct exch *, long, void (*)(struct exch *));
static void	 mock_exch_timer_cb(evutil_socket_t, short, void *);
static void	 mock_exch_watch(struct exch *);
static void	 mock_exch_watch_cb(evutil_socket_t, short, void *);
static void	 mock_exch_drained_cb(struct evhttp_connection *, void *);
static size_t	 mock_exch_backlog(struct exch *);
static void	 mock_exch_rst_step(struct exch *);
static void	 mock_exch_close_step(struct exch *);
static void	 mock_exch_finish(struct exch *, enum mock_finish);
static void	 mock_exch_gone(struct exch *);
static void	 mock_exch_free(struct exch *);

static void	 mock_exch_reply(struct exch *);
static void	 mock_exch_partial(struct exch *);
static void	 mock_exch_trickle(struct exch *);

static long	 mock_answer_sse_total(const struct exch *);
static void	 mock_exch_sse_start(struct exch *);
static void	 mock_exch_sse_next(struct exch *);
static int	 mock_exch_sse_wait(struct exch *);
static void	 mock_answer_sse_step(struct exch *, struct evbuffer *);
static void	 mock_answer_sse_token(struct exch *, struct evbuffer *, long);
static void	 mock_answer_sse_openai_end(struct exch *, struct evbuffer *);

static void	 mock_ctl_handle(struct evhttp_request *, const char *);
static void	 mock_ctl_reply(struct evhttp_request *, int, json_t *);
static json_t	*mock_ctl_stats(void);
static void	 mock_ctl_reset(void);

static void	 mock_upstream_request_cb(struct evhttp_request *, void *);
static void	 mock_upstream_signal_cb(evutil_socket_t, short, void *);
static void	 mock_upstream_usage(void);
static void	 mock_upstream_parse_args(int, char **, struct mock_args *);
static void	 mock_upstream_raise_nofile(void);
static void	 mock_upstream_init(void);
static void	 mock_upstream_listen(const char *, int);
static void	 mock_upstream_shutdown(void);

static const struct mock_status mock_statuses[] = {
	{ 400, "Bad Request", "invalid_request_error", "invalid_request",
	    "invalid_request_error" },
	{ 401, "Unauthorized", "invalid_request_error", "invalid_api_key",
	    "authentication_error" },
	{ 403, "Forbidden", "invalid_request_error", "permission_denied",
	    "permission_error" },
	{ 404, "Not Found", "invalid_request_error", "not_found",
	    "not_found_error" },
	{ 408, "Request Timeout", "server_error", "timeout", "api_error" },
	{ 413, "Payload Too Large", "invalid_request_error",
	    "request_too_large", "request_too_large" },
	{ 429, "Too Many Requests", "requests", "rate_limit_exceeded",
	    "rate_limit_error" },
	{ 500, "Internal Server Error", "server_error", "internal_error",
	    "api_error" },
	{ 502, "Bad Gateway", "server_error", "bad_gateway", "api_error" },
	{ 503, "Service Unavailable", "server_error", "service_unavailable",
	    "api_error" },
	{ 504, "Gateway Timeout", "server_error", "gateway_timeout",
	    "api_error" },
	{ 529, "Overloaded", "server_error", "overloaded", "overloaded_error" },
};
static const struct mock_status mock_status_4xx = { 0, NULL,
    "invalid_request_error", "mock_error", "invalid_request_error" };
static const struct mock_status mock_status_5xx = { 0, NULL,
    "server_error", "mock_error", "api_error" };

/* All state: one server per process. */
static struct {
	struct event_base	*base;
	struct evhttp		*http;
	struct event		*adopt;		/* runs mock_conn_adopt_all() */
	struct conn_list	 pending;	/* accepted, not yet adopted */
	struct conn_list	 open;
	struct conn		**byfd;		/* open conns by socket */
	size_t			 nbyfd;
	uint64_t		 next_conn;
	uint64_t		 next_seq;
	long long		 active, peak, total;
	long long		 conns_open, conns_total;
	int			 early_close;	/* base has EV_CLOSED */
	struct reqlog		 log;
} mock;

static char	mock_pad[4096];		/* 'x' * 4096, for chunk padding */

/* Allocate or die: the mock cannot answer anything without memory. */
static void *
mock_malloc(size_t size)
{
	void	*p;

	if ((p = malloc(size)) == NULL)
		err(1, "malloc");
	return p;
}

/* Allocate zeroed memory or die. */
static void *
mock_calloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		err(1, "calloc");
	return p;
}

/* Copy a string or die. */
static char *
mock_strdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		err(1, "strdup");
	return p;
}

/* Make an evbuffer or die. */
static struct evbuffer *
mock_evbuffer(void)
{
	struct evbuffer	*b;

	if ((b = evbuffer_new()) == NULL)
		errx(1, "evbuffer_new failed");
	return b;
}

/* Return the monotonic clock in milliseconds. */
static double
mock_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Set *dst from a decimal header value, capped at max; ignore junk. */
static void
mock_opts_set_long(long *dst, const char *s, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	end += strspn(end, " \t");
	if (end == s || *end != '\0' || errno != 0 || v < 0)
		return;
	*dst = v > max ? max : v;
}

/* Parse "headers" or "body", the phase a fault strikes in. */
static enum mock_fault
mock_opts_fault(const char *s)
{
	if (strcasecmp(s, "headers") == 0)
		return FAULT_HEADERS;
	if (strcasecmp(s, "body") == 0)
		return FAULT_BODY;
	return FAULT_NONE;
}

/* Parse a boolean header value. */
static int
mock_opts_flag(const char *s)
{
	return strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0;
}

/* Say whether the comma-separated list v holds token tok, in any case. */
static int
mock_exch_has_token(const char *v, const char *tok)
{
	size_t	 n = strlen(tok), len;

	while (*v != '\0') {
		v += strspn(v, " \t,");
		len = strcspn(v, ",");
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len == n && strncasecmp(v, tok, n) == 0)
			return 1;
		v += strcspn(v, ",");
	}
	return 0;
}

/* Name an evhttp method. */
static const char *
mock_method(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	default:
		return "OTHER";
	}
}

/* Find how the mock describes status code; never NULL. */
static const struct mock_status *
mock_status_find(int code)
{
	size_t	i;

	for (i = 0; i < sizeof(mock_statuses) / sizeof(*mock_statuses); i++)
		if (mock_statuses[i].code == code)
			return &mock_statuses[i];
	return code < 500 ? &mock_status_4xx : &mock_status_5xx;
}

/* Return the reason phrase for code, or NULL to let evhttp choose. */
static const char *
mock_reason(int code)
{
	return code == 200 ? "OK" : mock_status_find(code)->reason;
}

/* Say whether an answer with this status carries a body. */
static int
mock_needs_body(int code)
{
	return code >= 200 && code != 204 && code != 304;
}

/* Return the length of the valid UTF-8 sequence at p, or 0. */
static size_t
mock_utf8_len(const unsigned char *p, size_t n)
{
	uint32_t	cp;
	size_t		len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/*
 * Make a JSON string of the n bytes at p.  Bytes that are not UTF-8
 * become U+FFFD, because jansson cannot encode them at all.
 */
static json_t *
mock_json_bytes(const char *p, size_t n)
{
	json_t	*j;
	char	*s, *q;
	size_t	 i, k;

	if (n == 0)
		return json_string("");
	if ((j = json_stringn(p, n)) != NULL)
		return j;
	q = s = mock_malloc(n * 3);
	for (i = 0; i < n; i += k) {
		k = mock_utf8_len((const unsigned char *)p + i, n - i);
		if (k > 0) {
			memcpy(q, p + i, k);
			q += k;
		} else {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			k = 1;
		}
	}
	j = json_stringn_nocheck(s, (size_t)(q - s));
	free(s);
	return j;
}

/* Make a JSON string of a C string. */
static json_t *
mock_json_str(const char *s)
{
	return mock_json_bytes(s, strlen(s));
}

/* Make a JSON time in milliseconds; negative means null. */
static json_t *
mock_json_ms(double ms)
{
	return ms < 0 ? json_null() : json_real(ms);
}

/* Make [[name, value], ...] of a header list, in order. */
static json_t *
mock_json_headers(struct evkeyvalq *hdrs)
{
	struct evkeyval	*kv;
	json_t		*a = json_array();

	TAILQ_FOREACH(kv, hdrs, next)
		json_array_append_new(a, json_pack("[o,o]",
		    mock_json_str(kv->key), mock_json_str(kv->value)));
	return a;
}

/* json_dump_callback sink: append to an evbuffer. */
static int
mock_dump_cb(const char *p, size_t n, void *arg)
{
	return evbuffer_add(arg, p, n);
}

/* Append j to b as compact JSON and drop the reference to j. */
static void
mock_json_out(struct evbuffer *b, json_t *j)
{
	if (j == NULL)
		errx(1, "cannot build JSON");
	if (json_dump_callback(j, mock_dump_cb, b, MOCK_JSON_FLAGS) == -1)
		errx(1, "cannot encode JSON");
	json_decref(j);
}

/* Copy s with its NUL to p; return the byte after it. */
static char *
mock_reqlog_put(char *p, const char *s)
{
	size_t	n = strlen(s) + 1;

	memcpy(p, s, n);
	return p + n;
}

/* Append n padding bytes ('x', nothing JSON must escape). */
static void
mock_answer_pad(struct evbuffer *b, size_t n)
{
	size_t	k;

	evbuffer_expand(b, n);
	for (; n > 0; n -= k) {
		k = n < sizeof(mock_pad) ? n : sizeof(mock_pad);
		evbuffer_add(b, mock_pad, k);
	}
}

/* Append the text of n tokens, "tok0 tok1 ...". */
static void
mock_answer_tokens(struct evbuffer *b, long n)
{
	long	i;

	for (i = 0; i < n; i++)
		evbuffer_add_printf(b, "tok%ld ", i);
}

/* Add "Name: value" to out; say whether it asks to close the connection. */
static int
mock_exch_add_header(struct evkeyvalq *out, const char *line)
{
	char		 name[256];
	const char	*colon, *value;
	size_t		 n;

	if ((colon = strchr(line, ':')) == NULL)
		return 0;
	n = (size_t)(colon - line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, line, n);
	name[n] = '\0';
	value = colon + 1 + strspn(colon + 1, " \t");
	if (evhttp_add_header(out, name, value) == -1)
		return 0;
	return strcasecmp(name, "Connection") == 0 &&
	    mock_exch_has_token(value, "close");
}

/* Reset evcon's socket now, so that its close sends no FIN. */
static void
mock_exch_rst(struct evhttp_connection *evcon)
{
	struct linger	 lg = { 1, 0 };
	struct sockaddr	 sa;
	evutil_socket_t	 fd;

	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	/*
	 * evhttp_connection_free() shuts the write side down before it
	 * closes, which would send a FIN ahead of the RST; on Linux,
	 * connect(AF_UNSPEC) sends the RST at once (tcp_disconnect) and
	 * leaves evhttp nothing to shut down.  Elsewhere the linger option
	 * still turns the close into a reset, after that FIN.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	(void)connect(fd, &sa, sizeof(sa));
}

/* Write the garbage answer straight to evcon's socket. */
static void
mock_exch_garbage(struct evhttp_connection *evcon)
{
	evutil_socket_t	fd;

	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	(void)send(fd, MOCK_GARBAGE, sizeof(MOCK_GARBAGE) - 1, MSG_NOSIGNAL);
}

/* Size the log for cap entries; 0 turns it off. */
static void
mock_reqlog_init(size_t cap)
{
	mock.log.cap = cap;
	mock.log.first = 1;
	mock.next_seq = 1;
	if (cap > 0)
		mock.log.ring = mock_calloc(cap, sizeof(*mock.log.ring));
}

/* Return log entry seq, or NULL if it is not held. */
static struct logent *
mock_reqlog_get(uint64_t seq)
{
	struct logent	*e;

	if (mock.log.cap == 0)
		return NULL;
	e = &mock.log.ring[seq % mock.log.cap];
	return e->blob != NULL && e->seq == seq ? e : NULL;
}

/* Empty a log slot; NULL is fine. */
static void
mock_reqlog_drop(struct logent *e)
{
	if (e == NULL || e->blob == NULL)
		return;
	mock.log.bytes -= e->bytes;
	free(e->blob);
	e->blob = NULL;
}

/*
 * Log ex's request (body: len bytes) as entry ex->seq.  It evicts the
 * oldest entries to stay within cap entries and MOCK_LOG_BYTES.
 */
static void
mock_reqlog_add(struct exch *ex, const char *body, size_t len)
{
	struct reqlog	*l = &mock.log;
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
	mock.log.bytes += need;
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
static void
mock_reqlog_finished(uint64_t seq, double ms)
{
	struct logent	*e;

	if ((e = mock_reqlog_get(seq)) != NULL)
		e->finished_ms = ms;
}

/* Note that the client of entry seq left early, at ms. */
static void
mock_reqlog_closed(uint64_t seq, double ms)
{
	struct logent	*e;

	if ((e = mock_reqlog_get(seq)) != NULL)
		e->closed_ms = ms;
}

/* Drop every entry; sequence numbers go on, never reused. */
static void
mock_reqlog_clear(void)
{
	size_t	i;

	for (i = 0; i < mock.log.cap; i++)
		mock_reqlog_drop(&mock.log.ring[i]);
	mock.log.first = mock.next_seq;
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
static json_t *
mock_reqlog_json(void)
{
	json_t		*a = json_array();
	struct logent	*e;
	uint64_t	 seq = mock.log.first;

	if (mock.next_seq - seq > mock.log.cap)
		seq = mock.next_seq - mock.log.cap;
	for (; seq < mock.next_seq; seq++)
		if ((e = mock_reqlog_get(seq)) != NULL)
			json_array_append_new(a, mock_reqlog_entry_json(e));
	return json_pack("{s:o}", "requests", a);
}

/* Count a new connection; it stays pending until adopted. */
static struct conn *
mock_conn_new(struct bufferevent *bev)
{
	struct conn	*c;

	c = mock_calloc(1, sizeof(*c));
	c->bev = bev;
	c->fd = -1;
	c->serial = ++mock.next_conn;
	TAILQ_INSERT_TAIL(&mock.pending, c, entry);
	mock.conns_open++;
	mock.conns_total++;
	return c;
}

/* Tie c to its evhttp connection, so that we hear when it closes. */
static void
mock_conn_attach(struct conn *c, struct evhttp_connection *evcon,
    evutil_socket_t fd)
{
	TAILQ_REMOVE(&mock.pending, c, entry);
	TAILQ_INSERT_TAIL(&mock.open, c, entry);
	c->adopted = 1;
	c->evcon = evcon;
	c->fd = fd;
	mock_conn_setfd(fd, c);
	evhttp_connection_set_closecb(evcon, mock_conn_close_cb, c);
}

/* Forget c: its connection is closing, or never came to be. */
static void
mock_conn_free(struct conn *c)
{
	if (c->adopted) {
		TAILQ_REMOVE(&mock.open, c, entry);
		if (mock_conn_byfd(c->fd) == c)
			mock.byfd[c->fd] = NULL;
	} else
		TAILQ_REMOVE(&mock.pending, c, entry);
	mock.conns_open--;
	free(c);
}

/* Return the open conn on socket fd, or NULL. */
static struct conn *
mock_conn_byfd(evutil_socket_t fd)
{
	if (fd < 0 || (size_t)fd >= mock.nbyfd)
		return NULL;
	return mock.byfd[fd];
}

/* File c under socket fd, growing the table as needed. */
static void
mock_conn_setfd(evutil_socket_t fd, struct conn *c)
{
	struct conn	**t;
	size_t		  n;

	if ((size_t)fd >= mock.nbyfd) {
		n = mock.nbyfd < 1024 ? 1024 : mock.nbyfd;
		while (n <= (size_t)fd)
			n *= 2;
		if ((t = realloc(mock.byfd, n * sizeof(*t))) == NULL)
			err(1, "realloc");
		memset(t + mock.nbyfd, 0, (n - mock.nbyfd) * sizeof(*t));
		mock.byfd = t;
		mock.nbyfd = n;
	}
	mock.byfd[fd] = c;
}

/*
 * evhttp bevcb: make the bufferevent of each new connection and count
 * the connection.  evhttp builds its connection around this bufferevent
 * right after we return; mock_conn_adopt_cb then finds it there.
 */
static struct bufferevent *
mock_conn_bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent	*bev;

	if ((bev = bufferevent_socket_new(base, -1, 0)) == NULL)
		return NULL;	/* evhttp tries its own; see mock_conn_lookup */
	mock_conn_new(bev);
	event_active(mock.adopt, EV_TIMEOUT, 1);
	return bev;
}

/* Event callback: adopt the connections accepted in this loop pass. */
static void
mock_conn_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	mock_conn_adopt_all();
}

/*
 * Attach each pending conn to the evhttp connection that owns its
 * bufferevent (the bufferevent's callback argument).  This runs in the
 * loop pass that accepted them, before their sockets can be read, so no
 * pending bufferevent can have been freed yet.
 */
static void
mock_conn_adopt_all(void)
{
	struct conn	*c;
	void		*evcon;
	evutil_socket_t	 fd;

	while ((c = TAILQ_FIRST(&mock.pending)) != NULL) {
		evcon = NULL;
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
		fd = bufferevent_getfd(c->bev);
		if (evcon == NULL || fd == -1)
			mock_conn_free(c);
		else
			mock_conn_attach(c, evcon, fd);
	}
}

/* Return the conn that req arrived on, making one if it is unknown. */
static struct conn *
mock_conn_lookup(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent	 *bev;
	evutil_socket_t		  fd;
	struct conn		 *c;

	bev = evhttp_connection_get_bufferevent(evcon);
	fd = bufferevent_getfd(bev);
	if ((c = mock_conn_byfd(fd)) != NULL && c->evcon == evcon)
		return c;
	mock_conn_adopt_all();
	if ((c = mock_conn_byfd(fd)) != NULL && c->evcon == evcon)
		return c;
	c = mock_conn_new(bev);
	mock_conn_attach(c, evcon, fd);
	return c;
}

/*
 * evhttp closecb: the connection is being freed, by evhttp (the client
 * left, or the answer was the last on it) or by us.  An exchange still
 * in flight ends here: the client went away first.
 */
static void
mock_conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct conn	*c = arg;

	if (c->ex != NULL)
		mock_exch_gone(c->ex);
	mock_conn_free(c);
}

/* Start the exchange for a provider or echo request, and count it. */
static struct exch *
mock_exch_new(struct evhttp_request *req, struct conn *c, const char *path)
{
	struct exch	*ex;

	ex = mock_calloc(1, sizeof(*ex));
	ex->req = req;
	ex->conn = c;
	c->ex = ex;
	ex->seq = mock.next_seq++;
	ex->buf = mock_evbuffer();
	ex->o.chunks = -1;
	if (strcmp(path, "/v1/chat/completions") == 0)
		ex->route = ROUTE_OPENAI;
	else if (strcmp(path, "/v1/messages") == 0)
		ex->route = ROUTE_ANTHROPIC;
	ex->provider = ex->route != ROUTE_ECHO &&
	    evhttp_request_get_command(req) == EVHTTP_REQ_POST;
	mock_opts_read(ex);
	mock.total++;
	if (++mock.active > mock.peak)
		mock.peak = mock.active;
	return ex;
}

/* Read the x-mock-* request headers into ex->o. */
static void
mock_opts_read(struct exch *ex)
{
	struct evkeyval	*kv;

	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(ex->req), next) {
		if (strncasecmp(kv->key, "x-mock-", 7) == 0)
			mock_opts_apply(&ex->o, kv->key + 7, kv->value);
	}
}

/* Apply one x-mock-<name> header; the last of a kind wins. */
static void
mock_opts_apply(struct mock_opts *o, const char *name, const char *value)
{
	if (strcasecmp(name, "delay-ms") == 0)
		mock_opts_set_long(&o->delay_ms, value, MOCK_MAX_MS);
	else if (strcasecmp(name, "status") == 0)
		mock_opts_set_long(&o->status, value, 999);
	else if (strcasecmp(name, "error-code") == 0)
		o->error_code = value;
	else if (strcasecmp(name, "response-header") == 0)
		o->resp_headers = 1;
	else if (strcasecmp(name, "chunks") == 0)
		mock_opts_set_long(&o->chunks, value, MOCK_MAX_CHUNKS);
	else if (strcasecmp(name, "interval-ms") == 0)
		mock_opts_set_long(&o->interval_ms, value, MOCK_MAX_MS);
	else if (strcasecmp(name, "chunk-bytes") == 0)
		mock_opts_set_long(&o->chunk_bytes, value,
		    MOCK_MAX_CHUNK_BYTES);
	else if (strcasecmp(name, "trickle-ms") == 0)
		mock_opts_set_long(&o->trickle_ms, value, MOCK_MAX_MS);
	else if (strcasecmp(name, "stall") == 0)
		o->stall = mock_opts_fault(value);
	else if (strcasecmp(name, "reset") == 0)
		o->reset = mock_opts_fault(value);
	else if (strcasecmp(name, "truncate") == 0)
		o->truncate = mock_opts_flag(value);
	else if (strcasecmp(name, "garbage") == 0)
		o->garbage = mock_opts_flag(value);
	else if (strcasecmp(name, "id") == 0)
		o->id = value;
}

/*
 * Keep one body fault: stall, then reset, then truncate, then trickle.
 * (garbage, then reset and stall of the headers, act before any body.)
 */
static void
mock_opts_normalize(struct mock_opts *o)
{
	if (o->stall == FAULT_BODY && o->reset == FAULT_BODY)
		o->reset = FAULT_NONE;
	if (o->stall == FAULT_BODY || o->reset == FAULT_BODY)
		o->truncate = 0;
	if (o->stall == FAULT_BODY || o->reset == FAULT_BODY || o->truncate)
		o->trickle_ms = 0;
}

/* Decide the answer: an error or a JSON body in ex->buf, or a stream. */
static void
mock_answer_plan(struct exch *ex, const char *body, size_t len)
{
	json_t	*root = NULL;

	if (ex->o.status > 200 && ex->o.status <= 599)
		mock_answer_error(ex, (int)ex->o.status, "mock error");
	else if (!ex->provider)
		mock_answer_echo(ex, body, len);
	else if ((root = json_loadb(body, len, 0, NULL)) == NULL ||
	    !json_is_object(root))
		mock_answer_error(ex, 400,
		    "mock error: body is not a JSON object");
	else {
		mock_answer_read_request(ex, root);
		if (!ex->stream)
			mock_answer_completion(ex);
	}
	json_decref(root);
	mock_opts_normalize(&ex->o);
}

/* Take the model, the stream flags and the token counts from root. */
static void
mock_answer_read_request(struct exch *ex, json_t *root)
{
	json_t		*model, *max;
	json_int_t	 n;

	model = json_object_get(root, "model");
	if (json_is_string(model))
		ex->model = json_dumps(model, JSON_ENCODE_ANY);
	if (ex->model == NULL)
		ex->model = mock_strdup("\"mock\"");
	ex->stream = json_is_true(json_object_get(root, "stream"));
	ex->include_usage = json_is_true(json_object_get(
	    json_object_get(root, "stream_options"), "include_usage"));
	ex->prompt_tokens = mock_answer_prompt_tokens(json_object_get(root,
	    "messages"));
	if (ex->o.chunks >= 0)
		return;
	max = json_object_get(root, "max_tokens");
	if (!json_is_integer(max))
		max = json_object_get(root, "max_completion_tokens");
	n = json_is_integer(max) ? json_integer_value(max) : -1;
	if (n < 0)
		ex->o.chunks = MOCK_DEFAULT_CHUNKS;
	else
		ex->o.chunks = n > MOCK_MAX_CHUNKS ? MOCK_MAX_CHUNKS : (long)n;
}

/* Estimate prompt tokens: a quarter of the message text bytes, >= 1. */
static long
mock_answer_prompt_tokens(json_t *messages)
{
	json_t	*m, *content, *part, *text;
	size_t	 i, j, bytes = 0;

	json_array_foreach(messages, i, m) {
		content = json_object_get(m, "content");
		if (json_is_string(content))
			bytes += json_string_length(content);
		json_array_foreach(content, j, part) {
			text = json_object_get(part, "text");
			if (json_is_string(text))
				bytes += json_string_length(text);
		}
	}
	bytes = (bytes + 3) / 4;
	return bytes < 1 ? 1 : (long)bytes;
}

/* Put a whole (non-streamed) completion into ex->buf. */
static void
mock_answer_completion(struct exch *ex)
{
	long	p = ex->prompt_tokens, c = ex->o.chunks;

	ex->code = 200;
	if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add_printf(ex->buf, ANT_BODY_HEAD, ex->model);
	else
		evbuffer_add_printf(ex->buf, OAI_BODY_HEAD, ex->model);
	mock_answer_tokens(ex->buf, c);
	if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add_printf(ex->buf, ANT_BODY_TAIL, p, c);
	else
		evbuffer_add_printf(ex->buf, OAI_BODY_TAIL, p, c, p + c);
}

/* Put an error body for code, in the path's dialect, into ex->buf. */
static void
mock_answer_error(struct exch *ex, int code, const char *msg)
{
	const struct mock_status	*st = mock_status_find(code);
	json_t				*ecode = NULL;

	ex->code = code;
	ex->stream = 0;
	if (ex->route == ROUTE_ANTHROPIC) {
		mock_json_out(ex->buf, json_pack("{s:s,s:{s:s,s:s}}",
		    "type", "error", "error", "type", st->ant_type,
		    "message", msg));
		return;
	}
	if (ex->o.error_code != NULL)
		ecode = json_string(ex->o.error_code);	/* NULL: not UTF-8 */
	if (ecode == NULL)
		ecode = json_string(st->oai_code);
	mock_json_out(ex->buf, json_pack("{s:{s:s,s:s,s:n,s:o}}", "error",
	    "message", msg, "type", st->oai_type, "param", "code", ecode));
}

/* Put a description of the request into ex->buf (nothing for HEAD). */
static void
mock_answer_echo(struct exch *ex, const char *body, size_t len)
{
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(ex->req);

	ex->code = 200;
	if (cmd == EVHTTP_REQ_HEAD)
		return;
	mock_json_out(ex->buf, json_pack("{s:s,s:o,s:o,s:o,s:I}",
	    "method", mock_method(cmd),
	    "uri", mock_json_str(evhttp_request_get_uri(ex->req)),
	    "headers", mock_json_headers(
	    evhttp_request_get_input_headers(ex->req)),
	    "body", mock_json_bytes(body, len),
	    "body_len", (json_int_t)len));
}

/* Say whether ex can be answered at once, in one piece. */
static int
mock_exch_simple(const struct exch *ex)
{
	const struct mock_opts	*o = &ex->o;

	return !ex->stream && o->delay_ms <= 0 && !o->garbage &&
	    o->stall == FAULT_NONE && o->reset == FAULT_NONE &&
	    !o->truncate && o->trickle_ms <= 0;
}

/* Answer ex at once if nothing special was asked, else go asynchronous. */
static void
mock_exch_begin(struct exch *ex)
{
	if (mock_exch_simple(ex)) {
		mock_exch_reply(ex);
		return;
	}
	mock_exch_watch(ex);
	if (ex->o.delay_ms > 0)
		mock_exch_after(ex, ex->o.delay_ms, mock_exch_respond);
	else
		mock_exch_respond(ex);
}

/* Answer ex, any delay being over. */
static void
mock_exch_respond(struct exch *ex)
{
	if (ex->o.garbage)
		mock_exch_finish(ex, FINISH_GARBAGE);
	else if (ex->o.reset == FAULT_HEADERS)
		mock_exch_finish(ex, FINISH_RST);
	else if (ex->o.stall == FAULT_HEADERS)
		return;			/* until the client gives up */
	else if (ex->stream)
		mock_exch_sse_start(ex);
	else
		mock_exch_reply(ex);
}

/* Set the Content-Type and the headers x-mock-response-header asks for. */
static void
mock_exch_headers(struct exch *ex, const char *type)
{
	struct evkeyvalq	*out;
	struct evkeyval		*kv;
	int			 closing = 0;

	out = evhttp_request_get_output_headers(ex->req);
	evhttp_add_header(out, "Content-Type", type);
	if (!ex->o.resp_headers)
		return;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(ex->req), next) {
		if (strcasecmp(kv->key, "x-mock-response-header") == 0)
			closing |= mock_exch_add_header(out, kv->value);
	}
	if (closing)
		evhttp_request_set_on_complete_cb(ex->req,
		    mock_exch_complete_cb, NULL);
}

/*
 * Start an answer of unknown length: chunked on HTTP/1.1, ended by a
 * close on HTTP/1.0.  For an HTTP/1.0 keep-alive request evhttp would
 * send "Content-Length: 0" and keep the connection, so forget the
 * request's keep-alive first; on HTTP/1.1 that changes nothing.
 */
static void
mock_exch_start_unframed(struct exch *ex, int code)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(ex->req);
	const char		*v;

	while ((v = evhttp_find_header(in, "Connection")) != NULL &&
	    strncasecmp(v, "keep-alive", 10) == 0)
		evhttp_remove_header(in, "Connection");
	evhttp_send_reply_start(ex->req, code, mock_reason(code));
}

/*
 * evhttp on_complete: we sent "Connection: close, ..." (a list evhttp
 * does not parse), so close as a real server would.
 */
static void
mock_exch_complete_cb(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);

	evhttp_remove_header(out, "Connection");
	evhttp_add_header(out, "Connection", "close");
}

/* Run step on ex after ms milliseconds. */
static void
mock_exch_after(struct exch *ex, long ms, void (*step)(struct exch *))
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ex->timer == NULL && (ex->timer = evtimer_new(mock.base,
	    mock_exch_timer_cb, ex)) == NULL)
		errx(1, "evtimer_new failed");
	ex->timer_step = step;
	evtimer_add(ex->timer, &tv);
}

/* Event callback: ex's timer fired; run the step it was set for. */
static void
mock_exch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exch	*ex = arg;

	ex->timer_step(ex);
}

/*
 * Watch ex's socket for the client leaving.  evhttp stops reading while
 * a request is being answered, so without this a delayed or stalled
 * exchange would never learn that its client is gone.
 */
static void
mock_exch_watch(struct exch *ex)
{
	struct evhttp_connection *evcon;
	short			  what = EV_READ;
	evutil_socket_t		  fd;

	if (mock.early_close)
		what |= EV_CLOSED;
	evcon = evhttp_request_get_connection(ex->req);
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	ex->watch = event_new(mock.base, fd, what, mock_exch_watch_cb, ex);
	if (ex->watch == NULL)
		errx(1, "event_new failed");
	event_add(ex->watch, NULL);
}

/*
 * Event callback: ex's socket is readable or closed.  A FIN or a reset
 * means the client left: free the connection, which ends ex through
 * mock_conn_close_cb().  Readable data is a pipelined request; we stop
 * watching then, since a level-triggered read would fire forever.
 */
static void
mock_exch_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exch	*ex = arg;
	char		 c;
	ssize_t		 n;

	if (!(what & EV_CLOSED)) {
		n = recv(fd, &c, 1, MSG_PEEK);
		if (n > 0)
			return;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			event_add(ex->watch, NULL);
			return;
		}
	}
	evhttp_connection_free(evhttp_request_get_connection(ex->req));
}

/* evhttp write callback: all that was queued for the client is sent. */
static void
mock_exch_drained_cb(struct evhttp_connection *evcon, void *arg)
{
	struct exch	*ex = arg;
	void		(*step)(struct exch *) = ex->drain_step;

	if (step != NULL) {
		ex->drain_step = NULL;
		step(ex);
	}
}

/* Return how many bytes wait in ex's connection for the client. */
static size_t
mock_exch_backlog(struct exch *ex)
{
	struct evhttp_connection *evcon;

	evcon = evhttp_request_get_connection(ex->req);
	return evbuffer_get_length(bufferevent_get_output(
	    evhttp_connection_get_bufferevent(evcon)));
}

/* Drain step: reset the connection now that the partial answer left. */
static void
mock_exch_rst_step(struct exch *ex)
{
	mock_exch_finish(ex, FINISH_RST);
}

/* Drain step: close the connection now that the partial answer left. */
static void
mock_exch_close_step(struct exch *ex)
{
	mock_exch_finish(ex, FINISH_CLOSE);
}

/*
 * End ex as told.  ex is freed first, because the evhttp call that ends
 * it may free the connection and so call mock_conn_close_cb() at once.
 */
static void
mock_exch_finish(struct exch *ex, enum mock_finish how)
{
	struct evhttp_request	 *req = ex->req;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct evbuffer		 *buf = ex->buf;
	int			  code = ex->code;

	ex->buf = NULL;
	mock_reqlog_finished(ex->seq, mock_now_ms());
	mock_exch_free(ex);
	switch (how) {
	case FINISH_REPLY:
		evhttp_send_reply(req, code, mock_reason(code), buf);
		break;
	case FINISH_END:
		evhttp_send_reply_end(req);
		break;
	case FINISH_GARBAGE:
		mock_exch_garbage(evcon);
		evhttp_connection_free(evcon);
		break;
	case FINISH_RST:
		mock_exch_rst(evcon);
		/* FALLTHROUGH */
	case FINISH_CLOSE:
		evhttp_connection_free(evcon);	/* frees req too */
		break;
	}
	evbuffer_free(buf);
}

/*
 * The client left before ex was answered.  If evhttp noticed (EOF while
 * writing) it has orphaned req, which is then ours to end; if we noticed,
 * req is still on the connection and evhttp frees it after us.
 */
static void
mock_exch_gone(struct exch *ex)
{
	struct evhttp_request	*req = ex->req;

	mock_reqlog_closed(ex->seq, mock_now_ms());
	mock_exch_free(ex);
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_send_reply_end(req);
}

/* Free ex and detach it from its conn; ex->req is left alone. */
static void
mock_exch_free(struct exch *ex)
{
	if (ex->timer != NULL)
		event_free(ex->timer);
	if (ex->watch != NULL)
		event_free(ex->watch);
	if (ex->buf != NULL)
		evbuffer_free(ex->buf);
	if (ex->out != NULL)
		evbuffer_free(ex->out);
	free(ex->model);
	if (ex->conn != NULL && ex->conn->ex == ex)
		ex->conn->ex = NULL;
	mock.active--;
	free(ex);
}

/* Send ex->buf as the JSON answer: whole, or with a body fault. */
static void
mock_exch_reply(struct exch *ex)
{
	struct evhttp_request	*req = ex->req;
	const struct mock_opts	*o = &ex->o;

	mock_exch_headers(ex, "application/json");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD ||
	    !mock_needs_body(ex->code))
		evbuffer_drain(ex->buf, evbuffer_get_length(ex->buf));
	else if (o->trickle_ms > 0) {
		mock_exch_start_unframed(ex, ex->code);
		mock_exch_after(ex, o->trickle_ms, mock_exch_trickle);
		return;
	} else if (o->stall == FAULT_BODY || o->reset == FAULT_BODY ||
	    o->truncate) {
		mock_exch_partial(ex);
		return;
	}
	mock_exch_finish(ex, FINISH_REPLY);
}

/* Promise the whole body in Content-Length; send half of it, or none. */
static void
mock_exch_partial(struct exch *ex)
{
	size_t	n = evbuffer_get_length(ex->buf);
	char	len[32];

	snprintf(len, sizeof(len), "%zu", n);
	evhttp_add_header(evhttp_request_get_output_headers(ex->req),
	    "Content-Length", len);
	evhttp_send_reply_start(ex->req, ex->code, mock_reason(ex->code));
	if (ex->o.stall == FAULT_BODY)
		return;			/* until the client gives up */
	ex->out = mock_evbuffer();
	evbuffer_remove_buffer(ex->buf, ex->out, n / 2);
	ex->drain_step = ex->o.reset == FAULT_BODY ? mock_exch_rst_step :
	    mock_exch_close_step;
	evhttp_send_reply_chunk_with_cb(ex->req, ex->out,
	    mock_exch_drained_cb, ex);
}

/* Timer step: send the next byte of a trickled JSON body. */
static void
mock_exch_trickle(struct exch *ex)
{
	if (ex->out == NULL)
		ex->out = mock_evbuffer();
	evbuffer_remove_buffer(ex->buf, ex->out, 1);
	evhttp_send_reply_chunk(ex->req, ex->out);
	if (evbuffer_get_length(ex->buf) > 0)
		mock_exch_after(ex, ex->o.trickle_ms, mock_exch_trickle);
	else
		mock_exch_finish(ex, FINISH_END);
}

/* Count ex's stream events: the tokens, then the closing events. */
static long
mock_answer_sse_total(const struct exch *ex)
{
	return ex->o.chunks + (ex->o.truncate ? 0 : 1);
}

/* Start an SSE answer: headers and the first write, then the rest. */
static void
mock_exch_sse_start(struct exch *ex)
{
	mock_exch_headers(ex, "text/event-stream");
	evhttp_add_header(evhttp_request_get_output_headers(ex->req),
	    "Cache-Control", "no-cache");
	mock_exch_start_unframed(ex, 200);
	ex->out = mock_evbuffer();
	if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add_printf(ex->out, ANT_START, ex->model,
		    ex->prompt_tokens);
	mock_answer_sse_step(ex, ex->out);
	evhttp_send_reply_chunk_with_cb(ex->req, ex->out,
	    mock_exch_drained_cb, ex);
	if (ex->o.stall == FAULT_BODY)
		return;			/* until the client gives up */
	if (ex->o.reset == FAULT_BODY) {
		ex->drain_step = mock_exch_rst_step;
		return;
	}
	if (!mock_exch_sse_wait(ex))
		mock_exch_sse_next(ex);
}

/*
 * Send stream events until done.  Stop for the interval, or while more
 * than MOCK_HIGH_WATER bytes wait for the client: mock_exch_drained_cb()
 * resumes once they are sent, so a huge stream never sits in memory.
 */
static void
mock_exch_sse_next(struct exch *ex)
{
	for (;;) {
		if (ex->sent >= mock_answer_sse_total(ex)) {
			mock_exch_finish(ex, FINISH_END);
			return;
		}
		if (mock_exch_backlog(ex) >= MOCK_HIGH_WATER) {
			ex->drain_step = mock_exch_sse_next;
			return;
		}
		mock_answer_sse_step(ex, ex->out);
		evhttp_send_reply_chunk_with_cb(ex->req, ex->out,
		    mock_exch_drained_cb, ex);
		if (mock_exch_sse_wait(ex))
			return;
	}
}

/* If tokens are paced, run mock_exch_sse_next after the interval and say so. */
static int
mock_exch_sse_wait(struct exch *ex)
{
	if (ex->o.interval_ms <= 0 || ex->sent >= ex->o.chunks)
		return 0;
	mock_exch_after(ex, ex->o.interval_ms, mock_exch_sse_next);
	return 1;
}

/* Append stream event number ex->sent: a token or the closing events. */
static void
mock_answer_sse_step(struct exch *ex, struct evbuffer *out)
{
	if (ex->sent >= mock_answer_sse_total(ex))
		return;
	if (ex->sent < ex->o.chunks)
		mock_answer_sse_token(ex, out, ex->sent);
	else if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add_printf(out, ANT_END, ex->o.chunks);
	else
		mock_answer_sse_openai_end(ex, out);
	ex->sent++;
}

/* Append token i as one event, its text padded to about chunk_bytes. */
static void
mock_answer_sse_token(struct exch *ex, struct evbuffer *out, long i)
{
	int	n;

	if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add(out, ANT_DELTA_HEAD, sizeof(ANT_DELTA_HEAD) - 1);
	else
		evbuffer_add_printf(out, OAI_CHUNK_HEAD OAI_DELTA_HEAD,
		    ex->model);
	n = evbuffer_add_printf(out, "tok%ld ", i);
	if (n > 0 && ex->o.chunk_bytes > n)
		mock_answer_pad(out, (size_t)(ex->o.chunk_bytes - n));
	if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add(out, ANT_DELTA_TAIL, sizeof(ANT_DELTA_TAIL) - 1);
	else
		evbuffer_add(out, OAI_DELTA_TAIL, sizeof(OAI_DELTA_TAIL) - 1);
}

/* Append the closing OpenAI events: stop, usage if asked, [DONE]. */
static void
mock_answer_sse_openai_end(struct exch *ex, struct evbuffer *out)
{
	long	p = ex->prompt_tokens, c = ex->o.chunks;

	evbuffer_add_printf(out, OAI_CHUNK_HEAD OAI_STOP, ex->model);
	if (ex->include_usage)
		evbuffer_add_printf(out, OAI_CHUNK_HEAD OAI_USAGE, ex->model,
		    p, c, p + c);
	evbuffer_add(out, OAI_DONE, sizeof(OAI_DONE) - 1);
}

/*
 * Serve the control endpoints.  They are not logged and not counted in
 * active or total; their connections are counted like any other.
 */
static void
mock_ctl_handle(struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type	cmd = evhttp_request_get_command(req);

	if (strcmp(path, "/_mock/requests") == 0 && cmd == EVHTTP_REQ_GET)
		mock_ctl_reply(req, 200, mock_reqlog_json());
	else if (strcmp(path, "/_mock/stats") == 0 && cmd == EVHTTP_REQ_GET)
		mock_ctl_reply(req, 200, mock_ctl_stats());
	else if (strcmp(path, "/_mock/reset") == 0 &&
	    cmd == EVHTTP_REQ_POST) {
		mock_ctl_reset();
		mock_ctl_reply(req, 200, json_pack("{s:b}", "ok", 1));
	} else
		mock_ctl_reply(req, 404, json_pack("{s:s}", "error",
		    "no such control endpoint"));
}

/* Answer a control request with j, dropping the reference to j. */
static void
mock_ctl_reply(struct evhttp_request *req, int code, json_t *j)
{
	struct evbuffer	*b = mock_evbuffer();

	mock_json_out(b, j);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, mock_reason(code), b);
	evbuffer_free(b);
}

/*
 * Describe the counters.  connections_open includes the connection of
 * the control request itself, so tests should compare differences.
 */
static json_t *
mock_ctl_stats(void)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}",
	    "active", (json_int_t)mock.active,
	    "peak_active", (json_int_t)mock.peak,
	    "total", (json_int_t)mock.total,
	    "connections_open", (json_int_t)mock.conns_open,
	    "connections_total", (json_int_t)mock.conns_total,
	    "now_ms", mock_now_ms());
}

/* Clear the log, the total and the peak (to what is active now). */
static void
mock_ctl_reset(void)
{
	mock_reqlog_clear();
	mock.total = 0;
	mock.peak = mock.active;
}

/* evhttp generic callback: take in one request and route it. */
static void
mock_upstream_request_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	const char	*path, *body;
	size_t		 len;
	struct exch	*ex;

	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL)
		path = "";
	if (strncmp(path, "/_mock/", 7) == 0) {
		mock_ctl_handle(req, path);
		return;
	}
	len = evbuffer_get_length(in);
	body = (const char *)evbuffer_pullup(in, -1);
	ex = mock_exch_new(req, mock_conn_lookup(req), path);
	mock_reqlog_add(ex, body, len);
	mock_answer_plan(ex, body, len);
	mock_exch_begin(ex);
}

/* Event callback: SIGTERM or SIGINT; leave the loop and clean up. */
static void
mock_upstream_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(mock.base, NULL);
}

/* Print the usage and exit. */
static void
mock_upstream_usage(void)
{
	fprintf(stderr, "usage: mock_upstream [-p port] [-a address] "
	    "[-n maxlog]\n");
	exit(2);
}

/* Parse the command line into args. */
static void
mock_upstream_parse_args(int argc, char **argv, struct mock_args *args)
{
	char	*end;
	int	 ch;

	while ((ch = getopt(argc, argv, "a:n:p:")) != -1) {
		switch (ch) {
		case 'a':
			args->addr = optarg;
			break;
		case 'n':
			args->maxlog = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' ||
			    args->maxlog < 0 || args->maxlog > MOCK_MAX_MAXLOG)
				errx(2, "bad -n: %s", optarg);
			break;
		case 'p':
			args->port = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' ||
			    args->port < 0 || args->port > 65535)
				errx(2, "bad -p: %s", optarg);
			break;
		default:
			mock_upstream_usage();
		}
	}
	if (optind != argc)
		mock_upstream_usage();
}

/* Allow as many open files as the hard limit: benchmarks open many. */
static void
mock_upstream_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Make the event base (with EV_CLOSED if it can) and the HTTP server. */
static void
mock_upstream_init(void)
{
	struct event_config	*cfg;

	if ((cfg = event_config_new()) == NULL)
		errx(1, "event_config_new failed");
	event_config_require_features(cfg, EV_FEATURE_EARLY_CLOSE);
	mock.base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (mock.base == NULL && (mock.base = event_base_new()) == NULL)
		errx(1, "event_base_new failed");
	mock.early_close = (event_base_get_features(mock.base) &
	    EV_FEATURE_EARLY_CLOSE) != 0;
	TAILQ_INIT(&mock.pending);
	TAILQ_INIT(&mock.open);
	mock.adopt = event_new(mock.base, -1, 0, mock_conn_adopt_cb, NULL);
	if (mock.adopt == NULL || (mock.http = evhttp_new(mock.base)) == NULL)
		errx(1, "cannot set up the HTTP server");
	evhttp_set_allowed_methods(mock.http, MOCK_METHODS);
	evhttp_set_default_content_type(mock.http, NULL);
	evhttp_set_bevcb(mock.http, mock_conn_bev_cb, NULL);
	evhttp_set_gencb(mock.http, mock_upstream_request_cb, NULL);
	memset(mock_pad, 'x', sizeof(mock_pad));
}

/* Listen on addr, port, and print the port bound as "PORT <n>". */
static void
mock_upstream_listen(const char *addr, int port)
{
	struct addrinfo		 hints, *ai;
	struct evconnlistener	*lev;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 serv[16];
	int			 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%d", port);
	if ((rc = getaddrinfo(addr, serv, &hints, &ai)) != 0)
		errx(1, "%s: %s", addr, gai_strerror(rc));
	lev = evconnlistener_new_bind(mock.base, NULL, NULL,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    MOCK_LISTEN_BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(ai);
	if (lev == NULL)
		err(1, "listen on %s port %d", addr, port);
	if (evhttp_bind_listener(mock.http, lev) == NULL)
		errx(1, "evhttp_bind_listener failed");
	if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss,
	    &sslen) == -1)
		err(1, "getsockname");
	if (ss.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	printf("PORT %d\n", port);
	fflush(stdout);
}

/* Free everything, so that LeakSanitizer has nothing to report. */
static void
mock_upstream_shutdown(void)
{
	struct conn	*c;

	evhttp_free(mock.http);		/* every mock_conn_close_cb runs */
	while ((c = TAILQ_FIRST(&mock.pending)) != NULL)
		mock_conn_free(c);
	while ((c = TAILQ_FIRST(&mock.open)) != NULL) {
		if (c->ex != NULL)
			mock_exch_free(c->ex);
		mock_conn_free(c);
	}
	event_free(mock.adopt);
	mock_reqlog_clear();
	free(mock.log.ring);
	free(mock.byfd);
	event_base_free(mock.base);
	libevent_global_shutdown();
}

int
main(int argc, char **argv)
{
	struct mock_args	 args = { "127.0.0.1", 0, MOCK_DEFAULT_MAXLOG };
	struct event		*sigterm, *sigint;

	mock_upstream_parse_args(argc, argv, &args);
	signal(SIGPIPE, SIG_IGN);
	mock_upstream_raise_nofile();
	mock_upstream_init();
	mock_reqlog_init((size_t)args.maxlog);
	mock_upstream_listen(args.addr, args.port);
	sigterm = evsignal_new(mock.base, SIGTERM, mock_upstream_signal_cb,
	    NULL);
	sigint = evsignal_new(mock.base, SIGINT, mock_upstream_signal_cb,
	    NULL);
	if (sigterm == NULL || sigint == NULL)
		errx(1, "evsignal_new failed");
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	event_base_dispatch(mock.base);
	event_free(sigterm);
	event_free(sigint);
	mock_upstream_shutdown();
	return 0;
}
