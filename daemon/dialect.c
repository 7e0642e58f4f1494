/* SPDX-License-Identifier: ISC */
/*
 * dialect: the OpenAI and Anthropic shapes of errors, usage and cost.
 *
 * Error bodies and stream error events are built with jansson, so any
 * message is escaped (and bytes that are not UTF-8 become '?').  Usage is
 * read leniently from bodies and SSE events: OpenAI's prompt/completion
 * tokens or the Responses API's input/output tokens; Anthropic's
 * message_start and message_delta, by event name or by the data's "type",
 * counting input as input_tokens plus cache_creation_input_tokens (what
 * the provider's input limit counts; cache reads are not).  Only the
 * "usage" member of a body is read, and only events that name "usage" are
 * parsed.  The token estimate walks the prompt members of a request body.
 * Any input, JSON or not, is safe: what cannot be read is simply not
 * counted.  It does not decide what to do with the numbers; the limiter
 * does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "dialect.h"
#include "jscan.h"
#include "xmalloc.h"

/* The usage counts read, in dialect_usage_keys' order. */
enum dialect_usage_key {
	DIALECT_USAGE_INPUT,		/* input_tokens */
	DIALECT_USAGE_PROMPT,		/* prompt_tokens */
	DIALECT_USAGE_CACHE,		/* cache_creation_input_tokens */
	DIALECT_USAGE_OUTPUT,		/* output_tokens */
	DIALECT_USAGE_COMPLETION,	/* completion_tokens */
	DIALECT_NUSAGE
};

static const char *const dialect_usage_keys[DIALECT_NUSAGE] = {
	"input_tokens", "prompt_tokens", "cache_creation_input_tokens",
	"output_tokens", "completion_tokens"
};

static json_t	*dialect_string(const char *s);
static char	*dialect_dump(json_t *j);
static char	*dialect_splice(const char *body, size_t len, size_t off,
		    size_t cut, const char *text, size_t *out_len);
static json_t	*dialect_openai_error(const char *type, const char *code,
		    const char *message);
static json_t	*dialect_anthropic_error(const char *type, const char *code,
		    const char *message);
static json_t	*dialect_load(const char *s, size_t len);
static int	 dialect_member_int(json_t *o, const char *key, int64_t *out);
static int	 dialect_read_usage(enum dialect d, json_t *usage,
		    struct dialect_usage *u);
static int	 dialect_take_usage(enum dialect d,
		    const int64_t n[DIALECT_NUSAGE], struct dialect_usage *u);
static int	 dialect_is(const char *s, size_t len, const char *what);
static int	 dialect_path_ends(const char *path, size_t len,
		    const char *suffix);
static int	 dialect_openai_event(json_t *root, struct dialect_usage *u);
static int	 dialect_anthropic_event(const char *event, size_t event_len,
		    json_t *root, struct dialect_usage *u);

/* Return a new JSON string for s: "" for NULL, '?' for bytes not UTF-8. */
static json_t *
dialect_string(const char *s)
{
	json_t	*j;
	char	*copy;
	size_t	 i;

	if (s == NULL)
		s = "";
	if ((j = json_string(s)) != NULL)
		return j;
	copy = xstrdup(s);
	for (i = 0; copy[i] != '\0'; i++) {
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	}
	j = json_string(copy);
	free(copy);
	return j;
}

/* Return j as new compact text, members in insertion order; frees j. */
static char *
dialect_dump(json_t *j)
{
	char	*s;

	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (s == NULL)		/* only when out of memory */
		return xstrdup("{}");
	return s;
}

/* Return a new OpenAI error object: {"error":{message,type,code}}. */
static json_t *
dialect_openai_error(const char *type, const char *code, const char *message)
{
	json_t	*root, *err;

	root = json_object();
	err = json_object();
	json_object_set_new(err, "message", dialect_string(message));
	json_object_set_new(err, "type", dialect_string(type));
	json_object_set_new(err, "code", code != NULL ? dialect_string(code) :
	    json_null());
	json_object_set_new(root, "error", err);
	return root;
}

/* Return a new Anthropic error object, the code leading the message. */
static json_t *
dialect_anthropic_error(const char *type, const char *code,
    const char *message)
{
	json_t	*root, *err;
	char	*text;

	root = json_object();
	err = json_object();
	json_object_set_new(root, "type", json_string("error"));
	json_object_set_new(err, "type", dialect_string(type));
	if (code != NULL && *code != '\0') {
		xasprintf(&text, "%s: %s", code,
		    message != NULL ? message : "");
		json_object_set_new(err, "message", dialect_string(text));
		free(text);
	} else
		json_object_set_new(err, "message", dialect_string(message));
	json_object_set_new(root, "error", err);
	return root;
}

/* Return a new error body in d's shape; the caller frees it. */
char *
dialect_error_body(enum dialect d, const char *type, const char *code,
    const char *message)
{
	if (d == DIALECT_ANTHROPIC)
		return dialect_dump(dialect_anthropic_error(type, code,
		    message));
	return dialect_dump(dialect_openai_error(type, code, message));
}

/* Return the error type d uses for HTTP status. */
const char *
dialect_error_type(enum dialect d, int status)
{
	if (d != DIALECT_ANTHROPIC) {
		if (status == 429)
			return "rate_limit_exceeded";
		return status >= 500 ? "server_error" :
		    "invalid_request_error";
	}
	switch (status) {
	case 401:
		return "authentication_error";
	case 402:
		return "billing_error";
	case 403:
		return "permission_error";
	case 404:
		return "not_found_error";
	case 413:
		return "request_too_large";
	case 429:
		return "rate_limit_error";
	case 504:
		return "timeout_error";
	case 529:
		return "overloaded_error";
	default:
		return status >= 500 ? "api_error" : "invalid_request_error";
	}
}

/* Return what the last event of a complete stream for path holds. */
const char *
dialect_stream_end_marker(enum dialect d, const char *path)
{
	size_t	len = strcspn(path, "?");

	if (d == DIALECT_ANTHROPIC)
		return dialect_path_ends(path, len, "/messages") ?
		    "message_stop" : NULL;
	if (dialect_path_ends(path, len, "/chat/completions") ||
	    dialect_path_ends(path, len, "/completions"))
		return "[DONE]";
	return NULL;
}

/* Return 1 if the len bytes of path end with suffix (or are it, less "/"). */
static int
dialect_path_ends(const char *path, size_t len, const char *suffix)
{
	size_t	n = strlen(suffix);

	while (len > 0 && path[len - 1] == '/')
		len--;
	if (len >= n && memcmp(path + len - n, suffix, n) == 0)
		return 1;
	return len == n - 1 && memcmp(path, suffix + 1, n - 1) == 0;
}

/* Return a new SSE event that ends a failed stream in d's shape. */
char *
dialect_stream_error_event(enum dialect d, const char *code,
    const char *message)
{
	char	*body, *ev;

	if (d == DIALECT_ANTHROPIC) {
		body = dialect_error_body(d, "api_error", code, message);
		xasprintf(&ev, "event: error\ndata: %s\n\n", body);
	} else {
		body = dialect_error_body(d, "server_error", code, message);
		xasprintf(&ev, "data: %s\n\n", body);
	}
	free(body);
	return ev;
}

/* Initialise u to "nothing seen". */
void
dialect_usage_init(struct dialect_usage *u)
{
	u->input_tokens = -1;
	u->output_tokens = -1;
}

/* Parse len bytes at s as JSON of any kind; return NULL if they are not. */
static json_t *
dialect_load(const char *s, size_t len)
{
	json_error_t	 err;

	if (s == NULL)
		return NULL;
	return json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
}

/* Read o's member key as a non-negative integer; return 0 if it is one. */
static int
dialect_member_int(json_t *o, const char *key, int64_t *out)
{
	json_t	*v;

	v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* Update u from a usage object; return 0 if it carried any count. */
static int
dialect_read_usage(enum dialect d, json_t *usage, struct dialect_usage *u)
{
	int64_t	n[DIALECT_NUSAGE];
	size_t	i;

	if (!json_is_object(usage))
		return -1;
	for (i = 0; i < DIALECT_NUSAGE; i++) {
		if (dialect_member_int(usage, dialect_usage_keys[i],
		    &n[i]) == -1)
			n[i] = -1;
	}
	return dialect_take_usage(d, n, u);
}

/*
 * Update u from the counts found (-1: absent or not a count); return 0 if
 * there was any.  Input is input_tokens or else prompt_tokens, plus, for
 * Anthropic, cache_creation_input_tokens; output is output_tokens or else
 * completion_tokens.
 */
static int
dialect_take_usage(enum dialect d, const int64_t n[DIALECT_NUSAGE],
    struct dialect_usage *u)
{
	int64_t	in = n[DIALECT_USAGE_INPUT], out = n[DIALECT_USAGE_OUTPUT];
	int64_t	cache = n[DIALECT_USAGE_CACHE];
	int	found = -1;

	if (in < 0)
		in = n[DIALECT_USAGE_PROMPT];
	if (in >= 0) {
		if (d == DIALECT_ANTHROPIC && cache >= 0)
			in = cache > INT64_MAX - in ? INT64_MAX : in + cache;
		u->input_tokens = in;
		found = 0;
	}
	if (out < 0)
		out = n[DIALECT_USAGE_COMPLETION];
	if (out >= 0) {
		u->output_tokens = out;
		found = 0;
	}
	return found;
}

/*
 * Read usage from a whole JSON response body; return 0 if any was found.
 * jscan reads the top-level "usage" member's counts from the text: a
 * jansson tree of the whole body cost more than everything else the
 * request needed.
 */
int
dialect_usage_from_body(enum dialect d, const char *body, size_t len,
    struct dialect_usage *u)
{
	struct jscan_span	 v[DIALECT_NUSAGE];
	int64_t			 n[DIALECT_NUSAGE];
	const char		*us;
	size_t			 i, off, ulen;

	if (jscan_member(body, len, "usage", &off, &ulen) == -1)
		return -1;
	us = body + off;
	if (jscan_members(us, ulen, dialect_usage_keys, DIALECT_NUSAGE,
	    v) == -1)
		return -1;
	for (i = 0; i < DIALECT_NUSAGE; i++) {
		if (!v[i].found || jscan_to_uint(us + v[i].off, v[i].len,
		    &n[i]) == -1)
			n[i] = -1;
	}
	return dialect_take_usage(d, n, u);
}

/* Return 1 if the len bytes at s are exactly what. */
static int
dialect_is(const char *s, size_t len, const char *what)
{
	return s != NULL && strlen(what) == len && memcmp(s, what, len) == 0;
}

/* Update u from an OpenAI chunk (or Responses API event) with usage. */
static int
dialect_openai_event(json_t *root, struct dialect_usage *u)
{
	json_t	*usage;

	usage = json_object_get(root, "usage");
	if (json_is_object(usage))
		return dialect_read_usage(DIALECT_OPENAI, usage, u);
	usage = json_object_get(json_object_get(root, "response"), "usage");
	return dialect_read_usage(DIALECT_OPENAI, usage, u);
}

/* Update u from Anthropic's message_start or message_delta. */
static int
dialect_anthropic_event(const char *event, size_t event_len, json_t *root,
    struct dialect_usage *u)
{
	const char	*type;
	json_t		*usage;

	type = json_string_value(json_object_get(root, "type"));
	if (dialect_is(event, event_len, "message_start") ||
	    (type != NULL && strcmp(type, "message_start") == 0))
		usage = json_object_get(json_object_get(root, "message"),
		    "usage");
	else if (dialect_is(event, event_len, "message_delta") ||
	    (type != NULL && strcmp(type, "message_delta") == 0))
		usage = json_object_get(root, "usage");
	else
		return -1;
	return dialect_read_usage(DIALECT_ANTHROPIC, usage, u);
}

/* Update u from one SSE event; return 0 if the event carried usage. */
int
dialect_usage_from_event(enum dialect d, const char *event,
    size_t event_len, const char *data, size_t data_len,
    struct dialect_usage *u)
{
	json_t	*root;
	int	 rv;

	/* Most events carry no usage: do not parse those at all. */
	if (data == NULL || memmem(data, data_len, "\"usage\"", 7) == NULL)
		return -1;
	if ((root = dialect_load(data, data_len)) == NULL)
		return -1;		/* OpenAI's "[DONE]", junk */
	if (d == DIALECT_ANTHROPIC)
		rv = dialect_anthropic_event(event, event_len, root, u);
	else
		rv = dialect_openai_event(root, u);
	json_decref(root);
	return rv;
}

/*
 * Estimate the tokens a request body will cost.  The body is read as text
 * by jscan (checked as jansson would, then only the prompt members'
 * strings counted): a jansson tree of every request body cost more than
 * the rest of the request's handling.
 */
int64_t
dialect_estimate_tokens(const char *body, size_t len,
    int64_t default_max_tokens)
{
	/* The prompt members, then the output limits in order of choice. */
	static const char *const keys[] = {
		"messages", "system", "input", "prompt",
		"max_tokens", "max_completion_tokens", "max_output_tokens"
	};
	struct jscan_span	 v[sizeof keys / sizeof keys[0]];
	uint64_t		 bytes = 0, n, text;
	int64_t			 def, max;
	size_t			 i;

	def = default_max_tokens < 0 ? 0 : default_max_tokens;
	if (body == NULL || jscan_valid(body, len) == -1 ||
	    jscan_members(body, len, keys, sizeof keys / sizeof keys[0],
	    v) == -1)
		return def;			/* not a JSON object */
	for (i = 0; i < 4; i++) {
		if (!v[i].found)
			continue;
		n = jscan_string_bytes(body + v[i].off, v[i].len);
		bytes = n > UINT64_MAX - bytes ? UINT64_MAX : bytes + n;
	}
	text = bytes / 4 + (bytes % 4 != 0);
	max = def;
	for (i = 4; i < sizeof keys / sizeof keys[0]; i++) {
		if (v[i].found && jscan_to_uint(body + v[i].off, v[i].len,
		    &max) == 0)
			break;
	}
	if (text > (uint64_t)(INT64_MAX - max))
		return INT64_MAX;
	return (int64_t)text + max;
}

/*
 * Return 1 if an error body is a billing error rather than a rate limit
 * (OpenAI's code "insufficient_quota", Anthropic's "billing_error"): no
 * amount of waiting helps, so it is never retried.
 */
int
dialect_is_billing_error(const char *body, size_t len)
{
	json_t		*root, *err;
	const char	*code, *type;
	int		 billing;

	if ((root = dialect_load(body, len)) == NULL)
		return 0;
	err = json_object_get(root, "error");
	code = json_string_value(json_object_get(err, "code"));
	type = json_string_value(json_object_get(err, "type"));
	billing = (code != NULL && strcmp(code, "insufficient_quota") == 0) ||
	    (type != NULL && strcmp(type, "insufficient_quota") == 0) ||
	    (type != NULL && strcmp(type, "billing_error") == 0);
	json_decref(root);
	return billing;
}

/*
 * For a streaming OpenAI request body, return a new body that also asks
 * for stream_options.include_usage, and its length in *out_len; return
 * NULL (nothing to change) for anything else.  The text is patched, not
 * re-serialised: every other byte stays as the client wrote it (a number
 * such as 0.7 keeps its spelling, members their spacing and order).
 */
char *
dialect_add_include_usage(const char *body, size_t len, size_t *out_len)
{
	static const char *const keys[] = { "stream", "stream_options" };
	struct jscan_span	 sp[2];
	const char		*opts;
	size_t			 off, vlen, end;

	if (jscan_valid(body, len) != 0 ||
	    jscan_members(body, len, keys, 2, sp) != 0 || !sp[0].found ||
	    sp[0].len != 4 || memcmp(body + sp[0].off, "true", 4) != 0)
		return NULL;
	if (!sp[1].found) {		/* a member of its own, at the end */
		end = len;
		while (body[end - 1] != '}')
			end--;
		return dialect_splice(body, len, end - 1, 0,
		    ",\"stream_options\":{\"include_usage\":true}", out_len);
	}
	opts = body + sp[1].off;
	if (*opts != '{')		/* null or not an object: replaced */
		return dialect_splice(body, len, sp[1].off, sp[1].len,
		    "{\"include_usage\":true}", out_len);
	if (jscan_member(opts, sp[1].len, "include_usage", &off, &vlen) == 0) {
		if (vlen == 4 && memcmp(opts + off, "true", 4) == 0)
			return NULL;
		return dialect_splice(body, len, sp[1].off + off, vlen, "true",
		    out_len);
	}
	off = 1;
	while (opts[off] == ' ' || opts[off] == '\t' || opts[off] == '\n' ||
	    opts[off] == '\r')
		off++;
	return dialect_splice(body, len, sp[1].off + 1, 0, opts[off] == '}' ?
	    "\"include_usage\":true" : "\"include_usage\":true,", out_len);
}

/*
 * Return a new body whose top-level "model" is TO when it was FROM in one
 * of map's n "FROM=TO" entries (every other byte as it was), its length
 * in *out_len; NULL when no entry applies.
 */
char *
dialect_map_model(const char *body, size_t len, char *const *map, size_t n,
    size_t *out_len)
{
	const char	*eq;
	char		*to, *out;
	size_t		 off, vlen, i, flen;

	if (n == 0 || jscan_valid(body, len) != 0 ||
	    jscan_member(body, len, "model", &off, &vlen) != 0 || vlen < 2 ||
	    body[off] != '"')
		return NULL;
	for (i = 0; i < n; i++) {
		eq = strchr(map[i], '=');
		flen = (size_t)(eq - map[i]);
		if (flen != vlen - 2 || memcmp(body + off + 1, map[i], flen) !=
		    0)
			continue;
		xasprintf(&to, "\"%s\"", eq + 1);
		out = dialect_splice(body, len, off, vlen, to, out_len);
		free(to);
		return out;
	}
	return NULL;
}

/* Return body with cut bytes at off replaced by text; set *out_len. */
static char *
dialect_splice(const char *body, size_t len, size_t off, size_t cut,
    const char *text, size_t *out_len)
{
	size_t	tlen = strlen(text);
	char	*out;

	*out_len = len - cut + tlen;
	out = xmalloc(*out_len + 1);
	memcpy(out, body, off);
	memcpy(out + off, text, tlen);
	memcpy(out + off + tlen, body + off + cut, len - off - cut);
	out[*out_len] = '\0';
	return out;
}
