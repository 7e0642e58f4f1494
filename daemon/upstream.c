/* SPDX-License-Identifier: ISC */
/*
 * upstream: provider transfers on curl multi handles driven by libevent.
 *
 * The curl multi handles and their wiring to libevent are curlev.c's;
 * after every curl_multi_socket_action() it calls upstream_reap_cb(),
 * which collects finished transfers.  Nothing is ever freed inside a curl
 * callback: a transfer cancelled there is marked and reaped afterwards.
 * Easy handles are reused (curl_easy_reset) and connections stay in the
 * multi handles' caches, so repeated requests to one provider share
 * kept-alive connections.
 *
 * Requests are translated here: the client's method, headers (minus
 * hop-by-hop, credentials and the fields curl sets) and body, plus the
 * provider's key.  The key goes into a curl_slist only; it is never logged.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "clock.h"
#include "config.h"
#include "curlev.h"
#include "headers.h"
#include "log.h"
#include "sim.h"
#include "upstream.h"
#include "xmalloc.h"

/*
 * curl's receive buffer, allocated per transfer: its default 16 KiB while
 * few transfers run (large bodies in few reads), a small one past
 * UPSTREAM_BIG_BUFFERS of them (thousands of streams, each sending small
 * events, would otherwise hold 16 KiB each).
 */
#define UPSTREAM_BIG_BUFFERS	256
#define UPSTREAM_BIG_BUFFER	16384L
#define UPSTREAM_SMALL_BUFFER	1024L
/* Request header lines up to this long are built on the stack. */
#define UPSTREAM_LINE_BYTES	1024
/* Easy handles kept for reuse; beyond this, finished ones are freed. */
#define UPSTREAM_SPARE_HANDLES	256

struct upstream_loop {
	struct event_base	*base;
	struct curlev		*ce;
	size_t			 active;
	CURL			*spare[UPSTREAM_SPARE_HANDLES];
	size_t			 nspare;
	TAILQ_HEAD(, upstream)	 doomed;	/* cancelled inside curl */
};

struct upstream {
	struct upstream_loop	*ul;
	const struct upstream_cbs *cbs;
	void			*arg;
	CURL			*easy;		/* NULL for a simulated one */
	struct curlev_shard	*sh;		/* the multi handle easy is on */
	struct sim		*sim;
	struct curl_slist	*req_headers;	/* holds the provider key */
	struct evkeyvalq	 resp_headers;
	int			 status;
	struct evkeyvalq	*hdrs;		/* the response's fields */
	int			 headers_done;	/* headers() was called */
	int			 cancelled;
	char			 errbuf[CURL_ERROR_SIZE];
	TAILQ_ENTRY(upstream)	 entry;		/* ul->doomed */
};

static struct upstream_loop	*upstream_loop;	/* the daemon's one */

static void	upstream_reap_cb(CURLM *multi, void *arg);
static void	upstream_finish(struct upstream *u, CURLcode rc);
static void	upstream_free(struct upstream *u);
static CURL	*upstream_easy_get(struct upstream_loop *ul);
static void	upstream_easy_put(struct upstream_loop *ul, CURL *easy);
static void	upstream_setup(struct upstream *u,
		    const struct upstream_request *rq);
static void	upstream_set_method(CURL *easy,
		    const struct upstream_request *rq);
static struct curl_slist *upstream_build_headers(
		    const struct upstream_request *rq);
static struct curl_slist *upstream_add_header(struct curl_slist *list,
		    const char *name, const char *value);
static size_t	upstream_header_cb(char *data, size_t size, size_t n,
		    void *arg);
static size_t	upstream_write_cb(char *data, size_t size, size_t n,
		    void *arg);
static void	upstream_header_line(struct upstream *u, const char *line,
		    size_t len);
static void	upstream_sim_headers(void *arg, int status,
		    struct evkeyvalq *headers);
static int	upstream_sim_body(void *arg, const char *data, size_t len);
static void	upstream_sim_done(void *arg, enum upstream_result res,
		    const char *why);

static const struct upstream_cbs upstream_sim_cbs = {
	upstream_sim_headers, upstream_sim_body, upstream_sim_done
};

/* Drive every transfer from now on on base. */
void
upstream_init(struct event_base *base)
{
	struct upstream_loop	*ul;

	ul = xcalloc(1, sizeof *ul);
	ul->base = base;
	TAILQ_INIT(&ul->doomed);
	ul->ce = curlev_new(base, upstream_reap_cb, ul);
	upstream_loop = ul;
}

/*
 * Free the machinery: the multi handles first (closing their
 * connections), then the spare easy handles.
 */
void
upstream_shutdown(void)
{
	struct upstream_loop	*ul = upstream_loop;
	size_t			 i;

	if (ul == NULL)
		return;
	curlev_free(ul->ce);
	for (i = 0; i < ul->nspare; i++)
		curl_easy_cleanup(ul->spare[i]);
	free(ul);
	upstream_loop = NULL;
}

/*
 * Collect finished transfers, now that curl has returned, and free the
 * cancelled ones whose multi handle is not inside a call any more.
 */
static void
upstream_reap_cb(CURLM *multi, void *arg)
{
	struct upstream_loop	*ul = arg;
	struct upstream		*u, *next;
	CURLMsg			*msg;
	int			 left;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &u);
		if (u->cancelled)
			continue;	/* freed below, from doomed */
		upstream_finish(u, msg->data.result);
	}
	for (u = TAILQ_FIRST(&ul->doomed); u != NULL; u = next) {
		next = TAILQ_NEXT(u, entry);
		if (curlev_busy(u->sh))
			continue;	/* a call on its multi handle goes on */
		TAILQ_REMOVE(&ul->doomed, u, entry);
		upstream_free(u);
	}
}

/* Report how a transfer ended to its owner, then free it. */
static void
upstream_finish(struct upstream *u, CURLcode rc)
{
	enum upstream_result	 res;
	const char		*why;

	switch (rc) {
	case CURLE_OK:
		res = u->headers_done ? UPSTREAM_OK : UPSTREAM_FAILED;
		why = u->headers_done ? "ok" : "no response";
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		res = UPSTREAM_CONNECT_FAILED;
		why = u->errbuf[0] != '\0' ? u->errbuf : curl_easy_strerror(rc);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		res = UPSTREAM_CONNECT_TIMEOUT;
		why = "connect timeout";
		break;
	default:
		res = UPSTREAM_FAILED;
		why = u->errbuf[0] != '\0' ? u->errbuf : curl_easy_strerror(rc);
		break;
	}
	u->cbs->done(u->arg, res, why);
	upstream_free(u);
}

/* Detach u's easy handle from the multi handle and free u. */
static void
upstream_free(struct upstream *u)
{
	struct upstream_loop	*ul = u->ul;

	if (u->easy != NULL) {
		if (u->sh != NULL)
			curlev_remove(u->sh, u->easy);
		upstream_easy_put(ul, u->easy);
	}
	curl_slist_free_all(u->req_headers);
	evhttp_clear_headers(&u->resp_headers);
	ul->active--;
	free(u);
}

/* Return a reset easy handle, reusing a spare one when there is one. */
static CURL *
upstream_easy_get(struct upstream_loop *ul)
{
	CURL	*easy;

	if (ul->nspare > 0)
		return ul->spare[--ul->nspare];
	if ((easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	return easy;
}

/* Keep easy for reuse, or free it when enough are kept. */
static void
upstream_easy_put(struct upstream_loop *ul, CURL *easy)
{
	if (ul->nspare == UPSTREAM_SPARE_HANDLES) {
		curl_easy_cleanup(easy);
		return;
	}
	curl_easy_reset(easy);
	ul->spare[ul->nspare++] = easy;
}

/* Start sending rq; the callbacks get arg. */
struct upstream *
upstream_start(const struct upstream_request *rq,
    const struct upstream_cbs *cbs, void *arg)
{
	struct upstream_loop	*ul = upstream_loop;
	struct upstream		*u;

	u = xcalloc(1, sizeof *u);
	u->ul = ul;
	u->cbs = cbs;
	u->arg = arg;
	TAILQ_INIT(&u->resp_headers);
	u->hdrs = &u->resp_headers;
	ul->active++;
	if (rq->pc->type == PROVIDER_SIMULATED) {
		u->sim = sim_start(ul->base, rq, &upstream_sim_cbs, u);
		return u;
	}
	u->easy = upstream_easy_get(ul);
	upstream_setup(u, rq);
	if ((u->sh = curlev_add(ul->ce, u->easy)) == NULL) {
		log_warnx("provider %s: cannot start a transfer",
		    rq->pc->name);
		upstream_free(u);
		return NULL;
	}
	return u;
}

/* Set every option of u's easy handle for rq. */
static void
upstream_setup(struct upstream *u, const struct upstream_request *rq)
{
	const struct provider_config	*pc = rq->pc;
	CURL				*e = u->easy;
	char				*url;

	xasprintf(&url, "%s%s", pc->base_url, rq->rest);
	curl_easy_setopt(e, CURLOPT_URL, url);	/* curl copies it */
	free(url);
	u->req_headers = upstream_build_headers(rq);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, u->req_headers);
	upstream_set_method(e, rq);
	curl_easy_setopt(e, CURLOPT_PRIVATE, u);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, u->errbuf);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, upstream_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, u);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, upstream_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, u);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, u->ul->active >
	    UPSTREAM_BIG_BUFFERS ? UPSTREAM_SMALL_BUFFER : UPSTREAM_BIG_BUFFER);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);	/* route.c checked */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(pc->connect_timeout * 1000));
	if (pc->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, pc->ca_file);
}

/* Set the request method and body the way curl wants each. */
static void
upstream_set_method(CURL *e, const struct upstream_request *rq)
{
	const char	*method = rq->method;

	if (strcmp(method, "GET") == 0 && rq->body_len == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
		return;
	}
	if (strcmp(method, "POST") == 0)
		method = NULL;		/* curl's own, with the body below */
	else
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (method == NULL || rq->body_len > 0) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS,
		    rq->body_len > 0 ? rq->body : "");
	}
}

/*
 * Translate the client's headers: drop hop-by-hop fields, the client's
 * credentials and the fields curl computes; add the provider's key; stop
 * curl adding Expect, Accept or a form Content-Type the client never sent.
 */
static struct curl_slist *
upstream_build_headers(const struct upstream_request *rq)
{
	struct evkeyvalq	*in = rq->headers;
	struct evkeyval		*h;
	struct curl_slist	*list = NULL;
	char			*conn, *auth;
	const struct provider_config *pc = rq->pc;

	conn = upstream_connection_tokens(in);
	TAILQ_FOREACH(h, in, next) {
		if (headers_is_hop_by_hop(h->key, conn) ||
		    headers_is_credential(h->key) ||
		    headers_is_upstream_managed(h->key))
			continue;
		/* Usage must be readable while a token limit needs it. */
		if (pc->tokens_per_minute > 0 &&
		    strcasecmp(h->key, "Accept-Encoding") == 0)
			continue;
		list = upstream_add_header(list, h->key, h->value);
	}
	free(conn);
	if (pc->tokens_per_minute > 0)
		list = curl_slist_append(list, "Accept-Encoding: identity");
	if (pc->auth == AUTH_BEARER) {
		xasprintf(&auth, "Authorization: Bearer %s", pc->api_key);
		list = curl_slist_append(list, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	} else if (pc->auth == AUTH_X_API_KEY)
		list = upstream_add_header(list, "x-api-key", pc->api_key);
	list = curl_slist_append(list, "Expect:");
	if (evhttp_find_header(in, "Accept") == NULL)
		list = curl_slist_append(list, "Accept:");
	if (evhttp_find_header(in, "Content-Type") == NULL)
		list = curl_slist_append(list, "Content-Type:");
	return list;
}

/*
 * Append "name: value" to list; an empty value uses curl's "name;" form.
 * The line is built on the stack when it fits (curl copies it).
 */
static struct curl_slist *
upstream_add_header(struct curl_slist *list, const char *name,
    const char *value)
{
	struct curl_slist	*nl;
	char			 buf[UPSTREAM_LINE_BYTES], *line = buf;
	size_t			 nlen = strlen(name), vlen = strlen(value);

	if (nlen + vlen + 3 > sizeof buf)
		line = xmalloc(nlen + vlen + 3);
	memcpy(line, name, nlen);
	if (vlen == 0)
		memcpy(line + nlen, ";", 2);
	else {
		memcpy(line + nlen, ": ", 2);
		memcpy(line + nlen + 2, value, vlen + 1);
	}
	if ((nl = curl_slist_append(list, line)) == NULL)
		fatalx("curl_slist_append failed");
	explicit_bzero(line, nlen + vlen + 3);	/* may be a key */
	if (line != buf)
		free(line);
	return nl;
}

/* Join every Connection field value in hdrs with ", "; NULL if none. */
char *
upstream_connection_tokens(struct evkeyvalq *hdrs)
{
	struct evkeyval	*h;
	char		*all = NULL, *next;

	TAILQ_FOREACH(h, hdrs, next) {
		if (strcasecmp(h->key, "Connection") != 0)
			continue;
		if (all == NULL)
			all = xstrdup(h->value);
		else {
			xasprintf(&next, "%s, %s", all, h->value);
			free(all);
			all = next;
		}
	}
	return all;
}

/* CURLOPT_HEADERFUNCTION: collect header lines; report at the blank one. */
static size_t
upstream_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct upstream	*u = arg;
	size_t		 len = size * n;

	if (u->cancelled)
		return 0;
	if (u->headers_done)
		return len;		/* trailers: not forwarded */
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len > 0) {
		upstream_header_line(u, data, len);
		return size * n;
	}
	if (u->status < 200) {		/* end of a 1xx: wait for the next */
		u->status = 0;
		evhttp_clear_headers(&u->resp_headers);
		return size * n;
	}
	u->headers_done = 1;
	u->cbs->headers(u->arg, u->status, &u->resp_headers);
	return u->cancelled ? 0 : size * n;
}

/*
 * Parse one header line: the status line, a field, or a continuation.
 * The field goes into resp_headers as evhttp_add_header() would put it
 * (its name and value in their own allocations, freed by
 * evhttp_clear_headers()), without the two copies that call makes.
 */
static void
upstream_header_line(struct upstream *u, const char *line, size_t len)
{
	const char	*colon;
	struct evkeyval	*kv;
	size_t		 vlen;

	if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
		const char *sp = memchr(line, ' ', len);

		u->status = sp != NULL ? atoi(sp + 1) : 0;
		evhttp_clear_headers(&u->resp_headers);
		return;
	}
	if ((colon = memchr(line, ':', len)) == NULL || colon == line)
		return;			/* obsolete folding or junk: drop */
	kv = xcalloc(1, sizeof *kv);
	kv->key = xstrndup(line, (size_t)(colon - line));
	colon++;
	vlen = len - (size_t)(colon - line);
	while (vlen > 0 && (*colon == ' ' || *colon == '\t')) {
		colon++;
		vlen--;
	}
	while (vlen > 0 && (colon[vlen - 1] == ' ' || colon[vlen - 1] == '\t'))
		vlen--;
	kv->value = xstrndup(colon, vlen);
	if (!headers_value_is_clean(kv->value, vlen)) {
		free(kv->key);
		free(kv->value);
		free(kv);
		return;
	}
	TAILQ_INSERT_TAIL(&u->resp_headers, kv, next);
}

/* CURLOPT_WRITEFUNCTION: hand body bytes to the owner, or pause. */
static size_t
upstream_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct upstream	*u = arg;
	int		 paused;

	if (u->cancelled)
		return 0;
	paused = u->cbs->body(u->arg, data, size * n);
	if (u->cancelled)
		return 0;
	return paused ? CURL_WRITEFUNC_PAUSE : size * n;
}

/* Resume a transfer that body() paused. */
void
upstream_resume(struct upstream *u)
{
	if (u->sim != NULL) {
		sim_resume(u->sim);
		return;
	}
	if (u->cancelled)
		return;
	/* May call upstream_write_cb before it returns. */
	curlev_pause(u->sh, u->easy, CURLPAUSE_CONT);
}

/* Stop u at once and free it; no callback runs afterwards. */
void
upstream_cancel(struct upstream *u)
{
	if (u == NULL || u->cancelled)
		return;
	u->cancelled = 1;
	if (u->sim != NULL) {
		sim_cancel(u->sim);
		u->sim = NULL;
		upstream_free(u);
		return;
	}
	if (curlev_busy(u->sh)) {
		TAILQ_INSERT_TAIL(&u->ul->doomed, u, entry);
		return;
	}
	upstream_free(u);
}

/* Return u's response header fields, valid until done() returns. */
struct evkeyvalq *
upstream_headers(struct upstream *u)
{
	return u->hdrs;
}

/* sim.c reports headers: pass them on. */
static void
upstream_sim_headers(void *arg, int status, struct evkeyvalq *headers)
{
	struct upstream	*u = arg;

	u->headers_done = 1;
	u->hdrs = headers;
	u->cbs->headers(u->arg, status, headers);
}

/* sim.c reports body bytes: pass them on. */
static int
upstream_sim_body(void *arg, const char *data, size_t len)
{
	struct upstream	*u = arg;

	return u->cbs->body(u->arg, data, len);
}

/* sim.c has finished (and freed itself): report and free the wrapper. */
static void
upstream_sim_done(void *arg, enum upstream_result res, const char *why)
{
	struct upstream	*u = arg;

	u->sim = NULL;
	u->cbs->done(u->arg, res, why);
	upstream_free(u);
}
