/* SPDX-License-Identifier: ISC */
/*
 * rreply: checks on the decision script's replies.  A reply comes from a
 * server the daemon trusts, but a script of another version, a proxy in
 * between or a bug must not turn into admissions that never happened, so
 * every field is checked for type and range before it is used, and a
 * message quotes an error reply with its control bytes replaced.
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>

#include "rreply.h"

/* The part of an error reply quoted in a message. */
#define RREPLY_ERROR_QUOTE	100

static int	rreply_fail(char *why, size_t whylen, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
static const char *rreply_type(const redisReply *r);
static int	rreply_shape(const redisReply *r, int type, size_t elements,
		    char *why, size_t whylen);
static int	rreply_int(const redisReply *r, const char *name,
		    long long min, long long max, long long *v, char *why,
		    size_t whylen);
static int	rreply_level(const redisReply *r, const char *name,
		    double *v, char *why, size_t whylen);
static int	rreply_note(const redisReply *r, struct rreply_admit *a,
		    char *why, size_t whylen);

/* Write the message to why; return -1. */
static int
rreply_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	ap;

	if (whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Name r's type for a message. */
static const char *
rreply_type(const redisReply *r)
{
	switch (r->type) {
	case REDIS_REPLY_STRING:
		return "a bulk string";
	case REDIS_REPLY_ARRAY:
		return "an array";
	case REDIS_REPLY_INTEGER:
		return "an integer";
	case REDIS_REPLY_NIL:
		return "nil";
	case REDIS_REPLY_STATUS:
		return "a status";
	case REDIS_REPLY_ERROR:
		return "an error";
	default:
		return "a reply of an unknown type";
	}
}

/*
 * Check that r is of type (with elements elements for an array): an error
 * reply is quoted, printable bytes only.
 */
static int
rreply_shape(const redisReply *r, int type, size_t elements, char *why,
    size_t whylen)
{
	char	quote[RREPLY_ERROR_QUOTE + 1];
	size_t	i, n;

	if (r == NULL)
		return rreply_fail(why, whylen, "no reply");
	if (r->type == REDIS_REPLY_ERROR) {
		n = r->len < RREPLY_ERROR_QUOTE ? r->len : RREPLY_ERROR_QUOTE;
		for (i = 0; i < n; i++)
			quote[i] = isprint((unsigned char)r->str[i]) ?
			    r->str[i] : '?';
		quote[n] = '\0';
		return rreply_fail(why, whylen, "redis: %s", quote);
	}
	if (r->type != type)
		return rreply_fail(why, whylen, "%s where %s was expected",
		    rreply_type(r), type == REDIS_REPLY_ARRAY ? "an array" :
		    "an integer");
	if (type == REDIS_REPLY_ARRAY && r->elements != elements)
		return rreply_fail(why, whylen, "an array of %zu elements "
		    "where %zu were expected", r->elements, elements);
	return 0;
}

/* Check that r, the field name, is an integer from min to max. */
static int
rreply_int(const redisReply *r, const char *name, long long min,
    long long max, long long *v, char *why, size_t whylen)
{
	if (r->type != REDIS_REPLY_INTEGER)
		return rreply_fail(why, whylen, "%s is %s, not an integer",
		    name, rreply_type(r));
	if (r->integer < min || r->integer > max)
		return rreply_fail(why, whylen, "%s %lld is out of range "
		    "(%lld to %lld)", name, r->integer, min, max);
	*v = r->integer;
	return 0;
}

/* Check that r, the field name, is a bulk string holding a finite number. */
static int
rreply_level(const redisReply *r, const char *name, double *v, char *why,
    size_t whylen)
{
	char	*end;

	if (r->type != REDIS_REPLY_STRING)
		return rreply_fail(why, whylen, "%s is %s, not a bulk string",
		    name, rreply_type(r));
	if (r->len == 0 || r->len > 64 || strlen(r->str) != r->len)
		return rreply_fail(why, whylen, "%s is not a number", name);
	*v = strtod(r->str, &end);
	if (*end != '\0' || isspace((unsigned char)r->str[0]) || !isfinite(*v))
		return rreply_fail(why, whylen, "%s is not a finite number",
		    name);
	return 0;
}

/* Check and copy the note: a bulk string of printable bytes. */
static int
rreply_note(const redisReply *r, struct rreply_admit *a, char *why,
    size_t whylen)
{
	size_t	i;

	if (r->type != REDIS_REPLY_STRING)
		return rreply_fail(why, whylen, "note is %s, not a bulk "
		    "string", rreply_type(r));
	if (r->len > RREPLY_NOTE_MAX)
		return rreply_fail(why, whylen, "note of %zu bytes (at most "
		    "%d)", r->len, RREPLY_NOTE_MAX);
	for (i = 0; i < r->len; i++) {
		if (!isprint((unsigned char)r->str[i]))
			return rreply_fail(why, whylen, "note has a control "
			    "or non-ASCII byte at %zu", i);
	}
	memcpy(a->note, r->str, r->len);
	a->note[r->len] = '\0';
	a->note_len = r->len;
	return 0;
}

/* Parse the reply to an admit of n requests into a. */
int
rreply_admit(const struct redisReply *r, long long n, struct rreply_admit *a,
    char *why, size_t whylen)
{
	redisReply	**e;

	memset(a, 0, sizeof *a);
	if (n < 0)
		return rreply_fail(why, whylen, "%lld requests asked", n);
	if (rreply_shape(r, REDIS_REPLY_ARRAY, 6, why, whylen) == -1)
		return -1;
	e = r->element;
	if (rreply_int(e[0], "admitted", 0, n, &a->admitted, why,
	    whylen) == -1 ||
	    rreply_int(e[1], "retry_ms", -1, LLONG_MAX, &a->retry_ms, why,
	    whylen) == -1 ||
	    rreply_int(e[2], "now_ms", 0, LLONG_MAX, &a->now_ms, why,
	    whylen) == -1 ||
	    rreply_int(e[3], "hosts_alive", 0, LLONG_MAX, &a->hosts_alive,
	    why, whylen) == -1 ||
	    rreply_int(e[4], "lease_expiry_ms", -1, LLONG_MAX,
	    &a->lease_expiry_ms, why, whylen) == -1 ||
	    rreply_note(e[5], a, why, whylen) == -1)
		return -1;
	return 0;
}

/* Parse an integer reply from min to max into *v. */
int
rreply_integer(const struct redisReply *r, long long min, long long max,
    long long *v, char *why, size_t whylen)
{
	if (rreply_shape(r, REDIS_REPLY_INTEGER, 0, why, whylen) == -1)
		return -1;
	return rreply_int(r, "reply", min, max, v, why, whylen);
}

/* Parse the reply to status into st. */
int
rreply_status(const struct redisReply *r, struct rreply_status *st,
    char *why, size_t whylen)
{
	redisReply	**e;

	memset(st, 0, sizeof *st);
	if (rreply_shape(r, REDIS_REPLY_ARRAY, 5, why, whylen) == -1)
		return -1;
	e = r->element;
	if (rreply_int(e[0], "in_flight", 0, LLONG_MAX, &st->in_flight, why,
	    whylen) == -1 ||
	    rreply_level(e[1], "requests_level", &st->requests_level, why,
	    whylen) == -1 ||
	    rreply_level(e[2], "tokens_level", &st->tokens_level, why,
	    whylen) == -1 ||
	    rreply_int(e[3], "pause_ms", 0, LLONG_MAX, &st->pause_ms, why,
	    whylen) == -1 ||
	    rreply_int(e[4], "hosts_alive", 0, LLONG_MAX, &st->hosts_alive,
	    why, whylen) == -1)
		return -1;
	return 0;
}
