/* SPDX-License-Identifier: ISC */
/*
 * test_rreply: the decision script's replies, made from RESP text with
 * hiredis's reader as they come off the wire: admit, integer and status
 * replies taken, and each way of being wrong refused with its reason
 * (error replies, types, counts, ranges, the note's length and bytes).
 */
#include <stdio.h>
#include <string.h>

#include <hiredis.h>

#include "rreply.h"
#include "unit.h"

static redisReply *test_reply(const char *resp, size_t len);
static void	test_admit_refused(const char *resp, size_t len,
		    long long n, const char *phrase);
static void	test_admit_ok(void);
static void	test_admit_note(void);
static void	test_admit_errors(void);
static void	test_admit_ranges(void);
static void	test_admit_note_limits(void);
static void	test_integer(void);
static void	test_status(void);
static void	test_status_refused(void);

#define TEST_RESP(s)	(s), sizeof(s) - 1

/* Return the one reply in resp[0..len), read by hiredis. */
static redisReply *
test_reply(const char *resp, size_t len)
{
	redisReader	*rd;
	void		*reply = NULL;

	rd = redisReaderCreate();
	UNIT_ASSERT(rd != NULL);
	UNIT_ASSERT(redisReaderFeed(rd, resp, len) == REDIS_OK);
	UNIT_ASSERT(redisReaderGetReply(rd, &reply) == REDIS_OK);
	redisReaderFree(rd);
	UNIT_ASSERT(reply != NULL);
	return reply;
}

/* Assert that resp, as the reply to an admit of n, is refused. */
static void
test_admit_refused(const char *resp, size_t len, long long n,
    const char *phrase)
{
	struct rreply_admit	 a;
	redisReply		*r = test_reply(resp, len);
	char			 why[RREPLY_WHY_MAX];
	int			 rc;

	rc = rreply_admit(r, n, &a, why, sizeof why);
	freeReplyObject(r);
	UNIT_ASSERT_INT_EQ(rc, -1);
	if (strstr(why, phrase) == NULL) {
		printf("# \"%s\" lacks \"%s\"\n", why, phrase);
		UNIT_ASSERT(0);
	}
}

static void
test_admit_ok(void)
{
	struct rreply_admit	 a;
	redisReply		*r;
	char			 why[RREPLY_WHY_MAX];

	r = test_reply(TEST_RESP("*6\r\n:2\r\n:0\r\n:1700000000123\r\n:3\r\n"
	    ":29000\r\n$0\r\n\r\n"));
	UNIT_ASSERT_INT_EQ(rreply_admit(r, 2, &a, why, sizeof why), 0);
	UNIT_ASSERT_INT_EQ(a.admitted, 2);
	UNIT_ASSERT_INT_EQ(a.retry_ms, 0);
	UNIT_ASSERT_INT_EQ(a.now_ms, 1700000000123LL);
	UNIT_ASSERT_INT_EQ(a.hosts_alive, 3);
	UNIT_ASSERT_INT_EQ(a.lease_expiry_ms, 29000);
	UNIT_ASSERT_INT_EQ(a.note_len, 0);
	UNIT_ASSERT_STR_EQ(a.note, "");
	freeReplyObject(r);
	r = test_reply(TEST_RESP("*6\r\n:0\r\n:-1\r\n:5\r\n:0\r\n:-1\r\n"
	    "$0\r\n\r\n"));
	UNIT_ASSERT_INT_EQ(rreply_admit(r, 1, &a, why, sizeof why), 0);
	UNIT_ASSERT_INT_EQ(a.admitted, 0);
	UNIT_ASSERT_INT_EQ(a.retry_ms, -1);
	UNIT_ASSERT_INT_EQ(a.lease_expiry_ms, -1);
	freeReplyObject(r);
}

static void
test_admit_note(void)
{
	struct rreply_admit	 a;
	redisReply		*r;
	char			 why[RREPLY_WHY_MAX];

	r = test_reply(TEST_RESP("*6\r\n:1\r\n:250\r\n:9\r\n:2\r\n:100\r\n"
	    "$47\r\nrpm=60 burst=1 tpm=0 max_concurrent=2 by h:1:ab\r\n"));
	UNIT_ASSERT_INT_EQ(rreply_admit(r, 3, &a, why, sizeof why), 0);
	UNIT_ASSERT_INT_EQ(a.admitted, 1);
	UNIT_ASSERT_INT_EQ(a.retry_ms, 250);
	UNIT_ASSERT_STR_EQ(a.note,
	    "rpm=60 burst=1 tpm=0 max_concurrent=2 by h:1:ab");
	UNIT_ASSERT_INT_EQ(a.note_len, 47);
	freeReplyObject(r);
}

static void
test_admit_errors(void)
{
	test_admit_refused(TEST_RESP("-ERR user_script:12: boom\r\n"), 1,
	    "redis: ERR user_script:12: boom");
	test_admit_refused(TEST_RESP("-NOSCRIPT No matching script\r\n"), 1,
	    "redis: NOSCRIPT");
	test_admit_refused(TEST_RESP(":1\r\n"), 1,
	    "an integer where an array");
	test_admit_refused(TEST_RESP("$-1\r\n"), 1, "nil where an array");
	test_admit_refused(TEST_RESP("+OK\r\n"), 1, "a status where");
	test_admit_refused(TEST_RESP("*5\r\n:1\r\n:0\r\n:1\r\n:1\r\n:1\r\n"),
	    1, "an array of 5 elements where 6");
	test_admit_refused(TEST_RESP("*7\r\n:1\r\n:0\r\n:1\r\n:1\r\n:1\r\n"
	    "$0\r\n\r\n:1\r\n"), 1, "an array of 7 elements");
	test_admit_refused(TEST_RESP("*6\r\n$1\r\n1\r\n:0\r\n:1\r\n:1\r\n"
	    ":1\r\n$0\r\n\r\n"), 1, "admitted is a bulk string");
	test_admit_refused(TEST_RESP("*6\r\n:1\r\n:0\r\n*0\r\n:1\r\n:1\r\n"
	    "$0\r\n\r\n"), 1, "now_ms is an array");
	test_admit_refused(TEST_RESP("*6\r\n:1\r\n:0\r\n:1\r\n:1\r\n:1\r\n"
	    ":0\r\n"), 1, "note is an integer");
	test_admit_refused(TEST_RESP("*6\r\n:1\r\n:0\r\n:1\r\n:1\r\n:1\r\n"
	    "$-1\r\n"), 1, "note is nil");
}

static void
test_admit_ranges(void)
{
	test_admit_refused(TEST_RESP("*6\r\n:-1\r\n:0\r\n:1\r\n:1\r\n:1\r\n"
	    "$0\r\n\r\n"), 2, "admitted -1 is out of range");
	test_admit_refused(TEST_RESP("*6\r\n:3\r\n:0\r\n:1\r\n:1\r\n:1\r\n"
	    "$0\r\n\r\n"), 2, "admitted 3 is out of range (0 to 2)");
	test_admit_refused(TEST_RESP("*6\r\n:0\r\n:-2\r\n:1\r\n:1\r\n:1\r\n"
	    "$0\r\n\r\n"), 2, "retry_ms -2 is out of range");
	test_admit_refused(TEST_RESP("*6\r\n:0\r\n:5\r\n:-1\r\n:1\r\n:1\r\n"
	    "$0\r\n\r\n"), 2, "now_ms -1");
	test_admit_refused(TEST_RESP("*6\r\n:0\r\n:5\r\n:1\r\n:-3\r\n:1\r\n"
	    "$0\r\n\r\n"), 2, "hosts_alive -3");
	test_admit_refused(TEST_RESP("*6\r\n:0\r\n:5\r\n:1\r\n:1\r\n:-2\r\n"
	    "$0\r\n\r\n"), 2, "lease_expiry_ms -2");
	test_admit_refused(TEST_RESP("*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:1\r\n"
	    "$0\r\n\r\n"), -1, "-1 requests asked");
}

static void
test_admit_note_limits(void)
{
	struct rreply_admit	 a;
	redisReply		*r;
	char			 resp[700], why[RREPLY_WHY_MAX];
	int			 n;

	n = snprintf(resp, sizeof resp, "*6\r\n:1\r\n:0\r\n:1\r\n:1\r\n:1\r\n"
	    "$512\r\n%0512d\r\n", 0);
	r = test_reply(resp, (size_t)n);
	UNIT_ASSERT_INT_EQ(rreply_admit(r, 1, &a, why, sizeof why), 0);
	UNIT_ASSERT_INT_EQ(a.note_len, 512);
	UNIT_ASSERT_INT_EQ(strlen(a.note), 512);
	freeReplyObject(r);
	n = snprintf(resp, sizeof resp, "*6\r\n:1\r\n:0\r\n:1\r\n:1\r\n:1\r\n"
	    "$513\r\n%0513d\r\n", 0);
	test_admit_refused(resp, (size_t)n, 1, "note of 513 bytes");
	test_admit_refused(TEST_RESP("*6\r\n:1\r\n:0\r\n:1\r\n:1\r\n:1\r\n"
	    "$3\r\na\nb\r\n"), 1, "note has a control");
	test_admit_refused(TEST_RESP("*6\r\n:1\r\n:0\r\n:1\r\n:1\r\n:1\r\n"
	    "$3\r\na\0b\r\n"), 1, "note has a control");
}

static void
test_integer(void)
{
	redisReply	*r;
	long long	 v = 0;
	char		 why[RREPLY_WHY_MAX];

	r = test_reply(TEST_RESP(":3\r\n"));
	UNIT_ASSERT_INT_EQ(rreply_integer(r, 0, 5, &v, why, sizeof why), 0);
	UNIT_ASSERT_INT_EQ(v, 3);
	UNIT_ASSERT_INT_EQ(rreply_integer(r, 0, 2, &v, why, sizeof why), -1);
	UNIT_ASSERT(strstr(why, "reply 3 is out of range (0 to 2)") != NULL);
	freeReplyObject(r);
	r = test_reply(TEST_RESP("+OK\r\n"));
	UNIT_ASSERT_INT_EQ(rreply_integer(r, 0, 5, &v, why, sizeof why), -1);
	UNIT_ASSERT(strstr(why, "a status where an integer") != NULL);
	freeReplyObject(r);
	r = test_reply(TEST_RESP("-BUSY script running\r\n"));
	UNIT_ASSERT_INT_EQ(rreply_integer(r, 0, 5, &v, why, sizeof why), -1);
	UNIT_ASSERT_STR_EQ(why, "redis: BUSY script running");
	freeReplyObject(r);
	UNIT_ASSERT_INT_EQ(rreply_integer(NULL, 0, 5, &v, why, sizeof why),
	    -1);
	UNIT_ASSERT_STR_EQ(why, "no reply");
}

static void
test_status(void)
{
	struct rreply_status	 st;
	redisReply		*r;
	char			 why[RREPLY_WHY_MAX];

	r = test_reply(TEST_RESP("*5\r\n:1\r\n$3\r\n2.5\r\n$5\r\n-40.0\r\n"
	    ":0\r\n:2\r\n"));
	UNIT_ASSERT_INT_EQ(rreply_status(r, &st, why, sizeof why), 0);
	UNIT_ASSERT_INT_EQ(st.in_flight, 1);
	UNIT_ASSERT(st.requests_level == 2.5);
	UNIT_ASSERT(st.tokens_level == -40.0);
	UNIT_ASSERT_INT_EQ(st.pause_ms, 0);
	UNIT_ASSERT_INT_EQ(st.hosts_alive, 2);
	freeReplyObject(r);
}

static void
test_status_refused(void)
{
	struct rreply_status	 st;
	redisReply		*r;
	char			 why[RREPLY_WHY_MAX];

	r = test_reply(TEST_RESP("*5\r\n:1\r\n:2\r\n$1\r\n1\r\n:0\r\n:2\r\n"));
	UNIT_ASSERT_INT_EQ(rreply_status(r, &st, why, sizeof why), -1);
	UNIT_ASSERT(strstr(why, "requests_level is an integer") != NULL);
	freeReplyObject(r);
	r = test_reply(TEST_RESP("*5\r\n:1\r\n$3\r\ninf\r\n$1\r\n1\r\n:0\r\n"
	    ":2\r\n"));
	UNIT_ASSERT_INT_EQ(rreply_status(r, &st, why, sizeof why), -1);
	UNIT_ASSERT(strstr(why, "requests_level is not a finite") != NULL);
	freeReplyObject(r);
	r = test_reply(TEST_RESP("*5\r\n:1\r\n$1\r\n1\r\n$2\r\n 1\r\n:0\r\n"
	    ":2\r\n"));
	UNIT_ASSERT_INT_EQ(rreply_status(r, &st, why, sizeof why), -1);
	UNIT_ASSERT(strstr(why, "tokens_level is not a finite") != NULL);
	freeReplyObject(r);
	r = test_reply(TEST_RESP("*5\r\n:1\r\n$1\r\n1\r\n$1\r\n1\r\n:-5\r\n"
	    ":2\r\n"));
	UNIT_ASSERT_INT_EQ(rreply_status(r, &st, why, sizeof why), -1);
	UNIT_ASSERT(strstr(why, "pause_ms -5") != NULL);
	freeReplyObject(r);
}

static const struct unit_test tests[] = {
	{ "admit", test_admit_ok },
	{ "admit with a note", test_admit_note },
	{ "admit: wrong shapes and errors", test_admit_errors },
	{ "admit: out of range", test_admit_ranges },
	{ "admit: the note's limits", test_admit_note_limits },
	{ "integer replies", test_integer },
	{ "status", test_status },
	{ "status refused", test_status_refused },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
