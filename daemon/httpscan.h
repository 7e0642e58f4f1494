/* SPDX-License-Identifier: ISC */
/*
 * httpscan: a strict reading of the raw bytes of a client connection.
 *
 * evhttp 2.1.12 parses requests leniently: chunk sizes go through strtoll
 * (so "0x5", "+5" and " 5" pass), folded header lines are joined, and a NUL
 * silently ends a header value.  Nothing of that survives into the parsed
 * request, so these shapes can only be refused by looking at the bytes
 * before evhttp does.  httpscan follows the request framing the way evhttp
 * will (which methods have a body, Transfer-Encoding over Content-Length)
 * and reports the first request whose bytes break the grammar; the server
 * then answers that request 400 and closes.  It also says which part of a
 * request is arriving, for the header and body deadlines.
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
	HTTPSCAN_BAD		/* framing broken; sticky */
};

/* Longest line prefix kept to read a method or a framing header. */
#define HTTPSCAN_KEEP	64

/* Plain data so a connection can embed it; fields are httpscan's own. */
struct httpscan {
	enum httpscan_phase	 phase;
	int			 state;		/* inside the phase */
	uint64_t		 seq;		/* requests begun, from 1 */
	const char		*why;		/* set once HTTPSCAN_BAD */
	uint64_t		 left;		/* body or chunk bytes to skip */
	int			 has_body;	/* the method may carry one */
	int			 chunked;
	int			 ncl;		/* Content-Length lines */
	int			 nte;		/* Transfer-Encoding lines */
	int			 in_trailer;
	int			 first_line;	/* the request line is next */
	size_t			 linelen;
	char			 line[HTTPSCAN_KEEP];
};

void		httpscan_init(struct httpscan *sc);
/* Scan len more bytes of the connection; return the phase after them. */
enum httpscan_phase httpscan_feed(struct httpscan *sc, const void *buf,
		    size_t len);

#endif /* HTTPSCAN_H */
