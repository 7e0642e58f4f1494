/* SPDX-License-Identifier: ISC */
/*
 * fuzz_config: config_load_string() on generated configuration text.
 *
 * The input, NUL-terminated, is loaded as "fuzz.conf".  Besides surviving
 * without a leak, the answer must be consistent: a loaded config has a
 * listen address, at least one provider, a name for each that
 * config_find_provider() finds, a base_url for each proxy and a default
 * provider that exists; a refusal is one message that starts with the
 * file name.  Inputs holding "@include" are skipped: libconfig would read
 * whatever file they name (even /dev/zero), which is not config.c's code.
 * libconfig 1.5 itself leaks the strings its lexer made when a syntax
 * error discards them (hyperrealm/libconfig#142, fixed in 1.7.3): leaks
 * allocated by its lexer are suppressed, nothing else.  The unit tests
 * run with no suppression, so config.c's own use of libconfig is checked.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "xmalloc.h"

#define FUZZ_CONFIG_NAME	"fuzz.conf"

static void	fuzz_config_check(const struct config *cf);
const char	*__lsan_default_suppressions(void);

/* LeakSanitizer hook: ignore libconfig 1.5's own syntax-error leaks. */
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

/* Abort unless cf holds what config.h promises of a loaded config. */
static void
fuzz_config_check(const struct config *cf)
{
	const struct provider_config	*p;
	const char			*dp = cf->default_provider;
	size_t				 i;

	if (cf->nlisten == 0 || cf->nproviders == 0)
		abort();
	for (i = 0; i < cf->nproviders; i++) {
		p = &cf->providers[i];
		if (p->name == NULL || config_find_provider(cf, p->name,
		    strlen(p->name)) != p)
			abort();
		if (p->type == PROVIDER_PROXY && p->base_url == NULL)
			abort();
		if (p->burst == 0 && p->requests_per_minute > 0)
			abort();
	}
	if (dp != NULL && config_find_provider(cf, dp, strlen(dp)) == NULL)
		abort();
}

/* libFuzzer entry point: load one generated config, then free it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cf;
	char		*text, *cause = NULL;

	text = xstrndup((const char *)data, size);
	if (strstr(text, "@include") != NULL) {	/* libconfig stops at NUL */
		free(text);
		return 0;
	}
	cf = config_load_string(text, FUZZ_CONFIG_NAME, &cause);
	if (cf != NULL) {
		if (cause != NULL)
			abort();
		fuzz_config_check(cf);
		config_free(cf);
	} else if (cause == NULL || strncmp(cause, FUZZ_CONFIG_NAME ":",
	    sizeof FUZZ_CONFIG_NAME) != 0)
		abort();
	free(cause);
	free(text);
	return 0;
}
