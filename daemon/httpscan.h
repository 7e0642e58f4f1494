/* SPDX-License-Identifier: ISC */
/*
 * httpscan: a strict reading of the raw bytes of a client connection.
 *
 * evhttp 2.1.12 parses requests leniently where it should refuse (chunk
 * sizes through strtoll, folded header lines joined, a NUL ending a header
 * value), and where it does refuse it answers with an HTML page of its
 * own and closes at once (a head or a body too large, a line it cannot
 * parse, a method it does not know).  Both only show in the raw bytes, so
 * httpscan reads them before evhttp does.  It follows the request framing
 * the way evhttp will (which methods have a body, Transfer-Encoding over
 * Content-Length) and stops at the first request that is to be refused,
 * saying how (enum httpscan_refusal) and why; the connection then answers
 * that request itself.  It also says which part of a request is arriving,
 * for the header and body deadlines.
 *
 * It rewrites one thing in place: the first byte of a chunk extension
 * (";" or a tab after the size), which becomes a space, the one byte after
 * a size that evhttp's reading of it accepts.  RFC 9112 7.1.1 allows
 * extensions; evhttp would answer them 413.
 *
 * Pure: bytes in, verdict out; no libevent, no clock.
 */
#ifndef HTTPSCAN_H
#define HTTPSCAN_H

#include <stddef.h>
#include <stdint.h>

enum httpscan_phase {
	HTTPSCAN_IDLE,		/* between requests (or none yet) */
	HTTPSCAN_HEAD,		/* a request head is arriving */
	HTTPSCAN_BODY,		/* its body (or chunked trailer) is */
	HTTPSCAN_BAD		/* a request to refuse; sticky */
};

/* How the request that stopped the scan is to be refused. */
enum httpscan_refusal {
	HTTPSCAN_OK,			/* nothing to refuse */
	HTTPSCAN_BAD_REQUEST,		/* 400: framing or grammar */
	HTTPSCAN_TOO_LARGE,		/* 413: body over the limit */
	HTTPSCAN_HEAD_TOO_LARGE,	/* 431: head over the limit */
	HTTPSCAN_METHOD,		/* 405: a method not served */
	HTTPSCAN_EXPECTATION		/* 417: an Expect other than 100 */
};

/* The methods a request may use (the Allow header of a 405). */
#define HTTPSCAN_ALLOW	"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

struct httpscan;

/* Return a scanner for a new connection; never NULL. */
struct httpscan	*httpscan_new(void);
void		 httpscan_free(struct httpscan *sc);
/* Refuse heads over head_max bytes and bodies over body_max (0: none). */
void		 httpscan_set_limits(struct httpscan *sc, size_t head_max,
		    uint64_t body_max);
/*
 * Scan len more bytes of the connection, rewriting a chunk extension's
 * first byte in place; return the phase after them.
 */
enum httpscan_phase httpscan_feed(struct httpscan *sc, void *buf,
		    size_t len);
/* Return the phase now. */
enum httpscan_phase httpscan_phase(const struct httpscan *sc);
/* Return the number of requests begun, from 1. */
uint64_t	 httpscan_seq(const struct httpscan *sc);
/* Return the offset in the stream of the current request's first byte. */
uint64_t	 httpscan_start(const struct httpscan *sc);
/* Return how the current request is to be refused; set *why if so. */
enum httpscan_refusal httpscan_refusal(const struct httpscan *sc,
		    const char **why);
/* Return the current request's method, or "" if not a known token. */
const char	*httpscan_method(const struct httpscan *sc);
/* Return the start of the current request's target, or "". */
const char	*httpscan_target(const struct httpscan *sc);

#endif /* HTTPSCAN_H */
