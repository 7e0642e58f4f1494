/* SPDX-License-Identifier: ISC */
/*
 * dialect: what differs between OpenAI-style and Anthropic-style APIs.
 *
 * Error bodies in each provider's shape (so an SDK parses the daemon's own
 * refusals like the provider's), the token estimate made before a request
 * is sent, and the real usage read back from a JSON body or from a
 * stream's events.  Pure: no libevent, no clock.
 */
#ifndef DIALECT_H
#define DIALECT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Usage as a response reports it; a member is -1 until seen. */
struct dialect_usage {
	int64_t	input_tokens;
	int64_t	output_tokens;
};

/*
 * Return a new NUL-terminated error body in d's shape:
 * OpenAI   {"error":{"message":M,"type":T,"code":C}}
 * Anthropic {"type":"error","error":{"type":T,"message":"C: M"}}
 * type is the dialect's error type (e.g. "rate_limit_error"); code is the
 * daemon's code (e.g. "llmproxy_queue_full").  The caller frees it.
 */
char	*dialect_error_body(enum dialect d, const char *type,
	    const char *code, const char *message);

/* Return the error type d uses for HTTP status (e.g. 429, 502, 504). */
const char *dialect_error_type(enum dialect d, int status);

/*
 * Return a new SSE event that ends a failed stream in d's shape: OpenAI
 * "data: {...}\n\n", Anthropic "event: error\ndata: {...}\n\n".
 */
char	*dialect_stream_error_event(enum dialect d, const char *code,
	    const char *message);

/*
 * Return what the last event of a complete SSE stream holds for a request
 * to path (the part after the provider's name, query included) in d:
 * "[DONE]" for OpenAI chat and text completions, "message_stop" for
 * Anthropic messages; NULL where the API has no such event (the Responses
 * API, anything else), so that no stream there is judged cut short.
 */
const char *dialect_stream_end_marker(enum dialect d, const char *path);

/* Initialise u to "nothing seen". */
void	 dialect_usage_init(struct dialect_usage *u);

/* Read usage from a whole JSON response body; return 0 if any was found. */
int	 dialect_usage_from_body(enum dialect d, const char *body, size_t len,
	    struct dialect_usage *u);

/*
 * Update u from one SSE event (name and data as sse.c delivers them):
 * OpenAI's chunk carrying "usage", Anthropic's message_start (input) and
 * message_delta (cumulative output).  Return 0 if the event carried usage.
 */
int	 dialect_usage_from_event(enum dialect d, const char *event,
	    size_t event_len, const char *data, size_t data_len,
	    struct dialect_usage *u);

/*
 * Estimate the tokens a request body will cost: the UTF-8 bytes of every
 * string under messages, system, input and prompt, divided by 4 and rounded
 * up, plus max_tokens / max_completion_tokens / max_output_tokens, or
 * default_max_tokens when the body names none.  A body that is not JSON
 * costs default_max_tokens.
 */
int64_t	 dialect_estimate_tokens(const char *body, size_t len,
	    int64_t default_max_tokens);

/*
 * Return 1 if an error body is a billing error (OpenAI code
 * "insufficient_quota", Anthropic type "billing_error"): never retried.
 */
int	 dialect_is_billing_error(const char *body, size_t len);

/*
 * For a streaming OpenAI request body, return a new body that also sets
 * stream_options.include_usage (re-serialised JSON), its length in
 * *out_len; NULL when the body is not a streaming request object.
 */
char	*dialect_add_include_usage(const char *body, size_t len,
	    size_t *out_len);

/*
 * Return a new body whose top-level "model" is TO where it was FROM in
 * one of map's n "FROM=TO" entries (model_map, SPEC 13), every other byte
 * kept, its length in *out_len; NULL when no entry applies.
 */
char	*dialect_map_model(const char *body, size_t len, char *const *map,
	    size_t n, size_t *out_len);

#endif /* DIALECT_H */
