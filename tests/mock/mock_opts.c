/* SPDX-License-Identifier: ISC */

/*
 * mock_opts: read the x-mock-* request headers into struct mock_opts.
 * Numbers are decimal and capped; a value that does not parse leaves
 * the option as it was, and the last header of a kind wins.  It only
 * records what was asked: mock_answer.c and mock_exch.c act on it.
 */

#include <sys/queue.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/keyvalq_struct.h>

#include "mock_opts.h"

#define MOCK_MAX_CHUNK_BYTES	(16L * 1024 * 1024)
#define MOCK_MAX_MS		86400000L	/* one day */

static void	 mock_opts_set_long(long *, const char *, long);
static enum mock_fault mock_opts_fault(const char *);
static int	 mock_opts_flag(const char *);
static void	 mock_opts_apply(struct mock_opts *, const char *,
		    const char *);

/* Set *dst from a decimal header value, capped at max; ignore junk. */
static void
mock_opts_set_long(long *dst, const char *s, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	end += strspn(end, " \t");
	if (end == s || *end != '\0' || errno != 0 || v < 0)
		return;
	*dst = v > max ? max : v;
}

/* Parse "headers" or "body", the phase a fault strikes in. */
static enum mock_fault
mock_opts_fault(const char *s)
{
	if (strcasecmp(s, "headers") == 0)
		return FAULT_HEADERS;
	if (strcasecmp(s, "body") == 0)
		return FAULT_BODY;
	return FAULT_NONE;
}

/* Parse a boolean header value. */
static int
mock_opts_flag(const char *s)
{
	return strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0;
}

/* Read the x-mock-* headers in hdrs into o. */
void
mock_opts_read(struct mock_opts *o, struct evkeyvalq *hdrs)
{
	struct evkeyval	*kv;

	TAILQ_FOREACH(kv, hdrs, next) {
		if (strncasecmp(kv->key, "x-mock-", 7) == 0)
			mock_opts_apply(o, kv->key + 7, kv->value);
	}
}

/* Apply one x-mock-<name> header; the last of a kind wins. */
static void
mock_opts_apply(struct mock_opts *o, const char *name, const char *value)
{
	if (strcasecmp(name, "delay-ms") == 0)
		mock_opts_set_long(&o->delay_ms, value, MOCK_MAX_MS);
	else if (strcasecmp(name, "status") == 0)
		mock_opts_set_long(&o->status, value, 999);
	else if (strcasecmp(name, "error-code") == 0)
		o->error_code = value;
	else if (strcasecmp(name, "response-header") == 0)
		o->resp_headers = 1;
	else if (strcasecmp(name, "chunks") == 0)
		mock_opts_set_long(&o->chunks, value, MOCK_MAX_CHUNKS);
	else if (strcasecmp(name, "interval-ms") == 0)
		mock_opts_set_long(&o->interval_ms, value, MOCK_MAX_MS);
	else if (strcasecmp(name, "chunk-bytes") == 0)
		mock_opts_set_long(&o->chunk_bytes, value,
		    MOCK_MAX_CHUNK_BYTES);
	else if (strcasecmp(name, "trickle-ms") == 0)
		mock_opts_set_long(&o->trickle_ms, value, MOCK_MAX_MS);
	else if (strcasecmp(name, "stall") == 0)
		o->stall = mock_opts_fault(value);
	else if (strcasecmp(name, "reset") == 0)
		o->reset = mock_opts_fault(value);
	else if (strcasecmp(name, "truncate") == 0)
		o->truncate = mock_opts_flag(value);
	else if (strcasecmp(name, "garbage") == 0)
		o->garbage = mock_opts_flag(value);
	else if (strcasecmp(name, "id") == 0)
		o->id = value;
}

/*
 * Keep one body fault: stall, then reset, then truncate, then trickle.
 * (garbage, then reset and stall of the headers, act before any body.)
 */
void
mock_opts_normalize(struct mock_opts *o)
{
	if (o->stall == FAULT_BODY && o->reset == FAULT_BODY)
		o->reset = FAULT_NONE;
	if (o->stall == FAULT_BODY || o->reset == FAULT_BODY)
		o->truncate = 0;
	if (o->stall == FAULT_BODY || o->reset == FAULT_BODY || o->truncate)
		o->trickle_ms = 0;
}

