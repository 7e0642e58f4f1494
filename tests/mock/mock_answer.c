/* SPDX-License-Identifier: ISC */

/*
 * mock_answer: plan the answer to one request and build its bytes.  A
 * request for x-mock-status gets an error body in its path's dialect, a
 * provider request a completion (whole, or as server-sent events in the
 * OpenAI or the Anthropic shape) and anything else an echo of itself.
 * The text is "tok0 tok1 ...", one token per stream event, with the
 * model and a prompt-token estimate taken from the request.  It sends
 * nothing and knows no timing or fault, save that a truncated stream
 * has no closing events: mock_exch.c does the rest.
 */

#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include <jansson.h>

#include "mock.h"
#include "mock_answer.h"
#include "mock_opts.h"
#include "mock_state.h"

#define MOCK_DEFAULT_CHUNKS	5

/* Fixed pieces of the answers; %s is the model, already JSON-encoded. */
#define OAI_CHUNK_HEAD	"data: {\"id\":\"chatcmpl-mock\",\"object\":" \
    "\"chat.completion.chunk\",\"created\":1700000000,\"model\":%s,"
#define OAI_DELTA_HEAD	"\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
#define OAI_DELTA_TAIL	"\"},\"finish_reason\":null}]}\n\n"
#define OAI_STOP	"\"choices\":[{\"index\":0,\"delta\":{}," \
    "\"finish_reason\":\"stop\"}]}\n\n"
#define OAI_USAGE	"\"choices\":[],\"usage\":{\"prompt_tokens\":%ld," \
    "\"completion_tokens\":%ld,\"total_tokens\":%ld}}\n\n"
#define OAI_DONE	"data: [DONE]\n\n"
#define OAI_BODY_HEAD	"{\"id\":\"chatcmpl-mock\",\"object\":" \
    "\"chat.completion\",\"created\":1700000000,\"model\":%s,\"choices\":" \
    "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""
#define OAI_BODY_TAIL	"\"},\"finish_reason\":\"stop\"}],\"usage\":{" \
    "\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld}}"
#define ANT_BODY_HEAD	"{\"id\":\"msg_mock\",\"type\":\"message\",\"role\":" \
    "\"assistant\",\"model\":%s,\"content\":[{\"type\":\"text\",\"text\":\""
#define ANT_BODY_TAIL	"\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":" \
    "null,\"usage\":{\"input_tokens\":%ld,\"output_tokens\":%ld}}"
#define ANT_START	"event: message_start\ndata: {\"type\":" \
    "\"message_start\",\"message\":{\"id\":\"msg_mock\",\"type\":\"message\"," \
    "\"role\":\"assistant\",\"model\":%s,\"content\":[],\"stop_reason\":null," \
    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":%ld," \
    "\"output_tokens\":1}}}\n\n" \
    "event: content_block_start\ndata: {\"type\":\"content_block_start\"," \
    "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
#define ANT_DELTA_HEAD	"event: content_block_delta\ndata: {\"type\":" \
    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\"," \
    "\"text\":\""
#define ANT_DELTA_TAIL	"\"}}\n\n"
#define ANT_END		"event: content_block_stop\ndata: {\"type\":" \
    "\"content_block_stop\",\"index\":0}\n\n" \
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":" \
    "{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":" \
    "{\"output_tokens\":%ld}}\n\n" \
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

static void	 mock_answer_pad(struct evbuffer *, size_t);
static void	 mock_answer_tokens(struct evbuffer *, long);
static void	 mock_answer_read_request(struct exch *, json_t *);
static long	 mock_answer_prompt_tokens(json_t *);
static void	 mock_answer_completion(struct exch *);
static void	 mock_answer_error(struct exch *, int, const char *);
static void	 mock_answer_echo(struct exch *, const char *, size_t);
static void	 mock_answer_sse_token(struct exch *, struct evbuffer *,
		    long);
static void	 mock_answer_sse_openai_end(struct exch *,
		    struct evbuffer *);

static char	mock_pad[4096];		/* 'x' * 4096, for chunk padding */

/* Fill the padding that stream tokens are grown with. */
void
mock_answer_init(void)
{
	memset(mock_pad, 'x', sizeof(mock_pad));
}

/* Append n padding bytes ('x', nothing JSON must escape). */
static void
mock_answer_pad(struct evbuffer *b, size_t n)
{
	size_t	k;

	evbuffer_expand(b, n);
	for (; n > 0; n -= k) {
		k = n < sizeof(mock_pad) ? n : sizeof(mock_pad);
		evbuffer_add(b, mock_pad, k);
	}
}

/* Append the text of n tokens, "tok0 tok1 ...". */
static void
mock_answer_tokens(struct evbuffer *b, long n)
{
	long	i;

	for (i = 0; i < n; i++)
		evbuffer_add_printf(b, "tok%ld ", i);
}

/* Decide the answer: an error or a JSON body in ex->buf, or a stream. */
void
mock_answer_plan(struct exch *ex, const char *body, size_t len)
{
	json_t	*root = NULL;

	if (ex->o.status > 200 && ex->o.status <= 599)
		mock_answer_error(ex, (int)ex->o.status, "mock error");
	else if (!ex->provider)
		mock_answer_echo(ex, body, len);
	else if ((root = json_loadb(body, len, 0, NULL)) == NULL ||
	    !json_is_object(root))
		mock_answer_error(ex, 400,
		    "mock error: body is not a JSON object");
	else {
		mock_answer_read_request(ex, root);
		if (!ex->stream)
			mock_answer_completion(ex);
	}
	json_decref(root);
	mock_opts_normalize(&ex->o);
}

/* Take the model, the stream flags and the token counts from root. */
static void
mock_answer_read_request(struct exch *ex, json_t *root)
{
	json_t		*model, *max;
	json_int_t	 n;

	model = json_object_get(root, "model");
	if (json_is_string(model))
		ex->model = json_dumps(model, JSON_ENCODE_ANY);
	if (ex->model == NULL)
		ex->model = mock_strdup("\"mock\"");
	ex->stream = json_is_true(json_object_get(root, "stream"));
	ex->include_usage = json_is_true(json_object_get(
	    json_object_get(root, "stream_options"), "include_usage"));
	ex->prompt_tokens = mock_answer_prompt_tokens(json_object_get(root,
	    "messages"));
	if (ex->o.chunks >= 0)
		return;
	max = json_object_get(root, "max_tokens");
	if (!json_is_integer(max))
		max = json_object_get(root, "max_completion_tokens");
	n = json_is_integer(max) ? json_integer_value(max) : -1;
	if (n < 0)
		ex->o.chunks = MOCK_DEFAULT_CHUNKS;
	else
		ex->o.chunks = n > MOCK_MAX_CHUNKS ? MOCK_MAX_CHUNKS : (long)n;
}

/* Estimate prompt tokens: a quarter of the message text bytes, >= 1. */
static long
mock_answer_prompt_tokens(json_t *messages)
{
	json_t	*m, *content, *part, *text;
	size_t	 i, j, bytes = 0;

	json_array_foreach(messages, i, m) {
		content = json_object_get(m, "content");
		if (json_is_string(content))
			bytes += json_string_length(content);
		json_array_foreach(content, j, part) {
			text = json_object_get(part, "text");
			if (json_is_string(text))
				bytes += json_string_length(text);
		}
	}
	bytes = (bytes + 3) / 4;
	return bytes < 1 ? 1 : (long)bytes;
}

/* Put a whole (non-streamed) completion into ex->buf. */
static void
mock_answer_completion(struct exch *ex)
{
	long	p = ex->prompt_tokens, c = ex->o.chunks;

	ex->code = 200;
	if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add_printf(ex->buf, ANT_BODY_HEAD, ex->model);
	else
		evbuffer_add_printf(ex->buf, OAI_BODY_HEAD, ex->model);
	mock_answer_tokens(ex->buf, c);
	if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add_printf(ex->buf, ANT_BODY_TAIL, p, c);
	else
		evbuffer_add_printf(ex->buf, OAI_BODY_TAIL, p, c, p + c);
}

/* Put an error body for code, in the path's dialect, into ex->buf. */
static void
mock_answer_error(struct exch *ex, int code, const char *msg)
{
	const struct mock_status	*st = mock_status_find(code);
	json_t				*ecode = NULL;

	ex->code = code;
	ex->stream = 0;
	if (ex->route == ROUTE_ANTHROPIC) {
		mock_json_out(ex->buf, json_pack("{s:s,s:{s:s,s:s}}",
		    "type", "error", "error", "type", st->ant_type,
		    "message", msg));
		return;
	}
	if (ex->o.error_code != NULL)
		ecode = json_string(ex->o.error_code);	/* NULL: not UTF-8 */
	if (ecode == NULL)
		ecode = json_string(st->oai_code);
	mock_json_out(ex->buf, json_pack("{s:{s:s,s:s,s:n,s:o}}", "error",
	    "message", msg, "type", st->oai_type, "param", "code", ecode));
}

/* Put a description of the request into ex->buf (nothing for HEAD). */
static void
mock_answer_echo(struct exch *ex, const char *body, size_t len)
{
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(ex->req);

	ex->code = 200;
	if (cmd == EVHTTP_REQ_HEAD)
		return;
	mock_json_out(ex->buf, json_pack("{s:s,s:o,s:o,s:o,s:I}",
	    "method", mock_method(cmd),
	    "uri", mock_json_str(evhttp_request_get_uri(ex->req)),
	    "headers", mock_json_headers(
	    evhttp_request_get_input_headers(ex->req)),
	    "body", mock_json_bytes(body, len),
	    "body_len", (json_int_t)len));
}

/* Count ex's stream events: the tokens, then the closing events. */
long
mock_answer_sse_total(const struct exch *ex)
{
	return ex->o.chunks + (ex->o.truncate ? 0 : 1);
}

/* Append what opens a stream before its first event (Anthropic only). */
void
mock_answer_sse_head(struct exch *ex, struct evbuffer *out)
{
	if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add_printf(out, ANT_START, ex->model,
		    ex->prompt_tokens);
}

/* Append stream event number ex->sent: a token or the closing events. */
void
mock_answer_sse_step(struct exch *ex, struct evbuffer *out)
{
	if (ex->sent >= mock_answer_sse_total(ex))
		return;
	if (ex->sent < ex->o.chunks)
		mock_answer_sse_token(ex, out, ex->sent);
	else if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add_printf(out, ANT_END, ex->o.chunks);
	else
		mock_answer_sse_openai_end(ex, out);
	ex->sent++;
}

/* Append token i as one event, its text padded to about chunk_bytes. */
static void
mock_answer_sse_token(struct exch *ex, struct evbuffer *out, long i)
{
	int	n;

	if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add(out, ANT_DELTA_HEAD, sizeof(ANT_DELTA_HEAD) - 1);
	else
		evbuffer_add_printf(out, OAI_CHUNK_HEAD OAI_DELTA_HEAD,
		    ex->model);
	n = evbuffer_add_printf(out, "tok%ld ", i);
	if (n > 0 && ex->o.chunk_bytes > n)
		mock_answer_pad(out, (size_t)(ex->o.chunk_bytes - n));
	if (ex->route == ROUTE_ANTHROPIC)
		evbuffer_add(out, ANT_DELTA_TAIL, sizeof(ANT_DELTA_TAIL) - 1);
	else
		evbuffer_add(out, OAI_DELTA_TAIL, sizeof(OAI_DELTA_TAIL) - 1);
}

/* Append the closing OpenAI events: stop, usage if asked, [DONE]. */
static void
mock_answer_sse_openai_end(struct exch *ex, struct evbuffer *out)
{
	long	p = ex->prompt_tokens, c = ex->o.chunks;

	evbuffer_add_printf(out, OAI_CHUNK_HEAD OAI_STOP, ex->model);
	if (ex->include_usage)
		evbuffer_add_printf(out, OAI_CHUNK_HEAD OAI_USAGE, ex->model,
		    p, c, p + c);
	evbuffer_add(out, OAI_DONE, sizeof(OAI_DONE) - 1);
}

