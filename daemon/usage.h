/* SPDX-License-Identifier: ISC */
/*
 * usage: read the real token usage out of a response as it streams by.
 *
 * A JSON answer is kept (up to a bound) and its "usage" read at the end;
 * an SSE answer goes through the incremental SSE parser and only the
 * events that carry usage are decoded.  The bytes themselves are forwarded
 * elsewhere, untouched.  Pure: no libevent, no clock.
 */
#ifndef USAGE_H
#define USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct usage_reader;

/* Return a reader for a response in dialect d, SSE or not. */
struct usage_reader	*usage_reader_new(enum dialect d, int sse);
/* Read len more bytes of the response body. */
void			 usage_reader_feed(struct usage_reader *r,
			    const char *data, size_t len);
/*
 * Set *prompt and *completion to the input and output tokens the whole
 * response reported (-1 for a side it did not report); return -1 if it
 * reported neither or was too large to read, else 0.
 */
int			 usage_reader_tokens(struct usage_reader *r,
			    int64_t *prompt, int64_t *completion);
/* Free r; accepts NULL. */
void			 usage_reader_free(struct usage_reader *r);

#endif /* USAGE_H */
