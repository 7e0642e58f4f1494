/* SPDX-License-Identifier: ISC */
/*
 * top: the loop behind `llmproxyctl top`.
 *
 * Plain ANSI (VT100) sequences rather than curses: the view is redrawn
 * whole once a second from the top-left corner, each line erased to its
 * end, which every terminal and ssh client of the last decades follows
 * without a terminfo lookup, costs under 2 KiB a second over a slow link,
 * and shares its renderer (view.c) with the plain output used when
 * standard output is not a terminal.  Keys are read from a terminal in
 * non-canonical mode; SIGINT, SIGTERM and SIGHUP end the loop and
 * SIGWINCH redraws at the new size, both through flags the poll() wait
 * notices (no work in signal handlers).  A failed GET is shown as such,
 * the readings kept for rates are dropped (the daemon may have
 * restarted), and the next second tries again.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "snap.h"
#include "top.h"
#include "view.h"
#include "xmalloc.h"

#define TOP_KEEP	(VIEW_WAIT_WINDOW_S + 1)	/* one a second */
#define TOP_TIMEOUT_MS	2000
#define TOP_ENTER	"\033[?1049h\033[?25l"	/* alternate screen */
#define TOP_LEAVE	"\033[?25h\033[?1049l"

struct top {
	struct fetch	*f;
	const char	*url;
	struct snap	*ring[TOP_KEEP];	/* oldest first */
	size_t		 n;
	char		 problem[512];
	enum fetch_result result;
	long		 failures;
	int		 tty_out;
	int		 tty_in;
	int		 colour;
	struct termios	 saved;		/* the terminal as we found it */
};

static volatile sig_atomic_t	top_quit, top_resized;

static void	top_signal(int sig);
static double	top_now(void);
static void	top_keep(struct top *t, struct snap *s);
static void	top_forget(struct top *t);
static void	top_sample(struct top *t);
static void	top_write(const char *s, size_t len);
static void	top_draw(struct top *t);
static void	top_paint(char *text);
static int	top_wait(struct top *t, double until);
static void	top_setup(struct top *t);
static void	top_restore(struct top *t);

/* Signal handler: note what came; the loop acts on it. */
static void
top_signal(int sig)
{
	if (sig == SIGWINCH)
		top_resized = 1;
	else
		top_quit = 1;
}

/* Return the monotonic clock in seconds. */
static double
top_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Add a reading; the oldest goes once TOP_KEEP are kept.  Takes s. */
static void
top_keep(struct top *t, struct snap *s)
{
	if (t->n == TOP_KEEP) {
		snap_free(t->ring[0]);
		memmove(t->ring, t->ring + 1, (TOP_KEEP - 1) * sizeof *t->ring);
		t->n--;
	}
	t->ring[t->n++] = s;
}

/* Drop every reading. */
static void
top_forget(struct top *t)
{
	while (t->n > 0)
		snap_free(t->ring[--t->n]);
}

/* GET /status and /metrics; keep the reading or say why there is none. */
static void
top_sample(struct top *t)
{
	struct fetch_reply	 r;
	struct snap		*s;
	char			 why[256];

	t->result = fetch_get(t->f, "/status", &r, t->problem,
	    sizeof t->problem);
	if (t->result == FETCH_OK && (s = snap_parse(r.body, r.len,
	    t->problem, sizeof t->problem)) == NULL)
		t->result = FETCH_REFUSED;
	if (t->result != FETCH_OK) {
		t->failures++;
		top_forget(t);
		return;
	}
	s->t_s = top_now();
	/* Without /metrics the view lacks only the wait percentiles. */
	if (fetch_get(t->f, "/metrics", &r, why, sizeof why) == FETCH_OK)
		snap_add_metrics(s, r.body);
	t->problem[0] = '\0';
	t->failures = 0;
	top_keep(t, s);
}

/* Write all of s to standard output. */
static void
top_write(const char *s, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(STDOUT_FILENO, s, len)) == -1) {
			if (errno == EINTR)
				continue;
			top_quit = 1;	/* the terminal is gone */
			return;
		}
		s += n;
		len -= n;
	}
}

/* Draw one frame: over the whole window, or as plain lines. */
static void
top_draw(struct top *t)
{
	struct view_in	 in;
	struct winsize	 ws;
	char		*text;
	size_t		 len;

	memset(&in, 0, sizeof in);
	in.url = t->url;
	in.cur = t->n > 0 ? t->ring[t->n - 1] : NULL;
	in.prev = t->n > 1 ? t->ring[t->n - 2] : NULL;
	in.old = t->n > 1 ? t->ring[0] : NULL;
	in.problem = t->problem[0] != '\0' ? t->problem : NULL;
	in.unreachable = t->result == FETCH_UNREACHABLE;
	in.failures = t->failures;
	in.wall_s = (double)time(NULL);
	in.width = 80;
	in.colour = t->colour;
	in.interactive = t->tty_in && t->tty_out;
	if (t->tty_out && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col > 0 && ws.ws_row > 0) {
		in.width = ws.ws_col;
		in.height = ws.ws_row;
	} else if (t->tty_out)
		in.height = 24;
	text = view_render(&in, &len);
	if (t->tty_out)
		top_paint(text);
	else {
		top_write(text, len);
		top_write("\n", 1);	/* a blank line between frames */
	}
	free(text);
}

/* Paint a frame over the window from its top-left corner. */
static void
top_paint(char *text)
{
	char	*line, *next;

	top_write("\033[H", 3);
	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		top_write(line, strlen(line));
		top_write("\033[K", 3);		/* the rest of the old line */
		if (next != NULL)
			top_write("\r\n", 2);
	}
	top_write("\033[J", 3);			/* the old lines below */
}

/* Wait until the monotonic time until, reading keys; 1: redraw now. */
static int
top_wait(struct top *t, double until)
{
	struct pollfd	pfd = { STDIN_FILENO, POLLIN, 0 };
	double		left;
	char		buf[64];
	ssize_t		n, i;

	while (!top_quit && (left = until - top_now()) > 0) {
		if (top_resized) {
			top_resized = 0;
			return 1;
		}
		if (poll(&pfd, t->tty_in ? 1 : 0, (int)(left * 1000) + 1) <= 0)
			continue;		/* timeout, or EINTR */
		if ((n = read(STDIN_FILENO, buf, sizeof buf)) <= 0) {
			if (n == 0 || (errno != EINTR && errno != EAGAIN))
				top_quit = 1;	/* the terminal hung up */
			continue;
		}
		for (i = 0; i < n; i++)
			if (buf[i] == 'q' || buf[i] == 'Q')
				top_quit = 1;
	}
	return 0;
}

/* Take the terminal: keys one at a time, no echo, alternate screen. */
static void
top_setup(struct top *t)
{
	struct sigaction	sa;
	struct termios		raw;
	const char		*nc = getenv("NO_COLOR");

	t->tty_out = isatty(STDOUT_FILENO);
	t->tty_in = isatty(STDIN_FILENO) &&
	    tcgetattr(STDIN_FILENO, &t->saved) == 0;
	t->colour = t->tty_out && (nc == NULL || *nc == '\0');
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = top_signal;	/* no SA_RESTART: poll() wakes */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	if (t->tty_in) {
		raw = t->saved;
		raw.c_lflag &= ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	if (t->tty_out)
		top_write(TOP_ENTER, strlen(TOP_ENTER));
}

/* Give the terminal back as it was. */
static void
top_restore(struct top *t)
{
	if (t->tty_out)
		top_write(TOP_LEAVE, strlen(TOP_LEAVE));
	if (t->tty_in)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
}

int
top_run(const char *url, const char *token, long frames)
{
	struct top	t;
	double		next;
	long		drawn = 0;

	memset(&t, 0, sizeof t);
	t.url = url;
	t.f = fetch_new(url, token, TOP_TIMEOUT_MS);
	top_setup(&t);
	next = top_now();
	while (!top_quit) {
		top_sample(&t);
		top_draw(&t);
		if (frames > 0 && ++drawn >= frames)
			break;
		/* Keep a one-second beat; after a slow GET, start again. */
		if ((next += 1.0) < top_now())
			next = top_now() + 1.0;
		while (top_wait(&t, next) == 1)
			top_draw(&t);
	}
	top_restore(&t);
	top_forget(&t);
	fetch_free(t.f);
	return frames > 0 ? (int)t.result : 0;
}
