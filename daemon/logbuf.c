/* SPDX-License-Identifier: ISC */
/*
 * logbuf: a bounded queue of log lines, and the count of those dropped.
 *
 * The bytes sit in one array that grows as needed up to the bound (an
 * idle daemon keeps none) plus room for one notice, which is queued as
 * soon as some bytes were written, and so reports every line dropped
 * while nothing could be.  Written bytes are
 * consumed from the front; the rest moves down only when the end is
 * reached, so a steady trickle costs no copying.  It does not write,
 * wait, or know the time: log.c does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logbuf.h"
#include "xmalloc.h"

/* Room kept past the bound for the notice of dropped lines. */
#define LOGBUF_NOTICE_MAX	128
/* The array's first size; it doubles up to the bound. */
#define LOGBUF_FIRST_BYTES	4096

struct logbuf {
	char		*p;
	size_t		 cap;		/* allocated */
	size_t		 start, end;	/* waiting bytes: p[start..end) */
	size_t		 max;		/* bound on lines, notice apart */
	uint64_t	 dropped;	/* since the last notice */
};

static int	logbuf_room(struct logbuf *b, size_t len, size_t limit);
static void	logbuf_notice(struct logbuf *b);

/* Return an empty buffer for at most max_bytes of lines. */
struct logbuf *
logbuf_new(size_t max_bytes)
{
	struct logbuf	*b;

	b = xcalloc(1, sizeof *b);
	b->max = max_bytes;
	return b;
}

/* Free b and whatever it still holds. */
void
logbuf_free(struct logbuf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	free(b);
}

/* Make room for len more bytes if the queue stays within limit. */
static int
logbuf_room(struct logbuf *b, size_t len, size_t limit)
{
	size_t	n = b->end - b->start, cap;

	if (len > limit || n > limit - len)
		return -1;
	if (b->end + len <= b->cap)
		return 0;
	if (b->start > 0) {		/* move the waiting bytes down */
		memmove(b->p, b->p + b->start, n);
		b->start = 0;
		b->end = n;
		if (b->end + len <= b->cap)
			return 0;
	}
	cap = b->cap > 0 ? b->cap : LOGBUF_FIRST_BYTES;
	while (cap < n + len)
		cap *= 2;
	if (cap > b->max + LOGBUF_NOTICE_MAX)
		cap = b->max + LOGBUF_NOTICE_MAX;
	b->p = xreallocarray(b->p, cap, 1);
	b->cap = cap;
	return 0;
}

/* Queue the notice of dropped lines, if there are some and it fits. */
static void
logbuf_notice(struct logbuf *b)
{
	char	line[LOGBUF_NOTICE_MAX];
	int	n;

	if (b->dropped == 0)
		return;
	n = snprintf(line, sizeof line, "llmproxyd: warning: log: %llu "
	    "line(s) dropped: stderr was not being read\n",
	    (unsigned long long)b->dropped);
	if (n < 0 || (size_t)n >= sizeof line ||
	    logbuf_room(b, (size_t)n, b->max + LOGBUF_NOTICE_MAX) == -1)
		return;
	memcpy(b->p + b->end, line, (size_t)n);
	b->end += (size_t)n;
	b->dropped = 0;
}

/*
 * Queue line whole.  Once one is dropped, every line is until the notice
 * is queued (after some were written), so that it stands where they were.
 */
int
logbuf_add(struct logbuf *b, const char *line, size_t len)
{
	if (b->dropped > 0 || logbuf_room(b, len, b->max) == -1) {
		b->dropped++;
		return -1;
	}
	memcpy(b->p + b->end, line, len);
	b->end += len;
	return 0;
}

/* Return the waiting bytes and their length. */
const char *
logbuf_peek(const struct logbuf *b, size_t *len)
{
	*len = b->end - b->start;
	return *len > 0 ? b->p + b->start : NULL;
}

/* Forget n written bytes; the notice of dropped lines may fit now. */
void
logbuf_consume(struct logbuf *b, size_t n)
{
	if (n > b->end - b->start)
		n = b->end - b->start;
	b->start += n;
	if (b->start == b->end)
		b->start = b->end = 0;
	logbuf_notice(b);
}

/* Return how many bytes wait. */
size_t
logbuf_length(const struct logbuf *b)
{
	return b->end - b->start;
}

/* Return how many lines were dropped and not yet reported. */
uint64_t
logbuf_dropped(const struct logbuf *b)
{
	return b->dropped;
}
