/* SPDX-License-Identifier: ISC */
/*
 * rlink_drive: one rlink against a real redis-server, for
 * tests/integration/test_rlink.py.
 *
 *   rlink_drive [-v] [-p password] [-t timeout_ms] [-c channel]... URL
 *
 * Commands come on standard input, one a line, and are run as they come,
 * so the test decides when (after stopping or starting the server, say):
 *
 *   eval ID N [NOTELEN]  run a script that answers an admit of N in the
 *                        interface's shape, its note NOTELEN bytes long;
 *                        the reply goes through rreply_admit()
 *   cmd ID ARG...        one command (rlink_command_argv)
 *   bulk ID COUNT [WIN]  COUNT evals, WIN in flight at once (all)
 *   freecb ID            three evals; the first's callback frees the link
 *   sub CHANNEL          rlink_subscribe
 *   free                 rlink_free
 *   quit                 (or end of input) free the link and exit 0
 *
 * Every event is one line on standard output: "up", "down WHY",
 * "message CHANNEL PAYLOAD", "reply ID ...", "null ID MSms WHY", "bulk ID
 * ok=N failed=N max_in_flight=N ms=MS", "freed", "error WHAT".
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <hiredis.h>

#include "clock.h"
#include "log.h"
#include "rlink.h"
#include "rlinkurl.h"
#include "rreply.h"
#include "xmalloc.h"

#define DRIVE_MAX_ARGS	32

/* An admit reply of ARGV[1] requests, with a note of ARGV[2] bytes. */
static const char	drive_script_text[] =
    "local t = redis.call('TIME')\n"
    "local n = tonumber(ARGV[1])\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "return {n, 0, now, 1, -1, string.rep('x', tonumber(ARGV[2]))}\n";

struct drive;

/* One call, or the bulk run's shared state. */
struct drive_call {
	struct drive	*d;
	char		 id[32];
	uint64_t	 start_ms;
	long long	 n;		/* eval: requests asked; -1: cmd */
	int		 frees;		/* the callback frees the link */
};

struct drive_bulk {
	struct drive	*d;
	char		 id[32];
	long		 total, sent, ok, failed, in_flight, max_in_flight;
	long		 window;
	uint64_t	 start_ms;
};

struct drive {
	struct event_base	*base;
	struct rlink		*link;
	struct rlink_script	*script;
	struct evbuffer		*in;
	struct event		*stdin_ev;
	struct drive_bulk	 bulk;
};

static void	drive_print(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
static void	drive_up_cb(void *arg);
static void	drive_down_cb(void *arg, const char *why);
static void	drive_message_cb(void *arg, const char *channel,
		    const char *payload, size_t len);
static void	drive_reply_cb(void *arg, const struct redisReply *r,
		    const char *why);
static void	drive_print_reply(const char *id, const redisReply *r,
		    long long n);
static void	drive_eval(struct drive *d, struct drive_call *c,
		    long notelen);
static void	drive_bulk_start(struct drive *d, const char *id, long total,
		    long window);
static void	drive_bulk_next(struct drive_bulk *b);
static void	drive_bulk_cb(void *arg, const struct redisReply *r,
		    const char *why);
static struct drive_call *drive_call_new(struct drive *d, const char *id,
		    long long n);
static void	drive_command(struct drive *d, char **argv, int argc);
static void	drive_line(struct drive *d, char *line);
static void	drive_stdin_cb(evutil_socket_t fd, short what, void *arg);
static void	drive_free_link(struct drive *d);
static struct rlink *drive_link(struct drive *d, int argc, char **argv);

/* Print one event line and flush it: the test reads them as they come. */
static void
drive_print(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void
drive_up_cb(void *arg)
{
	drive_print("up");
}

static void
drive_down_cb(void *arg, const char *why)
{
	drive_print("down %s", why);
}

static void
drive_message_cb(void *arg, const char *channel, const char *payload,
    size_t len)
{
	drive_print("message %s %.*s", channel, (int)len, payload);
}

/* Print r, as an admit of n when n >= 0. */
static void
drive_print_reply(const char *id, const redisReply *r, long long n)
{
	struct rreply_admit	a;
	char			why[RREPLY_WHY_MAX];

	if (n >= 0) {
		if (rreply_admit(r, n, &a, why, sizeof why) == -1)
			drive_print("reply %s rejected %s", id, why);
		else
			drive_print("reply %s admit admitted=%lld retry=%lld "
			    "now=%lld hosts=%lld lease=%lld note=%zu", id,
			    a.admitted, a.retry_ms, a.now_ms, a.hosts_alive,
			    a.lease_expiry_ms, a.note_len);
		return;
	}
	if (r->type == REDIS_REPLY_INTEGER)
		drive_print("reply %s int %lld", id, r->integer);
	else if (r->type == REDIS_REPLY_ARRAY)
		drive_print("reply %s array %zu", id, r->elements);
	else if (r->type == REDIS_REPLY_NIL)
		drive_print("reply %s nil", id);
	else
		drive_print("reply %s %s %s", id, r->type == REDIS_REPLY_ERROR ?
		    "error" : r->type == REDIS_REPLY_STATUS ? "status" : "str",
		    r->str);
}

/* A call's end: print it; a freecb call frees the link from here. */
static void
drive_reply_cb(void *arg, const struct redisReply *r, const char *why)
{
	struct drive_call	*c = arg;

	if (r == NULL)
		drive_print("null %s %llums %s", c->id, (unsigned long long)
		    (clock_now_ms() - c->start_ms), why);
	else
		drive_print_reply(c->id, r, c->n);
	if (c->frees)
		drive_free_link(c->d);
	free(c);
}

/* Return a call named id, started now. */
static struct drive_call *
drive_call_new(struct drive *d, const char *id, long long n)
{
	struct drive_call	*c;

	c = xcalloc(1, sizeof *c);
	c->d = d;
	snprintf(c->id, sizeof c->id, "%s", id);
	c->start_ms = clock_now_ms();
	c->n = n;
	return c;
}

/* Run the script for c: an admit of c->n, with a note of notelen. */
static void
drive_eval(struct drive *d, struct drive_call *c, long notelen)
{
	char		 n[32], len[32];
	const char	*args[2] = { n, len };

	snprintf(n, sizeof n, "%lld", c->n);
	snprintf(len, sizeof len, "%ld", notelen);
	rlink_eval(d->link, d->script, 0, 2, args, NULL, drive_reply_cb, c);
}

/* Start a bulk run of total evals, window of them in flight at once. */
static void
drive_bulk_start(struct drive *d, const char *id, long total, long window)
{
	struct drive_bulk	*b = &d->bulk;

	memset(b, 0, sizeof *b);
	b->d = d;
	snprintf(b->id, sizeof b->id, "%s", id);
	b->total = total;
	b->window = window;
	b->start_ms = clock_now_ms();
	drive_bulk_next(b);
}

/* Send bulk evals until the window is full or all are sent. */
static void
drive_bulk_next(struct drive_bulk *b)
{
	const char	*args[2] = { "1", "0" };

	while (b->sent < b->total && b->in_flight < b->window) {
		b->sent++;
		b->in_flight++;
		if (b->in_flight > b->max_in_flight)
			b->max_in_flight = b->in_flight;
		rlink_eval(b->d->link, b->d->script, 0, 2, args, NULL,
		    drive_bulk_cb, b);
	}
}

/* A bulk call's end: count it, send more, report when all are back. */
static void
drive_bulk_cb(void *arg, const struct redisReply *r, const char *why)
{
	struct drive_bulk	*b = arg;
	struct rreply_admit	 a;
	char			 err[RREPLY_WHY_MAX];

	b->in_flight--;
	if (r != NULL && rreply_admit(r, 1, &a, err, sizeof err) == 0 &&
	    a.admitted == 1)
		b->ok++;
	else
		b->failed++;
	if (b->d->link != NULL)
		drive_bulk_next(b);
	if (b->ok + b->failed == b->total)
		drive_print("bulk %s ok=%ld failed=%ld max_in_flight=%ld "
		    "ms=%llu", b->id, b->ok, b->failed, b->max_in_flight,
		    (unsigned long long)(clock_now_ms() - b->start_ms));
}

/* Run one command line, split into argv[0..argc). */
static void
drive_command(struct drive *d, char **argv, int argc)
{
	struct drive_call	*c;
	int			 i;

	if (strcmp(argv[0], "quit") == 0) {
		event_base_loopbreak(d->base);
		return;
	}
	if (strcmp(argv[0], "free") == 0) {
		drive_free_link(d);
		return;
	}
	if (d->link == NULL) {
		drive_print("error no link");
		return;
	}
	if (strcmp(argv[0], "sub") == 0 && argc == 2)
		rlink_subscribe(d->link, argv[1]);
	else if (strcmp(argv[0], "eval") == 0 && argc >= 3)
		drive_eval(d, drive_call_new(d, argv[1], atoll(argv[2])),
		    argc > 3 ? atol(argv[3]) : 0);
	else if (strcmp(argv[0], "cmd") == 0 && argc >= 3) {
		c = drive_call_new(d, argv[1], -1);
		rlink_command_argv(d->link, argc - 2, (const char **)argv + 2,
		    NULL, drive_reply_cb, c);
	} else if (strcmp(argv[0], "bulk") == 0 && argc >= 3)
		drive_bulk_start(d, argv[1], atol(argv[2]),
		    argc > 3 ? atol(argv[3]) : atol(argv[2]));
	else if (strcmp(argv[0], "freecb") == 0 && argc == 2) {
		for (i = 0; i < 3; i++) {
			c = drive_call_new(d, argv[1], 1);
			snprintf(c->id, sizeof c->id, "%s.%d", argv[1], i);
			c->frees = i == 0;
			drive_eval(d, c, 0);
		}
	} else
		drive_print("error unknown command %s", argv[0]);
}

/* Split line at spaces and run it. */
static void
drive_line(struct drive *d, char *line)
{
	char	*argv[DRIVE_MAX_ARGS], *word;
	int	 argc = 0;

	while ((word = strsep(&line, " ")) != NULL && argc < DRIVE_MAX_ARGS) {
		if (*word != '\0')
			argv[argc++] = word;
	}
	if (argc > 0)
		drive_command(d, argv, argc);
}

/* Standard input is readable: run each whole line; at its end, quit. */
static void
drive_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct drive	*d = arg;
	char		*line;
	int		 n;

	n = evbuffer_read(d->in, fd, 4096);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	while ((line = evbuffer_readln(d->in, NULL, EVBUFFER_EOL_LF)) != NULL) {
		drive_line(d, line);
		free(line);
	}
	if (n <= 0)
		event_base_loopbreak(d->base);
}

/* Free the link, if any, and say so. */
static void
drive_free_link(struct drive *d)
{
	struct rlink	*l = d->link;

	if (l == NULL)
		return;
	d->link = NULL;
	rlink_free(l);
	drive_print("freed");
}

/* Make the link from the command line; exit 2 on a usage error. */
static struct rlink *
drive_link(struct drive *d, int argc, char **argv)
{
	struct rlink_params	 p = { NULL, NULL, 250, "drive" };
	struct rlink_cbs	 cbs = { drive_up_cb, drive_down_cb,
				    drive_message_cb };
	struct rlinkurl		 url;
	struct rlink		*l;
	char			 err[256], *channels[DRIVE_MAX_ARGS];
	int			 ch, nchannels = 0, i;

	while ((ch = getopt(argc, argv, "c:p:t:v")) != -1) {
		if (ch == 'c' && nchannels < DRIVE_MAX_ARGS)
			channels[nchannels++] = optarg;
		else if (ch == 'p')
			p.password = optarg;
		else if (ch == 't')
			p.timeout_ms = (unsigned int)atoi(optarg);
		else if (ch == 'v')
			log_set_level(LOG_LEVEL_DEBUG);
		else
			exit(2);
	}
	if (optind + 1 != argc)
		errx(2, "usage: rlink_drive [-v] [-p password] "
		    "[-t timeout_ms] [-c channel]... URL");
	if (rlinkurl_parse(argv[optind], &url, err, sizeof err) == -1)
		errx(2, "bad URL: %s", err);
	p.url = &url;
	l = rlink_new(d->base, &p, &cbs, d);
	explicit_bzero(&url, sizeof url);
	for (i = 0; i < nchannels; i++)
		rlink_subscribe(l, channels[i]);
	return l;
}

int
main(int argc, char **argv)
{
	struct drive	d;

	memset(&d, 0, sizeof d);
	signal(SIGPIPE, SIG_IGN);	/* as the daemon: rlink.h says why */
	if ((d.base = event_base_new()) == NULL)
		errx(1, "event_base_new failed");
	d.link = drive_link(&d, argc, argv);
	d.script = rlink_script_new(drive_script_text);
	d.in = evbuffer_new();
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	d.stdin_ev = event_new(d.base, STDIN_FILENO, EV_READ | EV_PERSIST,
	    drive_stdin_cb, &d);
	event_add(d.stdin_ev, NULL);
	event_base_dispatch(d.base);
	drive_free_link(&d);
	event_free(d.stdin_ev);
	evbuffer_free(d.in);
	rlink_script_free(d.script);
	event_base_free(d.base);
	return 0;
}
