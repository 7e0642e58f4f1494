/* SPDX-License-Identifier: ISC */
/*
 * confredis: the redis group of a configuration (SPEC 14), where the
 * providers with shared = true keep their limits.
 *
 * The group is parsed through the key table like any group; its password
 * is read from password_env or password_file (as api_key_file is) and,
 * like every secret, never appears in a message.  A provider may say
 * shared = true only when the group is there: limits that silently stay
 * local would let N daemons send N times the quota.  Pure: no libevent,
 * no clock.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "confint.h"
#include "confkey.h"
#include "confval.h"
#include "xmalloc.h"

static int	config_redis_password(struct redis_config *r,
		    const config_setting_t *g, struct config_ctx *cx,
		    char **cause);

/* Free cf's redis group, wiping its password. */
void
config_free_redis(struct config *cf)
{
	struct redis_config	*r = &cf->redis;

	config_free_fields(r, CONFKEY_SCOPE_REDIS);
	if (r->password != NULL) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	memset(r, 0, sizeof *r);
}

/* Parse the redis group into cf->redis and read its password. */
int
config_parse_redis(struct config *cf, const config_setting_t *g,
    struct config_ctx *cx, char **cause)
{
	struct redis_config	*r = &cf->redis;
	int			 ret;

	if (!config_setting_is_group(g))
		return config_fail(cx, g, "redis", cause, "must be a group: "
		    "{ url = ...; ... }");
	config_free_redis(cf);			/* a second redis key */
	config_set_defaults(r, CONFKEY_SCOPE_REDIS);
	r->given = 1;
	r->line = config_setting_source_line(g);
	snprintf(cx->prefix, sizeof cx->prefix, "redis.");
	ret = config_parse_group(r, g, CONFKEY_SCOPE_REDIS, cx, cause);
	if (ret == 0 && r->url == NULL)
		ret = config_fail(cx, g, "url", cause, "is required");
	if (ret == 0 && r->timeout * 3 >= r->lease)
		ret = config_fail(cx, config_member(g, "lease"), "lease",
		    cause, "must be more than three times timeout: a slot is "
		    "renewed every lease/3");
	if (ret == 0)
		ret = config_redis_password(r, g, cx, cause);
	cx->prefix[0] = '\0';
	return ret;
}

/* Read the password from password_env or password_file, if either. */
static int
config_redis_password(struct redis_config *r, const config_setting_t *g,
    struct config_ctx *cx, char **cause)
{
	if (r->password_env != NULL && r->password_file != NULL)
		return config_fail(cx, config_member(g, "password_file"),
		    "password_file", cause, "and password_env exclude each "
		    "other: give one");
	if (r->password_file != NULL)
		return config_read_secret_file(r->password_file,
		    config_member(g, "password_file"), "password_file", cx,
		    &r->password, cause);
	if (r->password_env == NULL)
		return 0;
	return config_read_secret_env(r->password_env, config_member(g,
	    "password_env"), "password_env", cx, &r->password, cause);
}

/* Refuse a shared provider when no redis group says where to share. */
int
config_check_redis(struct config *cf, const config_setting_t *root,
    struct config_ctx *cx, char **cause)
{
	const config_setting_t	*list, *g;
	size_t			 i;

	if (cf->redis.given)
		return 0;
	list = config_member(root, "providers");
	for (i = 0; i < cf->nproviders; i++) {
		if (!cf->providers[i].shared)
			continue;
		g = config_setting_get_elem(list, (unsigned int)i);
		snprintf(cx->prefix, sizeof cx->prefix, "providers[%zu].", i);
		return config_fail(cx, config_member(g, "shared"), "shared",
		    cause, "needs the redis group (where the limits are "
		    "shared)");
	}
	return 0;
}
