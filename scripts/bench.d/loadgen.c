/* SPDX-License-Identifier: ISC */

/*
 * loadgen: the load clients of scripts/bench, on one epoll loop.
 *
 *   loadgen -m conns ...	N connections, all held at once, each
 *				sending -S requests in turn (default 1):
 *				the next one on the same kept-alive socket
 *				as soon as the previous answer ended, as
 *				SDKs reuse their pooled connections (streams:
 *				scenario B; queued requests: scenario Q).
 *				Measures time to first byte, the gaps
 *				between SSE events as they arrive, and how
 *				many answers came back intact.
 *   loadgen -m open ...	open loop: requests at a fixed rate, each
 *				sent on schedule whatever the answers do
 *				(on a free keep-alive connection, else a new
 *				one), its latency counted from the time it
 *				was scheduled, so a stall is not hidden
 *				(no coordinated omission).  Scenario C.
 *
 * -R spreads the opening of the connections over time (so many streams
 * do not all start, and tick, in the same millisecond).
 *
 * It prints "key=value" lines; times are in microseconds.  It speaks only
 * HTTP/1.1 to a numeric IPv4 address, reads Content-Length, chunked and
 * close-delimited bodies, and gives up at its deadline (-t) whatever is
 * left.  It is a benchmark tool, not part of the daemon.
 */

#define _GNU_SOURCE

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LG_HEAD_MAX	8192
#define LG_EVENTS	1024
#define LG_READ_BYTES	65536

enum lg_state {
	ST_CONNECTING, ST_IDLE, ST_HEAD, ST_BODY_CL, ST_CHUNK_SIZE,
	ST_CHUNK_DATA, ST_CHUNK_CRLF, ST_TRAILER, ST_BODY_EOF, ST_DONE
};

struct lg_conn {
	int		 fd;
	enum lg_state	 st;
	int		 status;
	int		 keep;		/* server keeps the connection */
	uint64_t	 sched_us;	/* when the request was due */
	uint64_t	 sent_us;
	uint64_t	 last_ev_us;	/* last SSE event seen */
	long long	 remain;	/* body or chunk bytes left */
	long		 events;	/* SSE events ("\n\n") */
	long		 served;	/* conns mode: answers so far */
	int		 done_idx;	/* "[DONE]" matched so far */
	int		 saw_done;
	int		 got_first;
	char		 prev;		/* last body byte */
	size_t		 headlen;
	char		 head[LG_HEAD_MAX];
	struct lg_conn	*next_idle;
};

struct lg_samples {
	uint64_t	*v;
	size_t		 n, cap;
};

static struct {
	const char	*mode;
	const char	*addr;
	int		 port;
	const char	*path;
	long		 conns;		/* -n */
	long		 chunks;	/* -k */
	long		 interval_ms;	/* -i */
	long		 rate;		/* -r */
	double		 duration_s;	/* -d */
	double		 timeout_s;	/* -t */
	long		 connecting_max;	/* -C */
	long		 ramp;		/* -R: connections opened per second */
	long		 per_conn;	/* -S: requests per connection */
	int		 stream;	/* -s */
	char		*req;
	size_t		 reqlen;
	struct sockaddr_in sin;
	int		 ep;
	uint64_t	 t0;
	/* results */
	struct lg_samples ttfb, gap, lat;
	long		 ok, bad, intact, events, sent, errors, opened;
	long		 connecting, started;
	struct lg_conn	*idle;
	long		 backlog;	/* open loop: due, no connection yet */
	uint64_t	*backlog_sched;
	size_t		 backlog_head, backlog_cap;
	long		 nconns;
	long		 nidle;
} lg = {
	.mode = "conns", .addr = "127.0.0.1", .port = 0,
	.path = "/v1/chat/completions", .conns = 200, .chunks = 10,
	.interval_ms = 0, .rate = 2000, .duration_s = 10, .timeout_s = 60,
	.connecting_max = 256, .stream = 0, .per_conn = 1
};

static uint64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
samples_add(struct lg_samples *s, uint64_t v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		if ((s->v = realloc(s->v, s->cap * sizeof(*s->v))) == NULL)
			err(1, "realloc");
	}
	s->v[s->n++] = v;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Print name_p50, _p99, _p999, _max of s. */
static void
samples_print(const char *name, struct lg_samples *s)
{
	static const struct { const char *tag; double q; } qs[] = {
		{ "p50", 0.50 }, { "p99", 0.99 }, { "p999", 0.999 },
		{ "max", 1.0 }
	};
	size_t	i, k;

	printf("%s_n=%zu\n", name, s->n);
	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		k = (size_t)(qs[i].q * (double)s->n);
		if (k >= s->n)
			k = s->n - 1;
		printf("%s_%s=%llu\n", name, qs[i].tag,
		    (unsigned long long)s->v[k]);
	}
}

static void
build_request(void)
{
	char	body[512], extra[128] = "";
	int	n;

	n = snprintf(body, sizeof(body), "{\"model\":\"gpt-bench\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello to "
	    "the benchmark.\"}],\"max_tokens\":%ld,\"stream\":%s}",
	    lg.chunks, lg.stream ? "true" : "false");
	if (lg.stream)
		snprintf(extra, sizeof(extra), "x-mock-chunks: %ld\r\n"
		    "x-mock-interval-ms: %ld\r\n", lg.chunks, lg.interval_ms);
	if ((lg.req = malloc(2048)) == NULL)
		err(1, "malloc");
	lg.reqlen = (size_t)snprintf(lg.req, 2048, "POST %s HTTP/1.1\r\n"
	    "Host: %s:%d\r\nContent-Type: application/json\r\n"
	    "Accept: */*\r\nContent-Length: %d\r\n%s\r\n%s", lg.path, lg.addr,
	    lg.port, n, extra, body);
}

static void
conn_reset_response(struct lg_conn *c)
{
	c->st = ST_HEAD;
	c->status = 0;
	c->keep = 1;
	c->headlen = 0;
	c->events = 0;
	c->done_idx = 0;
	c->saw_done = 0;
	c->got_first = 0;
	c->prev = 0;
	c->last_ev_us = 0;
}

/* Write the request on c (small: one write is enough on loopback). */
static int
conn_send(struct lg_conn *c, uint64_t sched)
{
	ssize_t	n;

	conn_reset_response(c);
	c->sched_us = sched;
	c->sent_us = now_us();
	n = write(c->fd, lg.req, lg.reqlen);
	if (n != (ssize_t)lg.reqlen)
		return -1;
	lg.sent++;
	return 0;
}

static struct lg_conn *
conn_open(void)
{
	struct lg_conn		*c;
	struct epoll_event	 ev;
	int			 one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		err(1, "calloc");
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		err(1, "socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&lg.sin, sizeof(lg.sin)) == -1 &&
	    errno != EINPROGRESS)
		err(1, "connect");
	c->st = ST_CONNECTING;
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
	ev.data.ptr = c;
	if (epoll_ctl(lg.ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		err(1, "epoll_ctl");
	lg.connecting++;
	lg.opened++;
	lg.nconns++;
	return c;
}

static void
conn_free(struct lg_conn *c)
{
	struct lg_conn	**pp;

	if (c->st == ST_CONNECTING)
		lg.connecting--;
	if (c->st == ST_IDLE) {
		for (pp = &lg.idle; *pp != NULL; pp = &(*pp)->next_idle)
			if (*pp == c) {
				*pp = c->next_idle;
				lg.nidle--;
				break;
			}
	}
	close(c->fd);
	lg.nconns--;
	free(c);
}

/* Feed SSE bookkeeping with decoded body bytes. */
static void
body_bytes(struct lg_conn *c, const char *p, size_t n, uint64_t t,
    int *newev)
{
	static const char	done[] = "[DONE]";
	size_t			i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && c->prev == '\n') {
			c->events++;
			*newev = 1;
		}
		c->prev = p[i];
		if (p[i] == done[c->done_idx]) {
			if (++c->done_idx == 6) {
				c->saw_done = 1;
				c->done_idx = 0;
			}
		} else
			c->done_idx = p[i] == '[';
	}
	(void)t;
}

/* Parse the response head; return -1 if it is bad. */
static int
head_parse(struct lg_conn *c)
{
	char	*line, *end, *save = NULL;

	c->head[c->headlen] = '\0';
	if (strncmp(c->head, "HTTP/1.", 7) != 0)
		return -1;
	c->status = atoi(c->head + 9);
	if (c->head[7] == '0')
		c->keep = 0;
	c->st = ST_BODY_EOF;
	for (line = strtok_r(c->head, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		if (strncasecmp(line, "content-length:", 15) == 0) {
			c->remain = strtoll(line + 15, &end, 10);
			c->st = ST_BODY_CL;
		} else if (strncasecmp(line, "transfer-encoding:", 18) == 0 &&
		    strcasestr(line, "chunked") != NULL) {
			c->st = ST_CHUNK_SIZE;
			c->remain = 0;
		} else if (strncasecmp(line, "connection:", 11) == 0 &&
		    strcasestr(line, "close") != NULL)
			c->keep = 0;
	}
	if (c->st == ST_BODY_EOF)
		c->keep = 0;
	if (c->st == ST_BODY_CL && c->remain == 0)
		c->st = ST_DONE;
	c->headlen = 0;
	return 0;
}

/* Run the response state machine over p; return -1 on a framing error. */
static int
resp_feed(struct lg_conn *c, const char *p, size_t n, uint64_t t, int *newev)
{
	size_t	take;
	char	*e;

	while (n > 0 && c->st != ST_DONE) {
		switch (c->st) {
		case ST_HEAD:
			if (c->headlen + 1 >= LG_HEAD_MAX)
				return -1;
			c->head[c->headlen++] = *p++;
			n--;
			if (c->headlen >= 4 && memcmp(c->head + c->headlen - 4,
			    "\r\n\r\n", 4) == 0 && head_parse(c) == -1)
				return -1;
			break;
		case ST_BODY_CL:
		case ST_CHUNK_DATA:
			take = (size_t)c->remain < n ? (size_t)c->remain : n;
			body_bytes(c, p, take, t, newev);
			p += take;
			n -= take;
			c->remain -= (long long)take;
			if (c->remain == 0)
				c->st = c->st == ST_BODY_CL ? ST_DONE :
				    ST_CHUNK_CRLF;
			break;
		case ST_BODY_EOF:
			body_bytes(c, p, n, t, newev);
			n = 0;
			break;
		case ST_CHUNK_SIZE:
		case ST_CHUNK_CRLF:
		case ST_TRAILER:
			if (c->headlen + 1 >= 64)
				return -1;
			c->head[c->headlen++] = *p++;
			n--;
			if (c->head[c->headlen - 1] != '\n')
				break;
			c->head[c->headlen] = '\0';
			if (c->st == ST_CHUNK_CRLF) {
				c->st = ST_CHUNK_SIZE;
			} else if (c->st == ST_TRAILER) {
				if (c->headlen <= 2)
					c->st = ST_DONE;
			} else {
				c->remain = strtoll(c->head, &e, 16);
				if (e == c->head || c->remain < 0)
					return -1;
				c->st = c->remain == 0 ? ST_TRAILER :
				    ST_CHUNK_DATA;
			}
			c->headlen = 0;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* One answer is complete (or broken, ok = 0): count it. */
static void
resp_end(struct lg_conn *c, uint64_t t, int ok)
{
	int	intact;

	if (!ok || c->status != 200) {
		lg.bad++;
		return;
	}
	lg.ok++;
	if (strcmp(lg.mode, "open") == 0)
		samples_add(&lg.lat, t - c->sched_us);
	intact = !lg.stream || (c->saw_done && c->events >= lg.chunks + 1);
	if (intact)
		lg.intact++;
	lg.events += c->events;
}

/* Open loop: give c the next due request, or park it as idle. */
static void
open_next(struct lg_conn *c)
{
	uint64_t	sched;

	if (lg.backlog > 0) {
		sched = lg.backlog_sched[lg.backlog_head++ % lg.backlog_cap];
		lg.backlog--;
		if (conn_send(c, sched) == 0)
			return;
		lg.errors++;
		conn_free(c);
		return;
	}
	c->st = ST_IDLE;
	c->next_idle = lg.idle;
	lg.idle = c;
	lg.nidle++;
}

/*
 * Conns mode: c's answer ended.  Send its next request on the same
 * socket; if the server closes it (it said so), on a fresh connection.
 */
static void
conns_next(struct lg_conn *c, uint64_t t)
{
	long	served = c->served + 1;

	if (served >= lg.per_conn) {
		conn_free(c);
		return;
	}
	if (!c->keep) {
		conn_free(c);
		conn_open()->served = served;
		return;
	}
	c->served = served;
	if (conn_send(c, t) == -1) {
		lg.errors++;
		conn_free(c);
	}
}

static void
conn_failed(struct lg_conn *c, uint64_t t)
{
	if (c->st != ST_IDLE && c->st != ST_CONNECTING)
		resp_end(c, t, c->st == ST_BODY_EOF);
	else if (c->st == ST_CONNECTING)
		lg.errors++;
	conn_free(c);
	if (strcmp(lg.mode, "open") == 0 && lg.backlog > 0 &&
	    lg.nconns < lg.conns)
		conn_open();
}

/* Read what c has; finish its answer when it is complete. */
static void
conn_read(struct lg_conn *c, uint64_t t)
{
	static char	buf[LG_READ_BYTES];
	ssize_t		n;
	int		newev = 0;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			conn_failed(c, t);
			return;
		}
		if (n == -1)
			break;
		if (!c->got_first) {
			c->got_first = 1;
			if (strcmp(lg.mode, "conns") == 0)
				samples_add(&lg.ttfb, t - c->sent_us);
		}
		if (c->st == ST_IDLE || resp_feed(c, buf, (size_t)n, t,
		    &newev) == -1) {
			lg.bad++;
			conn_free(c);
			return;
		}
		if (c->st == ST_DONE)
			break;
		if (n < (ssize_t)sizeof(buf))
			break;
	}
	if (newev && lg.stream) {
		if (c->last_ev_us != 0)
			samples_add(&lg.gap, t - c->last_ev_us);
		c->last_ev_us = t;
	}
	if (c->st != ST_DONE)
		return;
	resp_end(c, t, 1);
	if (strcmp(lg.mode, "open") != 0)
		conns_next(c, t);
	else if (c->keep)
		open_next(c);
	else
		conn_free(c);
}

/* The connect finished: send, or wait idle for the next request. */
static void
conn_connected(struct lg_conn *c, uint64_t t)
{
	struct epoll_event	ev;
	int			e = 0;
	socklen_t		len = sizeof(e);

	lg.connecting--;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1 || e) {
		c->st = ST_IDLE;
		lg.errors++;
		conn_free(c);
		return;
	}
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	epoll_ctl(lg.ep, EPOLL_CTL_MOD, c->fd, &ev);
	if (strcmp(lg.mode, "open") == 0) {
		open_next(c);
		return;
	}
	if (conn_send(c, t) == -1) {
		lg.errors++;
		c->st = ST_IDLE;
		conn_free(c);
	}
}

static void
conn_event(struct lg_conn *c, uint32_t events, uint64_t t)
{
	if (c->st == ST_CONNECTING) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_connected(c, t);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		conn_read(c, t);
}

/* Open loop: schedule request due at sched now or as soon as possible. */
static void
open_due(uint64_t sched, long maxconns)
{
	struct lg_conn	*c;

	if ((c = lg.idle) != NULL) {
		lg.idle = c->next_idle;
		lg.nidle--;
		if (conn_send(c, sched) == -1) {
			lg.errors++;
			conn_free(c);
		}
		return;
	}
	if (lg.backlog == (long)lg.backlog_cap) {
		lg.errors++;		/* far behind: drop, and count it */
		return;
	}
	lg.backlog_sched[(lg.backlog_head + (size_t)lg.backlog) %
	    lg.backlog_cap] = sched;
	lg.backlog++;
	if (lg.nconns < maxconns)
		conn_open();
}

static void
arm_timer(int tfd, uint64_t at_us)
{
	struct itimerspec	its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(at_us / 1000000);
	its.it_value.tv_nsec = (long)(at_us % 1000000) * 1000;
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
		err(1, "timerfd_settime");
}

static void
run_loop(void)
{
	struct epoll_event	 evs[LG_EVENTS];
	struct epoll_event	 tev;
	uint64_t		 t, deadline, end_send = 0, next = 0, period = 0;
	long			 i, n, due = 0, allowed;
	int			 tfd, open_mode = strcmp(lg.mode, "open") == 0;
	static int		 tfd_tag;

	lg.t0 = now_us();
	deadline = lg.t0 + (uint64_t)(lg.timeout_s * 1e6);
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)) == -1)
		err(1, "timerfd_create");
	tev.events = EPOLLIN;
	tev.data.ptr = &tfd_tag;
	epoll_ctl(lg.ep, EPOLL_CTL_ADD, tfd, &tev);
	if (open_mode) {
		period = 1000000 / (uint64_t)lg.rate;
		next = lg.t0 + 1000;
		end_send = lg.t0 + (uint64_t)(lg.duration_s * 1e6);
		arm_timer(tfd, next);
	}
	for (;;) {
		t = now_us();
		if (!open_mode) {
			allowed = lg.ramp > 0 ? (long)((t - lg.t0) *
			    (uint64_t)lg.ramp / 1000000) + 1 : lg.conns;
			while (lg.started < lg.conns && lg.started < allowed &&
			    lg.connecting < lg.connecting_max) {
				conn_open();
				lg.started++;
			}
			if (lg.started == lg.conns && lg.nconns == 0)
				break;
		} else {
			while (next <= t && next < end_send) {
				open_due(next, lg.conns);
				due++;
				next += period;
			}
			if (next >= end_send && lg.backlog == 0 &&
			    lg.nconns == lg.nidle)
				break;
			if (next < end_send)
				arm_timer(tfd, next);
		}
		if (t >= deadline)
			break;
		n = epoll_wait(lg.ep, evs, LG_EVENTS, !open_mode &&
		    lg.started < lg.conns ? 1 : 100);
		t = now_us();
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &tfd_tag) {
				uint64_t	x;

				if (read(tfd, &x, sizeof(x)) < 0)
					continue;
				continue;
			}
			conn_event(evs[i].data.ptr, evs[i].events, t);
		}
	}
	printf("elapsed_us=%llu\n", (unsigned long long)(now_us() - lg.t0));
	if (open_mode)
		printf("scheduled=%ld\n", due);
	close(tfd);
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen -m conns|open -p port [-a addr] "
	    "[-P path] [-n conns] [-s] [-k chunks] [-i interval_ms]\n"
	    "\t[-r rate] [-d seconds] [-t timeout_s] [-C connecting_max] "
	    "[-R conns_per_s] [-S requests_per_conn]\n");
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	int	ch;

	while ((ch = getopt(argc, argv, "a:C:d:i:k:m:n:p:P:r:R:S:st:")) !=
	    -1) {
		switch (ch) {
		case 'a': lg.addr = optarg; break;
		case 'C': lg.connecting_max = atol(optarg); break;
		case 'd': lg.duration_s = atof(optarg); break;
		case 'i': lg.interval_ms = atol(optarg); break;
		case 'k': lg.chunks = atol(optarg); break;
		case 'm': lg.mode = optarg; break;
		case 'n': lg.conns = atol(optarg); break;
		case 'p': lg.port = atoi(optarg); break;
		case 'P': lg.path = optarg; break;
		case 'r': lg.rate = atol(optarg); break;
		case 'R': lg.ramp = atol(optarg); break;
		case 's': lg.stream = 1; break;
		case 'S': lg.per_conn = atol(optarg); break;
		case 't': lg.timeout_s = atof(optarg); break;
		default: usage();
		}
	}
	if (lg.port <= 0 || lg.conns <= 0 || lg.rate <= 0 ||
	    lg.per_conn <= 0 ||
	    lg.connecting_max <= 0 || (strcmp(lg.mode, "conns") != 0 &&
	    strcmp(lg.mode, "open") != 0))
		usage();
}

int
main(int argc, char **argv)
{
	struct rlimit	rl;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	lg.sin.sin_family = AF_INET;
	lg.sin.sin_port = htons((uint16_t)lg.port);
	if (inet_pton(AF_INET, lg.addr, &lg.sin.sin_addr) != 1)
		errx(2, "bad address %s", lg.addr);
	build_request();
	lg.backlog_cap = (size_t)lg.rate * 10 + 1024;
	if ((lg.backlog_sched = calloc(lg.backlog_cap, sizeof(uint64_t))) ==
	    NULL)
		err(1, "calloc");
	if ((lg.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	run_loop();
	printf("ok=%ld\nbad=%ld\nerrors=%ld\nintact=%ld\nevents=%ld\n"
	    "sent=%ld\nopened=%ld\nunfinished=%ld\n", lg.ok, lg.bad,
	    lg.errors, lg.intact, lg.events, lg.sent, lg.opened, lg.nconns -
	    lg.nidle);
	samples_print("ttfb", &lg.ttfb);
	samples_print("gap", &lg.gap);
	samples_print("lat", &lg.lat);
	return 0;
}
