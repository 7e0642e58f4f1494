/* SPDX-License-Identifier: ISC */
/*
 * test_httpscan: the raw framing scanner against the shapes evhttp lets
 * through, and against ordinary traffic it must never refuse.
 *
 * Every case is scanned twice, whole and one byte at a time, and both
 * readings must agree: a request split across reads is the normal case
 * on a socket.
 */
#include <string.h>

#include "httpscan.h"
#include "unit.h"

struct scan_result {
	enum httpscan_phase	 phase;
	uint64_t		 seq;
	const char		*why;
};

static struct scan_result scan_whole(const char *s);
static struct scan_result scan_bytewise(const char *s);
static struct scan_result scan(const char *s);

/* Scan s in one feed. */
static struct scan_result
scan_whole(const char *s)
{
	struct httpscan		sc;
	struct scan_result	r;

	httpscan_init(&sc);
	r.phase = httpscan_feed(&sc, s, strlen(s));
	r.seq = sc.seq;
	r.why = sc.why;
	return r;
}

/* Scan s one byte per feed. */
static struct scan_result
scan_bytewise(const char *s)
{
	struct httpscan		sc;
	struct scan_result	r;
	size_t			i, n = strlen(s);

	httpscan_init(&sc);
	r.phase = HTTPSCAN_IDLE;
	for (i = 0; i < n; i++)
		r.phase = httpscan_feed(&sc, s + i, 1);
	r.seq = sc.seq;
	r.why = sc.why;
	return r;
}

/* Scan s both ways; fail the case unless the two agree. */
static struct scan_result
scan(const char *s)
{
	struct scan_result	a = scan_whole(s), b = scan_bytewise(s);

	UNIT_ASSERT_INT_EQ(a.phase, b.phase);
	UNIT_ASSERT_INT_EQ(a.seq, b.seq);
	UNIT_ASSERT(a.why == b.why);
	return a;
}

#define POST_HEAD "POST /v1/chat HTTP/1.1\r\nHost: localhost\r\n"

static void
test_ordinary(void)
{
	struct scan_result	r;

	r = scan("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_IDLE);
	UNIT_ASSERT_INT_EQ(r.seq, 1);
	r = scan(POST_HEAD "Content-Length: 5\r\n\r\nhello"
	    "GET / HTTP/1.1\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_IDLE);
	UNIT_ASSERT_INT_EQ(r.seq, 2);
	r = scan(POST_HEAD "content-length:\t3 \r\n\r\nabc");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_IDLE);
	/* LF-only line ends are accepted, as evhttp does. */
	r = scan("POST / HTTP/1.1\nContent-Length: 2\n\nok");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_IDLE);
	r = scan("\r\nGET / HTTP/1.1\r\n\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_IDLE);
	UNIT_ASSERT_INT_EQ(r.seq, 1);
}

static void
test_chunked_ok(void)
{
	struct scan_result	r;

	r = scan(POST_HEAD "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_IDLE);
	UNIT_ASSERT_INT_EQ(r.seq, 1);
	r = scan(POST_HEAD "Transfer-Encoding: Chunked\r\n\r\n"
	    "1f\r\n0123456789012345678901234567890\r\n0\r\n"
	    "X-Trailer: yes\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_IDLE);
	UNIT_ASSERT_INT_EQ(r.seq, 2);
	r = scan(POST_HEAD "Transfer-Encoding: chunked\n\n3\nabc\n0\n\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_IDLE);
}

/* Each of these is a body evhttp would read as some other length. */
static void
test_chunk_sizes_bad(void)
{
	static const char *sizes[] = {
		"0x5", "+5", " 5", "5 ", "5;ext=1", "-5", "\t5", "",
		"fffffffffffffffff",
	};
	char			buf[256];
	struct scan_result	r;
	size_t			i;

	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		snprintf(buf, sizeof buf, "%s%s%s\r\nhello\r\n0\r\n\r\n",
		    POST_HEAD, "Transfer-Encoding: chunked\r\n\r\n", sizes[i]);
		r = scan(buf);
		printf("# size \"%s\": %s\n", sizes[i], r.why ? r.why : "ok");
		UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_BAD);
		UNIT_ASSERT_INT_EQ(r.seq, 1);
	}
	r = scan(POST_HEAD "Transfer-Encoding: chunked\r\n\r\n"
	    "3\r\nhello\r\n0\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_BAD);
	UNIT_ASSERT_STR_EQ(r.why, "chunk data longer than its size");
}

static void
test_head_bytes_bad(void)
{
	struct scan_result	r;

	r = scan(POST_HEAD "X-A: one\r\n two\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a folded header line");
	r = scan(POST_HEAD "X-A: one\r\n\ttwo\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a folded header line");
	r = scan(POST_HEAD "X-A: a\rb\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a bare CR in the request head");
}

static void
test_nul_in_value(void)
{
	static const char	 req[] = POST_HEAD "X-A: a\0b\r\n\r\n";
	struct httpscan		 sc;

	httpscan_init(&sc);
	UNIT_ASSERT_INT_EQ(httpscan_feed(&sc, req, sizeof req - 1),
	    HTTPSCAN_BAD);
	UNIT_ASSERT_STR_EQ(sc.why, "a NUL byte in the request head");
}

static void
test_framing_headers_bad(void)
{
	struct scan_result	r;

	r = scan(POST_HEAD "Content-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "both Content-Length and Transfer-Encoding");
	r = scan(POST_HEAD "Content-Length: 5\r\nContent-Length: 5\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a repeated framing header");
	r = scan(POST_HEAD "Transfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a repeated framing header");
	r = scan(POST_HEAD "Transfer-Encoding: gzip, chunked\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a Transfer-Encoding other than chunked");
	r = scan(POST_HEAD "Content-Length: +5\r\n\r\nhello");
	UNIT_ASSERT_STR_EQ(r.why, "a malformed Content-Length");
	r = scan(POST_HEAD "Content-Length: 5, 5\r\n\r\nhello");
	UNIT_ASSERT_STR_EQ(r.why, "a malformed Content-Length");
	r = scan(POST_HEAD "Content-Length:\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a malformed Content-Length");
	r = scan("HEAD / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
	UNIT_ASSERT_STR_EQ(r.why, "a body on a method without one");
	r = scan("HEAD / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_IDLE);
}

/* The verdict names the request that broke, not the connection. */
static void
test_second_request_bad(void)
{
	struct scan_result	r;

	r = scan(POST_HEAD "Content-Length: 2\r\n\r\nok"
	    POST_HEAD "Transfer-Encoding: chunked\r\n\r\n+2\r\nok\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_BAD);
	UNIT_ASSERT_INT_EQ(r.seq, 2);
	/* Bytes after a verdict change nothing. */
	r = scan(POST_HEAD "X: a\r\n b\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.seq, 1);
}

/* The phase says which deadline runs. */
static void
test_phases(void)
{
	struct scan_result	r;

	UNIT_ASSERT_INT_EQ(scan("").phase, HTTPSCAN_IDLE);
	UNIT_ASSERT_INT_EQ(scan("G").phase, HTTPSCAN_HEAD);
	UNIT_ASSERT_INT_EQ(scan(POST_HEAD).phase, HTTPSCAN_HEAD);
	r = scan(POST_HEAD "Content-Length: 10\r\n\r\nabc");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_BODY);
	r = scan(POST_HEAD "Transfer-Encoding: chunked\r\n\r\n0\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_BODY);	/* the trailer */
	r = scan("GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_BODY);	/* evhttp reads it */
}

static const struct unit_test tests[] = {
	{ "ordinary requests, pipelined", test_ordinary },
	{ "chunked bodies and trailers", test_chunked_ok },
	{ "chunk sizes evhttp would misread", test_chunk_sizes_bad },
	{ "folded lines and bare CR", test_head_bytes_bad },
	{ "NUL in a header value", test_nul_in_value },
	{ "Content-Length and Transfer-Encoding shapes",
	    test_framing_headers_bad },
	{ "the verdict names the request", test_second_request_bad },
	{ "phases for the deadlines", test_phases },
};

/* Run the cases above and report them as TAP. */
int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
