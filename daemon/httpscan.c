/* SPDX-License-Identifier: ISC */
/*
 * httpscan: a strict reading of the raw bytes of a client connection.
 *
 * A byte-at-a-time state machine, so a request split anywhere across reads
 * scans the same as one read whole, and nothing but short prefixes of a
 * line (the method, the target, a framing header) is kept.  The grammar is
 * RFC 9112's, narrowed to what a proxy should pass and to what evhttp
 * reads without answering itself: a request line of a served method, an
 * origin-form target of visible ASCII and HTTP/1.x; lines end in CRLF or
 * LF; no NUL or bare CR in a head; header names are tokens followed by a
 * colon; no folded lines; at most one Content-Length (digits only) and one
 * Transfer-Encoding (only "chunked"), never both; no Expect but
 * 100-continue; chunk sizes of hex digits, then optional extensions, and
 * CRLF after each chunk; a head within head_max bytes and a body within
 * body_max.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpscan.h"
#include "xmalloc.h"

/* Longest line prefix kept to read a version or a framing header. */
#define HTTPSCAN_KEEP		64
/* Longest method and target prefixes kept for the refusal's record. */
#define HTTPSCAN_METHOD_MAX	16
#define HTTPSCAN_TARGET_MAX	256
/* Longest chunk extension accepted (evhttp reads the line whole). */
#define HTTPSCAN_EXT_MAX	4096
/* Largest chunk size kept before it could overflow a shift by 4. */
#define HTTPSCAN_SIZE_MAX	(UINT64_MAX >> 4)

/* Where inside a phase the next byte goes. */
enum {
	SCAN_LINE,		/* a head or trailer line */
	SCAN_LINE_CR,		/* after its CR: LF must follow */
	SCAN_SKIP,		/* Content-Length body bytes */
	SCAN_SIZE,		/* a chunk-size line's digits */
	SCAN_SIZE_EXT,		/* its extensions */
	SCAN_SIZE_CR,
	SCAN_DATA,		/* chunk data */
	SCAN_DATA_END,		/* the CRLF after chunk data */
	SCAN_DATA_CR
};

struct httpscan {
	enum httpscan_phase	 phase;
	int			 state;		/* inside the phase */
	enum httpscan_refusal	 refusal;
	const char		*why;		/* set with the refusal */
	uint64_t		 seq;		/* requests begun, from 1 */
	uint64_t		 offset;	/* bytes scanned */
	uint64_t		 start;		/* this request's first byte */
	size_t			 head_max;
	uint64_t		 body_max;
	size_t			 head_bytes;	/* head and trailer so far */
	uint64_t		 left;		/* body or chunk bytes left */
	uint64_t		 body;		/* chunk sizes so far */
	int			 has_body;	/* the method may carry one */
	int			 chunked;
	int			 ncl, nte;	/* framing header lines */
	int			 in_trailer;
	int			 first_line;	/* the request line is next */
	int			 part;		/* of the request line */
	int			 served;	/* its method is served */
	int			 in_value;	/* past a field's colon */
	int			 ext_semi;	/* an extension's ';' seen */
	size_t			 linelen;
	size_t			 mlen, tlen;
	char			 method[HTTPSCAN_METHOD_MAX];
	char			 target[HTTPSCAN_TARGET_MAX];
	char			 line[HTTPSCAN_KEEP];
};

static const char *httpscan_bad(struct httpscan *sc,
		    enum httpscan_refusal refusal, const char *why);
static void	httpscan_begin(struct httpscan *sc);
static void	httpscan_byte(struct httpscan *sc, unsigned char *p);
static const char *httpscan_line_byte(struct httpscan *sc, unsigned char c);
static const char *httpscan_line_end(struct httpscan *sc);
static const char *httpscan_request_byte(struct httpscan *sc,
		    unsigned char c);
static const char *httpscan_request_part(struct httpscan *sc);
static const char *httpscan_request_line(struct httpscan *sc);
static const char *httpscan_name_byte(struct httpscan *sc, unsigned char c);
static const char *httpscan_header(struct httpscan *sc);
static const char *httpscan_length(struct httpscan *sc, const char *value);
static const char *httpscan_head_end(struct httpscan *sc);
static const char *httpscan_body_byte(struct httpscan *sc, unsigned char *p);
static const char *httpscan_size_byte(struct httpscan *sc, unsigned char *p);
static const char *httpscan_ext_byte(struct httpscan *sc, unsigned char c);
static const char *httpscan_size_end(struct httpscan *sc);
static int	httpscan_hexval(unsigned char c);
static int	httpscan_tchar(unsigned char c);

/* Return a scanner for a new connection. */
struct httpscan *
httpscan_new(void)
{
	struct httpscan	*sc = xcalloc(1, sizeof *sc);

	sc->phase = HTTPSCAN_IDLE;
	return sc;
}

void
httpscan_free(struct httpscan *sc)
{
	free(sc);
}

void
httpscan_set_limits(struct httpscan *sc, size_t head_max, uint64_t body_max)
{
	sc->head_max = head_max;
	sc->body_max = body_max;
}

enum httpscan_phase
httpscan_phase(const struct httpscan *sc)
{
	return sc->phase;
}

uint64_t
httpscan_seq(const struct httpscan *sc)
{
	return sc->seq;
}

uint64_t
httpscan_start(const struct httpscan *sc)
{
	return sc->start;
}

enum httpscan_refusal
httpscan_refusal(const struct httpscan *sc, const char **why)
{
	if (sc->refusal != HTTPSCAN_OK && why != NULL)
		*why = sc->why;
	return sc->refusal;
}

const char *
httpscan_method(const struct httpscan *sc)
{
	return sc->mlen < sizeof sc->method ? sc->method : "";
}

const char *
httpscan_target(const struct httpscan *sc)
{
	return sc->target;
}

enum httpscan_phase
httpscan_feed(struct httpscan *sc, void *buf, size_t len)
{
	unsigned char	*p = buf, *end = p + len;
	size_t		 n;

	while (p < end && sc->phase != HTTPSCAN_BAD) {
		if (sc->phase == HTTPSCAN_IDLE)
			httpscan_begin(sc);
		if (sc->state == SCAN_SKIP || sc->state == SCAN_DATA) {
			/* Body bytes are skipped a run at a time. */
			n = (size_t)(end - p) < sc->left ?
			    (size_t)(end - p) : (size_t)sc->left;
			p += n;
			sc->offset += n;
			sc->left -= n;
			if (sc->left == 0 && sc->state == SCAN_SKIP)
				sc->phase = HTTPSCAN_IDLE;
			else if (sc->left == 0)
				sc->state = SCAN_DATA_END;
			continue;
		}
		httpscan_byte(sc, p++);
		sc->offset++;
	}
	return sc->phase;
}

/* Scan one byte of a line or of chunked framing. */
static void
httpscan_byte(struct httpscan *sc, unsigned char *p)
{
	const char	*why;

	if (sc->state == SCAN_LINE || sc->state == SCAN_LINE_CR) {
		if (sc->head_max > 0 && ++sc->head_bytes > sc->head_max) {
			httpscan_bad(sc, HTTPSCAN_HEAD_TOO_LARGE,
			    "a request head over the size limit");
			return;
		}
		why = httpscan_line_byte(sc, *p);
	} else
		why = httpscan_body_byte(sc, p);
	if (why != NULL && sc->refusal == HTTPSCAN_OK)
		httpscan_bad(sc, HTTPSCAN_BAD_REQUEST, why);
}

/* Stop the scan (it stays stopped) at a request to refuse; return why. */
static const char *
httpscan_bad(struct httpscan *sc, enum httpscan_refusal refusal,
    const char *why)
{
	sc->phase = HTTPSCAN_BAD;
	sc->refusal = refusal;
	sc->why = why;
	return why;
}

/* A new request starts: its head comes first. */
static void
httpscan_begin(struct httpscan *sc)
{
	sc->seq++;
	sc->start = sc->offset;
	sc->phase = HTTPSCAN_HEAD;
	sc->state = SCAN_LINE;
	sc->first_line = 1;
	sc->part = sc->served = 0;
	sc->in_trailer = sc->in_value = 0;
	sc->chunked = sc->ncl = sc->nte = 0;
	sc->has_body = 1;
	sc->left = sc->body = 0;
	sc->linelen = sc->mlen = sc->tlen = sc->head_bytes = 0;
	sc->method[0] = sc->target[0] = '\0';
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
	if (sc->first_line)
		return httpscan_request_byte(sc, c);
	if (sc->linelen == 0 && (c == ' ' || c == '\t'))
		return "a folded header line";
	if (sc->linelen < sizeof sc->line - 1)
		sc->line[sc->linelen] = (char)c;
	sc->linelen++;
	return sc->in_value ? NULL : httpscan_name_byte(sc, c);
}

/* One byte of a field name, or its colon. */
static const char *
httpscan_name_byte(struct httpscan *sc, unsigned char c)
{
	if (c == ':') {
		sc->in_value = 1;
		return sc->linelen == 1 ? "a header line without a name" :
		    NULL;
	}
	if (!httpscan_tchar(c))
		return "a header name that is not a token";
	return NULL;
}

/* One byte of the request line: method SP target SP version. */
static const char *
httpscan_request_byte(struct httpscan *sc, unsigned char c)
{
	if (c == ' ' && sc->part < 2)
		return httpscan_request_part(sc);
	if (sc->part == 0) {
		if (!httpscan_tchar(c))
			return "a malformed request line";
		if (sc->mlen < sizeof sc->method - 1) {
			sc->method[sc->mlen] = (char)c;
			sc->method[sc->mlen + 1] = '\0';
		}
		sc->mlen++;
		return NULL;
	}
	if (sc->part == 1) {
		if (c < 0x21 || c > 0x7e)
			return "a control, space or non-ASCII byte in the "
			    "request target";
		if (sc->tlen < sizeof sc->target - 1) {
			sc->target[sc->tlen] = (char)c;
			sc->target[sc->tlen + 1] = '\0';
		}
		sc->tlen++;
		return NULL;
	}
	if (sc->linelen < sizeof sc->line - 1)
		sc->line[sc->linelen] = (char)c;
	sc->linelen++;
	return NULL;
}

/*
 * The space after the method or after the target.  A method not served is
 * refused at the line's end, once the target is known (for the record);
 * its target need not be a path (CONNECT's is not).
 */
static const char *
httpscan_request_part(struct httpscan *sc)
{
	static const char *const served[] = { "GET", "HEAD", "POST", "PUT",
	    "PATCH", "DELETE", "OPTIONS", NULL };
	size_t	i;

	if (sc->part == 0) {
		if (sc->mlen == 0)
			return "a malformed request line";
		for (i = 0; served[i] != NULL; i++) {
			if (strcmp(httpscan_method(sc), served[i]) == 0)
				sc->served = 1;
		}
		sc->has_body = strcmp(sc->method, "HEAD") != 0;
	} else if (sc->tlen == 0)
		return "a malformed request line";
	else if (sc->served && sc->target[0] != '/')
		return "a request target that is not a path (origin form)";
	else if (sc->served && sc->target[1] == '/')
		return "a request target whose path begins with // (an empty "
		    "segment, naming no provider)";
	sc->part++;
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
	else if (!sc->in_value)
		why = "a header line without a colon";
	else if (sc->in_trailer)
		why = NULL;		/* trailer fields do not frame */
	else
		why = httpscan_header(sc);
	sc->linelen = 0;
	sc->in_value = 0;
	return why;
}

/* The request line ended: it must have had its HTTP/1.x version. */
static const char *
httpscan_request_line(struct httpscan *sc)
{
	sc->first_line = 0;
	if (sc->part == 0 && sc->mlen == 0)
		return "an empty line where a request line belongs";
	if (!sc->served && sc->part > 0)
		return httpscan_bad(sc, HTTPSCAN_METHOD,
		    "a method the daemon does not serve");
	if (sc->part < 2)
		return "an HTTP/0.9 request (no version)";
	if (sc->linelen != 8 || strncmp(sc->line, "HTTP/1.", 7) != 0 ||
	    sc->line[7] < '0' || sc->line[7] > '9')
		return "a version other than HTTP/1.x";
	return NULL;
}

/* A header line: the framing headers and Expect matter here. */
static const char *
httpscan_header(struct httpscan *sc)
{
	char		*value, *last;
	int		 is_cl, is_te;

	if ((value = strchr(sc->line, ':')) == NULL)
		return NULL;	/* a name longer than what is kept */
	*value++ = '\0';
	is_cl = strcasecmp(sc->line, "Content-Length") == 0;
	is_te = strcasecmp(sc->line, "Transfer-Encoding") == 0;
	if (!is_cl && !is_te && strcasecmp(sc->line, "Expect") != 0)
		return NULL;
	if (sc->linelen >= sizeof sc->line - 1)
		return "a framing header too long to be honest";
	value += strspn(value, " \t");
	last = value + strlen(value);
	while (last > value && (last[-1] == ' ' || last[-1] == '\t'))
		*--last = '\0';
	if (!is_cl && !is_te) {
		if (strcasecmp(value, "100-continue") == 0)
			return NULL;
		return httpscan_bad(sc, HTTPSCAN_EXPECTATION,
		    "an Expect other than 100-continue");
	}
	if (is_te) {
		sc->nte++;
		if (strcasecmp(value, "chunked") != 0)
			return "a Transfer-Encoding other than chunked";
		sc->chunked = 1;
		return NULL;
	}
	return httpscan_length(sc, value);
}

/* A Content-Length value: digits only. */
static const char *
httpscan_length(struct httpscan *sc, const char *value)
{
	size_t	i;

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
	} else if (sc->body_max > 0 && sc->left > sc->body_max) {
		return httpscan_bad(sc, HTTPSCAN_TOO_LARGE,
		    "a Content-Length over max_body_size");
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
httpscan_body_byte(struct httpscan *sc, unsigned char *p)
{
	switch (sc->state) {
	case SCAN_SIZE:
		return httpscan_size_byte(sc, p);
	case SCAN_SIZE_EXT:
		return httpscan_ext_byte(sc, *p);
	case SCAN_SIZE_CR:
		if (*p != '\n')
			return "a bare CR after a chunk size";
		return httpscan_size_end(sc);
	case SCAN_DATA_END:
		if (*p == '\r') {
			sc->state = SCAN_DATA_CR;
			return NULL;
		}
		if (*p != '\n')
			return "chunk data longer than its size";
		sc->state = SCAN_SIZE;
		return NULL;
	case SCAN_DATA_CR:
		if (*p != '\n')
			return "a bare CR after chunk data";
		sc->state = SCAN_SIZE;
		return NULL;
	default:
		return "an internal scan state";	/* not reached */
	}
}

/*
 * A chunk-size byte: hex digits, no sign, prefix or leading blank.  The
 * first byte after them that opens an extension (";", or a blank before
 * it) is made a space: evhttp reads the size with strtoll and accepts
 * only a space or the line's end after it.
 */
static const char *
httpscan_size_byte(struct httpscan *sc, unsigned char *p)
{
	int	v;

	if ((*p == '\r' || *p == '\n') && sc->linelen > 0) {
		if (*p == '\r') {
			sc->state = SCAN_SIZE_CR;
			return NULL;
		}
		return httpscan_size_end(sc);
	}
	if (sc->linelen > 0 && (*p == ';' || *p == ' ' || *p == '\t')) {
		sc->ext_semi = *p == ';';
		*p = ' ';
		sc->state = SCAN_SIZE_EXT;
		sc->linelen = 1;
		return NULL;
	}
	if ((v = httpscan_hexval(*p)) == -1)
		return "a chunk size that is not plain hex";
	if (sc->left > HTTPSCAN_SIZE_MAX)
		return "a chunk size too large";
	sc->left = sc->left << 4 | (uint64_t)v;
	sc->linelen++;
	return NULL;
}

/* A byte of chunk extensions: BWS, then ";" and visible text. */
static const char *
httpscan_ext_byte(struct httpscan *sc, unsigned char c)
{
	if ((c == '\r' || c == '\n') && !sc->ext_semi)
		return "a blank after a chunk size, with no extension";
	if (c == '\r') {
		sc->state = SCAN_SIZE_CR;
		return NULL;
	}
	if (c == '\n')
		return httpscan_size_end(sc);
	if (++sc->linelen > HTTPSCAN_EXT_MAX)
		return "a chunk extension too long";
	if (c == ';')
		sc->ext_semi = 1;
	else if (c != ' ' && c != '\t' && (!sc->ext_semi || c < 0x21 ||
	    c == 0x7f))
		return "a malformed chunk extension";
	return NULL;
}

/* The chunk-size line ended: data follows, or the trailer after size 0. */
static const char *
httpscan_size_end(struct httpscan *sc)
{
	sc->linelen = 0;
	sc->ext_semi = 0;
	if (sc->left > UINT64_MAX - sc->body)
		return "a chunk size too large";
	sc->body += sc->left;
	if (sc->body_max > 0 && sc->body > sc->body_max)
		return httpscan_bad(sc, HTTPSCAN_TOO_LARGE,
		    "a chunked body over max_body_size");
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

/* Return 1 if c may be in a token (RFC 9110 5.6.2). */
static int
httpscan_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}
