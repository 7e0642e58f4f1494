/* SPDX-License-Identifier: ISC */
/*
 * batchreq: the body of POST /batch (SPEC 12), read and checked.
 *
 * The body is a JSON object: "mode" (all, as_completed, first),
 * "deadline" (seconds) and "requests", an array of items, each with a
 * known "provider", an optional "method" (POST), a "path", optional
 * "headers" (an object of strings) and an optional "body" (any JSON
 * value, sent as its compact serialization).  A malformed batch is
 * refused with a message naming the item and the member, e.g.
 * `requests[3].provider: unknown provider "opena"`; more items than
 * batch_max_items is its own refusal (413).  Items are not checked
 * beyond their shape: a bad body gets the upstream's own answer.  Pure:
 * no libevent, no clock; fuzzed by tests/fuzz/fuzz_batch.c.
 */
#ifndef BATCHREQ_H
#define BATCHREQ_H

#include <stddef.h>

struct config;

/* Longest deadline a batch may ask for, in seconds (a day). */
#define BATCHREQ_DEADLINE_MAX	86400.0
/* The deadline of a batch that names none (SPEC 12). */
#define BATCHREQ_DEADLINE_DEFAULT 300.0

enum batch_mode {
	BATCH_ALL,		/* one JSON answer, items in input order */
	BATCH_AS_COMPLETED,	/* NDJSON, a line per item as it ends */
	BATCH_FIRST		/* the first 2xx answer wins, the rest cancelled */
};

struct batch_field {
	char	*name;
	char	*value;
};

struct batch_item {
	size_t			 provider;	/* index in cf->providers */
	char			*method;
	char			*path;		/* with its query */
	struct batch_field	*fields;
	size_t			 nfields;
	char			*body;		/* NULL: none */
	size_t			 body_len;
	int			 stream;	/* the body asks "stream": true */
};

struct batch_request {
	enum batch_mode		 mode;
	double			 deadline;	/* seconds */
	struct batch_item	*items;
	size_t			 nitems;
};

/*
 * Read len bytes of body against cf (its providers, batch_max_items).
 * On error return NULL, set *status (400, or 413 for too many items) and
 * *cause (the caller frees it).
 */
struct batch_request	*batchreq_parse(const struct config *cf,
			    const char *body, size_t len, int *status,
			    char **cause);
/* Free br; accepts NULL. */
void			 batchreq_free(struct batch_request *br);
/* Return the name of mode ("all", "as_completed", "first"). */
const char		*batchreq_mode_name(enum batch_mode mode);

#endif /* BATCHREQ_H */
