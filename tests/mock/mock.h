/* SPDX-License-Identifier: ISC */
/*
 * mock: what every part of the mock upstream uses: allocation that
 * exits rather than fail, the monotonic clock, HTTP method and status
 * names with the error shapes the mock gives each status, and JSON of
 * arbitrary bytes (jansson refuses what is not UTF-8).
 */
#ifndef MOCK_H
#define MOCK_H

#include <stddef.h>

#include <event2/http.h>

#include <jansson.h>

struct evbuffer;
struct evkeyvalq;

/* An HTTP status and the error shapes the mock gives it. */
struct mock_status {
	int		 code;
	const char	*reason;
	const char	*oai_type;
	const char	*oai_code;
	const char	*ant_type;
};

/* Allocate or die: the mock cannot answer anything without memory. */
void	*mock_malloc(size_t size);
/* Allocate zeroed memory or die. */
void	*mock_calloc(size_t n, size_t size);
/* Copy a string or die. */
char	*mock_strdup(const char *s);
/* Make an evbuffer or die. */
struct evbuffer *mock_evbuffer(void);
/* Return the monotonic clock in milliseconds. */
double	 mock_now_ms(void);

/* Name an evhttp method. */
const char *mock_method(enum evhttp_cmd_type cmd);
/* Find how the mock describes status code; never NULL. */
const struct mock_status *mock_status_find(int code);
/* Return the reason phrase for code, or NULL to let evhttp choose. */
const char *mock_reason(int code);
/* Say whether an answer with this status carries a body. */
int	 mock_needs_body(int code);

/* Make a JSON string of n bytes; bytes that are not UTF-8 become U+FFFD. */
json_t	*mock_json_bytes(const char *p, size_t n);
/* Make a JSON string of a C string. */
json_t	*mock_json_str(const char *s);
/* Make a JSON time in milliseconds; negative means null. */
json_t	*mock_json_ms(double ms);
/* Make [[name, value], ...] of a header list, in order. */
json_t	*mock_json_headers(struct evkeyvalq *hdrs);
/* Append j to b as compact JSON and drop the reference to j. */
void	 mock_json_out(struct evbuffer *b, json_t *j);

#endif /* MOCK_H */
