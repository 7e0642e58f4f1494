/* SPDX-License-Identifier: ISC */
/*
 * reply: the client side of a stream (struct stream, stream_state.h): the
 * response's status line and header fields, the body forwarded under
 * backpressure, and every way a response ends: refused or failed before
 * its headers, ended, broken after them, or cut by dropping the client.
 * Each ending frees the stream.
 */
#ifndef REPLY_H
#define REPLY_H

#include <stddef.h>
#include <stdint.h>

struct evhttp_request;
struct evkeyvalq;
struct provider_config;
struct stream;

/* Return the bytes queued for the client and not yet written. */
size_t	reply_backlog(struct stream *s);
/* Send the status and the header fields copied to the response so far. */
void	reply_start(struct stream *s);
/* Move the upstream's end-to-end header fields to the client response. */
void	reply_copy_headers(struct stream *s, struct evkeyvalq *in);
/* Send len bytes to the client, reading usage from them when needed. */
void	reply_forward(struct stream *s, const char *data, size_t len);
/* Return 0 if an SSE stream ended without its API's final event. */
int	reply_is_complete(struct stream *s);
/* Keep a 429's body until its end; a large one is passed on instead. */
void	reply_hold(struct stream *s, const char *data, size_t len);
/* Stop holding: send the 429's headers and what was held of its body. */
void	reply_release_hold(struct stream *s);
/* Forget the response fields of an abandoned attempt (CORS stays). */
void	reply_clear_headers(struct stream *s);
/* Refuse with the daemon's own error; retry_ms > 0 adds Retry-After. */
void	reply_refuse(struct stream *s, int status, const char *code,
	    const char *message, uint64_t retry_ms);
/* Answer with an error before any of the response went out. */
void	reply_fail(struct stream *s, int status, const char *code,
	    const char *message);
/* The response is complete: end it and keep the connection. */
void	reply_end(struct stream *s, const char *why);
/* The response broke after its headers went out. */
void	reply_break(struct stream *s, const char *code, const char *message);
/* Close the client connection (which frees the request) and the stream. */
void	reply_drop_client(struct stream *s, const char *why);

/* Answer req with status and an error body in pc's dialect (NULL: OpenAI). */
void	reply_error(struct evhttp_request *req,
	    const struct provider_config *pc, int status, const char *code,
	    const char *message);

#endif /* REPLY_H */
