/* SPDX-License-Identifier: ISC */
/*
 * sse: parse text/event-stream bytes, fed in pieces, into events.
 *
 * Follows the WHATWG "event stream interpretation": lines end in CR, LF or
 * CRLF (also when a feed ends between the CR and the LF); "event" names
 * the event, "data" lines join with "\n", a blank line dispatches the
 * event if it had a data line, and "id", "retry", comments (':') and
 * unknown fields are ignored.  The bytes of an event's lines (without
 * their ends) are counted as they arrive; an event that passes
 * max_event_bytes is dropped whole and the parser skips to the next blank
 * line, so memory stays within a small multiple of the bound.  It does
 * not track last-event-id or reconnection, and it never copies the stream:
 * the caller forwards the bytes itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "xmalloc.h"

/* A growable byte buffer, always NUL-terminated once allocated. */
struct sse_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

struct sse_parser {
	size_t		 max;		/* max_event_bytes */
	size_t		 event_bytes;	/* line bytes of the current event */
	size_t		 line_bytes;	/* bytes of the current line */
	int		 dropping;	/* too large: skip to a blank line */
	int		 cr;		/* last byte was a CR */
	int		 has_data;	/* the event had a data line */
	int		 started;	/* a line was seen: no BOM after it */
	struct sse_buf	 line;
	struct sse_buf	 event;
	struct sse_buf	 data;
};

static void	sse_buf_add(struct sse_buf *b, const char *s, size_t n);
static void	sse_buf_free(struct sse_buf *b);
static void	sse_line_add(struct sse_parser *p, const char *s, size_t n);
static void	sse_line_end(struct sse_parser *p, sse_event_cb cb,
		    void *arg);
static void	sse_field(struct sse_parser *p, const char *s, size_t n);
static void	sse_dispatch(struct sse_parser *p, sse_event_cb cb,
		    void *arg);
static size_t	sse_span(const char *buf, size_t len);

/* Append n bytes of s to b and keep it NUL-terminated. */
static void
sse_buf_add(struct sse_buf *b, const char *s, size_t n)
{
	size_t	need = b->len + n + 1;

	if (need > b->cap) {
		b->cap = b->cap * 2 > need ? b->cap * 2 : need;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Free what b holds and make it empty. */
static void
sse_buf_free(struct sse_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Return a parser that drops events larger than max_event_bytes. */
struct sse_parser *
sse_parser_new(size_t max_event_bytes)
{
	struct sse_parser	*p;

	p = xcalloc(1, sizeof *p);
	p->max = max_event_bytes > SIZE_MAX / 4 ? SIZE_MAX / 4 :
	    max_event_bytes;
	return p;
}

/* Free p; accepts NULL. */
void
sse_parser_free(struct sse_parser *p)
{
	if (p == NULL)
		return;
	sse_buf_free(&p->line);
	sse_buf_free(&p->event);
	sse_buf_free(&p->data);
	free(p);
}

/* Return how many bytes at buf come before the first CR or LF. */
static size_t
sse_span(const char *buf, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\r' || buf[i] == '\n')
			break;
	}
	return i;
}

/* Add n bytes to the current line, or start dropping the event. */
static void
sse_line_add(struct sse_parser *p, const char *s, size_t n)
{
	p->line_bytes += n;
	if (p->dropping || n == 0)
		return;
	if (n > p->max - p->event_bytes) {
		p->dropping = 1;
		sse_buf_free(&p->line);
		sse_buf_free(&p->event);
		sse_buf_free(&p->data);
		return;
	}
	p->event_bytes += n;
	sse_buf_add(&p->line, s, n);
}

/* Interpret one complete non-blank line of n bytes at s. */
static void
sse_field(struct sse_parser *p, const char *s, size_t n)
{
	const char	*colon, *value;
	size_t		 flen, vlen;

	if (!p->started) {
		if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			s += 3;
			n -= 3;
		}
	}
	if (n > 0 && s[0] == ':')
		return;				/* a comment */
	if ((colon = memchr(s, ':', n)) != NULL) {
		flen = (size_t)(colon - s);
		value = colon + 1;
		vlen = n - flen - 1;
		if (vlen > 0 && value[0] == ' ') {
			value++;
			vlen--;
		}
	} else {
		flen = n;
		value = "";
		vlen = 0;
	}
	if (flen == 5 && memcmp(s, "event", 5) == 0) {
		p->event.len = 0;
		sse_buf_add(&p->event, value, vlen);
	} else if (flen == 4 && memcmp(s, "data", 4) == 0) {
		if (p->has_data)
			sse_buf_add(&p->data, "\n", 1);
		sse_buf_add(&p->data, value, vlen);
		p->has_data = 1;
	}
}

/* Deliver the current event if it is whole and has data; start anew. */
static void
sse_dispatch(struct sse_parser *p, sse_event_cb cb, void *arg)
{
	if (!p->dropping && p->has_data && cb != NULL) {
		cb(p->event.len > 0 ? p->event.p : "", p->event.len,
		    p->data.len > 0 ? p->data.p : "", p->data.len, arg);
	}
	p->event.len = 0;
	p->data.len = 0;
	p->has_data = 0;
	p->dropping = 0;
	p->event_bytes = 0;
}

/* End the current line: a blank one dispatches, others are fields. */
static void
sse_line_end(struct sse_parser *p, sse_event_cb cb, void *arg)
{
	if (p->line_bytes == 0) {
		p->started = 1;
		sse_dispatch(p, cb, arg);
		return;
	}
	if (!p->dropping)
		sse_field(p, p->line.p, p->line.len);
	p->started = 1;
	p->line.len = 0;
	p->line_bytes = 0;
}

/* Feed len bytes; cb is called for each event they complete. */
void
sse_parser_feed(struct sse_parser *p, const char *buf, size_t len,
    sse_event_cb cb, void *arg)
{
	size_t	i = 0, n;

	while (i < len) {
		if (p->cr) {
			p->cr = 0;
			if (buf[i] == '\n') {
				i++;		/* the LF of a split CRLF */
				continue;
			}
		}
		n = sse_span(buf + i, len - i);
		sse_line_add(p, buf + i, n);
		i += n;
		if (i == len)
			break;
		p->cr = buf[i] == '\r';
		i++;
		sse_line_end(p, cb, arg);
	}
}

/* Keep the last SSE_TAIL_MAX bytes of what t has seen, and len more. */
void
sse_tail_keep(struct sse_tail *t, const char *data, size_t len)
{
	size_t	keep;

	if (len >= SSE_TAIL_MAX) {
		memcpy(t->bytes, data + len - SSE_TAIL_MAX, SSE_TAIL_MAX);
		t->len = SSE_TAIL_MAX;
		return;
	}
	keep = t->len + len > SSE_TAIL_MAX ? SSE_TAIL_MAX - len : t->len;
	memmove(t->bytes, t->bytes + t->len - keep, keep);
	memcpy(t->bytes + keep, data, len);
	t->len = keep + len;
}

/* Return 1 if marker is within the last bytes t kept. */
int
sse_tail_has(const struct sse_tail *t, const char *marker)
{
	return memmem(t->bytes, t->len, marker, strlen(marker)) != NULL;
}
