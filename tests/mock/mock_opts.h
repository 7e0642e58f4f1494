/* SPDX-License-Identifier: ISC */
/*
 * mock_opts: the x-mock-* request headers, read into struct mock_opts
 * (plain data), each value parsed and capped.  What the options do is
 * for mock_answer.c (status, chunks) and mock_exch.c (timing, faults).
 */
#ifndef MOCK_OPTS_H
#define MOCK_OPTS_H

#define MOCK_MAX_CHUNKS		1000000L

struct evkeyvalq;

enum mock_fault { FAULT_NONE, FAULT_HEADERS, FAULT_BODY };

/* What the x-mock-* request headers asked for. */
struct mock_opts {
	long		 delay_ms;
	long		 status;
	long		 chunks;	/* -1: from max_tokens, or 5 */
	long		 interval_ms;
	long		 chunk_bytes;
	long		 trickle_ms;
	enum mock_fault	 stall;
	enum mock_fault	 reset;
	int		 truncate;
	int		 garbage;
	int		 resp_headers;	/* has x-mock-response-header */
	const char	*error_code;	/* in the request's headers */
	const char	*id;		/* in the request's headers */
};

/* Read the x-mock-* headers in hdrs into o; o points into hdrs after. */
void	mock_opts_read(struct mock_opts *o, struct evkeyvalq *hdrs);
/* Keep one body fault: stall, then reset, then truncate, then trickle. */
void	mock_opts_normalize(struct mock_opts *o);

#endif /* MOCK_OPTS_H */
