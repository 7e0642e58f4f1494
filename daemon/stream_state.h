/* SPDX-License-Identifier: ISC */
/*
 * stream_state: struct stream, shared by the two halves of one exchange
 * and by nothing else: stream.c (admission, attempts, the upstream's
 * callbacks, the deadline) and reply.c (what goes to the client and how
 * it ends).  Everything else sees a stream only through stream.h.
 */
#ifndef STREAM_STATE_H
#define STREAM_STATE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "headers.h"
#include "queue.h"

struct config;
struct evbuffer;
struct event;
struct evhttp_connection;
struct evhttp_request;
struct provider;
struct provider_config;
struct stream_env;
struct upstream;
struct usage_reader;

/* Bytes of the body kept to see its final event (dialect_stream_end_marker). */
#define STREAM_TAIL_MAX		32

enum stream_phase {
	STREAM_QUEUED,
	STREAM_UPSTREAM,
	STREAM_BACKOFF,
	STREAM_CUTTING
};

struct stream {
	const struct stream_env		*env;
	struct evhttp_request		*req;	/* ended before stream_free */
	struct evhttp_connection	*evcon;
	struct config			*cf;	/* referenced: pc lives in it */
	const struct provider_config	*pc;
	struct provider			*prov;	/* referenced */
	struct queue_ticket		 ticket;
	char				*rest;
	const char			*body;	/* what goes upstream */
	size_t				 body_len;
	char				*body_copy; /* body, when rewritten */
	struct upstream			*up;	/* NULL between attempts */
	struct event			*timer;	/* the phase's deadline */
	struct event			*hangup; /* EV_CLOSED on the client */
	struct evbuffer			*chunk;	/* reused for each chunk */
	struct evbuffer			*held;	/* a 429's body, held back */
	struct usage_reader		*usage;	/* a token limit needs it */
	struct headers_ratelimit	 rl;	/* the attempt's advice */
	enum stream_phase		 phase;
	uint64_t			 arrive_ms;
	uint64_t			 admit_ms;	/* first admission */
	uint64_t			 attempt_ms;	/* this attempt began */
	uint64_t			 bytes_out;
	uint64_t			 idle_from_ms;	/* last forward */
	size_t				 bytes_in;
	int64_t				 tokens;	/* reserved estimate */
	int				 status;
	int				 attempts;
	int				 slot;		/* holds a slot */
	int				 headers_sent;
	int				 holding;	/* a 429 in hold */
	int				 paused;	/* client lags */
	int				 sse;
	int				 reads_usage;
	const char			*end_marker; /* SSE: its last event's */
	char				 tail[STREAM_TAIL_MAX]; /* sent last */
	size_t				 tail_len;
	TAILQ_ENTRY(stream)		 entry;		/* stream_all */
};

/* (Re)arm the stream's one deadline, seconds from now. */
void	stream_arm(struct stream *s, double seconds);
/* evhttp: everything queued for the client was written. */
void	stream_drained_cb(struct evhttp_connection *evcon, void *arg);
/* Log the access line and free s; the request is already finished. */
void	stream_free(struct stream *s, const char *why);

#endif /* STREAM_STATE_H */
