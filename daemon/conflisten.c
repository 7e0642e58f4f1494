/* SPDX-License-Identifier: ISC */
/*
 * conflisten: the listen addresses of a configuration: none named twice
 * (localhost and 127.0.0.1 are one), and whether two configurations
 * listen alike (a reload cannot move the listeners).  Pure: no libevent,
 * no clock.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "confint.h"

static int	config_same_address(const char *a, const char *b);

/*
 * Refuse an address listed twice in listen, which would otherwise only
 * fail at start, as a bind error ("Address already in use").
 */
int
config_check_listen(struct config *cf, const config_setting_t *root,
    struct config_ctx *cx, char **cause)
{
	const config_setting_t	*s = config_member(root, "listen"), *e;
	char			 key[32];
	size_t			 i, j;

	for (j = 1; j < cf->nlisten; j++) {
		for (i = 0; i < j; i++) {
			if (!config_same_address(cf->listen[i], cf->listen[j]))
				continue;
			e = config_setting_is_aggregate(s) ?
			    config_setting_get_elem(s, (unsigned int)j) : s;
			snprintf(key, sizeof key, "listen[%zu]", j);
			return config_fail(cx, e != NULL ? e : s, key, cause,
			    "\"%s\" is already listen[%zu]", cf->listen[j],
			    i);
		}
	}
	return 0;
}

/* Return 1 if two listen addresses are the same (localhost: 127.0.0.1). */
static int
config_same_address(const char *a, const char *b)
{
	static const char	lh[] = "localhost:", v4[] = "127.0.0.1:";

	if (strcmp(a + strlen(a) - 2, ":0") == 0)
		return 0;	/* each asks the kernel for a port of its own */
	if (strncmp(a, lh, sizeof lh - 1) == 0 &&
	    strncmp(b, v4, sizeof v4 - 1) == 0)
		return strcmp(a + sizeof lh - 1, b + sizeof v4 - 1) == 0;
	if (strncmp(b, lh, sizeof lh - 1) == 0 &&
	    strncmp(a, v4, sizeof v4 - 1) == 0)
		return strcmp(b + sizeof lh - 1, a + sizeof v4 - 1) == 0;
	return strcmp(a, b) == 0;
}

/* Return 1 if a and b listen on the same addresses, in the same order. */
int
config_same_listen(const struct config *a, const struct config *b)
{
	size_t	i;

	if (a->nlisten != b->nlisten)
		return 0;
	for (i = 0; i < a->nlisten; i++) {
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return 0;
	}
	return 1;
}

