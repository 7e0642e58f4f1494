/* SPDX-License-Identifier: ISC */
/*
 * main: options, configuration, the event loop and its signals.
 *
 * llmproxyd always runs in the foreground and logs to stderr.  It loads
 * and checks the configuration, binds its listeners, then runs one libevent
 * loop that serves clients (server.c) and drives every upstream transfer
 * (upstream.c), telling systemd each change of state (notify.c).  SIGHUP
 * reloads the configuration: a bad file is logged and the running one kept;
 * a good one applies to new requests at once, while requests in flight keep
 * the one they arrived with.  SIGINT and SIGTERM end the loop; teardown
 * runs in the order the libraries need: client connections (which cancel
 * their transfers), the providers, the curl multi handle, the event base.
 */
#include <getopt.h>
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
#include "deadline.h"
#include "log.h"
#include "notify.h"
#include "provider.h"
#include "server.h"
#include "upstream.h"

#define MAIN_DEFAULT_CONFIG	LLMPROXYD_SYSCONFDIR "/llmproxyd/llmproxyd.conf"

/* What the signal callbacks need. */
static struct {
	struct event_base	*base;
	struct server		*srv;
	struct config		*cf;		/* the current one */
	const char		*path;
	const char		*listen;	/* -l, or NULL */
	int			 verbose;
} main_state;

/* --help and --version, as users of other daemons expect them. */
static const struct option main_long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void	main_usage(FILE *f);
static void	main_apply_log_level(const struct config *cf);
static void	main_version(void);
static void	main_stop_cb(evutil_socket_t sig, short what, void *arg);
static void	main_hup_cb(evutil_socket_t sig, short what, void *arg);
static struct event_base *main_base_new(void);

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

/* SIGINT, SIGTERM: drain, then leave the loop; a second one: leave now. */
static void
main_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	static int	 signalled;

	log_info("signal %d: stopping", (int)sig);
	notify_stopping();
	if (signalled++)
		event_base_loopexit(main_state.base, NULL);
	else
		server_shutdown(main_state.srv);
}

/* SIGHUP: load the configuration again; keep the old one if it is bad. */
static void
main_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct config	*cf;
	char		*cause = NULL;

	notify_reloading();
	if ((cf = config_load(main_state.path, &cause)) == NULL) {
		log_warnx("reload: %s; keeping the running configuration",
		    cause);
		free(cause);
		notify_ready();
		return;
	}
	if (main_state.listen != NULL)
		config_set_listen(cf, main_state.listen);
	if (!config_same_listen(cf, main_state.cf))
		log_warnx("reload: listen changed; restart to apply it");
	provider_sync(main_state.base, cf);
	server_set_config(main_state.srv, cf);
	config_unref(main_state.cf);
	main_state.cf = cf;
	main_apply_log_level(cf);
	log_info("reload: %s loaded, %zu provider(s)", main_state.path,
	    cf->nproviders);
	notify_ready();
}

/* Log at cf's level, made more verbose by each -v. */
static void
main_apply_log_level(const struct config *cf)
{
	int	level = (int)cf->log_level + main_state.verbose;

	log_set_level(level > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG :
	    (enum log_level)level);
}

/*
 * Return an event base that can tell when a peer hangs up (EV_CLOSED).
 * With the changelist, an fd's interest changes within one loop iteration
 * reach the kernel as one epoll_ctl (or none, when they cancel out):
 * evhttp and curl toggle read and write interest several times a request.
 */
static struct event_base *
main_base_new(void)
{
	struct event_config	*ec;
	struct event_base	*base;

	if ((ec = event_config_new()) == NULL)
		fatalx("event_config_new failed");
	event_config_require_features(ec, EV_FEATURE_EARLY_CLOSE);
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (base == NULL)
		fatalx("no event backend with early close detection (epoll)");
	return base;
}

int
main(int argc, char **argv)
{
	const char		*path = MAIN_DEFAULT_CONFIG, *listen = NULL;
	struct config		*cf;
	struct event_base	*base;
	struct event		*sigs[3];
	char			*cause = NULL;
	int			 ch, check = 0, i;

	while ((ch = getopt_long(argc, argv, "c:thl:vV", main_long_options,
	    NULL)) != -1 || optind != argc) {
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
			main_state.verbose++;
			break;
		case 'V':
			main_version();
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		default:	/* also an operand: ch is -1 */
			main_usage(stderr);
			return 1;
		}
	}
	if ((cf = config_load(path, &cause)) == NULL) {
		fprintf(stderr, "llmproxyd: %s\n", cause);
		free(cause);
		return 1;
	}
	if (check) {
		printf("llmproxyd: %s: configuration is valid\n", path);
		config_unref(cf);
		return 0;
	}
	if (listen != NULL)
		config_set_listen(cf, listen);
	main_state.cf = cf;
	main_state.path = path;
	main_state.listen = listen;
	main_apply_log_level(cf);

	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	base = main_state.base = main_base_new();
	log_start(base);
	upstream_init(base);
	deadline_init(base);
	provider_sync(base, cf);
	if ((main_state.srv = server_new(base, cf, &cause)) == NULL)
		fatalx("%s", cause);
	sigs[0] = evsignal_new(base, SIGINT, main_stop_cb, base);
	sigs[1] = evsignal_new(base, SIGTERM, main_stop_cb, base);
	sigs[2] = evsignal_new(base, SIGHUP, main_hup_cb, base);
	for (i = 0; i < 3; i++)
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) == -1)
			fatalx("cannot install the signal events");
	notify_init(base);
	notify_ready();		/* bound, and a reload or a stop is handled */
	log_info("llmproxyd %s ready, %zu provider(s)", PACKAGE_VERSION,
	    cf->nproviders);

	event_base_dispatch(base);

	server_free(main_state.srv);
	provider_free_all();
	upstream_shutdown();
	notify_free();
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	log_stop();
	event_base_free(base);
	curl_global_cleanup();
	config_unref(main_state.cf);
	libevent_global_shutdown();
	log_info("stopped");
	return 0;
}
