/* SPDX-License-Identifier: ISC */
/*
 * fuzz_rreply: bytes off the wire, through hiredis's reply reader, into
 * every rreply parser.
 *
 * The first byte says how many requests the admit asked for (0 to 8); the
 * rest is fed to a redisReader as if Redis had sent it, and each reply
 * that comes out (at most 64) goes to rreply_admit, rreply_integer and
 * rreply_status.  Besides surviving, a parser must either refuse with a
 * message or fill its struct within the ranges rreply.h promises.  Arrays
 * are capped at 4096 elements, since hiredis allocates an array's
 * pointers as soon as it reads the count: a multi-gigabyte calloc is
 * hiredis's business, not the parsers'.
 */
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>

#include "fuzz.h"
#include "rreply.h"

#define FUZZ_RREPLY_MAX_ELEMENTS	4096
#define FUZZ_RREPLY_MAX_REPLIES		64

/* hiredis's own reply functions, with the cap on arrays. */
static redisReplyObjectFunctions	fuzz_rreply_fn;
static redisReplyObjectFunctions	fuzz_rreply_default;

static void	fuzz_rreply_check(const redisReply *r, long long n);
static void	fuzz_rreply_init(void);

#if HIREDIS_MAJOR == 0
static void	*fuzz_rreply_array(const redisReadTask *task, int elements);

/* createArray: hiredis's, unless the count is absurd. */
static void *
fuzz_rreply_array(const redisReadTask *task, int elements)
#else
static void	*fuzz_rreply_array(const redisReadTask *task, size_t elements);

/* createArray: hiredis's, unless the count is absurd. */
static void *
fuzz_rreply_array(const redisReadTask *task, size_t elements)
#endif
{
	if (elements > FUZZ_RREPLY_MAX_ELEMENTS)
		return NULL;		/* the reader reports out of memory */
	return fuzz_rreply_default.createArray(task, elements);
}

/* Copy hiredis's default reply functions, once. */
static void
fuzz_rreply_init(void)
{
	redisReader	*rd;

	if (fuzz_rreply_fn.createArray != NULL)
		return;
	if ((rd = redisReaderCreate()) == NULL)
		abort();
	fuzz_rreply_default = *rd->fn;
	redisReaderFree(rd);
	fuzz_rreply_fn = fuzz_rreply_default;
	fuzz_rreply_fn.createArray = fuzz_rreply_array;
}

/* Abort unless each parser refuses r with a message or keeps its word. */
static void
fuzz_rreply_check(const redisReply *r, long long n)
{
	struct rreply_admit	a;
	struct rreply_status	st;
	long long		v;
	char			why[RREPLY_WHY_MAX];

	why[0] = '\0';
	if (rreply_admit(r, n, &a, why, sizeof why) == 0) {
		if (a.admitted < 0 || a.admitted > n || a.retry_ms < -1 ||
		    a.now_ms < 0 || a.hosts_alive < 0 ||
		    a.lease_expiry_ms < -1 || a.note_len > RREPLY_NOTE_MAX ||
		    strlen(a.note) != a.note_len)
			abort();
	} else if (why[0] == '\0')
		abort();
	why[0] = '\0';
	if (rreply_integer(r, -1, 1000, &v, why, sizeof why) == 0) {
		if (v < -1 || v > 1000)
			abort();
	} else if (why[0] == '\0')
		abort();
	why[0] = '\0';
	if (rreply_status(r, &st, why, sizeof why) == 0) {
		if (st.in_flight < 0 || st.pause_ms < 0 ||
		    st.hosts_alive < 0 || st.requests_level !=
		    st.requests_level || st.tokens_level != st.tokens_level)
			abort();
	} else if (why[0] == '\0')
		abort();
}

/* libFuzzer entry point: run one generated input through the module. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	redisReader	*rd;
	void		*reply;
	long long	 n;
	int		 i;

	if (size == 0)
		return 0;
	fuzz_rreply_init();
	n = data[0] % 9;
	if ((rd = redisReaderCreateWithFunctions(&fuzz_rreply_fn)) == NULL)
		abort();
	if (redisReaderFeed(rd, (const char *)data + 1, size - 1) != REDIS_OK)
		abort();
	for (i = 0; i < FUZZ_RREPLY_MAX_REPLIES; i++) {
		reply = NULL;
		if (redisReaderGetReply(rd, &reply) != REDIS_OK ||
		    reply == NULL)
			break;
		fuzz_rreply_check(reply, n);
		freeReplyObject(reply);
	}
	redisReaderFree(rd);
	return 0;
}
