/* SPDX-License-Identifier: ISC */
/*
 * test_httpscan: the raw framing scanner against the shapes evhttp lets
 * through, and against ordinary traffic it must never refuse.
 *
 * Every case is scanned twice, whole and one byte at a time, and both
 * readings must agree: a request split across reads is the normal case
 * on a socket.  The scans run with a 1000-byte head limit and a 100-byte
 * body limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpscan.h"
#include "unit.h"

struct scan_result {
	enum httpscan_phase	 phase;
	uint64_t		 seq;
	const char		*why;
	enum httpscan_refusal	 refusal;
	char			 text[2048];	/* the bytes after the scan */
};

#define TEST_HEAD_MAX	1000
#define TEST_BODY_MAX	100

static struct scan_result scan_whole(const char *s);
static struct scan_result scan_bytewise(const char *s);
static struct scan_result scan(const char *s);

/* Fill r from sc's state, and free sc. */
static void
scan_done(struct httpscan *sc, struct scan_result *r)
{
	r->seq = httpscan_seq(sc);
	r->why = NULL;
	r->refusal = httpscan_refusal(sc, &r->why);
	httpscan_free(sc);
}

/* Scan s in one feed. */
static struct scan_result
scan_whole(const char *s)
{
	struct httpscan		*sc = httpscan_new();
	struct scan_result	 r;

	httpscan_set_limits(sc, TEST_HEAD_MAX, TEST_BODY_MAX);
	snprintf(r.text, sizeof r.text, "%s", s);
	r.phase = httpscan_feed(sc, r.text, strlen(r.text));
	scan_done(sc, &r);
	return r;
}

/* Scan s one byte per feed. */
static struct scan_result
scan_bytewise(const char *s)
{
	struct httpscan		*sc = httpscan_new();
	struct scan_result	 r;
	size_t			 i, n;

	httpscan_set_limits(sc, TEST_HEAD_MAX, TEST_BODY_MAX);
	snprintf(r.text, sizeof r.text, "%s", s);
	n = strlen(r.text);
	r.phase = HTTPSCAN_IDLE;
	for (i = 0; i < n; i++)
		r.phase = httpscan_feed(sc, r.text + i, 1);
	scan_done(sc, &r);
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
	UNIT_ASSERT_INT_EQ(a.refusal, b.refusal);
	UNIT_ASSERT_STR_EQ(a.text, b.text);
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
	r = scan("OPTIONS /p/x HTTP/1.0\r\n\r\nDELETE /p/y?a=%20 HTTP/1.1\r\n"
	    "Expect: 100-Continue\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_IDLE);
	UNIT_ASSERT_INT_EQ(r.seq, 2);
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
		"0x5", "+5", " 5", "5 ", "-5", "\t5", "", ";x", "5 x",
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

/* Extensions are RFC 9112's; their first byte becomes what evhttp takes. */
static void
test_chunk_extensions(void)
{
	struct scan_result	r;

	r = scan(POST_HEAD "Transfer-Encoding: chunked\r\n\r\n"
	    "2;foo=bar\r\nok\r\n5 ; a=\"b c\";d\r\nhello\r\n"
	    "3\t;x\r\nabc\r\n0;last\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_IDLE);
	UNIT_ASSERT(strstr(r.text, "\r\n2 foo=bar\r\n") != NULL);
	UNIT_ASSERT(strstr(r.text, "\r\n5 ; a=\"b c\";d\r\n") != NULL);
	UNIT_ASSERT(strstr(r.text, "\r\n3 ;x\r\n") != NULL);
	UNIT_ASSERT(strstr(r.text, "\r\n0 last\r\n") != NULL);
	r = scan(POST_HEAD "Transfer-Encoding: chunked\r\n\r\n"
	    "2;a\x01\r\nok\r\n0\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a malformed chunk extension");
}

/* Heads and bodies over the limits, and what evhttp would answer HTML. */
static void
test_refusals(void)
{
	char			big[1100];
	struct scan_result	r;

	r = scan(POST_HEAD "Content-Length: 101\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.refusal, HTTPSCAN_TOO_LARGE);
	r = scan(POST_HEAD "Content-Length: 100\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.phase, HTTPSCAN_BODY);
	r = scan(POST_HEAD "Transfer-Encoding: chunked\r\n\r\n"
	    "32\r\n" "01234567890123456789012345678901234567890123456789"
	    "\r\n33\r\n");
	UNIT_ASSERT_INT_EQ(r.refusal, HTTPSCAN_TOO_LARGE);
	memset(big, 'a', sizeof big);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	big[sizeof big - 1] = '\0';
	r = scan(big);
	UNIT_ASSERT_INT_EQ(r.refusal, HTTPSCAN_HEAD_TOO_LARGE);
	r = scan("BREW /pot HTTP/1.1\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.refusal, HTTPSCAN_METHOD);
	r = scan("CONNECT example.com:443 HTTP/1.1\r\n");
	UNIT_ASSERT_INT_EQ(r.refusal, HTTPSCAN_METHOD);
	r = scan("TRACE / HTTP/1.1\r\n");
	UNIT_ASSERT_INT_EQ(r.refusal, HTTPSCAN_METHOD);
	r = scan(POST_HEAD "Expect: the-unexpected\r\n\r\n");
	UNIT_ASSERT_INT_EQ(r.refusal, HTTPSCAN_EXPECTATION);
	r = scan("GET /\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "an HTTP/0.9 request (no version)");
	r = scan("GET / HTTP/2.0\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a version other than HTTP/1.x");
	r = scan("GET http://x/ HTTP/1.1\r\n");
	UNIT_ASSERT_STR_EQ(r.why,
	    "a request target that is not a path (origin form)");
	r = scan("GET //mock/v1 HTTP/1.1\r\n");
	UNIT_ASSERT_INT_EQ(r.refusal, HTTPSCAN_BAD_REQUEST);
	r = scan("\r\nGET / HTTP/1.1\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "an empty line where a request line belongs");
	r = scan(POST_HEAD "No colon here\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a header name that is not a token");
	r = scan(POST_HEAD "Nocolon\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a header line without a colon");
	r = scan(POST_HEAD "Name : v\r\n\r\n");
	UNIT_ASSERT_STR_EQ(r.why, "a header name that is not a token");
}

/* What a refusal is recorded with. */
static void
test_record(void)
{
	static char		 req[] = "GET /a\0b HTTP/1.1\r\n";
	static char		 req2[] = "PURGE /p/x?y HTTP/1.1\r\n";
	struct httpscan		*sc = httpscan_new();

	httpscan_feed(sc, req, sizeof req - 1);
	UNIT_ASSERT_STR_EQ(httpscan_method(sc), "GET");
	UNIT_ASSERT_STR_EQ(httpscan_target(sc), "/a");
	httpscan_free(sc);
	sc = httpscan_new();
	httpscan_feed(sc, req2, sizeof req2 - 1);
	UNIT_ASSERT_STR_EQ(httpscan_method(sc), "PURGE");
	UNIT_ASSERT_STR_EQ(httpscan_target(sc), "/p/x?y");
	UNIT_ASSERT_INT_EQ(httpscan_start(sc), 0);
	httpscan_free(sc);
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
	static char		 req[] = POST_HEAD "X-A: a\0b\r\n\r\n";
	struct httpscan		*sc = httpscan_new();
	const char		*why = NULL;

	UNIT_ASSERT_INT_EQ(httpscan_feed(sc, req, sizeof req - 1),
	    HTTPSCAN_BAD);
	UNIT_ASSERT_INT_EQ(httpscan_refusal(sc, &why), HTTPSCAN_BAD_REQUEST);
	UNIT_ASSERT_STR_EQ(why, "a NUL byte in the request head");
	httpscan_free(sc);
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

/* The offset of a refused request's first byte, after earlier ones. */
static void
test_start(void)
{
	static char		 req[] = "GET / HTTP/1.1\r\n\r\n"
				    "POST / HTTP/1.1\r\n"
				    "Content-Length: 500\r\n\r\n";
	struct httpscan		*sc = httpscan_new();

	httpscan_set_limits(sc, TEST_HEAD_MAX, TEST_BODY_MAX);
	UNIT_ASSERT_INT_EQ(httpscan_feed(sc, req, sizeof req - 1),
	    HTTPSCAN_BAD);
	UNIT_ASSERT_INT_EQ(httpscan_seq(sc), 2);
	UNIT_ASSERT_INT_EQ(httpscan_start(sc), 18);
	httpscan_free(sc);
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
	{ "chunk extensions accepted, made readable", test_chunk_extensions },
	{ "limits, methods, versions, targets, names", test_refusals },
	{ "method and target kept for the record", test_record },
	{ "where a refused request starts", test_start },
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
