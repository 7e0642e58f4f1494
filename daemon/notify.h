/* SPDX-License-Identifier: ISC */
/*
 * notify: the sd_notify protocol without libsystemd.  Each state change is
 * one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or
 * an abstract name written "@name"); without that variable every call does
 * nothing.  When $WATCHDOG_USEC is set (and $WATCHDOG_PID, if set, is this
 * process), an event-loop timer sends WATCHDOG=1 at half that interval, so
 * a loop that stops turning stops the pings.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

struct event_base;

/* Read the environment, open the socket and arm the watchdog timer. */
void	notify_init(struct event_base *base);
/* Tell the service manager that start-up or a reload is complete. */
void	notify_ready(void);
/* Tell it that a reload began (RELOADING=1 and MONOTONIC_USEC). */
void	notify_reloading(void);
/* Tell it that the daemon is stopping. */
void	notify_stopping(void);
/* Send a free-form STATUS= line. */
void	notify_status(const char *status);
/* Stop the watchdog timer and close the socket; before event_base_free. */
void	notify_free(void);

#endif /* NOTIFY_H */
