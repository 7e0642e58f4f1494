/* SPDX-License-Identifier: ISC */
/*
 * llmproxyctl: look at a running llmproxyd, or check a configuration.
 *
 * `status` prints GET /status as tables, `top` follows it live, and
 * `check FILE` loads a configuration with the daemon's own loader
 * (daemon/config.c, linked in), so its verdict and its "file:line: why"
 * are exactly those of `llmproxyd -t`.  The exit status tells a script
 * what happened: 0 fine, 1 the daemon answered an error (or the file is
 * invalid), 2 a usage error, 3 the daemon could not be reached.  A client
 * token, given with -t or read from a file with -T (as api_key_file is:
 * one trailing newline stripped), is only ever sent to the daemon.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "confval.h"
#include "fetch.h"
#include "snap.h"
#include "table.h"
#include "top.h"
#include "xmalloc.h"

#define CTL_DEFAULT_URL		"http://127.0.0.1:8080"
#define CTL_TIMEOUT_MS		10000
#define CTL_USAGE		2

static int	ctl_version(void);
static int	ctl_usage(FILE *f);
static int	ctl_token_file(const char *path, char **token);
static int	ctl_status(const char *url, const char *token);
static int	ctl_check(const char *path);
static int	ctl_top(const char *url, const char *token, int argc,
		    char **argv);
static int	ctl_run(const char *url, const char *token, int argc,
		    char **argv);
static int	ctl_options(int argc, char **argv, const char **url,
		    char **token);
static int	ctl_bad(const char *why);
static int	ctl_bad_option(int ch, const char *arg);

/* Print the version of llmproxyctl and of libcurl; return 0. */
static int
ctl_version(void)
{
	printf("llmproxyctl %s\nlibcurl %s (run time)\n", PACKAGE_VERSION,
	    curl_version_info(CURLVERSION_NOW)->version);
	return 0;
}

/* Print the usage summary to f; return 0. */
static int
ctl_usage(FILE *f)
{
	fprintf(f,
	    "usage: llmproxyctl [-u URL] [-t TOKEN | -T TOKEN_FILE] COMMAND\n"
	    "  -u URL         the daemon (default " CTL_DEFAULT_URL ")\n"
	    "  -t TOKEN       client token (visible to ps: prefer -T)\n"
	    "  -T TOKEN_FILE  read the client token from a file\n"
	    "  -V             print the version      -h  print this help\n"
	    "commands:\n"
	    "  status         providers (and clients) from /status\n"
	    "  top [-n N]     live view, every second; q quits\n"
	    "  check FILE     check a configuration file, as llmproxyd -t\n"
	    "exit: 0 fine, 1 the daemon answered an error (check: invalid),\n"
	    "      2 usage, 3 the daemon is unreachable\n");
	return 0;
}

/* Read a token as the daemon reads api_key_file; -1 (said) on error. */
static int
ctl_token_file(const char *path, char **token)
{
	char	why[256];

	if (confval_read_secret(path, token, why, sizeof why) == -1) {
		fprintf(stderr, "llmproxyctl: %s: %s\n", path, why);
		return -1;
	}
	return 0;
}

/* The status command: GET /status and print it as tables. */
static int
ctl_status(const char *url, const char *token)
{
	struct fetch		*f = fetch_new(url, token, CTL_TIMEOUT_MS);
	struct fetch_reply	 r;
	struct snap		*s = NULL;
	enum fetch_result	 rc;
	char			 why[512];

	rc = fetch_get(f, "/status", &r, why, sizeof why);
	if (rc == FETCH_OK && (s = snap_parse(r.body, r.len, why,
	    sizeof why)) == NULL)
		rc = FETCH_REFUSED;
	if (rc == FETCH_OK)
		table_print(stdout, s, url);
	else if (rc == FETCH_UNREACHABLE)
		fprintf(stderr, "llmproxyctl: cannot reach llmproxyd at %s: "
		    "%s\n", url, why);
	else
		fprintf(stderr, "llmproxyctl: llmproxyd at %s: %s\n", url,
		    why);
	snap_free(s);
	fetch_free(f);
	return (int)rc;
}

/* The check command: load path with the daemon's loader. */
static int
ctl_check(const char *path)
{
	struct config	*cf;
	char		*cause = NULL;

	if ((cf = config_load(path, &cause)) == NULL) {
		fprintf(stderr, "llmproxyctl: %s\n", cause);
		free(cause);
		return 1;
	}
	printf("llmproxyctl: %s: configuration is valid\n", path);
	config_unref(cf);
	return 0;
}

/* The top command, with its own option: -n FRAMES. */
static int
ctl_top(const char *url, const char *token, int argc, char **argv)
{
	long	 frames = 0;
	char	*end;
	int	 ch;

	optind = 1;
	while ((ch = getopt(argc, argv, "+:n:")) != -1) {
		if (ch != 'n')
			return ctl_bad_option(ch, argv[optind - 1]);
		frames = strtol(optarg, &end, 10);
		if (*optarg == '\0' || *end != '\0' || frames < 1) {
			fprintf(stderr, "llmproxyctl: top -n wants a count "
			    "of frames (1 or more)\n");
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "llmproxyctl: top takes no operand\n");
		return CTL_USAGE;
	}
	return top_run(url, token, frames);
}

/* Run the command in argv[0]; return the exit status. */
static int
ctl_run(const char *url, const char *token, int argc, char **argv)
{
	if (strcmp(argv[0], "status") == 0 && argc == 1)
		return ctl_status(url, token);
	if (strcmp(argv[0], "top") == 0)
		return ctl_top(url, token, argc, argv);
	if (strcmp(argv[0], "check") == 0 && argc == 2)
		return ctl_check(argv[1]);
	if (strcmp(argv[0], "status") == 0 || strcmp(argv[0], "check") == 0)
		fprintf(stderr, "llmproxyctl: %s: wrong number of operands\n",
		    argv[0]);
	else
		fprintf(stderr, "llmproxyctl: %s: unknown command\n", argv[0]);
	return CTL_USAGE;
}

/* Parse the options into *url and *token; -1: go on, else exit so. */
static int
ctl_options(int argc, char **argv, const char **url, char **token)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*file = NULL;
	int		 ch;

	opterr = 0;			/* our messages, not getopt's */
	while ((ch = getopt_long(argc, argv, "+:u:t:T:hV", longopts,
	    NULL)) != -1) {
		if (ch == 'u')
			*url = optarg;
		else if (ch == 't') {
			free(*token);
			*token = xstrdup(optarg);
		} else if (ch == 'T')
			file = optarg;
		else if (ch == 'V' || ch == 'h')
			return ch == 'V' ? ctl_version() : ctl_usage(stdout);
		else
			return ctl_bad_option(ch, argv[optind - 1]);
	}
	if (optind == argc)
		return ctl_bad("no command");
	if (*token != NULL && file != NULL)
		return ctl_bad("-t and -T exclude each other");
	if (strncasecmp(*url, "http://", 7) != 0 &&
	    strncasecmp(*url, "https://", 8) != 0)
		return ctl_bad("-u wants an http:// or https:// URL");
	if (*token != NULL && confval_has_ctl(*token, strlen(*token)))
		return ctl_bad("-t: the token has a control character");
	if (file != NULL && ctl_token_file(file, token) == -1)
		return CTL_USAGE;
	return -1;
}

/*
 * Say which option getopt() refused (ch is '?' or ':'; arg is the word it
 * was in, for a long option), then the usage.
 */
static int
ctl_bad_option(int ch, const char *arg)
{
	char	why[128];

	if (ch == ':')
		snprintf(why, sizeof why, "-%c needs a value", optopt);
	else if (optopt != 0)
		snprintf(why, sizeof why, "unknown option -%c", optopt);
	else
		snprintf(why, sizeof why, "unknown option %.64s", arg);
	return ctl_bad(why);
}

/* Say what is wrong with the command line (if why), then the usage. */
static int
ctl_bad(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "llmproxyctl: %s\n", why);
	ctl_usage(stderr);
	return CTL_USAGE;
}

int
main(int argc, char **argv)
{
	const char	*url = CTL_DEFAULT_URL;
	char		*token = NULL;
	int		 rc;

	if ((rc = ctl_options(argc, argv, &url, &token)) != -1)
		goto done;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "llmproxyctl: curl_global_init failed\n");
		rc = FETCH_UNREACHABLE;
		goto done;
	}
	rc = ctl_run(url, token, argc - optind, argv + optind);
	curl_global_cleanup();
done:
	if (token != NULL)
		explicit_bzero(token, strlen(token));
	free(token);
	return rc;
}
