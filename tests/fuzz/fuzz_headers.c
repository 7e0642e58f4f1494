/* SPDX-License-Identifier: ISC */
/*
 * fuzz_headers: every headers.c function on generated names and values.
 *
 * The input is split at its first two newlines into a field name, a
 * Connection value and a field value (the value keeps any NUL bytes);
 * with fewer newlines the Connection value is NULL.  Besides surviving,
 * the answers must agree with simple facts: a name listed in conn is
 * hop-by-hop, and a value holding CR, LF or NUL is never clean.  The
 * value (up to a NUL) also goes through the rate-limit parsers, at the
 * wall-clock time the Connection line reads as a number (else 2026): no
 * parse may give a negative time, and headers_parse_ratelimit() must agree
 * with the single-value parsers it is built on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "headers.h"
#include "xmalloc.h"

static const uint8_t	*fuzz_headers_line(const uint8_t *p, const uint8_t *end,
			    char **out);
static void		 fuzz_headers_rl_check(
			    const struct headers_ratelimit *rl);
static void		 fuzz_headers_ratelimit(const char *name,
			    const char *value, int64_t now);
static void		 fuzz_headers_rl_all(const char *value, int64_t now);

/* Every field headers_parse_ratelimit() knows. */
static const char *const fuzz_headers_rl_names[] = {
	"retry-after-ms", "retry-after",
	"x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
	"x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
	"anthropic-ratelimit-requests-remaining",
	"anthropic-ratelimit-requests-reset",
	"anthropic-ratelimit-tokens-remaining",
	"anthropic-ratelimit-tokens-reset",
	"anthropic-ratelimit-input-tokens-remaining",
	"anthropic-ratelimit-input-tokens-reset",
	"anthropic-ratelimit-output-tokens-remaining",
	"anthropic-ratelimit-output-tokens-reset"
};
#define FUZZ_HEADERS_NRL \
	(sizeof fuzz_headers_rl_names / sizeof fuzz_headers_rl_names[0])

/* Copy the bytes up to the next newline into *out; return what follows. */
static const uint8_t *
fuzz_headers_line(const uint8_t *p, const uint8_t *end, char **out)
{
	const uint8_t	*nl;

	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL) {
		*out = NULL;
		return p;
	}
	*out = xstrndup((const char *)p, (size_t)(nl - p));
	return nl + 1;
}

/* Abort unless rl is within its documented ranges. */
static void
fuzz_headers_rl_check(const struct headers_ratelimit *rl)
{
	if (rl->retry_after_ms < -1 || rl->cooldown_ms < 0 ||
	    rl->remaining_requests < -1 || rl->remaining_tokens < -1)
		abort();
	if (rl->retry_after_ms >= 0 && rl->cooldown_ms != rl->retry_after_ms)
		abort();
}

/* Run value through each rate-limit parser and check they agree. */
static void
fuzz_headers_ratelimit(const char *name, const char *value, int64_t now)
{
	struct headers_ratelimit	 rl;
	const char			*names[2], *values[2];
	int64_t				 after = -1, reset = -1;
	int				 r;

	if ((r = headers_parse_retry_after(value, now, &after)) == 0 &&
	    after < 0)
		abort();
	if (r != 0 && (r != -1 || after != -1))
		abort();
	if ((r = headers_parse_reset(value, now, &reset)) == 0 && reset < 0)
		abort();
	if (r != 0 && (r != -1 || reset != -1))
		abort();
	headers_parse_ratelimit(&name, &value, 1, now, &rl);
	fuzz_headers_rl_check(&rl);
	names[0] = "Retry-After";
	values[0] = value;
	headers_parse_ratelimit(names, values, 1, now, &rl);
	fuzz_headers_rl_check(&rl);
	if (rl.retry_after_ms != after || rl.cooldown_ms != (after >= 0 ?
	    after : 1000))
		abort();
	names[0] = "x-ratelimit-remaining-tokens";
	values[0] = "0";
	names[1] = "X-RateLimit-Reset-Tokens";
	values[1] = value;
	headers_parse_ratelimit(names, values, 2, now, &rl);
	fuzz_headers_rl_check(&rl);
	if (rl.cooldown_ms != (reset >= 0 ? reset : 1000) ||
	    rl.remaining_tokens != 0)
		abort();
}

/* Give value to every rate-limit field at once; the answer stays sane. */
static void
fuzz_headers_rl_all(const char *value, int64_t now)
{
	struct headers_ratelimit	 rl;
	const char			*values[FUZZ_HEADERS_NRL];
	size_t				 i;

	for (i = 0; i < FUZZ_HEADERS_NRL; i++)
		values[i] = value;
	headers_parse_ratelimit(fuzz_headers_rl_names, values,
	    FUZZ_HEADERS_NRL, now, &rl);
	fuzz_headers_rl_check(&rl);
}

/* libFuzzer entry point: run one generated input through the module. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *end = data + size;
	char		*name, *conn, *listed, *value;
	size_t		 vlen;
	int64_t		 now;

	p = fuzz_headers_line(p, end, &name);
	if (name == NULL)
		name = xstrndup((const char *)data, size);
	p = fuzz_headers_line(p, end, &conn);
	vlen = (size_t)(end - p);
	headers_is_hop_by_hop(name, conn);
	headers_is_hop_by_hop(name, NULL);
	headers_is_credential(name);
	headers_is_upstream_managed(name);
	if (headers_value_is_clean((const char *)p, vlen) &&
	    (memchr(p, '\r', vlen) != NULL || memchr(p, '\n', vlen) != NULL ||
	    memchr(p, '\0', vlen) != NULL))
		abort();
	if (conn != NULL) {
		headers_is_hop_by_hop(conn, conn);
		headers_is_credential(conn);
	}
	if (*name != '\0' && strpbrk(name, ", \t") == NULL) {
		xasprintf(&listed, " ,%s\t, x", name);
		if (!headers_is_hop_by_hop(name, listed))
			abort();
		free(listed);
	}
	value = xstrndup((const char *)p, vlen);
	now = conn != NULL ? strtoll(conn, NULL, 10) : 1795600800000LL;
	fuzz_headers_ratelimit(name, value, now);
	fuzz_headers_rl_all(value, now);
	free(value);
	free(name);
	free(conn);
	return 0;
}
