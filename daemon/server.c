/* SPDX-License-Identifier: ISC */
/*
 * server: evhttp on listeners of our own making, and request routing.
 *
 * The listeners are made with evconnlistener_new_bind and handed to evhttp
 * (evhttp_bind_listener) rather than with evhttp_bind_socket, so that the
 * daemon keeps the accept path in its hands (error callbacks, limits).
 * Every request is routed by route.c: /healthz is answered here, a
 * provider's requests go to stream.c, everything else gets a JSON error.
 * Header and body size limits are set here, since evhttp has none by
 * default.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <jansson.h>

#include "config.h"
#include "log.h"
#include "route.h"
#include "server.h"
#include "stream.h"
#include "xmalloc.h"

/* Largest request head accepted (all header lines together). */
#define SERVER_MAX_HEADERS_BYTES	(16 * 1024)
#define SERVER_LISTEN_BACKLOG		1024

struct server {
	const struct config	*cf;
	struct evhttp		*http;
	struct stream_env	 env;
};

static int	server_listen(struct server *srv, const char *addr,
		    char **cause);
static void	server_log_bound(evutil_socket_t fd);
static void	server_request_cb(struct evhttp_request *req, void *arg);
static void	server_reply_json(struct evhttp_request *req, int status,
		    const char *body);
static void	server_unknown_provider(struct server *srv,
		    struct evhttp_request *req);
static void	server_healthz(struct evhttp_request *req);

/* Bind every cf->listen address; on error return NULL and set *cause. */
struct server *
server_new(struct event_base *base, const struct config *cf,
    struct upstream_loop *ul, char **cause)
{
	struct server	*srv;
	size_t		 i;

	srv = xcalloc(1, sizeof *srv);
	srv->cf = cf;
	srv->env.base = base;
	srv->env.ul = ul;
	srv->env.keepalive.tv_sec = (time_t)cf->keepalive_timeout;
	srv->env.keepalive.tv_usec = (suseconds_t)((cf->keepalive_timeout -
	    (double)srv->env.keepalive.tv_sec) * 1e6);
	if ((srv->http = evhttp_new(base)) == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(srv->http, NULL);
	evhttp_set_max_headers_size(srv->http, SERVER_MAX_HEADERS_BYTES);
	evhttp_set_max_body_size(srv->http, cf->max_body_size);
	evhttp_set_timeout_tv(srv->http, &srv->env.keepalive);
	evhttp_set_gencb(srv->http, server_request_cb, srv);
	for (i = 0; i < cf->nlisten; i++) {
		if (server_listen(srv, cf->listen[i], cause) == -1) {
			server_free(srv);
			return NULL;
		}
	}
	return srv;
}

/* Close the listeners and every client connection (ending their streams). */
void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->http != NULL)
		evhttp_free(srv->http);
	free(srv);
}

/* Listen on addr ("127.0.0.1:8080", "[::1]:8080", "localhost:8080"). */
static int
server_listen(struct server *srv, const char *addr, char **cause)
{
	struct sockaddr_storage	 ss;
	struct evconnlistener	*lev;
	int			 sslen = sizeof ss;
	char			 buf[128];

	if (strncmp(addr, "localhost:", 10) == 0) {
		snprintf(buf, sizeof buf, "127.0.0.1:%s", addr + 10);
		addr = buf;
	}
	memset(&ss, 0, sizeof ss);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss,
	    &sslen) != 0) {
		xasprintf(cause, "listen: cannot parse \"%s\"", addr);
		return -1;
	}
	lev = evconnlistener_new_bind(srv->env.base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    SERVER_LISTEN_BACKLOG, (struct sockaddr *)&ss, sslen);
	if (lev == NULL) {
		xasprintf(cause, "listen %s: %s", addr,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	if (evhttp_bind_listener(srv->http, lev) == NULL) {
		evconnlistener_free(lev);
		xasprintf(cause, "listen %s: evhttp_bind_listener failed", addr);
		return -1;
	}
	server_log_bound(evconnlistener_get_fd(lev));
	return 0;
}

/* Log the address a listener is bound to (the real port, if 0 was asked). */
static void
server_log_bound(evutil_socket_t fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	char			 host[INET6_ADDRSTRLEN];
	int			 port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		port = ntohs(sin6->sin6_port);
		log_info("listening on [%s]:%d", host, port);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		port = ntohs(sin->sin_port);
		log_info("listening on %s:%d", host, port);
	}
}

/* evhttp: a whole request (head and body) arrived; route it. */
static void
server_request_cb(struct evhttp_request *req, void *arg)
{
	struct server	*srv = arg;
	struct route	 r;

	route_resolve(srv->cf, evhttp_request_get_uri(req), &r);
	switch (r.kind) {
	case ROUTE_PROVIDER:
		stream_start(&srv->env, req, &srv->cf->providers[r.provider],
		    r.rest);
		break;
	case ROUTE_HEALTHZ:
		server_healthz(req);
		break;
	case ROUTE_UNKNOWN:
		server_unknown_provider(srv, req);
		break;
	case ROUTE_BAD:
		stream_reply_error(req, NULL, 400, "llmproxy_bad_target",
		    "the request target must be a path without dot segments");
		break;
	case ROUTE_STATUS:
	case ROUTE_METRICS:
	case ROUTE_RESERVED:
	default:
		stream_reply_error(req, NULL, 404, "llmproxy_not_found",
		    "no such endpoint in this version of llmproxyd");
		break;
	}
}

/* Answer GET /healthz. */
static void
server_healthz(struct evhttp_request *req)
{
	enum evhttp_cmd_type	cmd = evhttp_request_get_command(req);

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		stream_reply_error(req, NULL, 405, "llmproxy_method",
		    "/healthz answers GET and HEAD");
		return;
	}
	server_reply_json(req, 200, "{\"status\":\"ok\"}");
}

/* Answer 404 naming the provider prefixes that do exist. */
static void
server_unknown_provider(struct server *srv, struct evhttp_request *req)
{
	json_t	*prefixes, *err;
	char	*body, *msg, *p;
	size_t	 i;

	prefixes = json_array();
	for (i = 0; i < srv->cf->nproviders; i++) {
		xasprintf(&p, "/%s/", srv->cf->providers[i].name);
		json_array_append_new(prefixes, json_string(p));
		free(p);
	}
	msg = json_dumps(prefixes, JSON_COMPACT);
	xasprintf(&p, "no provider at this path; known prefixes: %s",
	    msg != NULL ? msg : "[]");
	err = json_pack("{s:{s:s,s:s,s:s,s:o}}", "error", "message", p,
	    "type", "invalid_request_error", "code",
	    "llmproxy_unknown_provider", "providers", prefixes);
	body = json_dumps(err, JSON_COMPACT | JSON_PRESERVE_ORDER);
	server_reply_json(req, 404, body != NULL ? body : "{}");
	free(body);
	free(msg);
	free(p);
	json_decref(err);
}

/* Answer with status and a JSON body. */
static void
server_reply_json(struct evhttp_request *req, int status, const char *body)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	evbuffer_add(buf, body, strlen(body));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, status, NULL, buf);
	evbuffer_free(buf);
}
