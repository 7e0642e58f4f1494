/* SPDX-License-Identifier: ISC */

/*
 * mock: the helpers every file of the mock upstream shares.  Allocation
 * exits on failure, since the mock cannot answer without memory.  The
 * status table gives each HTTP status its reason phrase and the error
 * type and code the OpenAI and Anthropic shapes use for it.  JSON goes
 * out compact; request bytes that are not UTF-8 are still shown, as
 * U+FFFD, because jansson cannot encode them.
 */

#include <sys/queue.h>

#include <err.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <jansson.h>

#include "mock.h"

#define MOCK_JSON_FLAGS		(JSON_COMPACT | JSON_REAL_PRECISION(15))

static size_t	 mock_utf8_len(const unsigned char *, size_t);
static int	 mock_dump_cb(const char *, size_t, void *);

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

/* Allocate or die: the mock cannot answer anything without memory. */
void *
mock_malloc(size_t size)
{
	void	*p;

	if ((p = malloc(size)) == NULL)
		err(1, "malloc");
	return p;
}

/* Allocate zeroed memory or die. */
void *
mock_calloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		err(1, "calloc");
	return p;
}

/* Copy a string or die. */
char *
mock_strdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		err(1, "strdup");
	return p;
}

/* Make an evbuffer or die. */
struct evbuffer *
mock_evbuffer(void)
{
	struct evbuffer	*b;

	if ((b = evbuffer_new()) == NULL)
		errx(1, "evbuffer_new failed");
	return b;
}

/* Return the monotonic clock in milliseconds. */
double
mock_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Name an evhttp method. */
const char *
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
const struct mock_status *
mock_status_find(int code)
{
	size_t	i;

	for (i = 0; i < sizeof(mock_statuses) / sizeof(*mock_statuses); i++)
		if (mock_statuses[i].code == code)
			return &mock_statuses[i];
	return code < 500 ? &mock_status_4xx : &mock_status_5xx;
}

/* Return the reason phrase for code, or NULL to let evhttp choose. */
const char *
mock_reason(int code)
{
	return code == 200 ? "OK" : mock_status_find(code)->reason;
}

/* Say whether an answer with this status carries a body. */
int
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
json_t *
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
json_t *
mock_json_str(const char *s)
{
	return mock_json_bytes(s, strlen(s));
}

/* Make a JSON time in milliseconds; negative means null. */
json_t *
mock_json_ms(double ms)
{
	return ms < 0 ? json_null() : json_real(ms);
}

/* Make [[name, value], ...] of a header list, in order. */
json_t *
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
void
mock_json_out(struct evbuffer *b, json_t *j)
{
	if (j == NULL)
		errx(1, "cannot build JSON");
	if (json_dump_callback(j, mock_dump_cb, b, MOCK_JSON_FLAGS) == -1)
		errx(1, "cannot encode JSON");
	json_decref(j);
}

