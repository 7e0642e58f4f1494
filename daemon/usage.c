/* SPDX-License-Identifier: ISC */
/*
 * usage: token usage from a response body, JSON or SSE, fed piece by
 * piece.  It never holds more than USAGE_BODY_MAX bytes of a JSON answer
 * (a larger one is simply not reconciled) nor more than one SSE event.
 */
#include <stdlib.h>
#include <string.h>

#include "dialect.h"
#include "sse.h"
#include "usage.h"
#include "xmalloc.h"

/* A JSON answer larger than this is not read for usage. */
#define USAGE_BODY_MAX		(4 * 1024 * 1024)
/* An SSE event larger than this is not read for usage. */
#define USAGE_EVENT_MAX		(64 * 1024)

struct usage_reader {
	enum dialect		 dialect;
	struct sse_parser	*sse;		/* NULL for a JSON answer */
	char			*body;
	size_t			 len;
	size_t			 size;
	int			 too_large;
	struct dialect_usage	 usage;
};

static void	usage_event_cb(const char *event, size_t event_len,
		    const char *data, size_t data_len, void *arg);

/* Return a reader for a response in dialect d, SSE or not. */
struct usage_reader *
usage_reader_new(enum dialect d, int sse)
{
	struct usage_reader	*r;

	r = xcalloc(1, sizeof *r);
	r->dialect = d;
	if (sse)
		r->sse = sse_parser_new(USAGE_EVENT_MAX);
	dialect_usage_init(&r->usage);
	return r;
}

/* sse: one event of the response; take usage from it if it has some. */
static void
usage_event_cb(const char *event, size_t event_len, const char *data,
    size_t data_len, void *arg)
{
	struct usage_reader	*r = arg;

	dialect_usage_from_event(r->dialect, event, event_len, data, data_len,
	    &r->usage);
}

/* Read len more bytes of the response body. */
void
usage_reader_feed(struct usage_reader *r, const char *data, size_t len)
{
	if (r->sse != NULL) {
		sse_parser_feed(r->sse, data, len, usage_event_cb, r);
		return;
	}
	if (r->too_large)
		return;
	if (r->len + len > USAGE_BODY_MAX) {
		r->too_large = 1;
		free(r->body);
		r->body = NULL;
		return;
	}
	if (r->len + len > r->size) {
		r->size = r->size == 0 ? 4096 : r->size;
		while (r->size < r->len + len)
			r->size *= 2;
		r->body = xreallocarray(r->body, r->size, 1);
	}
	memcpy(r->body + r->len, data, len);
	r->len += len;
}

/* Read the input and output tokens the whole response reported. */
int
usage_reader_tokens(struct usage_reader *r, int64_t *prompt,
    int64_t *completion)
{
	*prompt = *completion = -1;
	if (r->too_large)
		return -1;
	if (r->sse == NULL && r->len > 0)
		dialect_usage_from_body(r->dialect, r->body, r->len,
		    &r->usage);
	if (r->usage.input_tokens < 0 && r->usage.output_tokens < 0)
		return -1;
	*prompt = r->usage.input_tokens;
	*completion = r->usage.output_tokens;
	return 0;
}

/* Free r; accepts NULL. */
void
usage_reader_free(struct usage_reader *r)
{
	if (r == NULL)
		return;
	sse_parser_free(r->sse);
	free(r->body);
	free(r);
}
