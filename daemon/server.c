/* SPDX-License-Identifier: ISC */
/*
 * server: evhttp on listeners of our own making, and request routing.
 *
 * The listeners are made with evconnlistener_new_bind (or adopted from the
 * service manager, socket activation) and handed to evhttp
 * (evhttp_bind_listener) rather than with evhttp_bind_socket, so that the
 * daemon keeps the accept path in its hands: conn.c answers accept()
 * failures and sees every connection first.
 * Every request is routed by route.c: /healthz, /status and /metrics are
 * answered here, the status page (/ and /ui) by ui.c, a provider's
 * requests go to exchange.c, everything else gets a JSON error.
 * Header and body size limits are set here, since evhttp has none by
 * default.  Before routing, each request passes guard.c's checks in order:
 * hygiene (400, close), Host (403), Origin and preflight (403 or 204),
 * client token (401; /healthz and the status page are open).
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <jansson.h>

#include "access.h"
#include "clock.h"
#include "config.h"
#include "batch.h"
#include "client.h"
#include "conn.h"
#include "exchange.h"
#include "guard.h"
#include "httpver.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "proxy.h"
#include "route.h"
#include "server.h"
#include "reply.h"
#include "ui.h"
#include "xmalloc.h"

/* After the last exchange ended, time for its final bytes to be written. */
#define SERVER_FLUSH_GRACE_MS		200
/* Listeners; more `listen` entries than this are refused at start. */
#define SERVER_MAX_LISTENERS		16

/* Largest request head accepted (all header lines together). */
#define SERVER_MAX_HEADERS_BYTES	(16 * 1024)
#define SERVER_LISTEN_BACKLOG		1024
/* The first descriptor of socket activation (sd_listen_fds(3)). */
#define SERVER_LISTEN_FDS_START		3
/* How long a browser may cache a preflight answer, in seconds. */
#define SERVER_PREFLIGHT_MAX_AGE	"600"

struct server {
	struct config		*cf;		/* the current one */
	time_t			 started;
	struct evhttp_bound_socket *bound[SERVER_MAX_LISTENERS];
	size_t			 nbound;
	int			 stopping;
	struct event		*deadline;	/* shutdown_timeout */
	struct evhttp		*http;
	struct event_base	*base;
	struct exchange_env	 env;
};

static int	server_listen(struct server *srv, const char *addr,
		    char **cause);
static int	server_inherited(char **cause);
static int	server_adopt(struct server *srv, int fd, char **cause);
static int	server_bind_listener(struct server *srv,
		    struct evconnlistener *lev, const char *what, char **cause);
static int	server_parse_addr(const char *addr,
		    struct sockaddr_storage *ss, int *len);
static void	server_log_bound(evutil_socket_t fd);
static void	server_request_cb(struct evhttp_request *req, void *arg);
static int	server_guard_head(struct server *srv,
		    struct evhttp_request *req, const struct route *r);
static int	server_guard_caller(struct server *srv,
		    struct evhttp_request *req, const struct route *r,
		    size_t *client);
static enum guard_verdict server_hygiene(struct evhttp_request *req,
		    const char **why);
static void	server_preflight(struct evhttp_request *req);
static void	server_stopping(struct server *srv,
		    struct evhttp_request *req, const struct route *r);
static void	server_refuse(struct server *srv, struct evhttp_request *req,
		    const struct route *r, int status, enum access_end end,
		    const char *message);
static void	server_unknown_provider(struct server *srv,
		    struct evhttp_request *req);
static void	server_endpoint(struct server *srv, struct evhttp_request *req,
		    const struct route *r);
static void	server_status(struct server *srv, struct evhttp_request *req);
static void	server_metrics(struct evhttp_request *req);
static void	server_forward(struct server *srv, struct evhttp_request *req,
		    const struct route *r, size_t token);
static void	server_set_keepalive(struct server *srv);
static void	server_raise_nofile(void);
static void	server_drained_cb(void *arg);
static void	server_deadline_cb(evutil_socket_t fd, short what, void *arg);
static void	server_finish(struct server *srv);

/* Bind every cf->listen address; on error return NULL and set *cause. */
struct server *
server_new(struct event_base *base, struct config *cf,
    char **cause)
{
	struct server	*srv;
	size_t		 i;
	int		 n;

	*cause = NULL;
	server_raise_nofile();
	srv = xcalloc(1, sizeof *srv);
	srv->cf = cf;
	srv->started = time(NULL);
	srv->base = base;
	server_set_keepalive(srv);
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
	conn_init(base, srv->http);
	conn_configure(cf);
	if ((n = server_inherited(cause)) > 0) {
		log_info("%d socket(s) from the service manager; `listen` is "
		    "not used", n);
		for (i = 0; i < (size_t)n; i++) {
			if (server_adopt(srv, SERVER_LISTEN_FDS_START + (int)i,
			    cause) == -1)
				break;
		}
	} else if (n == 0) {
		for (i = 0; i < cf->nlisten; i++) {
			if (server_listen(srv, cf->listen[i], cause) == -1)
				break;
		}
	}
	if (n == -1 || *cause != NULL) {
		server_free(srv);
		return NULL;
	}
	return srv;
}

/*
 * Socket activation: return how many listening sockets the service
 * manager passed (LISTEN_FDS, for this pid), 0 if none, or -1 with
 * *cause.  The variables are removed so nothing started later sees them.
 */
static int
server_inherited(char **cause)
{
	const char	*pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char		*end;
	long		 n;

	if (pid == NULL || fds == NULL ||
	    strtol(pid, &end, 10) != (long)getpid() || *end != '\0')
		return 0;
	n = strtol(fds, &end, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (*end != '\0' || n < 0 || n > SERVER_MAX_LISTENERS) {
		xasprintf(cause, "LISTEN_FDS: expected 0 to %d sockets, not "
		    "\"%s\"", SERVER_MAX_LISTENERS, fds);
		return -1;
	}
	return (int)n;
}

/* Listen on a socket the service manager bound (socket activation). */
static int
server_adopt(struct server *srv, int fd, char **cause)
{
	struct evconnlistener	*lev;

	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1) {
		xasprintf(cause, "LISTEN_FDS: descriptor %d: %s", fd,
		    strerror(errno));
		return -1;
	}
	/* Backlog 0: the socket is listening already. */
	lev = evconnlistener_new(srv->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (lev == NULL) {
		xasprintf(cause, "LISTEN_FDS: descriptor %d is not a listening "
		    "socket", fd);
		return -1;
	}
	return server_bind_listener(srv, lev, "LISTEN_FDS", cause);
}

/*
 * Raise the open-file limit to its hard limit: every proxied stream holds
 * two descriptors, and the default soft limit (1024) would cap the daemon
 * at a few hundred streams.
 */
static void
server_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("cannot raise the open-file limit");
	else
		log_debug("open-file limit raised to %llu",
		    (unsigned long long)rl.rlim_max);
}

/* Derive the client keep-alive timeout from the configuration. */
static void
server_set_keepalive(struct server *srv)
{
	srv->env.keepalive = clock_tv_seconds(srv->cf->keepalive_timeout);
}

/*
 * Serve new requests under cf (a reload).  Listeners stay as they are: a
 * changed `listen` needs a restart, and the caller says so.
 */
void
server_set_config(struct server *srv, struct config *cf)
{
	srv->cf = cf;
	server_set_keepalive(srv);
	evhttp_set_max_body_size(srv->http, cf->max_body_size);
	evhttp_set_timeout_tv(srv->http, &srv->env.keepalive);
	conn_configure(cf);
}

/* Close the listeners and every client connection (ending their exchanges). */
void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	srv->env.drained = NULL;	/* streams end below, as evhttp goes */
	if (srv->http != NULL) {
		evhttp_free(srv->http);
		conn_shutdown();
	}
	if (srv->deadline != NULL)
		event_free(srv->deadline);
	free(srv);
}

/*
 * Stop: close the listeners, refuse new requests, and let the streams
 * finish; at shutdown_timeout end those still open.  The loop exits once
 * none is left (and their last bytes had a moment to go out).
 */
void
server_shutdown(struct server *srv)
{
	struct timeval	tv = clock_tv_seconds(srv->cf->shutdown_timeout);
	size_t		i;

	if (srv->stopping)
		return;
	srv->stopping = 1;
	conn_stop_accepting();
	for (i = 0; i < srv->nbound; i++)
		evhttp_del_accept_socket(srv->http, srv->bound[i]);
	srv->nbound = 0;
	if (exchange_count() == 0) {
		server_finish(srv);
		return;
	}
	log_info("stopping: %zu request(s) in progress, waiting up to %.1f s",
	    exchange_count(), srv->cf->shutdown_timeout);
	srv->env.drained = server_drained_cb;
	srv->env.drained_arg = srv;
	srv->deadline = evtimer_new(srv->base, server_deadline_cb, srv);
	if (srv->deadline == NULL)
		fatalx("%s: out of memory", __func__);
	evtimer_add(srv->deadline, &tv);
}

/* exchange: the last exchange ended while stopping. */
static void
server_drained_cb(void *arg)
{
	server_finish(arg);
}

/* shutdown_timeout passed: end what is still open. */
static void
server_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	srv->env.drained = NULL;
	log_info("stopping: shutdown_timeout passed, ending %zu request(s)",
	    exchange_count());
	exchange_shutdown_all();
	server_finish(srv);
}

/* Leave the loop once the last bytes had a moment to be written. */
static void
server_finish(struct server *srv)
{
	struct timeval	tv = { 0, SERVER_FLUSH_GRACE_MS * 1000 };

	srv->env.drained = NULL;
	event_base_loopexit(srv->base, &tv);
}

/*
 * Parse "ADDR:PORT" into ss.  libevent refuses port 0, which asks the
 * kernel for a free port (tests use it), so that one is parsed as 1 and
 * then zeroed.
 */
static int
server_parse_addr(const char *addr, struct sockaddr_storage *ss, int *len)
{
	char	 buf[128];
	size_t	 n = strlen(addr);
	int	 any_port = n >= 2 && strcmp(addr + n - 2, ":0") == 0;

	if (n >= sizeof buf)
		return -1;
	memcpy(buf, addr, n + 1);
	if (any_port)
		buf[n - 1] = '1';
	if (evutil_parse_sockaddr_port(buf, (struct sockaddr *)ss, len) != 0)
		return -1;
	if (any_port && ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = 0;
	else if (any_port)
		((struct sockaddr_in *)ss)->sin_port = 0;
	return 0;
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
	if (server_parse_addr(addr, &ss, &sslen) == -1) {
		xasprintf(cause, "listen: cannot parse \"%s\"", addr);
		return -1;
	}
	lev = evconnlistener_new_bind(srv->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    SERVER_LISTEN_BACKLOG, (struct sockaddr *)&ss, sslen);
	if (lev == NULL) {
		xasprintf(cause, "listen %s: %s", addr,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	return server_bind_listener(srv, lev, addr, cause);
}

/* Hand lev (made for what) to evhttp. */
static int
server_bind_listener(struct server *srv, struct evconnlistener *lev,
    const char *what, char **cause)
{
	if (srv->nbound == SERVER_MAX_LISTENERS) {
		evconnlistener_free(lev);
		xasprintf(cause, "listen %s: at most %d addresses", what,
		    SERVER_MAX_LISTENERS);
		return -1;
	}
	if ((srv->bound[srv->nbound] = evhttp_bind_listener(srv->http,
	    lev)) == NULL) {
		evconnlistener_free(lev);
		xasprintf(cause, "listen %s: evhttp_bind_listener failed", what);
		return -1;
	}
	evconnlistener_set_error_cb(lev, conn_accept_error_cb);
	srv->nbound++;
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
	size_t		 client = 0;	/* who, once the guard has said */

	route_resolve(srv->cf, evhttp_request_get_uri(req), &r);
	if (srv->stopping) {
		server_stopping(srv, req, &r);
		return;
	}
	if (server_guard_head(srv, req, &r) == -1 ||
	    server_guard_caller(srv, req, &r, &client) == -1)
		return;
	switch (r.kind) {
	case ROUTE_PROVIDER:
	case ROUTE_BATCH:
		server_forward(srv, req, &r, client);
		break;
	case ROUTE_STATUS:
	case ROUTE_HEALTHZ:
	case ROUTE_METRICS:
	case ROUTE_UI:
		server_endpoint(srv, req, &r);
		break;
	case ROUTE_UNKNOWN:
		server_unknown_provider(srv, req);
		break;
	case ROUTE_BAD:
		reply_error(req, NULL, 400, "llmproxy_bad_target", r.why);
		break;
	case ROUTE_RESERVED:
	default:
		reply_error(req, NULL, 404, "llmproxy_not_found",
		    "no such endpoint in this version of llmproxyd");
		break;
	}
}

/* Answer 503 while shutting down, and close. */
static void
server_stopping(struct server *srv, struct evhttp_request *req,
    const struct route *r)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Connection", "close");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Retry-After", "1");
	server_refuse(srv, req, r, 503, ACCESS_SHUTDOWN,
	    "the daemon is shutting down");
}

/* Check the head's framing and its Host; answer and return -1 if bad. */
static int
server_guard_head(struct server *srv, struct evhttp_request *req,
    const struct route *r)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	const char		*why;
	enum guard_verdict	 v;
	int			 http11;

	switch (conn_check(req)) {
	case CONN_SHED:
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "1");
		server_refuse(srv, req, r, 503, ACCESS_OVERLOAD,
		    "too many client connections (max_connections)");
		return -1;
	case CONN_OK:
		break;
	}
	if (server_hygiene(req, &why) != GUARD_OK) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		server_refuse(srv, req, r, 400, ACCESS_BAD_REQUEST, why);
		return -1;
	}
	http11 = httpver_at_least(req, 1, 1);
	v = guard_host(srv->cf, evhttp_find_header(in, "Host"), http11);
	if (v == GUARD_BAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		server_refuse(srv, req, r, 400, ACCESS_BAD_REQUEST,
		    "an HTTP/1.1 request needs a Host header");
		return -1;
	}
	if (v != GUARD_OK) {
		server_refuse(srv, req, r, 403, ACCESS_FORBIDDEN,
		    "this Host is not allowed (DNS rebinding protection)");
		return -1;
	}
	return 0;
}

/*
 * Check Origin (answering a preflight) and the client token; answer and
 * return -1 unless the request may go on.
 */
static int
server_guard_caller(struct server *srv, struct evhttp_request *req,
    const struct route *r, size_t *client)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	const char		*origin = evhttp_find_header(in, "Origin");

	if (guard_origin(srv->cf, origin) != GUARD_OK) {
		server_refuse(srv, req, r, 403, ACCESS_FORBIDDEN,
		    "this Origin is not allowed");
		return -1;
	}
	if (origin != NULL) {
		evhttp_add_header(out, "Access-Control-Allow-Origin", origin);
		evhttp_add_header(out, "Vary", "Origin");
		if (evhttp_request_get_command(req) == EVHTTP_REQ_OPTIONS &&
		    evhttp_find_header(in,
		    "Access-Control-Request-Method") != NULL) {
			server_preflight(req);
			return -1;
		}
	}
	/* The status page holds no data: it asks for a token itself. */
	if (r->kind == ROUTE_HEALTHZ || r->kind == ROUTE_UI ||
	    guard_token(srv->cf,
	    evhttp_find_header(in, "Authorization"),
	    evhttp_find_header(in, "x-api-key"), client) == GUARD_OK)
		return 0;
	evhttp_add_header(out, "WWW-Authenticate", "Bearer");
	server_refuse(srv, req, r, 401, ACCESS_UNAUTHORIZED,
	    "a valid client token is required");
	return -1;
}

/* Run guard_hygiene over every input header, duplicates included. */
static enum guard_verdict
server_hygiene(struct evhttp_request *req, const char **why)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct evkeyval		*kv;
	struct guard_header	*h;
	size_t			 n = 0;
	enum guard_verdict	 v;

	TAILQ_FOREACH(kv, in, next)
		n++;
	h = xcalloc(n + 1, sizeof *h);
	n = 0;
	TAILQ_FOREACH(kv, in, next) {
		h[n].name = kv->key;
		h[n].value = kv->value;
		n++;
	}
	v = guard_hygiene(h, n, why);
	free(h);
	return v;
}

/* Answer a browser preflight from an allowed origin: 204, no body. */
static void
server_preflight(struct evhttp_request *req)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	char			*allow;

	allow = guard_allow_headers(evhttp_find_header(
	    evhttp_request_get_input_headers(req),
	    "Access-Control-Request-Headers"));
	evhttp_add_header(out, "Access-Control-Allow-Methods",
	    "GET, HEAD, POST, PUT, PATCH, DELETE");
	if (allow != NULL)
		evhttp_add_header(out, "Access-Control-Allow-Headers", allow);
	evhttp_add_header(out, "Access-Control-Max-Age",
	    SERVER_PREFLIGHT_MAX_AGE);
	evhttp_send_reply(req, 204, "No Content", NULL);
	free(allow);
}

/*
 * Refuse req before routing, in the dialect of the provider its path
 * names, and log one access line with the reason.  Never echoes a header.
 */
static void
server_refuse(struct server *srv, struct evhttp_request *req,
    const struct route *r, int status, enum access_end end,
    const char *message)
{
	const struct provider_config	*pc = NULL;
	struct metrics_provider		*m = metrics_unrouted();
	struct access_entry		 e;
	char				 code[64];

	if (r->kind == ROUTE_PROVIDER) {
		pc = &srv->cf->providers[r->provider];
		m = metrics_provider(pc->name);
	}
	memset(&e, 0, sizeof e);
	e.provider = pc != NULL ? pc->name : NULL;
	e.method = exchange_method_name(req);
	e.target = evhttp_request_get_uri(req);
	e.status = status;
	e.end = end;
	e.detail = end == ACCESS_BAD_REQUEST ? message : NULL;
	e.estimate = -1;
	access_record(m, &e);
	snprintf(code, sizeof code, "llmproxy_%s", access_label(end));
	reply_error(req, pc, status, code, message);
}

/*
 * Say who is asking (SPEC 11) and hand the request to a new exchange: a
 * provider's, or POST /batch (other methods get 405).
 */
static void
server_forward(struct server *srv, struct evhttp_request *req,
    const struct route *r, size_t token)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct provider		*prov;
	struct client		*client;
	enum queue_priority	 prio;
	const char		*why;

	if (r->kind == ROUTE_BATCH &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "POST");
		server_refuse(srv, req, r, 405, ACCESS_METHOD_NOT_ALLOWED,
		    "POST /batch is the batch endpoint's one method");
		return;
	}
	if ((why = client_identify(srv->cf, token, evhttp_find_header(in,
	    "x-llmproxy-client"), evhttp_find_header(in,
	    "x-llmproxy-priority"), clock_now_ms(), &client, &prio)) != NULL) {
		server_refuse(srv, req, r, 400, ACCESS_BAD_REQUEST, why);
		return;
	}
	if (r->kind == ROUTE_BATCH) {
		batch_start(&srv->env, req, srv->cf, client, prio);
		return;
	}

	/* A reload syncs the providers, then srv->cf, in one callback. */
	if ((prov = provider_find(srv->cf->providers[r->provider].name)) ==
	    NULL)
		fatalx("%s: provider %s of the running configuration is "
		    "missing", __func__, srv->cf->providers[r->provider].name);
	proxy_start(&srv->env, req, srv->cf, prov, r->rest, client, prio);
}

/* Answer GET /status: version, uptime, and every provider's state. */
static void
server_status(struct server *srv, struct evhttp_request *req)
{
	json_t	*st;
	char	*body;

	st = json_pack("{s:s,s:I,s:I,s:o}", "version", PACKAGE_VERSION,
	    "uptime_s", (json_int_t)(time(NULL) - srv->started),
	    "connections", (json_int_t)conn_count(),
	    "providers", (json_t *)provider_status_json());
	body = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(15));	/* levels are rounded to 0.001 */
	reply_json(req, 200, body != NULL ? body : "{}");
	free(body);
	json_decref(st);
}

/*
 * Answer GET /metrics in Prometheus text format.  Scrapes are not counted
 * in llmproxy_requests_total: they log no access line either.
 */
static void
server_metrics(struct evhttp_request *req)
{
	struct evbuffer	*buf;
	char		*text;
	size_t		 len;

	provider_metrics_gauges();
	text = metrics_render((uint64_t)conn_count(), &len);
	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	evbuffer_add(buf, text, len);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, NULL, buf);
	evbuffer_free(buf);
	free(text);
}

/*
 * Answer one of the daemon's own endpoints.  Each answers GET and HEAD
 * alike (evhttp sends no body to a HEAD); any other method is refused.
 */
static void
server_endpoint(struct server *srv, struct evhttp_request *req,
    const struct route *r)
{
	enum evhttp_cmd_type	cmd = evhttp_request_get_command(req);

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		server_refuse(srv, req, r, 405, ACCESS_METHOD_NOT_ALLOWED,
		    "the daemon's own endpoints answer GET and HEAD");
	} else if (r->kind == ROUTE_STATUS)
		server_status(srv, req);
	else if (r->kind == ROUTE_METRICS)
		server_metrics(req);
	else if (r->kind == ROUTE_UI)
		ui_serve(req);
	else
		reply_json(req, 200, "{\"status\":\"ok\"}");
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
	reply_json(req, 404, body != NULL ? body : "{}");
	free(body);
	free(msg);
	free(p);
	json_decref(err);
}
