/* SPDX-License-Identifier: ISC */

/*
 * mock_upstream: a fake LLM provider for the integration tests and the
 * benchmarks.  It answers POST /v1/chat/completions (OpenAI) and POST
 * /v1/messages (Anthropic), whole or streamed as server-sent events, and
 * echoes any other request back as JSON.  Request headers named x-mock-*
 * make it misbehave on purpose: delay, fail with a status, stall, reset,
 * truncate, trickle or answer garbage.  It keeps a bounded log of what it
 * received and serves that log and its counters under /_mock/.  It does
 * not check keys, count real tokens or speak anything but HTTP/1.x, and
 * it never logs per request, so that it can stand behind a proxy under
 * benchmark load.
 *
 * usage: mock_upstream [-p port] [-a address] [-n maxlog]
 *	Listens on address (127.0.0.1) port (0: any), prints "PORT <n>",
 *	logs the last maxlog (10000; 0: none) requests, exits 0 on SIGTERM.
 * Request headers:
 *	x-mock-delay-ms: N	wait before the status line
 *	x-mock-status: S	answer S with an error body (OpenAI shape,
 *				Anthropic's on /v1/messages)
 *	x-mock-error-code: C	the OpenAI error "code"
 *	x-mock-response-header: Name: value	(may repeat)
 *	x-mock-chunks: N	tokens (else max_tokens, else 5)
 *	x-mock-interval-ms: N	between stream tokens
 *	x-mock-chunk-bytes: N	pad each stream token's text to N bytes
 *	x-mock-stall: headers|body	send nothing (more) till the client goes
 *	x-mock-reset: headers|body	RST at once, or after the first chunk
 *				(half the JSON body)
 *	x-mock-truncate: 1	streams: no closing events; JSON: half the
 *				body, then close
 *	x-mock-trickle-ms: N	JSON body one byte every N ms, chunked
 *	x-mock-garbage: 1	"this is not http\r\n\r\n", then close
 *	x-mock-id: ID		recorded in the log
 * Control: GET /_mock/requests, GET /_mock/stats, POST /_mock/reset.
 *
 * This file holds main: the command line, the event base, the listener,
 * the routing of each request and the shutdown.  mock_opts.c reads the
 * x-mock-* headers, mock_answer.c plans the answer and builds its bytes,
 * mock_exch.c sends it with the faults asked for, mock_conn.c tracks the
 * connections, mock_reqlog.c and mock_ctl.c keep the log and serve
 * /_mock/, and mock.c has the helpers they share.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "mock.h"
#include "mock_answer.h"
#include "mock_conn.h"
#include "mock_ctl.h"
#include "mock_exch.h"
#include "mock_reqlog.h"
#include "mock_state.h"

#define MOCK_DEFAULT_MAXLOG	10000
#define MOCK_MAX_MAXLOG		10000000L
#define MOCK_LISTEN_BACKLOG	4096
#define MOCK_METHODS		(EVHTTP_REQ_GET | EVHTTP_REQ_POST | \
    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | \
    EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS)

struct mock_args {
	const char	*addr;
	int		 port;
	long		 maxlog;
};

static void	 mock_upstream_request_cb(struct evhttp_request *, void *);
static void	 mock_upstream_signal_cb(evutil_socket_t, short, void *);
static void	 mock_upstream_usage(void);
static void	 mock_upstream_parse_args(int, char **, struct mock_args *);
static void	 mock_upstream_raise_nofile(void);
static void	 mock_upstream_init(void);
static void	 mock_upstream_listen(const char *, int);
static void	 mock_upstream_shutdown(void);

struct mock_state	mock;

/* evhttp generic callback: take in one request and route it. */
static void
mock_upstream_request_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	const char	*path, *body;
	size_t		 len;
	struct exch	*ex;

	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL)
		path = "";
	if (strncmp(path, "/_mock/", 7) == 0) {
		mock_ctl_handle(req, path);
		return;
	}
	len = evbuffer_get_length(in);
	body = (const char *)evbuffer_pullup(in, -1);
	ex = mock_exch_new(req, mock_conn_lookup(req), path);
	mock_reqlog_add(ex, body, len);
	mock_answer_plan(ex, body, len);
	mock_exch_begin(ex);
}

/* Event callback: SIGTERM or SIGINT; leave the loop and clean up. */
static void
mock_upstream_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(mock.base, NULL);
}

/* Print the usage and exit. */
static void
mock_upstream_usage(void)
{
	fprintf(stderr, "usage: mock_upstream [-p port] [-a address] "
	    "[-n maxlog]\n");
	exit(2);
}

/* Parse the command line into args. */
static void
mock_upstream_parse_args(int argc, char **argv, struct mock_args *args)
{
	char	*end;
	int	 ch;

	while ((ch = getopt(argc, argv, "a:n:p:")) != -1) {
		switch (ch) {
		case 'a':
			args->addr = optarg;
			break;
		case 'n':
			args->maxlog = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' ||
			    args->maxlog < 0 || args->maxlog > MOCK_MAX_MAXLOG)
				errx(2, "bad -n: %s", optarg);
			break;
		case 'p':
			args->port = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' ||
			    args->port < 0 || args->port > 65535)
				errx(2, "bad -p: %s", optarg);
			break;
		default:
			mock_upstream_usage();
		}
	}
	if (optind != argc)
		mock_upstream_usage();
}

/* Allow as many open files as the hard limit: benchmarks open many. */
static void
mock_upstream_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Make the event base (with EV_CLOSED if it can) and the HTTP server. */
static void
mock_upstream_init(void)
{
	struct event_config	*cfg;

	if ((cfg = event_config_new()) == NULL)
		errx(1, "event_config_new failed");
	event_config_require_features(cfg, EV_FEATURE_EARLY_CLOSE);
	mock.base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (mock.base == NULL && (mock.base = event_base_new()) == NULL)
		errx(1, "event_base_new failed");
	mock.early_close = (event_base_get_features(mock.base) &
	    EV_FEATURE_EARLY_CLOSE) != 0;
	TAILQ_INIT(&mock.pending);
	TAILQ_INIT(&mock.open);
	mock.adopt = event_new(mock.base, -1, 0, mock_conn_adopt_cb, NULL);
	if (mock.adopt == NULL || (mock.http = evhttp_new(mock.base)) == NULL)
		errx(1, "cannot set up the HTTP server");
	evhttp_set_allowed_methods(mock.http, MOCK_METHODS);
	evhttp_set_default_content_type(mock.http, NULL);
	evhttp_set_bevcb(mock.http, mock_conn_bev_cb, NULL);
	evhttp_set_gencb(mock.http, mock_upstream_request_cb, NULL);
	mock_answer_init();
}

/* Listen on addr, port, and print the port bound as "PORT <n>". */
static void
mock_upstream_listen(const char *addr, int port)
{
	struct addrinfo		 hints, *ai;
	struct evconnlistener	*lev;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 serv[16];
	int			 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%d", port);
	if ((rc = getaddrinfo(addr, serv, &hints, &ai)) != 0)
		errx(1, "%s: %s", addr, gai_strerror(rc));
	lev = evconnlistener_new_bind(mock.base, NULL, NULL,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    MOCK_LISTEN_BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(ai);
	if (lev == NULL)
		err(1, "listen on %s port %d", addr, port);
	if (evhttp_bind_listener(mock.http, lev) == NULL)
		errx(1, "evhttp_bind_listener failed");
	if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss,
	    &sslen) == -1)
		err(1, "getsockname");
	if (ss.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	printf("PORT %d\n", port);
	fflush(stdout);
}

/* Free everything, so that LeakSanitizer has nothing to report. */
static void
mock_upstream_shutdown(void)
{
	struct conn	*c;

	evhttp_free(mock.http);		/* every mock_conn_close_cb runs */
	while ((c = TAILQ_FIRST(&mock.pending)) != NULL)
		mock_conn_free(c);
	while ((c = TAILQ_FIRST(&mock.open)) != NULL) {
		if (c->ex != NULL)
			mock_exch_free(c->ex);
		mock_conn_free(c);
	}
	event_free(mock.adopt);
	mock_reqlog_free();
	free(mock.byfd);
	event_base_free(mock.base);
	libevent_global_shutdown();
}

int
main(int argc, char **argv)
{
	struct mock_args	 args = { "127.0.0.1", 0, MOCK_DEFAULT_MAXLOG };
	struct event		*sigterm, *sigint;

	mock_upstream_parse_args(argc, argv, &args);
	signal(SIGPIPE, SIG_IGN);
	mock_upstream_raise_nofile();
	mock_upstream_init();
	mock_reqlog_init((size_t)args.maxlog);
	mock_upstream_listen(args.addr, args.port);
	sigterm = evsignal_new(mock.base, SIGTERM, mock_upstream_signal_cb,
	    NULL);
	sigint = evsignal_new(mock.base, SIGINT, mock_upstream_signal_cb,
	    NULL);
	if (sigterm == NULL || sigint == NULL)
		errx(1, "evsignal_new failed");
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	event_base_dispatch(mock.base);
	event_free(sigterm);
	event_free(sigint);
	mock_upstream_shutdown();
	return 0;
}
