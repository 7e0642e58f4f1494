/* SPDX-License-Identifier: ISC */
/*
 * sim: a provider that answers locally, for demos and offline tests.
 *
 * An answer is a sequence of pieces produced lazily, one per timer tick:
 * for a stream, the dialect's opening events, one event per token spaced
 * 1/tokens_per_second apart, and the closing events; for JSON, one body
 * after the whole generation time.  A piece that the owner refuses
 * (backpressure) is kept and offered again on sim_resume(); nothing else
 * is generated meanwhile, so a stalled reader costs one piece of memory.
 * It does not model errors or rate limits of its own: the daemon's limits
 * apply to it like to any provider.
 */
#include <sys/queue.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "clock.h"
#include "config.h"
#include "dialect.h"
#include "sim.h"
#include "xmalloc.h"

#define SIM_DEFAULT_TOKENS	16
#define SIM_MAX_TOKENS		65536	/* one JSON answer stays small */

enum sim_kind {
	SIM_OPENAI_CHAT,
	SIM_ANTHROPIC_MESSAGES,
	SIM_ERROR			/* answer error_status + error_body */
};

struct sim {
	const struct upstream_cbs *cbs;
	void			*arg;
	struct event		*timer;
	struct evkeyvalq	 headers;
	enum sim_kind		 kind;
	enum dialect		 dialect;
	int			 streaming;
	int			 include_usage;
	int			 headers_sent;
	int			 error_status;
	char			*error_body;
	char			*model;
	long long		 ntokens;	/* completion tokens to make */
	long long		 prompt_tokens;
	long long		 piece;		/* next piece to make */
	double			 token_interval; /* seconds */
	char			*pending;	/* refused piece, offered again */
	int			 in_callback;
	int			 cancelled;
};

static void	sim_parse(struct sim *s, const struct upstream_request *rq);
static long long	sim_max_tokens(json_t *body);
static int	sim_piece_is_token(const struct sim *s, long long k);
static void	sim_set_error(struct sim *s, int status, const char *code,
		    const char *message);
static void	sim_tick_cb(evutil_socket_t fd, short what, void *arg);
static void	sim_schedule(struct sim *s, double seconds);
static int	sim_offer(struct sim *s);
static char	*sim_next_piece(struct sim *s, int *last);
static char	*sim_openai_piece(struct sim *s, long long k, int *last);
static char	*sim_anthropic_piece(struct sim *s, long long k, int *last);
static char	*sim_json_body(struct sim *s);
static char	*sim_text(long long ntokens);
static const char *sim_word(long long i);
static char	*sim_dump(json_t *j);
static void	sim_finish(struct sim *s);
static void	sim_free(struct sim *s);

static const char *sim_words[] = {
	"Hello", " from", " the", " simulated", " provider", ".", " It",
	" streams", " one", " token", " at", " a", " time", ",", " just",
	" like", " a", " real", " model", "."
};

/* Start answering rq on base; cbs get arg. */
struct sim *
sim_start(struct event_base *base, const struct upstream_request *rq,
    const struct upstream_cbs *cbs, void *arg)
{
	struct sim	*s;

	s = xcalloc(1, sizeof *s);
	s->cbs = cbs;
	s->arg = arg;
	TAILQ_INIT(&s->headers);
	s->token_interval = 1.0 / rq->pc->tokens_per_second;
	if ((s->timer = evtimer_new(base, sim_tick_cb, s)) == NULL)
		abort();
	sim_parse(s, rq);
	sim_schedule(s, rq->pc->latency);
	return s;
}

/* Work out what to answer from rq's path and JSON body. */
static void
sim_parse(struct sim *s, const struct upstream_request *rq)
{
	size_t		 plen = strcspn(rq->rest, "?");
	json_t		*body, *v;
	json_error_t	 err;
	long long	 estimate;

	s->dialect = rq->pc->dialect;
	if (plen == 20 && strncmp(rq->rest, "/v1/chat/completions", 20) == 0)
		s->kind = SIM_OPENAI_CHAT;
	else if (plen == 12 && strncmp(rq->rest, "/v1/messages", 12) == 0)
		s->kind = SIM_ANTHROPIC_MESSAGES;
	else {
		sim_set_error(s, 404, "llmproxy_sim_not_found", "the simulated "
		    "provider answers POST /v1/chat/completions and "
		    "POST /v1/messages");
		return;
	}
	s->dialect = s->kind == SIM_OPENAI_CHAT ? DIALECT_OPENAI :
	    DIALECT_ANTHROPIC;
	body = json_loadb(rq->body, rq->body_len, 0, &err);
	if (body == NULL || !json_is_object(body)) {
		json_decref(body);
		sim_set_error(s, 400, "llmproxy_sim_bad_json",
		    "the request body is not a JSON object");
		return;
	}
	s->streaming = json_is_true(json_object_get(body, "stream"));
	v = json_object_get(json_object_get(body, "stream_options"),
	    "include_usage");
	s->include_usage = json_is_true(v);
	v = json_object_get(body, "model");
	s->model = xstrdup(json_is_string(v) ? json_string_value(v) : "sim");
	s->ntokens = sim_max_tokens(body);
	estimate = dialect_estimate_tokens(rq->body, rq->body_len, 0);
	s->prompt_tokens = estimate - s->ntokens;	/* the prompt's part */
	if (s->ntokens <= 0)
		s->ntokens = SIM_DEFAULT_TOKENS;
	if (s->ntokens > SIM_MAX_TOKENS)
		s->ntokens = SIM_MAX_TOKENS;
	if (s->prompt_tokens < 1)
		s->prompt_tokens = 1;
	json_decref(body);
}

/* Return the completion size body asks for, 0 if it names none. */
static long long
sim_max_tokens(json_t *body)
{
	static const char	*keys[] = { "max_tokens",
	    "max_completion_tokens", "max_output_tokens" };
	json_t			*v;
	size_t			 i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		v = json_object_get(body, keys[i]);
		if (json_is_integer(v) && json_integer_value(v) > 0)
			return (long long)json_integer_value(v);
	}
	return 0;
}

/* Return 1 if stream piece k carries a token (and so waits its turn). */
static int
sim_piece_is_token(const struct sim *s, long long k)
{
	if (s->kind == SIM_OPENAI_CHAT)
		return k >= 1 && k <= s->ntokens;
	return k >= 2 && k <= s->ntokens + 1;
}

/* Make s answer status with an error body in its dialect's shape. */
static void
sim_set_error(struct sim *s, int status, const char *code,
    const char *message)
{
	s->kind = SIM_ERROR;
	s->error_status = status;
	s->error_body = dialect_error_body(s->dialect,
	    dialect_error_type(s->dialect, status), code, message);
}

/* Arm the timer for the next piece. */
static void
sim_schedule(struct sim *s, double seconds)
{
	struct timeval	tv = clock_tv_seconds(seconds);

	evtimer_add(s->timer, &tv);
}

/* Timer: send the headers, or offer the next piece. */
static void
sim_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim	*s = arg;
	const char	*type;
	int		 status = 200;

	if (!s->headers_sent) {
		s->headers_sent = 1;
		if (s->kind == SIM_ERROR) {
			status = s->error_status;
			s->pending = s->error_body;
			s->error_body = NULL;
			s->piece = -1;		/* the error is the last */
		}
		type = s->streaming && s->kind != SIM_ERROR ?
		    "text/event-stream" : "application/json";
		evhttp_add_header(&s->headers, "Content-Type", type);
		if (s->streaming)
			evhttp_add_header(&s->headers, "Cache-Control",
			    "no-cache");
		s->in_callback = 1;
		s->cbs->headers(s->arg, status, &s->headers);
		s->in_callback = 0;
		if (s->cancelled) {
			sim_free(s);
			return;
		}
		if (s->kind != SIM_ERROR && !s->streaming) {
			sim_schedule(s, (double)s->ntokens * s->token_interval);
			return;
		}
	}
	if (sim_offer(s) == -1)
		return;			/* freed, or paused */
}

/*
 * Offer the pending piece (making the next one first if none is pending);
 * schedule the one after.  Return -1 if s was freed or the owner paused.
 */
static int
sim_offer(struct sim *s)
{
	int	 last = 0, refused;

	if (s->pending == NULL)
		s->pending = sim_next_piece(s, &last);
	else
		last = s->piece < 0;
	s->in_callback = 1;
	refused = s->cbs->body(s->arg, s->pending, strlen(s->pending));
	s->in_callback = 0;
	if (s->cancelled) {
		sim_free(s);
		return -1;
	}
	if (refused)
		return -1;		/* sim_resume() offers it again */
	free(s->pending);
	s->pending = NULL;
	if (last) {
		sim_finish(s);
		return -1;
	}
	/* Tokens come at the configured pace; framing events at once. */
	sim_schedule(s, sim_piece_is_token(s, s->piece) ? s->token_interval :
	    0);
	return 0;
}

/* Make the next piece of the answer; set *last on the final one. */
static char *
sim_next_piece(struct sim *s, int *last)
{
	char	*p;

	if (!s->streaming) {
		*last = 1;
		s->piece = -1;
		return sim_json_body(s);
	}
	if (s->kind == SIM_OPENAI_CHAT)
		p = sim_openai_piece(s, s->piece, last);
	else
		p = sim_anthropic_piece(s, s->piece, last);
	s->piece = *last ? -1 : s->piece + 1;
	return p;
}

/* Piece k of an OpenAI chat completion stream. */
static char *
sim_openai_piece(struct sim *s, long long k, int *last)
{
	json_t	*chunk, *delta, *choice;
	char	*data, *p;

	if (k > s->ntokens + 1 + s->include_usage) {
		*last = 1;
		return xstrdup("data: [DONE]\n\n");
	}
	chunk = json_pack("{s:s,s:s,s:i,s:s}", "id", "chatcmpl-sim", "object",
	    "chat.completion.chunk", "created", 1700000000, "model", s->model);
	if (k == s->ntokens + 2) {	/* include_usage: usage, no choices */
		json_object_set_new(chunk, "choices", json_array());
		json_object_set_new(chunk, "usage", json_pack("{s:I,s:I,s:I}",
		    "prompt_tokens", (json_int_t)s->prompt_tokens,
		    "completion_tokens", (json_int_t)s->ntokens,
		    "total_tokens", (json_int_t)(s->prompt_tokens +
		    s->ntokens)));
	} else {
		if (k == 0)
			delta = json_pack("{s:s,s:s}", "role", "assistant",
			    "content", "");
		else if (k <= s->ntokens)
			delta = json_pack("{s:s}", "content", sim_word(k - 1));
		else
			delta = json_object();
		choice = json_pack("{s:i,s:o,s:o}", "index", 0, "delta", delta,
		    "finish_reason", k == s->ntokens + 1 ? json_string("stop") :
		    json_null());
		json_object_set_new(chunk, "choices", json_pack("[o]", choice));
	}
	data = sim_dump(chunk);
	xasprintf(&p, "data: %s\n\n", data);
	free(data);
	return p;
}

/* Piece k of an Anthropic messages stream. */
static char *
sim_anthropic_piece(struct sim *s, long long k, int *last)
{
	const char	*name;
	json_t		*ev;
	char		*data, *p;

	if (k == 0) {
		name = "message_start";
		ev = json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:[],s:n,s:n,"
		    "s:{s:I,s:i}}}", "type", name, "message", "id", "msg_sim",
		    "type", "message", "role", "assistant", "model", s->model,
		    "content", "stop_reason", "stop_sequence", "usage",
		    "input_tokens", (json_int_t)s->prompt_tokens,
		    "output_tokens", 1);
	} else if (k == 1) {
		name = "content_block_start";
		ev = json_pack("{s:s,s:i,s:{s:s,s:s}}", "type", name, "index", 0,
		    "content_block", "type", "text", "text", "");
	} else if (k <= s->ntokens + 1) {
		name = "content_block_delta";
		ev = json_pack("{s:s,s:i,s:{s:s,s:s}}", "type", name, "index", 0,
		    "delta", "type", "text_delta", "text", sim_word(k - 2));
	} else if (k == s->ntokens + 2) {
		name = "content_block_stop";
		ev = json_pack("{s:s,s:i}", "type", name, "index", 0);
	} else if (k == s->ntokens + 3) {
		name = "message_delta";
		ev = json_pack("{s:s,s:{s:s,s:n},s:{s:I}}", "type", name,
		    "delta", "stop_reason", "end_turn", "stop_sequence",
		    "usage", "output_tokens", (json_int_t)s->ntokens);
	} else {
		name = "message_stop";
		ev = json_pack("{s:s}", "type", name);
		*last = 1;
	}
	data = sim_dump(ev);
	xasprintf(&p, "event: %s\ndata: %s\n\n", name, data);
	free(data);
	return p;
}

/* The whole non-streamed answer in s's dialect. */
static char *
sim_json_body(struct sim *s)
{
	json_t	*j;
	char	*text;

	text = sim_text(s->ntokens);
	if (s->kind == SIM_OPENAI_CHAT)
		j = json_pack("{s:s,s:s,s:i,s:s,s:[{s:i,s:{s:s,s:s},s:s}],"
		    "s:{s:I,s:I,s:I}}", "id", "chatcmpl-sim", "object",
		    "chat.completion", "created", 1700000000, "model", s->model,
		    "choices", "index", 0, "message", "role", "assistant",
		    "content", text, "finish_reason", "stop", "usage",
		    "prompt_tokens", (json_int_t)s->prompt_tokens,
		    "completion_tokens", (json_int_t)s->ntokens, "total_tokens",
		    (json_int_t)(s->prompt_tokens + s->ntokens));
	else
		j = json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s}],s:s,s:n,"
		    "s:{s:I,s:I}}", "id", "msg_sim", "type", "message", "role",
		    "assistant", "model", s->model, "content", "type", "text",
		    "text", text, "stop_reason", "end_turn", "stop_sequence",
		    "usage", "input_tokens", (json_int_t)s->prompt_tokens,
		    "output_tokens", (json_int_t)s->ntokens);
	free(text);
	return sim_dump(j);
}

/* The text of ntokens tokens. */
static char *
sim_text(long long ntokens)
{
	char		*text;
	size_t		 len = 0, wl;
	long long	 i;

	text = xmalloc((size_t)ntokens * 12 + 1);
	for (i = 0; i < ntokens; i++) {
		wl = strlen(sim_word(i));
		memcpy(text + len, sim_word(i), wl);
		len += wl;
	}
	text[len] = '\0';
	return text;
}

/* Token i of the simulated text. */
static const char *
sim_word(long long i)
{
	return sim_words[i % (long long)(sizeof sim_words /
	    sizeof sim_words[0])];
}

/* Dump j compactly into a new string and release j. */
static char *
sim_dump(json_t *j)
{
	char	*out;

	if (j == NULL || (out = json_dumps(j, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL)
		abort();		/* only on a packing bug or no memory */
	json_decref(j);
	return out;
}

/* The last piece was taken: report the end and free s. */
static void
sim_finish(struct sim *s)
{
	s->in_callback = 1;
	s->cbs->done(s->arg, UPSTREAM_OK, "ok");
	sim_free(s);
}

/* Deliver again the bytes body() refused, then go on. */
void
sim_resume(struct sim *s)
{
	if (s->pending != NULL && !s->in_callback)
		sim_schedule(s, 0);
}

/* Stop and free s; no callback runs afterwards. */
void
sim_cancel(struct sim *s)
{
	if (s->in_callback) {
		s->cancelled = 1;	/* freed when the callback returns */
		return;
	}
	sim_free(s);
}

/* Free s and everything it holds. */
static void
sim_free(struct sim *s)
{
	event_free(s->timer);
	evhttp_clear_headers(&s->headers);
	free(s->pending);
	free(s->error_body);
	free(s->model);
	free(s);
}
