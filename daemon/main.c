/* SPDX-License-Identifier: ISC */
/*
 * main: options, configuration, the event loop and its signals.
 *
 * llmproxyd always runs in the foreground and logs to stderr.  It loads
 * and checks the configuration, binds its listeners, then runs one libevent
 * loop that serves clients (server.c) and drives every upstream transfer
 * (upstream.c).  SIGINT and SIGTERM end the loop; teardown runs in the
 * order the libraries need: client connections (which cancel their
 * transfers), the curl multi handle, then the event base.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <libconfig.h>

#include "config.h"
#include "log.h"
#include "server.h"
#include "upstream.h"
#include "xmalloc.h"

#define MAIN_DEFAULT_CONFIG	LLMPROXYD_SYSCONFDIR "/llmproxyd/llmproxyd.conf"

static void	main_usage(FILE *f);
static void	main_version(void);
static void	main_stop_cb(evutil_socket_t sig, short what, void *arg);
static void	main_hup_cb(evutil_socket_t sig, short what, void *arg);
static struct event_base *main_base_new(void);
static void	main_set_listen(struct config *cf, const char *addr);

/* Print the usage summary to f. */
static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: llmproxyd [-c FILE] [-t] [-l ADDR:PORT] [-v] [-V] [-h]\n"
	    "  -c FILE   config file (default %s)\n"
	    "  -t        check the config and exit 0 (valid) or 1\n"
	    "  -l ADDR   listen on ADDR:PORT instead of `listen`\n"
	    "  -v        more logging (repeatable)\n"
	    "  -V        print the version and library versions\n"
	    "  -h        print this help\n", MAIN_DEFAULT_CONFIG);
}

/* Print the daemon's version and those of the libraries it uses. */
static void
main_version(void)
{
	printf("llmproxyd %s\n", PACKAGE_VERSION);
	printf("libevent %s (run time)\n", event_get_version());
	printf("libcurl %s (run time)\n", curl_version_info(
	    CURLVERSION_NOW)->version);
	printf("jansson %s (built with)\n", JANSSON_VERSION);
	printf("libconfig %d.%d.%d (built with)\n", LIBCONFIG_VER_MAJOR,
	    LIBCONFIG_VER_MINOR, LIBCONFIG_VER_REVISION);
}

/* SIGINT, SIGTERM: leave the loop. */
static void
main_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base	*base = arg;

	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(base, NULL);
}

/* SIGHUP: configuration reload arrives with the limits; say so. */
static void
main_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	log_warnx("SIGHUP: reloading is not supported by this version; "
	    "restart to apply a new configuration");
}

/* Return an event base that can tell when a peer hangs up (EV_CLOSED). */
static struct event_base *
main_base_new(void)
{
	struct event_config	*ec;
	struct event_base	*base;

	if ((ec = event_config_new()) == NULL)
		fatalx("event_config_new failed");
	event_config_require_features(ec, EV_FEATURE_EARLY_CLOSE);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (base == NULL)
		fatalx("no event backend with early close detection (epoll)");
	return base;
}

/* Replace cf's listen addresses with addr (the -l option). */
static void
main_set_listen(struct config *cf, const char *addr)
{
	size_t	i;

	for (i = 0; i < cf->nlisten; i++)
		free(cf->listen[i]);
	free(cf->listen);
	cf->listen = xcalloc(1, sizeof *cf->listen);
	cf->listen[0] = xstrdup(addr);
	cf->nlisten = 1;
}

int
main(int argc, char **argv)
{
	const char		*path = MAIN_DEFAULT_CONFIG, *listen = NULL;
	struct config		*cf;
	struct event_base	*base;
	struct event		*sigs[3];
	struct upstream_loop	*ul;
	struct server		*srv;
	char			*cause = NULL;
	int			 ch, check = 0, verbose = 0, i;

	while ((ch = getopt(argc, argv, "c:thl:vV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			main_version();
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			main_usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return 1;
	}
	if ((cf = config_load(path, &cause)) == NULL) {
		fprintf(stderr, "llmproxyd: %s\n", cause);
		free(cause);
		return 1;
	}
	if (check) {
		printf("llmproxyd: %s: configuration is valid\n", path);
		config_free(cf);
		return 0;
	}
	if (listen != NULL)
		main_set_listen(cf, listen);
	log_set_level(cf->log_level + verbose > LOG_LEVEL_DEBUG ?
	    LOG_LEVEL_DEBUG : cf->log_level + verbose);

	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	base = main_base_new();
	ul = upstream_loop_new(base);
	if ((srv = server_new(base, cf, ul, &cause)) == NULL)
		fatalx("%s", cause);
	sigs[0] = evsignal_new(base, SIGINT, main_stop_cb, base);
	sigs[1] = evsignal_new(base, SIGTERM, main_stop_cb, base);
	sigs[2] = evsignal_new(base, SIGHUP, main_hup_cb, base);
	for (i = 0; i < 3; i++)
		evsignal_add(sigs[i], NULL);
	log_info("llmproxyd %s ready, %zu provider(s)", PACKAGE_VERSION,
	    cf->nproviders);

	event_base_dispatch(base);

	server_free(srv);
	upstream_loop_free(ul);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(base);
	curl_global_cleanup();
	config_free(cf);
	libevent_global_shutdown();
	log_info("stopped");
	return 0;
}
