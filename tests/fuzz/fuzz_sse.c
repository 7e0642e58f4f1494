/* SPDX-License-Identifier: ISC */
/*
 * fuzz_sse: the SSE parser, fed in pieces, and usage read from its events.
 *
 * Byte 0 bounds the piece size, byte 1 picks max_event_bytes and bytes 2-3
 * seed the piece sizes; the rest is the stream.  It is parsed twice, whole
 * and in pieces, and the two runs must deliver identical events, each
 * NUL-terminated and within the bound.  Every event also goes to
 * dialect_usage_from_event for both dialects.
 */
#include <stdlib.h>
#include <string.h>

#include "dialect.h"
#include "fuzz.h"
#include "sse.h"

/* What one parse delivered: a count and a running hash of the events. */
struct fuzz_sse_run {
	size_t			max;
	size_t			n;
	uint64_t		hash;
	struct dialect_usage	openai;
	struct dialect_usage	anthropic;
};

static void	fuzz_sse_hash(uint64_t *h, const char *s, size_t len);
static void	fuzz_sse_cb(const char *event, size_t event_len,
		    const char *data, size_t data_len, void *arg);
static void	fuzz_sse_run(const uint8_t *s, size_t len, size_t max,
		    size_t piece, uint32_t seed, struct fuzz_sse_run *run);

/* Mix len bytes of s, and the length itself, into *h (FNV-1a). */
static void
fuzz_sse_hash(uint64_t *h, const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		*h = (*h ^ (uint8_t)s[i]) * 1099511628211ULL;
	*h = (*h ^ len) * 1099511628211ULL;
}

/* sse_event_cb: check the event, hash it and read usage from it. */
static void
fuzz_sse_cb(const char *event, size_t event_len, const char *data,
    size_t data_len, void *arg)
{
	struct fuzz_sse_run	*run = arg;

	if (event[event_len] != '\0' || data[data_len] != '\0' ||
	    event_len + data_len > run->max)
		abort();
	run->n++;
	fuzz_sse_hash(&run->hash, event, event_len);
	fuzz_sse_hash(&run->hash, data, data_len);
	dialect_usage_from_event(DIALECT_OPENAI, event, event_len, data,
	    data_len, &run->openai);
	dialect_usage_from_event(DIALECT_ANTHROPIC, event, event_len, data,
	    data_len, &run->anthropic);
}

/* Parse len bytes at s whole (piece 0) or in 1..piece bytes from seed. */
static void
fuzz_sse_run(const uint8_t *s, size_t len, size_t max, size_t piece,
    uint32_t seed, struct fuzz_sse_run *run)
{
	struct sse_parser	*p;
	size_t			 off, n;

	memset(run, 0, sizeof *run);
	run->max = max;
	run->hash = 14695981039346656037ULL;
	dialect_usage_init(&run->openai);
	dialect_usage_init(&run->anthropic);
	p = sse_parser_new(max);
	for (off = 0; off < len; off += n) {
		seed = seed * 1103515245 + 12345;
		n = piece == 0 ? len : 1 + (seed >> 16) % piece;
		if (n > len - off)
			n = len - off;
		sse_parser_feed(p, (const char *)s + off, n, fuzz_sse_cb, run);
	}
	sse_parser_free(p);
}

/* libFuzzer entry point: run one generated input through the module. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_sse_run	whole, pieces;
	size_t			max, piece;
	uint32_t		seed;

	if (size < 4)
		return 0;
	piece = 1 + data[0];
	max = (size_t)16 << (data[1] % 12);
	seed = (uint32_t)data[2] << 8 | data[3];
	fuzz_sse_run(data + 4, size - 4, max, 0, 0, &whole);
	fuzz_sse_run(data + 4, size - 4, max, piece, seed, &pieces);
	if (whole.n != pieces.n || whole.hash != pieces.hash ||
	    memcmp(&whole.openai, &pieces.openai, sizeof whole.openai) != 0 ||
	    memcmp(&whole.anthropic, &pieces.anthropic,
	    sizeof whole.anthropic) != 0)
		abort();
	return 0;
}
