/* SPDX-License-Identifier: ISC */
/*
 * jscan: find a member of a JSON object in its text, without parsing it.
 *
 * A walk over the top-level object's members: each key is a string, each
 * value is skipped by balancing brackets outside strings.  See jscan.h.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"

static size_t	jscan_ws(const char *s, size_t len, size_t i);
static int	jscan_string(const char *s, size_t len, size_t *i);
static int	jscan_value(const char *s, size_t len, size_t *i);
static int	jscan_check(const char *s, size_t len, size_t *i,
		    size_t depth);
static int	jscan_check_string(const char *s, size_t len, size_t *i,
		    uint64_t *bytes, int key);
static int	jscan_check_container(const char *s, size_t len, size_t *i,
		    size_t depth);
static int	jscan_check_escape(const char *s, size_t len, size_t *j,
		    uint64_t *n, int key);
static int	jscan_check_utf8(const unsigned char *s, size_t len,
		    size_t *i);
static int	jscan_hex4(const char *s, size_t len, size_t i,
		    unsigned int *cp);
static int	jscan_check_number(const char *s, size_t len, size_t *i);
static int	jscan_number_overflows(const char *s, size_t len);

/* Return the index of the first byte at or after i that is not space. */
static size_t
jscan_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
	    s[i] == '\r'))
		i++;
	return i;
}

/* Skip the string starting at s[*i] ('"'); return -1 if it never ends. */
static int
jscan_string(const char *s, size_t len, size_t *i)
{
	size_t	j;

	for (j = *i + 1; j < len; j++) {
		if (s[j] == '\\')
			j++;
		else if (s[j] == '"') {
			*i = j + 1;
			return 0;
		}
	}
	return -1;
}

/* Skip the value starting at s[*i]; return -1 if it is not one. */
static int
jscan_value(const char *s, size_t len, size_t *i)
{
	size_t	j = *i, depth = 0;

	if (j >= len)
		return -1;
	if (s[j] == '"')
		return jscan_string(s, len, i);
	if (s[j] != '{' && s[j] != '[') {
		while (j < len && s[j] != ',' && s[j] != '}' && s[j] != ']' &&
		    s[j] != ' ' && s[j] != '\t' && s[j] != '\r' &&
		    s[j] != '\n' && s[j] != '\0')
			j++;
		if (j == *i)
			return -1;
		*i = j;
		return 0;
	}
	while (j < len) {
		if (s[j] == '"') {
			if (jscan_string(s, len, &j) == -1)
				return -1;
			continue;
		}
		if (s[j] == '{' || s[j] == '[') {
			if (++depth > JSCAN_MAX_DEPTH)
				return -1;
		} else if (s[j] == '}' || s[j] == ']') {
			if (--depth == 0) {
				*i = j + 1;
				return 0;
			}
		}
		j++;
	}
	return -1;
}

/* Find the last member named keys[i] of the object s, for each key. */
int
jscan_members(const char *s, size_t len, const char *const *keys, size_t n,
    struct jscan_span *spans)
{
	size_t	i, k, kend, v, m;

	for (m = 0; m < n; m++)
		spans[m].found = 0;
	if (s == NULL || (i = jscan_ws(s, len, 0)) >= len || s[i] != '{')
		return -1;
	if ((i = jscan_ws(s, len, i + 1)) < len && s[i] == '}')
		return jscan_ws(s, len, i + 1) == len ? 0 : -1;
	for (;;) {
		if (i >= len || s[i] != '"')
			goto bad;
		k = i + 1;
		if (jscan_string(s, len, &i) == -1)
			goto bad;
		kend = i - 1;			/* the closing quote */
		if ((i = jscan_ws(s, len, i)) >= len || s[i] != ':')
			goto bad;
		v = i = jscan_ws(s, len, i + 1);
		if (jscan_value(s, len, &i) == -1)
			goto bad;
		for (m = 0; m < n; m++) {
			if (strlen(keys[m]) == kend - k &&
			    memcmp(s + k, keys[m], kend - k) == 0) {
				spans[m].off = v;
				spans[m].len = i - v;
				spans[m].found = 1;
			}
		}
		if ((i = jscan_ws(s, len, i)) >= len)
			goto bad;
		if (s[i] == '}')
			break;
		if (s[i] != ',')
			goto bad;
		i = jscan_ws(s, len, i + 1);
	}
	if (jscan_ws(s, len, i + 1) == len)
		return 0;
bad:
	for (m = 0; m < n; m++)
		spans[m].found = 0;
	return -1;
}

/* Find the last member named key of the object that is all of s. */
int
jscan_member(const char *s, size_t len, const char *key, size_t *off,
    size_t *vlen)
{
	struct jscan_span	span;

	if (jscan_members(s, len, &key, 1, &span) == -1 || !span.found)
		return -1;
	*off = span.off;
	*vlen = span.len;
	return 0;
}

/* Read the value text at s as an integer >= 0; return 0 if it is one. */
int
jscan_to_uint(const char *s, size_t len, int64_t *out)
{
	size_t	i;
	int64_t	v = 0;

	if (len == 0)
		return -1;
	i = s[0] == '-';
	if (i == len || (s[i] == '0' && len > i + 1))
		return -1;		/* no digits, or a leading zero */
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (s[0] == '-' && v != 0)
		return -1;
	*out = v;
	return 0;
}

/* Read member key of the object at s as an integer >= 0. */
int
jscan_uint(const char *s, size_t len, const char *key, int64_t *out)
{
	size_t	off, vlen;

	if (jscan_member(s, len, key, &off, &vlen) == -1)
		return -1;
	return jscan_to_uint(s + off, vlen, out);
}

/* Read member key of the object at s as a string without escapes. */
int
jscan_str(const char *s, size_t len, const char *key, size_t *off,
    size_t *slen)
{
	size_t	voff, vlen;

	if (jscan_member(s, len, key, &voff, &vlen) == -1 || vlen < 2 ||
	    s[voff] != '"' || memchr(s + voff, '\\', vlen) != NULL)
		return -1;
	*off = voff + 1;
	*slen = vlen - 2;
	return 0;
}

/* Return 0 if the len bytes at s are one valid JSON text. */
int
jscan_valid(const char *s, size_t len)
{
	size_t	i;

	if (s == NULL)
		return -1;
	i = jscan_ws(s, len, 0);
	if (jscan_check(s, len, &i, 0) == -1)
		return -1;
	return jscan_ws(s, len, i) == len ? 0 : -1;
}

/* Check the value at s[*i] and step over it; depth: containers around. */
static int
jscan_check(const char *s, size_t len, size_t *i, size_t depth)
{
	if (*i >= len)
		return -1;
	switch (s[*i]) {
	case '"':
		return jscan_check_string(s, len, i, NULL, 0);
	case '{':
	case '[':
		return jscan_check_container(s, len, i, depth + 1);
	case 't':
	case 'f':
	case 'n':
		if (len - *i >= 4 && memcmp(s + *i, "true", 4) == 0)
			*i += 4;
		else if (len - *i >= 5 && memcmp(s + *i, "false", 5) == 0)
			*i += 5;
		else if (len - *i >= 4 && memcmp(s + *i, "null", 4) == 0)
			*i += 4;
		else
			return -1;
		return 0;
	default:
		return jscan_check_number(s, len, i);
	}
}

/* Check the object or array at s[*i], depth deep, and step over it. */
static int
jscan_check_container(const char *s, size_t len, size_t *i, size_t depth)
{
	char	close = s[*i] == '{' ? '}' : ']';

	if (depth > JSCAN_MAX_DEPTH)
		return -1;
	if ((*i = jscan_ws(s, len, *i + 1)) < len && s[*i] == close) {
		(*i)++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (*i >= len || s[*i] != '"' ||
			    jscan_check_string(s, len, i, NULL, 1) == -1)
				return -1;
			if ((*i = jscan_ws(s, len, *i)) >= len || s[*i] != ':')
				return -1;
			*i = jscan_ws(s, len, *i + 1);
		}
		if (jscan_check(s, len, i, depth) == -1 ||
		    (*i = jscan_ws(s, len, *i)) >= len)
			return -1;
		if (s[*i] == close) {
			(*i)++;
			return 0;
		}
		if (s[*i] != ',')
			return -1;
		*i = jscan_ws(s, len, *i + 1);
	}
}

/*
 * Check the string at s[*i] and step over it; add its decoded UTF-8 bytes
 * to *bytes when bytes is not NULL.  An object key may not hold \u0000
 * (jansson refuses one).
 */
static int
jscan_check_string(const char *s, size_t len, size_t *i, uint64_t *bytes,
    int key)
{
	size_t		j = *i + 1, start;
	uint64_t	n = 0;

	while (j < len && s[j] != '"') {
		if ((unsigned char)s[j] < 0x20)
			return -1;
		start = j;
		if ((unsigned char)s[j] >= 0x80) {
			if (jscan_check_utf8((const unsigned char *)s, len,
			    &j) == -1)
				return -1;
			n += j - start;
		} else if (s[j] == '\\') {
			if (jscan_check_escape(s, len, &j, &n, key) == -1)
				return -1;
		} else {
			j++;
			n++;
		}
	}
	if (j >= len)
		return -1;
	*i = j + 1;
	if (bytes != NULL)
		*bytes = n > UINT64_MAX - *bytes ? UINT64_MAX : *bytes + n;
	return 0;
}

/*
 * Check the escape at s[*j] (a backslash) and step over it, adding the
 * bytes it stands for to *n: a \u escape is one UTF-8 character, a
 * surrogate pair one of four bytes.
 */
static int
jscan_check_escape(const char *s, size_t len, size_t *j, uint64_t *n,
    int key)
{
	unsigned int	cp, lo;

	if (++*j >= len)
		return -1;
	if (s[*j] != 'u') {
		if (strchr("\"\\/bfnrt", s[*j]) == NULL || s[*j] == '\0')
			return -1;
		++*j;
		++*n;
		return 0;
	}
	if (jscan_hex4(s, len, *j + 1, &cp) == -1)
		return -1;
	*j += 5;
	if ((cp == 0 && key) || (cp >= 0xdc00 && cp <= 0xdfff))
		return -1;		/* NUL in a key, a lone low surrogate */
	if (cp < 0xd800 || cp > 0xdbff) {
		*n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
		return 0;
	}
	if (len - *j < 6 || s[*j] != '\\' || s[*j + 1] != 'u' ||
	    jscan_hex4(s, len, *j + 2, &lo) == -1 || lo < 0xdc00 ||
	    lo > 0xdfff)
		return -1;
	*j += 6;
	*n += 4;
	return 0;
}

/* Step over one well-formed UTF-8 sequence of 2 to 4 bytes at s[*i]. */
static int
jscan_check_utf8(const unsigned char *s, size_t len, size_t *i)
{
	size_t		n, k;
	unsigned int	cp;

	if (s[*i] >= 0xc2 && s[*i] <= 0xdf) {
		n = 2;
		cp = s[*i] & 0x1f;
	} else if (s[*i] >= 0xe0 && s[*i] <= 0xef) {
		n = 3;
		cp = s[*i] & 0x0f;
	} else if (s[*i] >= 0xf0 && s[*i] <= 0xf4) {
		n = 4;
		cp = s[*i] & 0x07;
	} else
		return -1;
	if (len - *i < n)
		return -1;
	for (k = 1; k < n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[*i + k] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 ||
	    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += n;
	return 0;
}

/* Read 4 hex digits at s[i] into *cp. */
static int
jscan_hex4(const char *s, size_t len, size_t i, unsigned int *cp)
{
	size_t	k;
	char	c;

	if (len < i || len - i < 4)
		return -1;
	*cp = 0;
	for (k = 0; k < 4; k++) {
		c = s[i + k];
		*cp <<= 4;
		if (c >= '0' && c <= '9')
			*cp |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*cp |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*cp |= (unsigned int)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* Step over a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
jscan_check_number(const char *s, size_t len, size_t *i)
{
	size_t	j = *i, d;

	if (j < len && s[j] == '-')
		j++;
	if (j >= len || s[j] < '0' || s[j] > '9')
		return -1;
	if (s[j] == '0')
		j++;
	else
		while (j < len && s[j] >= '0' && s[j] <= '9')
			j++;
	if (j < len && s[j] == '.') {
		for (d = ++j; j < len && s[j] >= '0' && s[j] <= '9'; j++)
			;
		if (j == d)
			return -1;
	}
	if (j < len && (s[j] == 'e' || s[j] == 'E')) {
		if (++j < len && (s[j] == '+' || s[j] == '-'))
			j++;
		for (d = j; j < len && s[j] >= '0' && s[j] <= '9'; j++)
			;
		if (j == d)
			return -1;
	}
	if (jscan_number_overflows(s + *i, j - *i) == -1)
		return -1;
	*i = j;
	return 0;
}

/*
 * Return -1 where jansson refuses a well-formed number: an integer beyond
 * int64_t, a real beyond double.
 */
static int
jscan_number_overflows(const char *s, size_t len)
{
	static const char	max[] = "9223372036854775807";
	char			buf[512];
	size_t			neg = s[0] == '-', digits = len - neg;
	double			d;

	if (memchr(s, '.', len) == NULL && memchr(s, 'e', len) == NULL &&
	    memchr(s, 'E', len) == NULL) {
		if (digits < sizeof max - 1)
			return 0;
		if (digits > sizeof max - 1)
			return -1;
		if (neg && memcmp(s + 1, "9223372036854775808", digits) == 0)
			return 0;
		return memcmp(s + neg, max, digits) > 0 ? -1 : 0;
	}
	if (len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	d = strtod(buf, NULL);
	return (d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE ? -1 : 0;
}

/* Return the UTF-8 bytes of every string value within the value at s. */
uint64_t
jscan_string_bytes(const char *s, size_t len)
{
	uint64_t	bytes = 0, n;
	size_t		i = 0, j;

	while (i < len) {
		if (s[i] != '"') {
			i++;
			continue;
		}
		n = 0;
		if (jscan_check_string(s, len, &i, &n, 0) == -1)
			break;			/* not valid: never happens */
		j = jscan_ws(s, len, i);
		if (j < len && s[j] == ':')
			continue;		/* an object key */
		bytes = n > UINT64_MAX - bytes ? UINT64_MAX : bytes + n;
	}
	return bytes;
}
