/* SPDX-License-Identifier: ISC */
/*
 * test_usage: usage.c reads the tokens a response reported, whatever the
 * pieces it arrives in: JSON bodies of both dialects, OpenAI's usage chunk
 * and Anthropic's message_start + message_delta in a stream, nothing when
 * nothing is reported, and nothing from a body too large to keep.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usage.h"
#include "unit.h"

static int64_t	test_total(struct usage_reader *r);
static int64_t	test_feed(enum dialect d, int sse, const char *body,
		    size_t piece);
static void	test_openai_json(void);
static void	test_anthropic_json(void);
static void	test_openai_stream(void);
static void	test_anthropic_stream(void);
static void	test_nothing_reported(void);
static void	test_too_large(void);

static const char test_openai_sse[] =
    "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
    "\"completion_tokens\":5,\"total_tokens\":17}}\n\n"
    "data: [DONE]\n\n";
static const char test_anthropic_sse[] =
    "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":"
    "{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\r\n\r\n"
    "event: ping\r\ndata: {\"type\":\"ping\"}\r\n\r\n"
    "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"usage\":"
    "{\"output_tokens\":9}}\r\n\r\n"
    "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"usage\":"
    "{\"output_tokens\":15}}\r\n\r\n";

/* Return the tokens r read (input plus output), or -1 if none. */
static int64_t
test_total(struct usage_reader *r)
{
	int64_t	prompt, completion, used = 0;

	if (usage_reader_tokens(r, &prompt, &completion) == -1)
		return -1;
	if (prompt > 0)
		used += prompt;
	if (completion > 0)
		used += completion;
	return used;
}

/* Feed body to a new reader in pieces of piece bytes; return its total. */
static int64_t
test_feed(enum dialect d, int sse, const char *body, size_t piece)
{
	struct usage_reader	*r = usage_reader_new(d, sse);
	size_t			 len = strlen(body), off, n;
	int64_t			 total;

	for (off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		usage_reader_feed(r, body + off, n);
	}
	total = test_total(r);
	usage_reader_free(r);
	return total;
}

/* An OpenAI chat completion's usage, in any pieces. */
static void
test_openai_json(void)
{
	const char	*body = "{\"id\":\"x\",\"usage\":{\"prompt_tokens\":30,"
	    "\"completion_tokens\":12,\"total_tokens\":42}}";
	size_t		 piece;

	for (piece = 1; piece <= strlen(body); piece++)
		UNIT_ASSERT_INT_EQ(test_feed(DIALECT_OPENAI, 0, body, piece),
		    42);
}

/* An Anthropic message's usage. */
static void
test_anthropic_json(void)
{
	UNIT_ASSERT_INT_EQ(test_feed(DIALECT_ANTHROPIC, 0,
	    "{\"type\":\"message\",\"usage\":{\"input_tokens\":7,"
	    "\"output_tokens\":3}}", 5), 10);
}

/* OpenAI's final usage chunk, split anywhere. */
static void
test_openai_stream(void)
{
	size_t	piece;

	for (piece = 1; piece < sizeof test_openai_sse; piece++)
		UNIT_ASSERT_INT_EQ(test_feed(DIALECT_OPENAI, 1,
		    test_openai_sse, piece), 17);
}

/* Anthropic: input from message_start, output from the last delta. */
static void
test_anthropic_stream(void)
{
	size_t	piece;

	for (piece = 1; piece < sizeof test_anthropic_sse; piece++)
		UNIT_ASSERT_INT_EQ(test_feed(DIALECT_ANTHROPIC, 1,
		    test_anthropic_sse, piece), 40);
}

/* A response without usage reports -1, so the estimate stands. */
static void
test_nothing_reported(void)
{
	UNIT_ASSERT_INT_EQ(test_feed(DIALECT_OPENAI, 0, "{\"id\":\"x\"}", 3),
	    -1);
	UNIT_ASSERT_INT_EQ(test_feed(DIALECT_OPENAI, 1,
	    "data: {\"choices\":[]}\n\ndata: [DONE]\n\n", 7), -1);
	UNIT_ASSERT_INT_EQ(test_feed(DIALECT_OPENAI, 0, "not json", 3), -1);
	UNIT_ASSERT_INT_EQ(test_feed(DIALECT_OPENAI, 0, "", 1), -1);
}

/* A JSON body past the bound is not read (and not kept). */
static void
test_too_large(void)
{
	struct usage_reader	*r = usage_reader_new(DIALECT_OPENAI, 0);
	const char		*tail = "],\"usage\":{\"prompt_tokens\":1,"
	    "\"completion_tokens\":1}}";
	char			*pad;
	size_t			 i, padlen = 1024 * 1024;

	pad = malloc(padlen);
	UNIT_ASSERT(pad != NULL);
	memset(pad, ' ', padlen);
	usage_reader_feed(r, "{\"x\":[", 6);
	for (i = 0; i < 5; i++)
		usage_reader_feed(r, pad, padlen);
	usage_reader_feed(r, tail, strlen(tail));
	UNIT_ASSERT_INT_EQ(test_total(r), -1);
	usage_reader_free(r);
	free(pad);
	/* The same body below the bound is read. */
	r = usage_reader_new(DIALECT_OPENAI, 0);
	usage_reader_feed(r, "{\"x\":[", 6);
	usage_reader_feed(r, "1", 1);
	usage_reader_feed(r, tail, strlen(tail));
	UNIT_ASSERT_INT_EQ(test_total(r), 2);
	usage_reader_free(r);
}

static const struct unit_test tests[] = {
	{ "openai json", test_openai_json },
	{ "anthropic json", test_anthropic_json },
	{ "openai stream", test_openai_stream },
	{ "anthropic stream", test_anthropic_stream },
	{ "nothing reported", test_nothing_reported },
	{ "too large", test_too_large },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
