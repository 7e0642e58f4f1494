/* SPDX-License-Identifier: ISC */
/*
 * fuzz_headers: every headers.c function on generated names and values.
 *
 * The input is split at its first two newlines into a field name, a
 * Connection value and a field value (the value keeps any NUL bytes);
 * with fewer newlines the Connection value is NULL.  Besides surviving,
 * the answers must agree with simple facts: a name listed in conn is
 * hop-by-hop, and a value holding CR, LF or NUL is never clean.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "headers.h"
#include "xmalloc.h"

static const uint8_t	*fuzz_headers_line(const uint8_t *p, const uint8_t *end,
			    char **out);

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

/* libFuzzer entry point: run one generated input through the module. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *end = data + size;
	char		*name, *conn, *listed;
	size_t		 vlen;

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
	free(name);
	free(conn);
	return 0;
}
