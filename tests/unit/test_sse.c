/* SPDX-License-Identifier: ISC */
/*
 * test_sse: the event-stream parser, fed whole and in every split.
 *
 * Realistic OpenAI and Anthropic streams must yield the same events fed
 * whole, byte by byte, split in two at every offset and in random pieces,
 * with LF, CRLF and CR line ends.  Field rules (comments, a space after
 * the colon, "data" without a colon, id/retry, events without data),
 * oversize events, and usage read through dialect.c from parsed events
 * are checked too.  The randomness is a fixed-seed generator: runs repeat.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dialect.h"
#include "sse.h"
#include "unit.h"

#define TEST_MAX_EVENT	65536

/* Usage read from a stream through the parser. */
struct test_usage {
	enum dialect		 d;
	struct dialect_usage	 u;
	int			 hits;	/* events that carried usage */
};

/* The events one parse produced, serialised for comparison. */
struct test_events {
	char	buf[32768];
	size_t	len;
	int	n;
	int	bad;		/* overflowed, or a string not NUL-terminated */
};

static void	test_tail(void);
static void	test_collect(const char *event, size_t event_len,
		    const char *data, size_t data_len, void *arg);
static uint32_t	test_rand(uint32_t *state);
static void	test_parse(const char *s, size_t len, size_t max,
		    size_t piece, uint32_t seed, struct test_events *out);
static void	test_same_everywhere(const char *s, size_t max,
		    const struct test_events *want);
static void	test_convert(const char *s, const char *eol, char *out,
		    size_t size);
static void	test_usage_cb(const char *event, size_t event_len,
		    const char *data, size_t data_len, void *arg);
static void	test_usage_stream(enum dialect d, const char *s,
		    size_t piece, struct test_usage *tu);
static void	test_openai_stream(void);
static void	test_anthropic_stream(void);
static void	test_line_ends(void);
static void	test_split_crlf(void);
static void	test_fields(void);
static void	test_no_data(void);
static void	test_multiline(void);
static void	test_oversize(void);
static void	test_oversize_lines(void);
static void	test_usage_openai(void);
static void	test_usage_anthropic(void);

static const char test_openai[] =
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
    "\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},"
    "\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
    "\"completion_tokens\":5,\"total_tokens\":17}}\n\n"
    "data: [DONE]\n\n";

static const char test_anthropic[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
    "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],"
    "\"model\":\"claude-sonnet-4\",\"stop_reason\":null,"
    "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,"
    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,"
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
    ": a comment between events\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

/* sse_event_cb: append "name|data;" (with lengths) to the collection. */
static void
test_collect(const char *event, size_t event_len, const char *data,
    size_t data_len, void *arg)
{
	struct test_events	*out = arg;
	int			 n;

	if (event[event_len] != '\0' || data[data_len] != '\0' ||
	    strlen(event) != event_len)
		out->bad = 1;
	n = snprintf(out->buf + out->len, sizeof out->buf - out->len,
	    "%zu:%.*s|%zu:%.*s;", event_len, (int)event_len, event, data_len,
	    (int)data_len, data);
	if (n < 0 || (size_t)n >= sizeof out->buf - out->len)
		out->bad = 1;
	else
		out->len += (size_t)n;
	out->n++;
}

/* Return the next number of a fixed xorshift sequence. */
static uint32_t
test_rand(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/*
 * Parse s into out: whole if piece is 0, else in pieces of that size, or
 * of random sizes 1..piece when seed is not 0.
 */
static void
test_parse(const char *s, size_t len, size_t max, size_t piece,
    uint32_t seed, struct test_events *out)
{
	struct sse_parser	*p;
	size_t			 off = 0, n;

	memset(out, 0, sizeof *out);
	p = sse_parser_new(max);
	while (off < len) {
		n = piece == 0 ? len - off : piece;
		if (seed != 0 && piece != 0)
			n = 1 + test_rand(&seed) % piece;
		if (n > len - off)
			n = len - off;
		sse_parser_feed(p, s + off, n, test_collect, out);
		off += n;
	}
	sse_parser_free(p);
}

/* Assert that s parses to want however it is split. */
static void
test_same_everywhere(const char *s, size_t max, const struct test_events *want)
{
	static struct test_events	 got;
	struct sse_parser		*p;
	size_t				 len = strlen(s), k;
	uint32_t			 seed;

	test_parse(s, len, max, 1, 0, &got);
	UNIT_ASSERT(!got.bad);
	UNIT_ASSERT_INT_EQ(got.n, want->n);
	UNIT_ASSERT_STR_EQ(got.buf, want->buf);
	for (seed = 1; seed <= 64; seed++) {
		test_parse(s, len, max, 1 + seed % 40, seed, &got);
		UNIT_ASSERT(!got.bad);
		UNIT_ASSERT_STR_EQ(got.buf, want->buf);
	}
	for (k = 0; k <= len; k++) {
		memset(&got, 0, sizeof got);
		p = sse_parser_new(max);
		sse_parser_feed(p, s, k, test_collect, &got);
		sse_parser_feed(p, s + k, 0, test_collect, &got);
		sse_parser_feed(p, s + k, len - k, test_collect, &got);
		sse_parser_free(p);
		UNIT_ASSERT(!got.bad);
		UNIT_ASSERT_STR_EQ(got.buf, want->buf);
	}
}

/* Copy s to out with each "\n" replaced by eol. */
static void
test_convert(const char *s, const char *eol, char *out, size_t size)
{
	size_t	o = 0, elen = strlen(eol);

	for (; *s != '\0'; s++) {
		if (*s == '\n') {
			UNIT_ASSERT(o + elen < size);
			memcpy(out + o, eol, elen);
			o += elen;
		} else {
			UNIT_ASSERT(o + 1 < size);
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

/* An OpenAI chat stream gives five events, however it is split. */
static void
test_openai_stream(void)
{
	static struct test_events	want;

	test_parse(test_openai, strlen(test_openai), TEST_MAX_EVENT, 0, 0,
	    &want);
	UNIT_ASSERT(!want.bad);
	UNIT_ASSERT_INT_EQ(want.n, 5);
	UNIT_ASSERT(strstr(want.buf, "0:|6:[DONE];") != NULL);
	UNIT_ASSERT(strncmp(want.buf, "0:|", 3) == 0);
	UNIT_ASSERT(strstr(want.buf, "\"content\":\"Hello\"") != NULL);
	test_same_everywhere(test_openai, TEST_MAX_EVENT, &want);
}

/* An Anthropic stream gives seven named events, however it is split. */
static void
test_anthropic_stream(void)
{
	static struct test_events	want;

	test_parse(test_anthropic, strlen(test_anthropic), TEST_MAX_EVENT,
	    0, 0, &want);
	UNIT_ASSERT(!want.bad);
	UNIT_ASSERT_INT_EQ(want.n, 7);
	UNIT_ASSERT(strncmp(want.buf, "13:message_start|", 17) == 0);
	UNIT_ASSERT(strstr(want.buf, "4:ping|16:{\"type\": \"ping\"};") !=
	    NULL);
	UNIT_ASSERT(strstr(want.buf,
	    "12:message_stop|23:{\"type\":\"message_stop\"};") != NULL);
	UNIT_ASSERT(strstr(want.buf, "comment") == NULL);
	test_same_everywhere(test_anthropic, TEST_MAX_EVENT, &want);
}

/* CRLF and lone CR line ends give the same events as LF. */
static void
test_line_ends(void)
{
	static struct test_events	want, got;
	static char			conv[8192];
	static const char *const	eols[] = { "\r\n", "\r" };
	size_t				i;

	test_parse(test_anthropic, strlen(test_anthropic), TEST_MAX_EVENT,
	    0, 0, &want);
	for (i = 0; i < sizeof eols / sizeof eols[0]; i++) {
		test_convert(test_anthropic, eols[i], conv, sizeof conv);
		test_parse(conv, strlen(conv), TEST_MAX_EVENT, 0, 0, &got);
		UNIT_ASSERT_INT_EQ(got.n, 7);
		UNIT_ASSERT_STR_EQ(got.buf, want.buf);
		test_same_everywhere(conv, TEST_MAX_EVENT, &want);
	}
	test_convert(test_openai, "\r\n", conv, sizeof conv);
	test_parse(test_openai, strlen(test_openai), TEST_MAX_EVENT, 0, 0,
	    &want);
	test_same_everywhere(conv, TEST_MAX_EVENT, &want);
}

/* A CR ending one feed and an LF starting the next are one line end. */
static void
test_split_crlf(void)
{
	static struct test_events	 got;
	struct sse_parser		*p;

	memset(&got, 0, sizeof got);
	p = sse_parser_new(TEST_MAX_EVENT);
	sse_parser_feed(p, "data: a\r", 8, test_collect, &got);
	sse_parser_feed(p, "\ndata: b\r", 9, test_collect, &got);
	UNIT_ASSERT_INT_EQ(got.n, 0);
	sse_parser_feed(p, "\n\r", 2, test_collect, &got);
	UNIT_ASSERT_INT_EQ(got.n, 1);
	UNIT_ASSERT_STR_EQ(got.buf, "0:|3:a\nb;");
	sse_parser_feed(p, "\n\r\r", 3, test_collect, &got);
	UNIT_ASSERT_INT_EQ(got.n, 1);
	sse_parser_feed(p, "data\r\r\n", 7, test_collect, &got);
	UNIT_ASSERT_INT_EQ(got.n, 2);
	UNIT_ASSERT_STR_EQ(got.buf, "0:|3:a\nb;0:|0:;");
	sse_parser_free(p);
}

/* Field parsing follows the specification line by line. */
static void
test_fields(void)
{
	static struct test_events	got;
	const char			*s =
	    "\xef\xbb\xbf" "data:no space\n\n"
	    "data:  two spaces\n\n"
	    "data\n\n"
	    "data:\n\n"
	    ":comment\nid: 7\nretry: 1000\nfoo: bar\ndata: x\n\n"
	    "event:ev\ndata:y\n\n"
	    "data: after\n\n"
	    "event\ndata: z\n\n"
	    "data: a:b: c\n\n"
	    "Data: wrong case\nEVENT: e\n\n"
	    "data: tail without blank line\n";

	test_parse(s, strlen(s), TEST_MAX_EVENT, 0, 0, &got);
	UNIT_ASSERT(!got.bad);
	UNIT_ASSERT_STR_EQ(got.buf, "0:|8:no space;0:|11: two spaces;"
	    "0:|0:;0:|0:;0:|1:x;2:ev|1:y;0:|5:after;0:|1:z;0:|6:a:b: c;");
	test_same_everywhere(s, TEST_MAX_EVENT, &got);
}

/* An event without data lines is not dispatched, and its name is reset. */
static void
test_no_data(void)
{
	static struct test_events	got;
	const char			*s =
	    "event: lonely\n\n"
	    "event: a\nid: 1\n\n"
	    "data: plain\n\n"
	    "event: first\nevent: second\ndata: d\n\n"
	    ": only a comment\n\n";

	test_parse(s, strlen(s), TEST_MAX_EVENT, 0, 0, &got);
	UNIT_ASSERT_INT_EQ(got.n, 2);
	UNIT_ASSERT_STR_EQ(got.buf, "0:|5:plain;6:second|1:d;");
	test_same_everywhere(s, TEST_MAX_EVENT, &got);
}

/* Several data lines join with "\n"; empty ones count. */
static void
test_multiline(void)
{
	static struct test_events	got;
	const char			*s =
	    "data: one\ndata: two\ndata\ndata: four\n\n"
	    "data\ndata\n\n";

	test_parse(s, strlen(s), TEST_MAX_EVENT, 0, 0, &got);
	UNIT_ASSERT_INT_EQ(got.n, 2);
	UNIT_ASSERT_STR_EQ(got.buf, "0:|13:one\ntwo\n\nfour;0:|1:\n;");
	test_same_everywhere(s, TEST_MAX_EVENT, &got);
}

/* An event over the bound is dropped whole; the next one still arrives. */
static void
test_oversize(void)
{
	static struct test_events	got;
	static char			s[4096];
	size_t				o;

	o = (size_t)snprintf(s, sizeof s, "data: small\n\nevent: big\ndata: ");
	memset(s + o, 'x', 200);
	o += 200;
	o += (size_t)snprintf(s + o, sizeof s - o, "\ndata: more\n\n"
	    "data: next\n\nevent: e\ndata: exactly-32-bytes!!\n\n");
	test_parse(s, o, 32, 0, 0, &got);
	UNIT_ASSERT_STR_EQ(got.buf,
	    "0:|5:small;0:|4:next;1:e|18:exactly-32-bytes!!;");
	test_same_everywhere(s, 32, &got);
	test_parse(s, o, 31, 0, 0, &got);
	UNIT_ASSERT_STR_EQ(got.buf, "0:|5:small;0:|4:next;");
	test_parse(s, o, 0, 0, 0, &got);
	UNIT_ASSERT_INT_EQ(got.n, 0);
}

/* Many short lines add up to an oversize event too, also with CRs. */
static void
test_oversize_lines(void)
{
	static struct test_events	got;
	static char			s[8192], conv[8192];
	size_t				o = 0, i;

	for (i = 0; i < 100; i++)
		o += (size_t)snprintf(s + o, sizeof s - o, "data: %zu\n", i);
	o += (size_t)snprintf(s + o, sizeof s - o, "\ndata: ok\n\n");
	test_parse(s, o, 100, 0, 0, &got);
	UNIT_ASSERT_STR_EQ(got.buf, "0:|2:ok;");
	test_same_everywhere(s, 100, &got);
	test_convert(s, "\r", conv, sizeof conv);
	test_same_everywhere(conv, 100, &got);
	test_parse(s, o, 1000, 0, 0, &got);
	UNIT_ASSERT_INT_EQ(got.n, 2);
}

/* sse_event_cb: pass each event to dialect_usage_from_event. */
static void
test_usage_cb(const char *event, size_t event_len, const char *data,
    size_t data_len, void *arg)
{
	struct test_usage	*tu = arg;

	if (dialect_usage_from_event(tu->d, event, event_len, data, data_len,
	    &tu->u) == 0)
		tu->hits++;
}

/* Parse s as a d stream in pieces of piece bytes (0: whole) into *tu. */
static void
test_usage_stream(enum dialect d, const char *s, size_t piece,
    struct test_usage *tu)
{
	struct sse_parser	*p;
	size_t			 len = strlen(s), off, n;

	tu->d = d;
	tu->hits = 0;
	dialect_usage_init(&tu->u);
	p = sse_parser_new(TEST_MAX_EVENT);
	for (off = 0; off < len; off += n) {
		n = piece == 0 || piece > len - off ? len - off : piece;
		sse_parser_feed(p, s + off, n, test_usage_cb, tu);
	}
	sse_parser_free(p);
}

/* OpenAI's usage chunk, found through the parser, is the only usage. */
static void
test_usage_openai(void)
{
	struct test_usage	tu;
	size_t			piece;

	for (piece = 0; piece < 8; piece++) {
		test_usage_stream(DIALECT_OPENAI, test_openai, piece, &tu);
		UNIT_ASSERT_INT_EQ(tu.u.input_tokens, 12);
		UNIT_ASSERT_INT_EQ(tu.u.output_tokens, 5);
		UNIT_ASSERT_INT_EQ(tu.hits, 1);
	}
}

/* Anthropic: message_start's input, message_delta's output overwrites. */
static void
test_usage_anthropic(void)
{
	struct test_usage	tu;
	size_t			piece;

	for (piece = 0; piece < 8; piece++) {
		test_usage_stream(DIALECT_ANTHROPIC, test_anthropic, piece,
		    &tu);
		UNIT_ASSERT_INT_EQ(tu.u.input_tokens, 25);
		UNIT_ASSERT_INT_EQ(tu.u.output_tokens, 15);
		UNIT_ASSERT_INT_EQ(tu.hits, 2);
	}
	test_usage_stream(DIALECT_ANTHROPIC, "event: message_start\ndata: "
	    "{\"type\":\"message_start\",\"message\":{\"usage\":"
	    "{\"input_tokens\":7,\"output_tokens\":1}}}\n\n", 3, &tu);
	UNIT_ASSERT_INT_EQ(tu.u.input_tokens, 7);
	UNIT_ASSERT_INT_EQ(tu.u.output_tokens, 1);
}

/* The tail keeps the last bytes, fed in any pieces, and finds a marker. */
static void
test_tail(void)
{
	static const char	 body[] = "data: {\"a\":1}\n\ndata: [DONE]\n\n";
	struct sse_tail		 t;
	size_t			 piece, off, n, len = sizeof body - 1;

	for (piece = 1; piece <= len; piece++) {
		memset(&t, 0, sizeof t);
		for (off = 0; off < len; off += n) {
			n = len - off < piece ? len - off : piece;
			sse_tail_keep(&t, body + off, n);
		}
		UNIT_ASSERT_INT_EQ(t.len, SSE_TAIL_MAX < len ? SSE_TAIL_MAX :
		    len);
		UNIT_ASSERT(memcmp(t.bytes, body + len - t.len, t.len) == 0);
		UNIT_ASSERT(sse_tail_has(&t, "data: [DONE]"));
		UNIT_ASSERT(!sse_tail_has(&t, "event: message_stop"));
	}
}

static const struct unit_test tests[] = {
	{ "tail keeps the last bytes", test_tail },
	{ "OpenAI stream, every split", test_openai_stream },
	{ "Anthropic stream, every split", test_anthropic_stream },
	{ "CRLF and CR line ends", test_line_ends },
	{ "CR and LF in different feeds", test_split_crlf },
	{ "field parsing", test_fields },
	{ "events without data", test_no_data },
	{ "multi-line data", test_multiline },
	{ "oversize event dropped, parsing goes on", test_oversize },
	{ "oversize by many lines", test_oversize_lines },
	{ "OpenAI usage through the parser", test_usage_openai },
	{ "Anthropic usage through the parser", test_usage_anthropic },
};

/* Run the cases above and report them as TAP. */
int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
