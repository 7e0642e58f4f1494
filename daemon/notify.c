/* SPDX-License-Identifier: ISC */
/*
 * notify: speak sd_notify(3) natively.  The protocol is one datagram of
 * "KEY=value" lines on an AF_UNIX socket whose address systemd passes in
 * $NOTIFY_SOCKET, so no library is needed and the daemon behaves the same
 * built with or without libsystemd.  The watchdog pings come from a
 * persistent timer on the daemon's own event loop at half of
 * $WATCHDOG_USEC: they stop when the loop stops turning, which is what the
 * watchdog is for.  Sending is best effort: a lost datagram is logged at
 * debug level and never stops the daemon.  The module does not read
 * libsystemd's other variables (LISTEN_FDS) and does not fork.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "notify.h"

/* The socket and the watchdog timer; fd -1 when not under systemd. */
static struct {
	int			 fd;
	struct sockaddr_un	 sun;
	socklen_t		 sunlen;
	struct event		*watchdog;
} notify = { .fd = -1 };

static int	notify_address(const char *name);
static uint64_t	notify_watchdog_usec(void);
static void	notify_send(const char *msg);
static void	notify_watchdog_cb(evutil_socket_t fd, short what, void *arg);

/* Fill notify.sun from name (a path or "@abstract"); -1 if unusable. */
static int
notify_address(const char *name)
{
	size_t	len = strlen(name);

	if ((name[0] != '/' && name[0] != '@') || len < 2 ||
	    len >= sizeof notify.sun.sun_path)
		return -1;
	memset(&notify.sun, 0, sizeof notify.sun);
	notify.sun.sun_family = AF_UNIX;
	memcpy(notify.sun.sun_path, name, len);
	notify.sunlen = offsetof(struct sockaddr_un, sun_path) + len;
	if (name[0] == '@')
		notify.sun.sun_path[0] = '\0';	/* abstract: no trailing NUL */
	else
		notify.sunlen++;
	return 0;
}

/* Return the watchdog interval asked of this process, or 0 for none. */
static uint64_t
notify_watchdog_usec(void)
{
	const char		*s, *pid;
	char			*end;
	unsigned long long	 usec;

	if ((s = getenv("WATCHDOG_USEC")) == NULL || *s == '\0')
		return 0;
	pid = getenv("WATCHDOG_PID");
	if (pid != NULL && *pid != '\0' &&
	    strtoll(pid, NULL, 10) != (long long)getpid())
		return 0;		/* meant for another process */
	errno = 0;
	usec = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || usec == 0)
		return 0;
	return usec;
}

/* Read the environment, open the socket and arm the watchdog timer. */
void
notify_init(struct event_base *base)
{
	const char	*name;
	struct timeval	 tv;
	uint64_t	 usec;

	if ((name = getenv("NOTIFY_SOCKET")) == NULL || *name == '\0')
		return;
	if (notify_address(name) == -1) {
		log_warnx("NOTIFY_SOCKET: unusable address, ignored");
		return;
	}
	notify.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (notify.fd == -1) {
		log_warn("NOTIFY_SOCKET: socket");
		return;
	}
	if ((usec = notify_watchdog_usec()) == 0)
		return;
	usec /= 2;
	tv.tv_sec = usec / 1000000;
	tv.tv_usec = usec % 1000000;
	notify.watchdog = event_new(base, -1, EV_PERSIST, notify_watchdog_cb,
	    NULL);
	if (notify.watchdog == NULL)
		fatalx("%s: out of memory", __func__);
	evtimer_add(notify.watchdog, &tv);
	log_debug("watchdog: a ping every %" PRIu64 " us", usec);
}

/* Send msg as one datagram; a failure is logged and otherwise ignored. */
static void
notify_send(const char *msg)
{
	if (notify.fd == -1)
		return;
	if (sendto(notify.fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&notify.sun, notify.sunlen) == -1)
		log_debug("NOTIFY_SOCKET: sendto: %s", strerror(errno));
}

/* evtimer: the loop still turns; tell the watchdog. */
static void
notify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_send("WATCHDOG=1");
}

/* Tell the service manager that start-up or a reload is complete. */
void
notify_ready(void)
{
	notify_send("READY=1");
}

/* Tell it that a reload began, with the time systemd 253+ checks. */
void
notify_reloading(void)
{
	struct timespec	 ts;
	char		 msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

/* Tell it that the daemon is stopping. */
void
notify_stopping(void)
{
	notify_send("STOPPING=1");
}

/* Send a free-form STATUS= line (truncated to one datagram's worth). */
void
notify_status(const char *status)
{
	char	msg[256];

	snprintf(msg, sizeof msg, "STATUS=%s", status);
	notify_send(msg);
}

/* Stop the watchdog timer and close the socket; before event_base_free. */
void
notify_free(void)
{
	if (notify.watchdog != NULL) {
		event_free(notify.watchdog);
		notify.watchdog = NULL;
	}
	if (notify.fd != -1) {
		close(notify.fd);
		notify.fd = -1;
	}
}
