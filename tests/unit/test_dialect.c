/* SPDX-License-Identifier: ISC */
/*
 * test_dialect: error shapes, usage and the token estimate of dialect.c.
 *
 * Error bodies and stream error events are compared byte for byte; usage
 * is read from bodies and single events of both dialects, including the
 * shapes that must be ignored; the estimate is checked on worked examples
 * (multibyte UTF-8, nested content blocks, every output limit member) and
 * on input that is not JSON, too deep or too large.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dialect.h"
#include "unit.h"

static int64_t	test_estimate(const char *body, int64_t def);
static int	test_body(enum dialect d, const char *body,
		    struct dialect_usage *u);
static int	test_event(enum dialect d, const char *event, const char *data,
		    struct dialect_usage *u);
static void	test_error_openai(void);
static void	test_error_anthropic(void);
static void	test_error_escaping(void);
static void	test_error_types(void);
static void	test_stream_error(void);
static void	test_stream_end_marker(void);
static void	test_usage_body(void);
static void	test_usage_body_ignored(void);
static void	test_usage_event_openai(void);
static void	test_usage_event_anthropic(void);
static void	test_estimate_examples(void);
static void	test_estimate_limits(void);
static void	test_estimate_not_json(void);
static void	test_estimate_deep(void);

/* Return the estimate for the NUL-terminated body. */
static int64_t
test_estimate(const char *body, int64_t def)
{
	return dialect_estimate_tokens(body, strlen(body), def);
}

/* Read usage from body into a fresh *u; return what the reader returned. */
static int
test_body(enum dialect d, const char *body, struct dialect_usage *u)
{
	dialect_usage_init(u);
	return dialect_usage_from_body(d, body, strlen(body), u);
}

/* Update *u (not reset) from one event; return what the reader returned. */
static int
test_event(enum dialect d, const char *event, const char *data,
    struct dialect_usage *u)
{
	return dialect_usage_from_event(d, event, strlen(event), data,
	    strlen(data), u);
}

/* OpenAI's shape: message, type, code in that order. */
static void
test_error_openai(void)
{
	char	*s;

	s = dialect_error_body(DIALECT_OPENAI, "rate_limit_exceeded",
	    "llmproxy_queue_full", "queue is full");
	UNIT_ASSERT_STR_EQ(s, "{\"error\":{\"message\":\"queue is full\","
	    "\"type\":\"rate_limit_exceeded\","
	    "\"code\":\"llmproxy_queue_full\"}}");
	free(s);
	s = dialect_error_body(DIALECT_OPENAI, "server_error", NULL, NULL);
	UNIT_ASSERT_STR_EQ(s, "{\"error\":{\"message\":\"\","
	    "\"type\":\"server_error\",\"code\":null}}");
	free(s);
}

/* Anthropic's shape: the code leads the message. */
static void
test_error_anthropic(void)
{
	char	*s;

	s = dialect_error_body(DIALECT_ANTHROPIC, "rate_limit_error",
	    "llmproxy_queue_full", "queue is full");
	UNIT_ASSERT_STR_EQ(s, "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"rate_limit_error\",\"message\":\"llmproxy_queue_full: "
	    "queue is full\"}}");
	free(s);
	s = dialect_error_body(DIALECT_ANTHROPIC, "api_error", NULL, "m");
	UNIT_ASSERT_STR_EQ(s, "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"api_error\",\"message\":\"m\"}}");
	free(s);
}

/* Quotes, backslashes, controls and bad UTF-8 still make valid JSON. */
static void
test_error_escaping(void)
{
	json_error_t	 err;
	json_t		*j;
	char		*s;

	s = dialect_error_body(DIALECT_OPENAI, "t", "c",
	    "say \"hi\"\\\n\x01 h\xc3\xa9 /");
	UNIT_ASSERT_STR_EQ(s, "{\"error\":{\"message\":\"say \\\"hi\\\"\\\\"
	    "\\n\\u0001 h\xc3\xa9 /\",\"type\":\"t\",\"code\":\"c\"}}");
	free(s);
	s = dialect_error_body(DIALECT_ANTHROPIC, "t", "c\"", "bad \xff\xfe.");
	UNIT_ASSERT_STR_EQ(s, "{\"type\":\"error\",\"error\":{\"type\":\"t\","
	    "\"message\":\"c\\\": bad ??.\"}}");
	j = json_loads(s, 0, &err);
	UNIT_ASSERT(j != NULL);
	json_decref(j);
	free(s);
}

/* Each dialect's error type for the statuses the daemon sends. */
static void
test_error_types(void)
{
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_OPENAI, 429),
	    "rate_limit_exceeded");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_OPENAI, 400),
	    "invalid_request_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_OPENAI, 413),
	    "invalid_request_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_OPENAI, 404),
	    "invalid_request_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_OPENAI, 502),
	    "server_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_OPENAI, 503),
	    "server_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_ANTHROPIC, 400),
	    "invalid_request_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_ANTHROPIC, 401),
	    "authentication_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_ANTHROPIC, 403),
	    "permission_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_ANTHROPIC, 404),
	    "not_found_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_ANTHROPIC, 413),
	    "request_too_large");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_ANTHROPIC, 429),
	    "rate_limit_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_ANTHROPIC, 500),
	    "api_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_ANTHROPIC, 502),
	    "api_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_ANTHROPIC, 503),
	    "api_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_ANTHROPIC, 504),
	    "timeout_error");
	UNIT_ASSERT_STR_EQ(dialect_error_type(DIALECT_ANTHROPIC, 529),
	    "overloaded_error");
}

/* The last event of a failed stream, byte for byte. */
static void
test_stream_error(void)
{
	char	*s;

	s = dialect_stream_error_event(DIALECT_OPENAI, "llmproxy_idle_timeout",
	    "no data for 60 s");
	UNIT_ASSERT_STR_EQ(s, "data: {\"error\":{\"message\":\"no data for 60 "
	    "s\",\"type\":\"server_error\",\"code\":\"llmproxy_idle_timeout\"}}"
	    "\n\n");
	free(s);
	s = dialect_stream_error_event(DIALECT_ANTHROPIC,
	    "llmproxy_upstream_reset", "line1\nline2");
	UNIT_ASSERT_STR_EQ(s, "event: error\ndata: {\"type\":\"error\","
	    "\"error\":{\"type\":\"api_error\",\"message\":"
	    "\"llmproxy_upstream_reset: line1\\nline2\"}}\n\n");
	free(s);
}

/* The final event expected by path: chat and completions, messages. */
static void
test_stream_end_marker(void)
{
	const char	*m;

	m = dialect_stream_end_marker(DIALECT_OPENAI, "v1/chat/completions");
	UNIT_ASSERT_STR_EQ(m, "[DONE]");
	m = dialect_stream_end_marker(DIALECT_OPENAI, "chat/completions/?a=b");
	UNIT_ASSERT_STR_EQ(m, "[DONE]");
	m = dialect_stream_end_marker(DIALECT_OPENAI, "completions");
	UNIT_ASSERT_STR_EQ(m, "[DONE]");
	m = dialect_stream_end_marker(DIALECT_ANTHROPIC, "v1/messages?beta=1");
	UNIT_ASSERT_STR_EQ(m, "message_stop");
	/* No final event to expect: the Responses API, other paths. */
	UNIT_ASSERT(dialect_stream_end_marker(DIALECT_OPENAI,
	    "v1/responses") == NULL);
	UNIT_ASSERT(dialect_stream_end_marker(DIALECT_OPENAI,
	    "v1/completionsx") == NULL);
	UNIT_ASSERT(dialect_stream_end_marker(DIALECT_OPENAI,
	    "v1/x?p=/completions") == NULL);
	UNIT_ASSERT(dialect_stream_end_marker(DIALECT_ANTHROPIC,
	    "v1/chat/completions") == NULL);
	UNIT_ASSERT(dialect_stream_end_marker(DIALECT_OPENAI, "") == NULL);
}

/* Usage in whole bodies: chat, Responses API and Anthropic names. */
static void
test_usage_body(void)
{
	struct dialect_usage	u;

	UNIT_ASSERT_INT_EQ(test_body(DIALECT_OPENAI, "{\"id\":\"x\",\"usage\":"
	    "{\"prompt_tokens\":9,\"completion_tokens\":12,"
	    "\"total_tokens\":21}}", &u), 0);
	UNIT_ASSERT_INT_EQ(u.input_tokens, 9);
	UNIT_ASSERT_INT_EQ(u.output_tokens, 12);
	UNIT_ASSERT_INT_EQ(test_body(DIALECT_OPENAI, "{\"object\":\"response\","
	    "\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}", &u), 0);
	UNIT_ASSERT_INT_EQ(u.input_tokens, 3);
	UNIT_ASSERT_INT_EQ(u.output_tokens, 4);
	UNIT_ASSERT_INT_EQ(test_body(DIALECT_ANTHROPIC, "{\"type\":\"message\","
	    "\"usage\":{\"input_tokens\":10,\"output_tokens\":20}}", &u), 0);
	UNIT_ASSERT_INT_EQ(u.input_tokens, 10);
	UNIT_ASSERT_INT_EQ(u.output_tokens, 20);
	UNIT_ASSERT_INT_EQ(test_body(DIALECT_ANTHROPIC, "{\"usage\":"
	    "{\"input_tokens\":10,\"cache_creation_input_tokens\":100,"
	    "\"cache_read_input_tokens\":1000,\"output_tokens\":2}}", &u), 0);
	UNIT_ASSERT_INT_EQ(u.input_tokens, 110);
	UNIT_ASSERT_INT_EQ(u.output_tokens, 2);
	UNIT_ASSERT_INT_EQ(test_body(DIALECT_OPENAI, "{\"usage\":"
	    "{\"prompt_tokens\":5}}", &u), 0);
	UNIT_ASSERT_INT_EQ(u.input_tokens, 5);
	UNIT_ASSERT_INT_EQ(u.output_tokens, -1);
}

/* Bodies without readable usage leave u alone. */
static void
test_usage_body_ignored(void)
{
	static const char *const bodies[] = {
		"", "not json", "[1,2]", "null", "{}", "{\"usage\":null}",
		"{\"usage\":[1]}", "{\"usage\":{}}",
		"{\"usage\":{\"prompt_tokens\":-1,\"output_tokens\":\"5\"}}",
		"{\"usage\":{\"input_tokens\":1.5,\"output_tokens\":true}}",
		"{\"usage\":{\"input_tokens\":99999999999999999999}}",
		"{\"usage\":{\"input_tokens\":3}",
	};
	struct dialect_usage	u;
	size_t			i;

	for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		UNIT_ASSERT_INT_EQ(test_body(DIALECT_OPENAI, bodies[i], &u),
		    -1);
		UNIT_ASSERT_INT_EQ(u.input_tokens, -1);
		UNIT_ASSERT_INT_EQ(u.output_tokens, -1);
		UNIT_ASSERT_INT_EQ(test_body(DIALECT_ANTHROPIC, bodies[i], &u),
		    -1);
		UNIT_ASSERT_INT_EQ(u.input_tokens, -1);
	}
	UNIT_ASSERT_INT_EQ(dialect_usage_from_body(DIALECT_OPENAI, NULL, 0,
	    &u), -1);
}

/* OpenAI stream chunks: only a non-null usage counts; [DONE] is quiet. */
static void
test_usage_event_openai(void)
{
	struct dialect_usage	u;

	dialect_usage_init(&u);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_OPENAI, "", "{\"choices\":[{"
	    "\"delta\":{\"content\":\"x\"}}],\"usage\":null}", &u), -1);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_OPENAI, "", "[DONE]", &u), -1);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_OPENAI, "", "", &u), -1);
	UNIT_ASSERT_INT_EQ(u.input_tokens, -1);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_OPENAI, "", "{\"choices\":[],"
	    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5}}", &u),
	    0);
	UNIT_ASSERT_INT_EQ(u.input_tokens, 12);
	UNIT_ASSERT_INT_EQ(u.output_tokens, 5);
	dialect_usage_init(&u);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_OPENAI, "response.completed",
	    "{\"type\":\"response.completed\",\"response\":{\"usage\":"
	    "{\"input_tokens\":8,\"output_tokens\":30}}}", &u), 0);
	UNIT_ASSERT_INT_EQ(u.input_tokens, 8);
	UNIT_ASSERT_INT_EQ(u.output_tokens, 30);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_OPENAI, "response.created",
	    "{\"type\":\"response.created\",\"response\":{\"usage\":null}}",
	    &u), -1);
}

/* Anthropic events, by name or by type; message_delta overwrites. */
static void
test_usage_event_anthropic(void)
{
	struct dialect_usage	u;

	dialect_usage_init(&u);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_ANTHROPIC, "message_start",
	    "{\"message\":{\"usage\":{\"input_tokens\":25,"
	    "\"output_tokens\":1}}}", &u), 0);
	UNIT_ASSERT_INT_EQ(u.input_tokens, 25);
	UNIT_ASSERT_INT_EQ(u.output_tokens, 1);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_ANTHROPIC, "ping",
	    "{\"type\":\"ping\"}", &u), -1);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_ANTHROPIC, "content_block_delta",
	    "{\"type\":\"content_block_delta\",\"usage\":{\"output_tokens\":"
	    "99}}", &u), -1);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_ANTHROPIC, "", "{\"type\":"
	    "\"message_delta\",\"usage\":{\"output_tokens\":10}}", &u), 0);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_ANTHROPIC, "message_delta",
	    "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}",
	    &u), 0);
	UNIT_ASSERT_INT_EQ(u.input_tokens, 25);
	UNIT_ASSERT_INT_EQ(u.output_tokens, 15);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_ANTHROPIC, "message_delta",
	    "{\"usage\":{\"input_tokens\":30,\"output_tokens\":16}}", &u), 0);
	UNIT_ASSERT_INT_EQ(u.input_tokens, 30);
	UNIT_ASSERT_INT_EQ(u.output_tokens, 16);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_ANTHROPIC, "message_start",
	    "not json", &u), -1);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_ANTHROPIC, "message_start",
	    "{\"message\":{\"usage\":null}}", &u), -1);
	UNIT_ASSERT_INT_EQ(test_event(DIALECT_ANTHROPIC, "error", "{\"type\":"
	    "\"error\",\"error\":{\"type\":\"overloaded_error\"}}", &u), -1);
	UNIT_ASSERT_INT_EQ(u.output_tokens, 16);
}

/* Worked examples: string values under the prompt members, plus output. */
static void
test_estimate_examples(void)
{
	UNIT_ASSERT_INT_EQ(test_estimate("{\"messages\":[{\"role\":\"user\","
	    "\"content\":\"hello world!\"}],\"max_tokens\":10}", 1024), 14);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"model\":\"gpt-4o\",\"messages\":"
	    "[{\"role\":\"user\",\"content\":\"hi\"}]}", 1024), 1026);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"messages\":[{\"role\":\"user\","
	    "\"content\":\"h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac "
	    "\xf0\x9f\x98\x80\"}],\"max_tokens\":0}", 5), 6);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"prompt\":\"\\u00e9\\ud83d\\ude00"
	    "ab\",\"max_tokens\":0}", 5), 2);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"system\":[{\"type\":\"text\","
	    "\"text\":\"Be brief.\"}],\"messages\":[{\"role\":\"user\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"abcd\"},{\"type\":"
	    "\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
	    "\"image/png\",\"data\":\"AAAA\"}}]}],\"max_tokens\":100}", 7),
	    113);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"model\":\"o4\",\"input\":\"abc\","
	    "\"max_output_tokens\":5}", 7), 6);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"prompt\":[\"abcde\",\"fgh\","
	    "[1,2]],\"max_tokens\":1}", 7), 3);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"messages\":\"aaaa\",\"system\":"
	    "\"bbbb\",\"input\":\"cccc\",\"prompt\":\"dddd\",\"other\":"
	    "\"eeeeeeee\",\"max_tokens\":0}", 7), 4);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"messages\":[{\"a_long_key\":"
	    "\"ab\",\"n\":1,\"b\":true,\"z\":null}],\"max_tokens\":0}", 7), 1);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"prompt\":\"a\\u0000b\","
	    "\"max_tokens\":0}", 7), 1);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"prompt\":\"abcde\","
	    "\"max_tokens\":0}", 7), 2);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"prompt\":\"\",\"max_tokens\":0}",
	    7), 0);
}

/* Which output limit counts, and arithmetic that cannot overflow. */
static void
test_estimate_limits(void)
{
	UNIT_ASSERT_INT_EQ(test_estimate("{\"max_tokens\":null,"
	    "\"max_completion_tokens\":7,\"max_output_tokens\":9}", 1), 7);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"max_completion_tokens\":7,"
	    "\"max_tokens\":3}", 1), 3);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"max_output_tokens\":9}", 1), 9);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"max_tokens\":-5}", 20), 20);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"max_tokens\":2.5}", 20), 20);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"max_tokens\":\"50\"}", 20), 20);
	UNIT_ASSERT_INT_EQ(test_estimate("{}", 20), 20);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"max_tokens\":"
	    "9223372036854775807,\"prompt\":\"x\"}", 0), INT64_MAX);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"max_tokens\":"
	    "9223372036854775806,\"prompt\":\"x\"}", 0), INT64_MAX);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"max_tokens\":"
	    "99999999999999999999}", 20), 20);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"prompt\":\"abcd\"}", INT64_MAX),
	    INT64_MAX);
	UNIT_ASSERT_INT_EQ(test_estimate("{\"prompt\":\"abcd\"}", -3), 1);
}

/* A body that is not a JSON object costs the default. */
static void
test_estimate_not_json(void)
{
	static const char *const bodies[] = {
		"", "hello", "[1,2]", "\"messages\"", "null", "42",
		"{\"messages\":[\"abc\"]", "{\"messages\":[\"abc\"]} x",
		"{\"prompt\":\"\xff\xfe\"}", "{\"prompt\":\"\\ud800\"}",
	};
	size_t	i;

	for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
		UNIT_ASSERT_INT_EQ(test_estimate(bodies[i], 1024), 1024);
	UNIT_ASSERT_INT_EQ(test_estimate("nope", -1), 0);
	UNIT_ASSERT_INT_EQ(dialect_estimate_tokens(NULL, 0, 5), 5);
	UNIT_ASSERT_INT_EQ(dialect_estimate_tokens("{\"prompt\":\"abcdefgh\"}"
	    "garbage", 21, 5), 7);
}

/* Deep nesting is counted when jansson parses it, refused when not. */
static void
test_estimate_deep(void)
{
	char	*s;
	size_t	 depth, i, o;

	for (depth = 1000; depth <= 100000; depth *= 100) {
		s = malloc(2 * depth + 64);
		UNIT_ASSERT(s != NULL);
		o = (size_t)sprintf(s, "{\"max_tokens\":1,\"messages\":");
		for (i = 0; i < depth; i++)
			s[o++] = '[';
		memcpy(s + o, "\"abcdefgh\"", 10);
		o += 10;
		for (i = 0; i < depth; i++)
			s[o++] = ']';
		s[o++] = '}';
		UNIT_ASSERT_INT_EQ(dialect_estimate_tokens(s, o, 50),
		    depth < 2000 ? 3 : 50);
		free(s);
	}
}

/* Assert that adding include_usage to in gives want (NULL: unchanged). */
static void
test_usage_patch(const char *in, const char *want)
{
	size_t	 len = 0;
	char	*out = dialect_add_include_usage(in, strlen(in), &len);

	if (want == NULL) {
		UNIT_ASSERT(out == NULL);
		return;
	}
	UNIT_ASSERT(out != NULL);
	UNIT_ASSERT_INT_EQ(len, strlen(want));
	UNIT_ASSERT_STR_EQ(out, want);
	free(out);
}

/* stream_include_usage patches the text; every other byte stays. */
static void
test_include_usage(void)
{
	test_usage_patch("{\"stream\": true, \"temperature\": 0.7}",
	    "{\"stream\": true, \"temperature\": 0.7"
	    ",\"stream_options\":{\"include_usage\":true}}");
	test_usage_patch("{ \"top_p\":1e-1,\n  \"stream\":true \n}\n",
	    "{ \"top_p\":1e-1,\n  \"stream\":true \n"
	    ",\"stream_options\":{\"include_usage\":true}}\n");
	test_usage_patch("{\"stream\":true,\"stream_options\":{}}",
	    "{\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
	test_usage_patch("{\"stream\":true,\"stream_options\":{ \"x\": 0.10 }}",
	    "{\"stream\":true,\"stream_options\":{\"include_usage\":true, "
	    "\"x\": 0.10 }}");
	test_usage_patch("{\"stream\":true,\"stream_options\":"
	    "{\"include_usage\": false, \"y\":2.50}}",
	    "{\"stream\":true,\"stream_options\":"
	    "{\"include_usage\": true, \"y\":2.50}}");
	test_usage_patch("{\"stream_options\": null, \"stream\":true}",
	    "{\"stream_options\": {\"include_usage\":true}, \"stream\":true}");
	/* Nothing to do, or not a streaming object: untouched. */
	test_usage_patch("{\"stream\":true,\"stream_options\":"
	    "{\"include_usage\":true}}", NULL);
	test_usage_patch("{\"stream\":false,\"n\":0.7}", NULL);
	test_usage_patch("{\"n\":0.7}", NULL);
	test_usage_patch("[true]", NULL);
	test_usage_patch("{\"stream\":true,", NULL);
	test_usage_patch("{\"stream\":true} x", NULL);
}

static const struct unit_test tests[] = {
	{ "OpenAI error body", test_error_openai },
	{ "include_usage patched into the text", test_include_usage },
	{ "Anthropic error body", test_error_anthropic },
	{ "error bodies are escaped JSON", test_error_escaping },
	{ "error types by status", test_error_types },
	{ "stream error events", test_stream_error },
	{ "final event by path", test_stream_end_marker },
	{ "usage from bodies", test_usage_body },
	{ "bodies without usage", test_usage_body_ignored },
	{ "usage from OpenAI events", test_usage_event_openai },
	{ "usage from Anthropic events", test_usage_event_anthropic },
	{ "estimate examples", test_estimate_examples },
	{ "estimate output limits", test_estimate_limits },
	{ "estimate of non-JSON bodies", test_estimate_not_json },
	{ "estimate of deep nesting", test_estimate_deep },
};

/* Run the cases above and report them as TAP. */
int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
