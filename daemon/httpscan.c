/* SPDX-License-Identifier: ISC */
/*
 * httpscan: a strict reading of the raw bytes of a client connection.
 *
 * A byte-at-a-time state machine, so a request split anywhere across reads
 * scans the same as one read whole, and nothing but a short line prefix is
 * kept.  The grammar is RFC 9112's, narrowed to what a proxy should pass:
 * lines end in CRLF or LF, no NUL or bare CR in a head, no folded lines,
 * at most one Content-Length (digits only) and one Transfer-Encoding (only
 * "chunked"), never both, chunk sizes of hex digits only (no extensions,
 * which evhttp refuses anyway), and CRLF after each chunk.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "httpscan.h"

/* Where inside a phase the next byte goes. */
enum {
	SCAN_LINE,		/* a head or trailer line */
	SCAN_LINE_CR,		/* after its CR: LF must follow */
	SCAN_SKIP,		/* Content-Length body bytes */
	SCAN_SIZE,		/* a chunk-size line */
	SCAN_SIZE_CR,
	SCAN_DATA,		/* chunk data */
	SCAN_DATA_END,		/* the CRLF after chunk data */
	SCAN_DATA_CR
};

/* Largest chunk size kept before it could overflow a shift by 4. */
#define HTTPSCAN_SIZE_MAX	(UINT64_MAX >> 4)

static const char *httpscan_bad(struct httpscan *sc, const char *why);
static void	httpscan_begin(struct httpscan *sc);
static const char *httpscan_line_byte(struct httpscan *sc, unsigned char c);
static const char *httpscan_line_end(struct httpscan *sc);
static const char *httpscan_request_line(struct httpscan *sc);
static const char *httpscan_header(struct httpscan *sc);
static const char *httpscan_head_end(struct httpscan *sc);
static const char *httpscan_size_byte(struct httpscan *sc, unsigned char c);
static const char *httpscan_size_end(struct httpscan *sc);
static const char *httpscan_body_byte(struct httpscan *sc, unsigned char c);
static int	httpscan_hexval(unsigned char c);

void
httpscan_init(struct httpscan *sc)
{
	memset(sc, 0, sizeof *sc);
	sc->phase = HTTPSCAN_IDLE;
}

enum httpscan_phase
httpscan_feed(struct httpscan *sc, const void *buf, size_t len)
{
	const unsigned char	*p = buf, *end = p + len;
	const char		*why = NULL;
	size_t			 n;

	while (p < end && sc->phase != HTTPSCAN_BAD) {
		if (sc->phase == HTTPSCAN_IDLE) {
			/* Blank lines between requests are skipped (RFC 9112
			 * 2.2); anything else begins the next request. */
			if (*p == '\r' || *p == '\n') {
				p++;
				continue;
			}
			httpscan_begin(sc);
		}
		if (sc->state == SCAN_SKIP || sc->state == SCAN_DATA) {
			/* Body bytes are skipped a run at a time. */
			n = (size_t)(end - p) < sc->left ?
			    (size_t)(end - p) : (size_t)sc->left;
			p += n;
			sc->left -= n;
			if (sc->left == 0 && sc->state == SCAN_SKIP)
				sc->phase = HTTPSCAN_IDLE;
			else if (sc->left == 0)
				sc->state = SCAN_DATA_END;
			continue;
		}
		if (sc->state == SCAN_LINE || sc->state == SCAN_LINE_CR)
			why = httpscan_line_byte(sc, *p);
		else
			why = httpscan_body_byte(sc, *p);
		if (why != NULL)
			httpscan_bad(sc, why);
		p++;
	}
	return sc->phase;
}

/* Mark the scan broken (it stays so) and return why. */
static const char *
httpscan_bad(struct httpscan *sc, const char *why)
{
	sc->phase = HTTPSCAN_BAD;
	sc->why = why;
	return why;
}

/* A new request starts: its head comes first. */
static void
httpscan_begin(struct httpscan *sc)
{
	sc->seq++;
	sc->phase = HTTPSCAN_HEAD;
	sc->state = SCAN_LINE;
	sc->first_line = 1;
	sc->in_trailer = 0;
	sc->chunked = sc->ncl = sc->nte = 0;
	sc->has_body = 1;
	sc->left = 0;
	sc->linelen = 0;
}

/* One byte of a head or trailer line; return why it is bad, or NULL. */
static const char *
httpscan_line_byte(struct httpscan *sc, unsigned char c)
{
	if (sc->state == SCAN_LINE_CR) {
		if (c != '\n')
			return "a bare CR in the request head";
		sc->state = SCAN_LINE;
		return httpscan_line_end(sc);
	}
	if (c == '\0')
		return "a NUL byte in the request head";
	if (c == '\r') {
		sc->state = SCAN_LINE_CR;
		return NULL;
	}
	if (c == '\n')
		return httpscan_line_end(sc);
	if (sc->linelen == 0 && !sc->first_line && (c == ' ' || c == '\t'))
		return "a folded header line";
	if (sc->linelen < sizeof sc->line - 1)
		sc->line[sc->linelen] = (char)c;
	sc->linelen++;
	return NULL;
}

/* A whole line arrived (without its line end). */
static const char *
httpscan_line_end(struct httpscan *sc)
{
	const char	*why;
	size_t		 kept = sc->linelen < sizeof sc->line - 1 ?
			    sc->linelen : sizeof sc->line - 1;

	sc->line[kept] = '\0';
	if (sc->first_line)
		why = httpscan_request_line(sc);
	else if (sc->linelen == 0 && sc->in_trailer) {
		sc->phase = HTTPSCAN_IDLE;	/* the trailer's end */
		why = NULL;
	} else if (sc->linelen == 0)
		why = httpscan_head_end(sc);
	else if (sc->in_trailer)
		why = NULL;		/* trailer fields do not frame */
	else
		why = httpscan_header(sc);
	sc->linelen = 0;
	return why;
}

/* The request line: its method decides, as in evhttp, if a body follows. */
static const char *
httpscan_request_line(struct httpscan *sc)
{
	size_t	 m = strcspn(sc->line, " ");

	sc->first_line = 0;
	if ((m == 4 && strncmp(sc->line, "HEAD", 4) == 0) ||
	    (m == 5 && strncmp(sc->line, "TRACE", 5) == 0))
		sc->has_body = 0;
	return NULL;
}

/* A header line: only the two framing headers matter here. */
static const char *
httpscan_header(struct httpscan *sc)
{
	char		*value, *last;
	int		 is_cl, is_te;
	size_t		 i;

	if ((value = strchr(sc->line, ':')) == NULL)
		return NULL;	/* evhttp refuses it, or guard.c will */
	*value++ = '\0';
	is_cl = strcasecmp(sc->line, "Content-Length") == 0;
	is_te = strcasecmp(sc->line, "Transfer-Encoding") == 0;
	if (!is_cl && !is_te)
		return NULL;
	if (sc->linelen >= sizeof sc->line - 1)
		return "a framing header too long to be honest";
	value += strspn(value, " \t");
	last = value + strlen(value);
	while (last > value && (last[-1] == ' ' || last[-1] == '\t'))
		*--last = '\0';
	if (is_te) {
		sc->nte++;
		if (strcasecmp(value, "chunked") != 0)
			return "a Transfer-Encoding other than chunked";
		sc->chunked = 1;
		return NULL;
	}
	sc->ncl++;
	if (*value == '\0' || strlen(value) > 18)
		return "a malformed Content-Length";
	sc->left = 0;
	for (i = 0; value[i] != '\0'; i++) {
		if (value[i] < '0' || value[i] > '9')
			return "a malformed Content-Length";
		sc->left = sc->left * 10 + (uint64_t)(value[i] - '0');
	}
	return NULL;
}

/* The empty line after the head: decide how the body is framed. */
static const char *
httpscan_head_end(struct httpscan *sc)
{
	if (sc->ncl > 1 || sc->nte > 1)
		return "a repeated framing header";
	if (sc->ncl && sc->nte)
		return "both Content-Length and Transfer-Encoding";
	if (!sc->has_body) {
		if (sc->nte || sc->left > 0)
			return "a body on a method without one";
		sc->phase = HTTPSCAN_IDLE;
	} else if (sc->chunked) {
		sc->phase = HTTPSCAN_BODY;
		sc->state = SCAN_SIZE;
		sc->linelen = 0;
	} else if (sc->left > 0) {
		sc->phase = HTTPSCAN_BODY;
		sc->state = SCAN_SKIP;
	} else
		sc->phase = HTTPSCAN_IDLE;
	return NULL;
}

/* One byte of chunked framing (not data); return why it is bad, or NULL. */
static const char *
httpscan_body_byte(struct httpscan *sc, unsigned char c)
{
	switch (sc->state) {
	case SCAN_SIZE:
		return httpscan_size_byte(sc, c);
	case SCAN_SIZE_CR:
		if (c != '\n')
			return "a bare CR after a chunk size";
		return httpscan_size_end(sc);
	case SCAN_DATA_END:
		if (c == '\r') {
			sc->state = SCAN_DATA_CR;
			return NULL;
		}
		if (c != '\n')
			return "chunk data longer than its size";
		sc->state = SCAN_SIZE;
		return NULL;
	case SCAN_DATA_CR:
		if (c != '\n')
			return "a bare CR after chunk data";
		sc->state = SCAN_SIZE;
		return NULL;
	default:
		return "an internal scan state";	/* not reached */
	}
}

/* A chunk-size byte: hex digits only, no sign, prefix, blank or ext. */
static const char *
httpscan_size_byte(struct httpscan *sc, unsigned char c)
{
	int	v;

	if ((c == '\r' || c == '\n') && sc->linelen > 0) {
		if (c == '\r') {
			sc->state = SCAN_SIZE_CR;
			return NULL;
		}
		return httpscan_size_end(sc);
	}
	if ((v = httpscan_hexval(c)) == -1)
		return "a chunk size that is not plain hex";
	if (sc->left > HTTPSCAN_SIZE_MAX)
		return "a chunk size too large";
	sc->left = sc->left << 4 | (uint64_t)v;
	sc->linelen++;
	return NULL;
}

/* The chunk-size line ended: data follows, or the trailer after size 0. */
static const char *
httpscan_size_end(struct httpscan *sc)
{
	sc->linelen = 0;
	if (sc->left == 0) {
		sc->in_trailer = 1;
		sc->state = SCAN_LINE;
	} else
		sc->state = SCAN_DATA;
	return NULL;
}

static int
httpscan_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
