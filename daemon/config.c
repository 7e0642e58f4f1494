/* SPDX-License-Identifier: ISC */
/*
 * config: read llmproxyd.conf (libconfig syntax) into a struct config.
 *
 * Every key is declared once, in confkey.c's confkey_table[], with its
 * type, default, bounds, field and documentation.  Defaults, parsing,
 * range checks, required keys, freeing and confkey_write_reference() (the
 * source of llmproxyd.conf(5)) all walk that one table, so no key can be
 * parsed without being documented, and a key not in it is an error.  A message
 * names the file, the line and the key ("f:14: providers[1].burst must be
 * >= 0").  Provider keys are read here, from the environment or a file
 * (confval.c reads the file and checks single values), and never appear in
 * a message.  An integer libconfig 1.5 wrapped into 32 bits is caught
 * from the file's text (conftext.c).  The module does not resolve names,
 * open sockets or check
 * that an upstream answers; it includes no libevent header and never reads
 * the clock.
 */
#include <sys/stat.h>

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "confcheck.h"
#include "config.h"
#include "confkey.h"
#include "conftext.h"
#include "confval.h"
#include "confint.h"
#include "xmalloc.h"

static const char *config_where(const struct config_ctx *cx,
		    const char *file, char *buf, size_t len);
static void	config_free_list(char **list, size_t n);
static void	config_wipe_free(char *s);
static int	config_parse_value(void *base, const struct confkey *k,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static int	config_parse_number(void *field, const struct confkey *k,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static int	config_parse_enum(int *field, const struct confkey *k,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static int	config_parse_list(void *base, const struct confkey *k,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static int	config_parse_providers(struct config *cf,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static int	config_check_required(const void *base,
		    enum confkey_scope scope, const config_setting_t *g,
		    struct config_ctx *cx, char **cause);
static int	config_check_provider(struct config *cf, size_t i,
		    const config_setting_t *g, struct config_ctx *cx,
		    char **cause);
static int	config_check_top(struct config *cf,
		    const config_setting_t *root, struct config_ctx *cx,
		    char **cause);
static int	config_resolve_ca(struct provider_config *p,
		    const config_setting_t *g, struct config_ctx *cx,
		    char **cause);
static int	config_resolve_key(struct provider_config *p,
		    const config_setting_t *g, struct config_ctx *cx,
		    char **cause);
static int	config_check_literal(const struct confkey *k,
		    const config_setting_t *s, struct config_ctx *cx,
		    char **cause);
static char	*config_read_text(const char *path);
static char	*config_dirname(const char *path);
static struct config *config_from_lc(config_t *lc, int ok,
		    struct config_ctx *cx, char **cause);


/* Return the path of file as read: an @include is under cx->dir. */
static const char *
config_where(const struct config_ctx *cx, const char *file, char *buf,
    size_t len)
{
	if (file == NULL || strcmp(file, cx->file) == 0)
		return cx->file;
	if (file[0] == '/')
		return file;
	snprintf(buf, len, "%s/%s", cx->dir, file);
	return buf;
}

/* Set *cause to "file:line: PREFIXkey why" for setting s; return -1. */
int
config_fail(const struct config_ctx *cx, const config_setting_t *s,
    const char *key, char **cause, const char *fmt, ...)
{
	char		 why[512], path[1024];
	va_list		 ap;
	int		 line = 1;

	if (config_setting_source_line(s) > 0)
		line = config_setting_source_line(s);
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	xasprintf(cause, "%s:%d: %s%s %s", config_where(cx,
	    config_setting_source_file(s), path, sizeof path), line,
	    cx->prefix, key, why);
	return -1;
}

/* Return g's member called name, or g itself (for its line) if absent. */
const config_setting_t *
config_member(const config_setting_t *g, const char *name)
{
	const config_setting_t	*s;

	s = config_setting_get_member(g, name);
	return s != NULL ? s : g;
}

/* Fill every field of scope in base with its default. */
void
config_set_defaults(void *base, enum confkey_scope scope)
{
	const struct confkey	*k;
	char			*field, **list;

	for (k = confkey_table; k < confkey_table + confkey_count; k++) {
		if (k->scope != scope)
			continue;
		field = (char *)base + k->off;
		if (k->type == CONFKEY_INT)
			*(long long *)field = k->idef;
		else if (k->type == CONFKEY_FLOAT)
			*(double *)field = k->fdef;
		else if (k->type == CONFKEY_BOOL ||
		    k->type == CONFKEY_ENUM)
			*(int *)field = (int)k->idef;
		else if (k->type == CONFKEY_STRING && k->sdef != NULL)
			*(char **)field = xstrdup(k->sdef);
		else if (k->type == CONFKEY_LIST && k->sdef != NULL) {
			list = xcalloc(1, sizeof *list);
			list[0] = xstrdup(k->sdef);
			*(char ***)field = list;
			*(size_t *)((char *)base + k->noff) = 1;
		}
	}
}

/* Overwrite s (it may hold a key or a token), then free it. */
static void
config_wipe_free(char *s)
{
	volatile char	*p = s;

	if (s == NULL)
		return;
	while (*p != '\0')
		*p++ = '\0';
	free(s);
}

/* Free a list of n strings. */
static void
config_free_list(char **list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		config_wipe_free(list[i]);
	free(list);
}

/* Free every string and list of scope that base holds. */
void
config_free_fields(void *base, enum confkey_scope scope)
{
	const struct confkey	*k;
	char			*field;

	for (k = confkey_table; k < confkey_table + confkey_count; k++) {
		if (k->scope != scope)
			continue;
		field = (char *)base + k->off;
		if (k->type == CONFKEY_STRING)
			config_wipe_free(*(char **)field);
		else if (k->type == CONFKEY_MODELS)
			config_free_models(base);
		else if (k->type == CONFKEY_CLIENTS)
			config_free_clients(base);
		else if (k->type == CONFKEY_REDIS)
			config_free_redis(base);
		else if (k->type == CONFKEY_LIST)
			config_free_list(*(char ***)field,
			    *(size_t *)((char *)base + k->noff));
	}
}

/* Parse every member of group g into base through the table. */
int
config_parse_group(void *base, const config_setting_t *g,
    enum confkey_scope scope, struct config_ctx *cx, char **cause)
{
	const struct confkey	*k;
	const config_setting_t	*s;
	enum confkey_scope	 other = CONFKEY_SCOPE_TOP;
	const char		*name, *hint;
	int			 i, n;

	hint = " here (it belongs at the top level)";
	if (scope == CONFKEY_SCOPE_TOP || scope == CONFKEY_SCOPE_MODEL) {
		other = CONFKEY_SCOPE_PROVIDER;
		hint = " here (it belongs in a provider)";
	}
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, i);
		name = config_setting_name(s);
		if ((k = confkey_find(name, scope)) == NULL)
			return config_fail(cx, s, name, cause,
			    "is not a known key%s", confkey_find(name,
			    other) == NULL ? "" : hint);
		if (k->type == CONFKEY_PROVIDERS) {
			if (config_parse_providers(base, s, cx, cause) == -1)
				return -1;
		} else if (k->type == CONFKEY_MODELS) {
			if (config_parse_models(base, s, cx, cause) == -1)
				return -1;
		} else if (k->type == CONFKEY_CLIENTS) {
			if (config_parse_clients(base, s, cx, cause) == -1)
				return -1;
		} else if (k->type == CONFKEY_REDIS) {
			if (config_parse_redis(base, s, cx, cause) == -1)
				return -1;
		} else if (config_parse_value(base, k, s, cx, cause) == -1)
			return -1;
	}
	return 0;
}

/* Parse setting s as key k into its field in base. */
static int
config_parse_value(void *base, const struct confkey *k,
    const config_setting_t *s, struct config_ctx *cx, char **cause)
{
	char		*field = (char *)base + k->off, **str;
	const char	*why;

	switch (k->type) {
	case CONFKEY_INT:
	case CONFKEY_FLOAT:
		return config_parse_number(field, k, s, cx, cause);
	case CONFKEY_ENUM:
		return config_parse_enum((int *)field, k, s, cx, cause);
	case CONFKEY_LIST:
		return config_parse_list(base, k, s, cx, cause);
	case CONFKEY_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return config_fail(cx, s, k->name, cause,
			    "must be true or false");
		*(int *)field = config_setting_get_bool(s) ? 1 : 0;
		return 0;
	default:
		break;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return config_fail(cx, s, k->name, cause, "must be a string");
	str = (char **)field;
	config_wipe_free(*str);
	*str = xstrdup(config_setting_get_string(s));
	if (k->check != NULL && (why = k->check(*str)) != NULL)
		return config_fail(cx, s, k->name, cause, "%s", why);
	return 0;
}

/* Parse s as an integer or (CONFKEY_FLOAT) any number within bounds. */
static int
config_parse_number(void *field, const struct confkey *k,
    const config_setting_t *s, struct config_ctx *cx, char **cause)
{
	int		 type = config_setting_type(s);
	long long	 i;
	double		 d;

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64 &&
	    (type != CONFIG_TYPE_FLOAT || k->type != CONFKEY_FLOAT))
		return config_fail(cx, s, k->name, cause, "must be %s",
		    k->type == CONFKEY_INT ? "an integer" : "a number");
	if (type == CONFIG_TYPE_INT &&
	    config_check_literal(k, s, cx, cause) == -1)
		return -1;
	if (k->type == CONFKEY_INT) {
		i = config_setting_get_int64(s);
		if (i < k->imin || i > k->imax)
			return config_fail(cx, s, k->name, cause, "must be %s "
			    "%lld", i < k->imin ? ">=" : "<=",
			    i < k->imin ? k->imin : k->imax);
		*(long long *)field = i;
		return 0;
	}
	d = type == CONFIG_TYPE_FLOAT ? config_setting_get_float(s) :
	    (double)config_setting_get_int64(s);
	if ((k->flags & CONFKEY_ABOVE_MIN) ? !(d > k->fmin) : !(d >= k->fmin))
		return config_fail(cx, s, k->name, cause, "must be %s %.10g",
		    k->flags & CONFKEY_ABOVE_MIN ? ">" : ">=", k->fmin);
	if (!(d <= k->fmax))
		return config_fail(cx, s, k->name, cause, "must be <= %.10g",
		    k->fmax);
	*(double *)field = d;
	return 0;
}

/*
 * Refuse an integer that libconfig wrapped into 32 bits: the literal in
 * the file's text says something other than what libconfig kept.
 */
static int
config_check_literal(const struct confkey *k, const config_setting_t *s,
    struct config_ctx *cx, char **cause)
{
	const char		*file = config_setting_source_file(s);
	char			*own = NULL, path[1024];
	const char		*text = cx->text;
	long long		 v = 0;
	enum conftext_found	 f;

	if (file != NULL && strcmp(file, cx->file) != 0)
		text = own = config_read_text(config_where(cx, file, path,
		    sizeof path));
	if (text == NULL)
		return 0;
	f = conftext_int(text, config_setting_source_line(s), k->name,
	    config_setting_get_int64(s), &v);
	free(own);
	if (f == CONFTEXT_NONE || (f == CONFTEXT_INT &&
	    v == config_setting_get_int64(s)))
		return 0;
	if (k->type == CONFKEY_INT)
		return config_fail(cx, s, k->name, cause, "must be between "
		    "%lld and %lld", k->imin, k->imax);
	return config_fail(cx, s, k->name, cause, "must be between %.10g "
	    "and %.10g", k->fmin, k->fmax);
}

/* Return path's contents as a string (NULL if unreadable). */
static char *
config_read_text(const char *path)
{
	FILE	*f;
	char	*text;
	long	 len;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	text = xmalloc((size_t)len + 1);
	len = (long)fread(text, 1, (size_t)len, f);
	text[len] = '\0';
	fclose(f);
	return text;
}

/* Parse s as one of k's names, storing its index. */
static int
config_parse_enum(int *field, const struct confkey *k,
    const config_setting_t *s, struct config_ctx *cx, char **cause)
{
	char	buf[128];
	int	i;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		for (i = 0; k->names[i] != NULL; i++) {
			if (strcmp(config_setting_get_string(s),
			    k->names[i]) == 0) {
				*field = i;
				return 0;
			}
		}
	}
	return config_fail(cx, s, k->name, cause, "must be one of %s",
	    confkey_join_names(k->names, buf, sizeof buf));
}

/* Parse s as a list of strings (one string is a list of one). */
static int
config_parse_list(void *base, const struct confkey *k,
    const config_setting_t *s, struct config_ctx *cx, char **cause)
{
	char			***list = (char ***)((char *)base + k->off);
	size_t			  *n = (size_t *)((char *)base + k->noff);
	const config_setting_t	 *e;
	const char		 *why;
	char			  key[80];
	int			  i, len, one;

	one = config_setting_type(s) == CONFIG_TYPE_STRING;
	if (!one && config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		return config_fail(cx, s, k->name, cause,
		    "must be a list of strings: [ \"...\", ... ]");
	len = one ? 1 : config_setting_length(s);
	config_free_list(*list, *n);
	*list = xcalloc(len, sizeof **list);
	*n = len;
	for (i = 0; i < len; i++) {
		e = one ? s : config_setting_get_elem(s, i);
		snprintf(key, sizeof key, "%s[%d]", k->name, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return config_fail(cx, e, key, cause,
			    "must be a string");
		(*list)[i] = xstrdup(config_setting_get_string(e));
		if (k->check != NULL && (why = k->check((*list)[i])) != NULL)
			return config_fail(cx, e, key, cause, "%s", why);
	}
	return 0;
}

/* Parse the providers list into cf->providers, each checked whole. */
static int
config_parse_providers(struct config *cf, const config_setting_t *s,
    struct config_ctx *cx, char **cause)
{
	const config_setting_t	*g;
	char			 key[32];
	int			 i, n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return config_fail(cx, s, "providers", cause,
		    "must be a list of groups: ( { ... }, ... )");
	if ((n = config_setting_length(s)) == 0)
		return config_fail(cx, s, "providers", cause,
		    "must list at least one provider");
	cf->providers = xcalloc(n, sizeof *cf->providers);
	cf->nproviders = n;
	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(s, i);
		if (!config_setting_is_group(g)) {
			snprintf(key, sizeof key, "providers[%d]", i);
			return config_fail(cx, g, key, cause,
			    "must be a group: { ... }");
		}
		snprintf(cx->prefix, sizeof cx->prefix, "providers[%d].", i);
		config_set_defaults(&cf->providers[i], CONFKEY_SCOPE_PROVIDER);
		cf->providers[i].line = config_setting_source_line(g);
		if (config_parse_group(&cf->providers[i], g,
		    CONFKEY_SCOPE_PROVIDER, cx, cause) == -1 ||
		    config_check_provider(cf, i, g, cx, cause) == -1)
			return -1;
		cx->prefix[0] = '\0';
	}
	return 0;
}

/*
 * Fail, at group g's line, unless base has every key of scope that the
 * table marks CONFKEY_REQUIRED: a string or the providers list set, a
 * list not empty.
 */
static int
config_check_required(const void *base, enum confkey_scope scope,
    const config_setting_t *g, struct config_ctx *cx, char **cause)
{
	const struct confkey	*k;
	const char		*field;
	int			 given;

	for (k = confkey_table; k < confkey_table + confkey_count; k++) {
		if (k->scope != scope || !(k->flags & CONFKEY_REQUIRED))
			continue;
		field = (const char *)base + k->off;
		if (k->type == CONFKEY_LIST)
			given = *(const size_t *)((const char *)base +
			    k->noff) > 0;
		else		/* STRING, PROVIDERS: a pointer */
			given = *(void *const *)field != NULL;
		if (!given)
			return config_fail(cx, g, k->name, cause,
			    "is required");
	}
	return 0;
}

/* Check what provider i's keys say together, and load its API key. */
static int
config_check_provider(struct config *cf, size_t i, const config_setting_t *g,
    struct config_ctx *cx, char **cause)
{
	struct provider_config	*p = &cf->providers[i];
	size_t			 j;

	if (config_check_required(p, CONFKEY_SCOPE_PROVIDER, g, cx,
	    cause) == -1)
		return -1;
	for (j = 0; j < i; j++) {
		if (strcmp(cf->providers[j].name, p->name) == 0)
			return config_fail(cx, config_member(g, "name"),
			    "name", cause, "\"%s\" is already the name of "
			    "providers[%zu]", p->name, j);
	}
	if (p->type == PROVIDER_PROXY && p->base_url == NULL)
		return config_fail(cx, g, "base_url", cause,
		    "is required for type \"proxy\"");
	if (p->burst == 0 && p->requests_per_minute > 0)
		return config_fail(cx, config_member(g, "burst"), "burst",
		    cause, "must be >= 1 when requests_per_minute is set");
	if (config_resolve_ca(p, g, cx, cause) == -1)
		return -1;
	return config_resolve_key(p, g, cx, cause);
}

/* Make ca_file absolute (or NULL when empty) and check it is readable. */
static int
config_resolve_ca(struct provider_config *p, const config_setting_t *g,
    struct config_ctx *cx, char **cause)
{
	char	*path;

	if (p->ca_file == NULL)
		return 0;
	if (p->ca_file[0] == '\0') {
		free(p->ca_file);
		p->ca_file = NULL;
		return 0;
	}
	if (p->ca_file[0] != '/') {
		xasprintf(&path, "%s/%s", cx->dir, p->ca_file);
		free(p->ca_file);
		p->ca_file = path;
	}
	if (access(p->ca_file, R_OK) == -1)
		return config_fail(cx, config_member(g, "ca_file"), "ca_file",
		    cause, "%s cannot be read: %s", p->ca_file,
		    strerror(errno));
	return 0;
}

/* Load a proxy provider's key from api_key_env or api_key_file. */
static int
config_resolve_key(struct provider_config *p, const config_setting_t *g,
    struct config_ctx *cx, char **cause)
{
	const config_setting_t	*s = config_member(g, "api_key_env");

	if (p->type != PROVIDER_PROXY || p->auth == AUTH_NONE)
		return 0;
	if (p->api_key_env != NULL && p->api_key_file != NULL)
		return config_fail(cx, config_member(g, "api_key_file"),
		    "api_key_file", cause, "and api_key_env exclude each "
		    "other: give one");
	if (p->api_key_env == NULL && p->api_key_file == NULL)
		return config_fail(cx, g, "api_key_env", cause, "or "
		    "api_key_file is required unless auth is \"none\"");
	if (p->api_key_file != NULL)
		return config_read_secret_file(p->api_key_file,
		    config_member(g, "api_key_file"), "api_key_file", cx,
		    &p->api_key, cause);
	return config_read_secret_env(p->api_key_env, s, "api_key_env", cx,
	    &p->api_key, cause);
}

/*
 * Read the secret in the environment variable name (the value of key,
 * set at s) into *out: set, not empty, no control character.
 */
int
config_read_secret_env(const char *name, const config_setting_t *s,
    const char *key, struct config_ctx *cx, char **out, char **cause)
{
	const char	*v;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return config_fail(cx, s, key, cause,
		    "names a variable that is unset or empty");
	if (confval_has_ctl(v, strlen(v)))
		return config_fail(cx, s, key, cause, "names a variable whose "
		    "value has a control character");
	*out = xstrdup(v);
	return 0;
}

/*
 * Read the secret in file (the value of key, set at s) into *out: a
 * relative path is under $CREDENTIALS_DIRECTORY (systemd's
 * LoadCredential=) when set, else under cx->dir.
 */
int
config_read_secret_file(const char *file, const config_setting_t *s,
    const char *key, struct config_ctx *cx, char **out, char **cause)
{
	const char	*base = NULL;
	char		*path, why[256];
	int		 r;

	if (file[0] != '/') {
		base = getenv("CREDENTIALS_DIRECTORY");
		if (base == NULL || *base == '\0')
			base = cx->dir;
		xasprintf(&path, "%s/%s", base, file);
	} else
		path = xstrdup(file);
	r = confval_read_secret(path, out, why, sizeof why);
	free(path);
	if (r == 0)
		return 0;
	if (base != NULL)
		return config_fail(cx, s, key, cause, "%s (looked in %s)", why,
		    base);
	return config_fail(cx, s, key, cause, "%s", why);
}

/* Return the directory part of path ("." when it has none). */
static char *
config_dirname(const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, slash - path);
}

/* Build a config from what libconfig read (ok) under cx, or say why. */
static struct config *
config_from_lc(config_t *lc, int ok, struct config_ctx *cx, char **cause)
{
	struct config		*cf;
	const char		*name = cx->file;
	char			 path[1024];

	if (!ok && config_error_type(lc) == CONFIG_ERR_FILE_IO) {
		xasprintf(cause, "%s: cannot be read: %s", name,
		    strerror(errno));
		return NULL;
	}
	if (!ok) {
		xasprintf(cause, "%s:%d: %s", config_where(cx,
		    config_error_file(lc), path, sizeof path),
		    config_error_line(lc), config_error_text(lc));
		return NULL;
	}
	cf = xcalloc(1, sizeof *cf);
	cf->refs = 1;
	cf->path = xstrdup(name);
	config_set_defaults(cf, CONFKEY_SCOPE_TOP);
	if (config_parse_group(cf, config_root_setting(lc), CONFKEY_SCOPE_TOP,
	    cx, cause) == -1 ||
	    config_check_top(cf, config_root_setting(lc), cx, cause) == -1) {
		config_free(cf);
		return NULL;
	}
	return cf;
}

/* Check what the top-level keys say together. */
static int
config_check_top(struct config *cf, const config_setting_t *root,
    struct config_ctx *cx, char **cause)
{
	const char	*dp = cf->default_provider;

	if (config_check_required(cf, CONFKEY_SCOPE_TOP, root, cx,
	    cause) == -1)
		return -1;
	if (cf->nlisten == 0)
		return config_fail(cx, config_member(root, "listen"), "listen",
		    cause, "must name at least one address");
	if (config_check_listen(cf, root, cx, cause) == -1 ||
	    config_check_clients(cf, root, cx, cause) == -1 ||
	    config_check_redis(cf, root, cx, cause) == -1)
		return -1;
	if (dp != NULL && config_find_provider(cf, dp, strlen(dp)) == NULL)
		return config_fail(cx, config_member(root, "default_provider"),
		    "default_provider", cause, "\"%s\" is not a provider",
		    dp);
	return confcheck_providers(cf, cause);
}

/* Load path into a new config; on error set *cause ("path:line: why"). */
struct config *
config_load(const char *path, char **cause)
{
	struct config		*cf;
	struct config_ctx	 cx = { path, NULL, NULL, "" };
	config_t		 lc;
	struct stat		 st;
	char			*dir, *text;

	/* libconfig's own error for a directory is a misleading ENOENT. */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		xasprintf(cause, "%s: cannot be read: is a directory", path);
		return NULL;
	}
	cx.dir = dir = config_dirname(path);
	cx.text = text = config_read_text(path);
	config_init(&lc);
	config_set_include_dir(&lc, dir);	/* @include is relative to it */
	cf = config_from_lc(&lc, config_read_file(&lc, path) == CONFIG_TRUE,
	    &cx, cause);
	config_destroy(&lc);		/* cf holds its own string copies */
	free(text);
	free(dir);
	return cf;
}

/* Load text as if it were the file name; on error set *cause. */
struct config *
config_load_string(const char *text, const char *name, char **cause)
{
	struct config		*cf;
	struct config_ctx	 cx = { name, NULL, text, "" };
	config_t		 lc;
	char			*dir;

	cx.dir = dir = config_dirname(name);
	config_init(&lc);
	config_set_include_dir(&lc, dir);
	cf = config_from_lc(&lc, config_read_string(&lc, text) == CONFIG_TRUE,
	    &cx, cause);
	config_destroy(&lc);
	free(dir);
	return cf;
}

/* Free cf and everything it owns, overwriting keys and tokens. */
void
config_free(struct config *cf)
{
	size_t	i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->nproviders; i++) {
		config_free_fields(&cf->providers[i], CONFKEY_SCOPE_PROVIDER);
		config_wipe_free(cf->providers[i].api_key);
	}
	free(cf->providers);
	config_free_fields(cf, CONFKEY_SCOPE_TOP);
	free(cf->path);
	free(cf);
}

/* Replace cf's listen addresses with addr alone (the -l option). */
void
config_set_listen(struct config *cf, const char *addr)
{
	config_free_list(cf->listen, cf->nlisten);
	cf->listen = xcalloc(1, sizeof *cf->listen);
	cf->listen[0] = xstrdup(addr);
	cf->nlisten = 1;
}

/* Take a reference to cf: it stays alive until the last config_unref. */
struct config *
config_ref(struct config *cf)
{
	cf->refs++;
	return cf;
}

/* Drop a reference to cf, freeing it with the last; accepts NULL. */
void
config_unref(struct config *cf)
{
	if (cf != NULL && --cf->refs == 0)
		config_free(cf);
}

/* Find the provider called name (len bytes, not NUL-terminated). */
const struct provider_config *
config_find_provider(const struct config *cf, const char *name, size_t len)
{
	const char	*n;
	size_t		 i;

	for (i = 0; i < cf->nproviders; i++) {
		n = cf->providers[i].name;
		if (n != NULL && strlen(n) == len && memcmp(n, name, len) == 0)
			return &cf->providers[i];
	}
	return NULL;
}
