/* SPDX-License-Identifier: ISC */
/*
 * headers: which HTTP header fields cross the proxy.
 *
 * Decides, field by field, what is hop-by-hop (RFC 9110 section 7.6.1: the
 * fixed list plus every name a Connection header lists), what carries a
 * client credential that the provider's key replaces, and what the daemon
 * sets itself towards the upstream.  Pure: no libevent, no clock.
 */
#ifndef HEADERS_H
#define HEADERS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Return 1 if a field called name must not be forwarded, in either
 * direction: it is hop-by-hop by definition, or it is listed in conn, the
 * message's Connection field values joined with ", " (NULL if none).
 * Names compare case-insensitively; conn's tokens may carry optional
 * whitespace and empty list elements.
 */
int	headers_is_hop_by_hop(const char *name, const char *conn);

/* Return 1 if name carries a client credential (Authorization, x-api-key). */
int	headers_is_credential(const char *name);

/*
 * Return 1 if name is a request field the daemon sets itself towards the
 * upstream, so the client's copy is dropped: Host, Content-Length, Expect;
 * or one addressed to the daemon: x-llmproxy-client, x-llmproxy-priority.
 */
int	headers_is_upstream_managed(const char *name);

/*
 * Return 1 if value is safe to put in a header field: no CR, LF or NUL
 * within its len bytes.
 */
int	headers_value_is_clean(const char *value, size_t len);

/* What a provider's response says about its rate limits. */
struct headers_ratelimit {
	int64_t	retry_after_ms;		/* retry-after-ms, else retry-after;
					   -1: neither */
	int64_t	cooldown_ms;		/* the pause after a 429, SPEC 5 */
	int64_t	remaining_requests;	/* -1: not said */
	int64_t	remaining_tokens;	/* -1: not said (the least of the
					   token kinds when several) */
};

/*
 * Read the rate-limit fields among n response header fields (names[i]:
 * values[i]) received at now_unix_ms (wall clock, for HTTP and RFC 3339
 * dates).  cooldown_ms follows SPEC section 5's precedence: retry-after-ms,
 * retry-after (seconds or HTTP date), the reset of the limit whose
 * remaining reads 0 (the longest if several), else the shortest reset
 * given, else 1000.  OpenAI's x-ratelimit-{remaining,reset}-{requests,
 * tokens} and Anthropic's anthropic-ratelimit-{requests,tokens,
 * input-tokens,output-tokens}-{remaining,reset} are understood.
 */
void	headers_parse_ratelimit(const char *const *names,
	    const char *const *values, size_t n, int64_t now_unix_ms,
	    struct headers_ratelimit *rl);

/*
 * Parse a Retry-After value (delta-seconds or HTTP-date) into
 * milliseconds from now_unix_ms (0 if the date is past); return -1 if it
 * is neither.
 */
int	headers_parse_retry_after(const char *value, int64_t now_unix_ms,
	    int64_t *ms);

/*
 * Parse a rate-limit reset: a duration ("20ms", "1s", "6m0s",
 * "1h2m3.5s", or plain seconds "30", "1.5") or an RFC 3339 time
 * ("2026-11-25T10:00:00Z", with offset or fraction) into milliseconds from
 * now_unix_ms (0 if past); return -1 if it is none of these.
 */
int	headers_parse_reset(const char *value, int64_t now_unix_ms,
	    int64_t *ms);

#endif /* HEADERS_H */
