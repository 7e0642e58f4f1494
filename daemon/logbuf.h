/* SPDX-License-Identifier: ISC */
/*
 * logbuf: the log lines that could not be written yet, bounded.
 *
 * A line is queued whole or dropped whole: past the bound, lines are
 * counted instead of kept, and once there is room again one notice line
 * saying how many were dropped takes their place, ahead of any later
 * line.  logbuf holds bytes only; log.c writes them and says how many
 * went out.  Pure: no libevent, no clock, no descriptor.
 */
#ifndef LOGBUF_H
#define LOGBUF_H

#include <stddef.h>
#include <stdint.h>

struct logbuf;

/* Return an empty buffer that holds at most max_bytes of lines. */
struct logbuf	*logbuf_new(size_t max_bytes);
void		 logbuf_free(struct logbuf *b);
/* Queue line (len bytes, its newline included); -1 if it was dropped. */
int		 logbuf_add(struct logbuf *b, const char *line, size_t len);
/* Return the bytes waiting to be written; *len is 0 when none wait. */
const char	*logbuf_peek(const struct logbuf *b, size_t *len);
/* Forget the first n waiting bytes: they were written. */
void		 logbuf_consume(struct logbuf *b, size_t n);
/* Return how many bytes wait to be written. */
size_t		 logbuf_length(const struct logbuf *b);
/* Return how many lines were dropped since the last notice was queued. */
uint64_t	 logbuf_dropped(const struct logbuf *b);

#endif /* LOGBUF_H */
