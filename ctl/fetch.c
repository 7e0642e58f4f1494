/* SPDX-License-Identifier: ISC */
/*
 * fetch: llmproxyctl's HTTP client for /status and /metrics.
 *
 * One libcurl easy handle is kept for the life of the command so that
 * `top` reuses its kept-alive connection every second instead of opening
 * one per refresh.  The answer is read whole (a /status body is small;
 * anything past FETCH_BODY_MAX is refused rather than buffered), and an
 * error answer is summarised from its JSON error message, in either
 * dialect's shape.  The client token travels in one header only; verbose
 * output, which would print it, is never turned on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fetch.h"
#include "xmalloc.h"

#define FETCH_BODY_MAX	(16 * 1024 * 1024)

struct fetch {
	CURL			*curl;
	struct curl_slist	*headers;	/* holds the token */
	char			*url;		/* no trailing slash */
	char			*body;
	size_t			 len;
	size_t			 cap;
	char			 err[CURL_ERROR_SIZE];
};

static size_t	fetch_write_cb(char *data, size_t size, size_t n, void *arg);
static void	fetch_why_refused(const struct fetch *f, long status,
		    char *why, size_t whylen);

/* CURLOPT_WRITEFUNCTION: append to the body, up to FETCH_BODY_MAX. */
static size_t
fetch_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct fetch	*f = arg;
	size_t		 len = size * n;

	if (f->len + len > FETCH_BODY_MAX)
		return 0;	/* curl ends the transfer with an error */
	if (f->len + len + 1 > f->cap) {
		f->cap = (f->len + len + 1) * 2;
		f->body = xreallocarray(f->body, 1, f->cap);
	}
	memcpy(f->body + f->len, data, len);
	f->len += len;
	f->body[f->len] = '\0';
	return len;
}

struct fetch *
fetch_new(const char *url, const char *token, long timeout_ms)
{
	struct fetch	*f = xcalloc(1, sizeof *f);
	char		*auth;
	size_t		 n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	f->url = xstrndup(url, n);
	if ((f->curl = curl_easy_init()) == NULL) {
		fprintf(stderr, "llmproxyctl: curl_easy_init failed\n");
		exit(FETCH_UNREACHABLE);
	}
	if (token != NULL) {
		xasprintf(&auth, "Authorization: Bearer %s", token);
		f->headers = curl_slist_append(NULL, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, f->headers);
	curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, fetch_write_cb);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->curl, CURLOPT_ERRORBUFFER, f->err);
	curl_easy_setopt(f->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(f->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(f->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->curl, CURLOPT_USERAGENT, "llmproxyctl/"
	    PACKAGE_VERSION);
	return f;
}

/* Say why the daemon refused: its JSON error message, else the status. */
static void
fetch_why_refused(const struct fetch *f, long status, char *why,
    size_t whylen)
{
	json_t		*root, *err;
	const char	*msg = NULL;

	root = json_loadb(f->body != NULL ? f->body : "", f->len, 0, NULL);
	err = json_object_get(root, "error");
	if (json_is_object(err))
		msg = json_string_value(json_object_get(err, "message"));
	else if (json_is_string(err))
		msg = json_string_value(err);
	if (msg != NULL)
		snprintf(why, whylen, "HTTP %ld: %s", status, msg);
	else
		snprintf(why, whylen, "HTTP %ld", status);
	json_decref(root);
}

enum fetch_result
fetch_get(struct fetch *f, const char *path, struct fetch_reply *r,
    char *why, size_t whylen)
{
	CURLcode	 rc;
	char		*url;

	xasprintf(&url, "%s%s", f->url, path);
	curl_easy_setopt(f->curl, CURLOPT_URL, url);
	f->len = 0;
	f->err[0] = '\0';
	rc = curl_easy_perform(f->curl);
	free(url);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", f->err[0] != '\0' ? f->err :
		    curl_easy_strerror(rc));
		return FETCH_UNREACHABLE;
	}
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = f->body != NULL ? f->body : "";
	r->len = f->len;
	if (r->status >= 200 && r->status <= 299)
		return FETCH_OK;
	fetch_why_refused(f, r->status, why, whylen);
	return FETCH_REFUSED;
}

void
fetch_free(struct fetch *f)
{
	if (f == NULL)
		return;
	curl_easy_cleanup(f->curl);
	if (f->headers != NULL)
		explicit_bzero(f->headers->data, strlen(f->headers->data));
	curl_slist_free_all(f->headers);
	free(f->url);
	free(f->body);
	free(f);
}
