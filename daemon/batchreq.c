/* SPDX-License-Identifier: ISC */
/*
 * batchreq: read and check the body of POST /batch (see batchreq.h).
 *
 * jansson reads the body once into a tree (a batch is a rare, large
 * request: a tree is the plain way to walk it); each item's body is
 * serialized back, compact, as what goes upstream.  Every check names
 * where it failed, as config errors name the file and the line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "batchreq.h"
#include "config.h"
#include "xmalloc.h"

static const char *const batchreq_modes[] = {
	"all", "as_completed", "first", NULL
};
static const char *const batchreq_methods[] = {
	"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", NULL
};

static int	batchreq_fail(char **cause, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static int	batchreq_options(struct batch_request *br, json_t *root,
		    char **cause);
static int	batchreq_item(const struct config *cf, json_t *j, size_t i,
		    struct batch_item *it, char **cause);
static int	batchreq_provider(const struct config *cf, json_t *j,
		    size_t i, struct batch_item *it, char **cause);
static int	batchreq_method(json_t *j, size_t i, struct batch_item *it,
		    char **cause);
static int	batchreq_path(json_t *j, size_t i, struct batch_item *it,
		    char **cause);
static int	batchreq_fields(json_t *j, size_t i, struct batch_item *it,
		    char **cause);
static int	batchreq_body(json_t *j, size_t i, struct batch_item *it,
		    char **cause);
static int	batchreq_text_ok(const char *s, int allow_space);
static int	batchreq_find(const char *const *names, const char *s);

/* Set *cause from fmt and return -1. */
static int
batchreq_fail(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	xvasprintf(cause, fmt, ap);
	va_end(ap);
	return -1;
}

/* Read len bytes of body against cf into a new batch request. */
struct batch_request *
batchreq_parse(const struct config *cf, const char *body, size_t len,
    int *status, char **cause)
{
	struct batch_request	*br;
	json_t			*root, *reqs;
	json_error_t		 err;
	size_t			 i;

	*status = 400;
	br = xcalloc(1, sizeof *br);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		batchreq_fail(cause, "the body is not JSON: %s (at byte %d)",
		    err.text, err.position);
		goto fail;
	}
	if (batchreq_options(br, root, cause) == -1)
		goto fail;
	reqs = json_object_get(root, "requests");
	if ((size_t)json_array_size(reqs) > (size_t)cf->batch_max_items) {
		*status = 413;
		batchreq_fail(cause, "requests: %zu items, more than "
		    "batch_max_items (%lld)", json_array_size(reqs),
		    cf->batch_max_items);
		goto fail;
	}
	br->nitems = json_array_size(reqs);
	br->items = xcalloc(br->nitems, sizeof *br->items);
	for (i = 0; i < br->nitems; i++) {
		if (batchreq_item(cf, json_array_get(reqs, i), i,
		    &br->items[i], cause) == -1)
			goto fail;
	}
	json_decref(root);
	return br;
fail:
	json_decref(root);
	batchreq_free(br);
	return NULL;
}

/* Read the batch's own members: mode, deadline, and that requests is. */
static int
batchreq_options(struct batch_request *br, json_t *root, char **cause)
{
	const char	*key;
	json_t		*v;
	int		 mode;

	if (!json_is_object(root))
		return batchreq_fail(cause, "the body must be a JSON object");
	br->mode = BATCH_ALL;
	br->deadline = BATCHREQ_DEADLINE_DEFAULT;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "mode") == 0) {
			mode = batchreq_find(batchreq_modes,
			    json_string_value(v));
			if (mode == -1)
				return batchreq_fail(cause, "mode: must be "
				    "\"all\", \"as_completed\" or \"first\"");
			br->mode = (enum batch_mode)mode;
		} else if (strcmp(key, "deadline") == 0) {
			br->deadline = json_number_value(v);
			if (!json_is_number(v) || !(br->deadline > 0) ||
			    br->deadline > BATCHREQ_DEADLINE_MAX)
				return batchreq_fail(cause, "deadline: must "
				    "be seconds, more than 0 and at most %.0f",
				    BATCHREQ_DEADLINE_MAX);
		} else if (strcmp(key, "requests") != 0)
			return batchreq_fail(cause, "%s: unknown member; a "
			    "batch has mode, deadline and requests", key);
	}
	v = json_object_get(root, "requests");
	if (!json_is_array(v) || json_array_size(v) == 0)
		return batchreq_fail(cause, "requests: must be a non-empty "
		    "array of requests");
	return 0;
}

/* Read item i (json j) into *it. */
static int
batchreq_item(const struct config *cf, json_t *j, size_t i,
    struct batch_item *it, char **cause)
{
	const char	*key;
	json_t		*v;

	if (!json_is_object(j))
		return batchreq_fail(cause, "requests[%zu]: must be an object",
		    i);
	json_object_foreach(j, key, v) {
		if (strcmp(key, "provider") != 0 && strcmp(key, "method") !=
		    0 && strcmp(key, "path") != 0 && strcmp(key, "headers") !=
		    0 && strcmp(key, "body") != 0)
			return batchreq_fail(cause, "requests[%zu].%s: unknown "
			    "member; an item has provider, method, path, "
			    "headers and body", i, key);
	}
	if (batchreq_provider(cf, json_object_get(j, "provider"), i, it,
	    cause) == -1 ||
	    batchreq_method(json_object_get(j, "method"), i, it, cause) == -1 ||
	    batchreq_path(json_object_get(j, "path"), i, it, cause) == -1 ||
	    batchreq_fields(json_object_get(j, "headers"), i, it, cause) ==
	    -1)
		return -1;
	return batchreq_body(json_object_get(j, "body"), i, it, cause);
}

/* Read item i's provider: a name cf knows. */
static int
batchreq_provider(const struct config *cf, json_t *j, size_t i,
    struct batch_item *it, char **cause)
{
	const char	*name = json_string_value(j);
	size_t		 p;

	if (name == NULL)
		return batchreq_fail(cause, "requests[%zu].provider: must be "
		    "a provider's name", i);
	for (p = 0; p < cf->nproviders; p++) {
		if (strcmp(cf->providers[p].name, name) == 0) {
			it->provider = p;
			return 0;
		}
	}
	return batchreq_fail(cause, "requests[%zu].provider: unknown "
	    "provider \"%.64s\"", i, batchreq_text_ok(name, 0) ? name : "?");
}

/* Read item i's method (POST when absent). */
static int
batchreq_method(json_t *j, size_t i, struct batch_item *it, char **cause)
{
	int	m;

	if (j == NULL) {
		it->method = xstrdup("POST");
		return 0;
	}
	if ((m = batchreq_find(batchreq_methods, json_string_value(j))) == -1)
		return batchreq_fail(cause, "requests[%zu].method: must be one "
		    "of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS", i);
	it->method = xstrdup(batchreq_methods[m]);
	return 0;
}

/* Read item i's path: "/" then printable characters, no dot segment. */
static int
batchreq_path(json_t *j, size_t i, struct batch_item *it, char **cause)
{
	const char	*path = json_string_value(j);

	if (path == NULL || path[0] != '/' || !batchreq_text_ok(path, 0) ||
	    strstr(path, "/../") != NULL || strstr(path, "/./") != NULL ||
	    strlen(path) > 8192)
		return batchreq_fail(cause, "requests[%zu].path: must be a "
		    "path from /, printable, without dot segments", i);
	it->path = xstrdup(path);
	return 0;
}

/* Read item i's header fields: an object of strings. */
static int
batchreq_fields(json_t *j, size_t i, struct batch_item *it, char **cause)
{
	const char	*key;
	json_t		*v;
	size_t		 n = 0;

	if (j == NULL)
		return 0;
	if (!json_is_object(j))
		return batchreq_fail(cause, "requests[%zu].headers: must be an "
		    "object of strings", i);
	it->fields = xcalloc(json_object_size(j) + 1, sizeof *it->fields);
	json_object_foreach(j, key, v) {
		if (key[0] == '\0' || strpbrk(key, " \t:()<>@,;\\\"/[]?={}")
		    != NULL || !batchreq_text_ok(key, 0))
			return batchreq_fail(cause, "requests[%zu].headers: "
			    "a field name must be a token", i);
		if (!json_is_string(v) ||
		    !batchreq_text_ok(json_string_value(v), 1))
			return batchreq_fail(cause, "requests[%zu].headers.%s: "
			    "must be a string without control characters", i,
			    key);
		it->fields[n].name = xstrdup(key);
		it->fields[n++].value = xstrdup(json_string_value(v));
		it->nfields = n;
	}
	return 0;
}

/* Serialize item i's body, compact; note whether it asks for a stream. */
static int
batchreq_body(json_t *j, size_t i, struct batch_item *it, char **cause)
{
	if (j == NULL)
		return 0;
	it->stream = json_is_true(json_object_get(j, "stream"));
	it->body = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_PRESERVE_ORDER);
	if (it->body == NULL)
		return batchreq_fail(cause, "requests[%zu].body: cannot be "
		    "serialized", i);
	it->body_len = strlen(it->body);
	return 0;
}

/* Return 1 if s has no control character (nor space unless allowed). */
static int
batchreq_text_ok(const char *s, int allow_space)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || (*p == ' ' && !allow_space))
			return 0;
	}
	return 1;
}

/* Return the index of s in names, or -1 (also for NULL). */
static int
batchreq_find(const char *const *names, const char *s)
{
	int	i;

	for (i = 0; s != NULL && names[i] != NULL; i++) {
		if (strcmp(names[i], s) == 0)
			return i;
	}
	return -1;
}

/* Free br; accepts NULL. */
void
batchreq_free(struct batch_request *br)
{
	size_t	i, f;

	if (br == NULL)
		return;
	for (i = 0; i < br->nitems; i++) {
		free(br->items[i].method);
		free(br->items[i].path);
		for (f = 0; f < br->items[i].nfields; f++) {
			free(br->items[i].fields[f].name);
			free(br->items[i].fields[f].value);
		}
		free(br->items[i].fields);
		free(br->items[i].body);
	}
	free(br->items);
	free(br);
}

/* Return the name of mode. */
const char *
batchreq_mode_name(enum batch_mode mode)
{
	return batchreq_modes[mode];
}
