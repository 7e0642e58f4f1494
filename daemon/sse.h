/* SPDX-License-Identifier: ISC */
/*
 * sse: an incremental parser for text/event-stream bodies.
 *
 * Bytes go in as they arrive, split anywhere; complete events come out
 * through a callback.  Lines may end in CR, LF or CRLF (a CR at the end of
 * one feed and an LF at the start of the next are one line end).  Multiple
 * data lines join with "\n", as the SSE specification says.  An event
 * larger than the parser's bound is dropped whole rather than buffered
 * without limit: the daemon only reads small usage events and forwards the
 * bytes untouched either way.  Pure: no libevent, no clock.
 */
#ifndef SSE_H
#define SSE_H

#include <stddef.h>

struct sse_parser;

/* Bytes of a stream kept to see its final event ([DONE], message_stop). */
#define SSE_TAIL_MAX	32

/* The last bytes of a stream, where its final event shows. */
struct sse_tail {
	char	bytes[SSE_TAIL_MAX];
	size_t	len;
};

/* Called once per complete event; event is "" when the event had no name. */
typedef void (*sse_event_cb)(const char *event, size_t event_len,
    const char *data, size_t data_len, void *arg);

/* Return a parser that drops events larger than max_event_bytes. */
struct sse_parser	*sse_parser_new(size_t max_event_bytes);
/* Feed len bytes; cb is called for each event they complete. */
void			 sse_parser_feed(struct sse_parser *p, const char *buf,
			    size_t len, sse_event_cb cb, void *arg);
/* Free p; accepts NULL. */
void			 sse_parser_free(struct sse_parser *p);
/* Keep the last SSE_TAIL_MAX bytes of what t has seen, and len more. */
void			 sse_tail_keep(struct sse_tail *t, const char *data,
			    size_t len);
/* Return 1 if marker is within the last bytes t kept. */
int			 sse_tail_has(const struct sse_tail *t,
			    const char *marker);

#endif /* SSE_H */
