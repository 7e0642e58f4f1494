/* SPDX-License-Identifier: ISC */
/*
 * fuzz_guard: the Host, Origin, token and hygiene checks on generated
 * strings.
 *
 * The input, NUL-terminated, is split at its first two newlines into a
 * header name, a value and the rest; each check runs on the pieces
 * against a fixed configuration.  Besides surviving, a Host that passes
 * without allowed_hosts must look loopback: "127.", "[" or a "localhost",
 * and a preflight header list may never carry CR, LF or a colon.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "fuzz.h"
#include "guard.h"
#include "xmalloc.h"

static char	fuzz_guard_host[] = "proxy.example.com";
static char	*fuzz_guard_hosts[] = { fuzz_guard_host };
static char	fuzz_guard_origin[] = "https://app.example.com";
static char	*fuzz_guard_origins[] = { fuzz_guard_origin };
static char	fuzz_guard_tok[] = "tok-alpha";
static char	*fuzz_guard_tokens[] = { fuzz_guard_tok };

static struct config	fuzz_guard_cf = {
	.allowed_hosts = fuzz_guard_hosts, .nallowed_hosts = 1,
	.allowed_origins = fuzz_guard_origins, .nallowed_origins = 1,
	.client_tokens = fuzz_guard_tokens, .nclient_tokens = 1,
};
static struct config	fuzz_guard_empty;

static int	fuzz_guard_looks_loopback(const char *host);

/* Return 1 if host starts with "127." or "[" or holds "localhost". */
static int
fuzz_guard_looks_loopback(const char *host)
{
	size_t	i;

	if (strncmp(host, "127.", 4) == 0 || host[0] == '[')
		return 1;
	for (i = 0; host[i] != '\0'; i++) {
		if (strncasecmp(host + i, "localhost", 9) == 0)
			return 1;
	}
	return 0;
}

/* libFuzzer entry point: run one generated input through the module. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guard_header	 h[2];
	const char		*why;
	char			*buf, *value, *rest, *allow;

	buf = xstrndup((const char *)data, size);
	value = buf + strcspn(buf, "\n");
	if (*value != '\0')
		*value++ = '\0';
	rest = value + strcspn(value, "\n");
	if (*rest != '\0')
		*rest++ = '\0';
	h[0].name = buf;
	h[0].value = value;
	h[1].name = "Content-Length";
	h[1].value = rest;
	if (guard_hygiene(h, 2, &why) != GUARD_OK && why == NULL)
		abort();
	if (guard_host(&fuzz_guard_empty, buf, 1) == GUARD_OK &&
	    !fuzz_guard_looks_loopback(buf))
		abort();
	guard_host(&fuzz_guard_cf, value, 0);
	guard_origin(&fuzz_guard_cf, rest);
	guard_token(&fuzz_guard_cf, buf, value, NULL);
	allow = guard_allow_headers(rest);
	if (allow != NULL && strpbrk(allow, "\r\n:") != NULL)
		abort();
	free(allow);
	free(buf);
	return 0;
}
