/* SPDX-License-Identifier: ISC */
/*
 * jscan: find a member of a JSON object in its text, without parsing it.
 *
 * The daemon reads a few numbers (token usage) out of response bodies
 * that are otherwise passed through untouched; building a whole jansson
 * tree of each body only to look at one member cost more than the rest of
 * the request's handling.  jscan walks the top-level object's members,
 * checks that brackets and strings balance and that nothing follows the
 * object, and returns the span of one member's value for the caller to
 * parse.  jscan_member does not check numbers, literals or UTF-8;
 * jscan_valid checks all of JSON's grammar (as jansson reads it, NUL
 * escapes allowed).  Keys are matched by their bytes as written (no
 * escapes in the key).  Pure: no libevent, no clock.
 */
#ifndef JSCAN_H
#define JSCAN_H

#include <stddef.h>
#include <stdint.h>

/* Where a member's value is in the text: off, len; found is 0 or 1. */
struct jscan_span {
	size_t	off;
	size_t	len;
	int	found;
};

/*
 * Find the last member named keys[i] of the JSON object that is all of the
 * len bytes at s, for each of the n keys, in one pass; set spans[i].
 * Return -1 if s is not an object (then nothing is found), else 0.
 */
int	jscan_members(const char *s, size_t len, const char *const *keys,
	    size_t n, struct jscan_span *spans);

/*
 * Find the last member named key of the JSON object that is all of the len
 * bytes at s.  Return 0 and set *off, *vlen to its value's bytes; -1 if
 * there is no such member or s is not an object.
 */
int	jscan_member(const char *s, size_t len, const char *key, size_t *off,
	    size_t *vlen);
/* Read the value text at s as an integer >= 0; return 0 if it is one. */
int	jscan_to_uint(const char *s, size_t len, int64_t *out);

/*
 * Read member key of the object at s as an integer >= 0 (JSON integer
 * syntax, no fraction or exponent, within int64_t).  Return 0 and set *out
 * if it is one, else -1.
 */
int	jscan_uint(const char *s, size_t len, const char *key, int64_t *out);

/*
 * Read member key of the object at s as a string with no escapes in it
 * (a model name): return 0 and set *off, *slen to the bytes between its
 * quotes, else -1 (no such member, not a string, or an escape).
 */
int	jscan_str(const char *s, size_t len, const char *key, size_t *off,
	    size_t *slen);

/*
 * Return 0 if the len bytes at s are one valid JSON text (UTF-8 strings,
 * at most JSCAN_MAX_DEPTH arrays and objects deep, nothing after it but
 * space), else -1.
 */
int	jscan_valid(const char *s, size_t len);

/*
 * Return the UTF-8 bytes of every string value (not object keys) within
 * the valid JSON value of len bytes at s, escapes decoded.
 */
uint64_t jscan_string_bytes(const char *s, size_t len);

/* Nesting deeper than this is not valid (jansson's own parse limit). */
#define JSCAN_MAX_DEPTH		2048

#endif
