/* SPDX-License-Identifier: ISC */
/*
 * rlink: the daemon's link to the shared-limits Redis (SPEC 14), on the
 * daemon's event loop, through hiredis's asynchronous API.
 *
 * A link is two connections to one server: one for commands and scripts,
 * and one that only subscribes, since on RESP2 a subscribed connection can
 * send nothing else.  After each connect the link sends AUTH when it has a
 * password, SELECT when the database is not 0 and PING on the command
 * connection, and AUTH and one SUBSCRIBE per channel given to
 * rlink_subscribe() on the other; it is up once all of that is answered.
 * Any failure takes the whole link down: a refused connect, an error on a
 * socket, an error reply to that handshake, or a reply that has not come
 * within timeout_ms.  Then every call in flight fails, both connections
 * are closed, and the link connects again after a backoff (100 ms,
 * doubling to 5 s, with jitter), again and again until it is freed.  The
 * up and down callbacks report changes: down once per outage (also when
 * the very first connect fails), up once when the link is back.
 *
 * Nothing blocks the loop: the address is numeric (rlinkurl.h explains
 * why) and every call is bounded by the link's own timer, since hiredis
 * 0.14 has no timeouts.  Every callback, a call's or the link's, runs
 * from the link's own event on a later loop turn: never from inside a
 * hiredis callback, never from inside the rlink_* function that made the
 * call.  So a callback may call any rlink_* function, rlink_free()
 * included.  hiredis writes with write(2): the process must ignore
 * SIGPIPE (the daemon does), or a server that closed first kills it.
 */
#ifndef RLINK_H
#define RLINK_H

#include <stddef.h>

#include "rlinkurl.h"

struct event_base;
struct redisReply;
struct rlink;
struct rlink_script;

struct rlink_params {
	const struct rlinkurl	*url;		/* copied */
	const char		*password;	/* NULL: the URL's, if any;
						   copied, never logged */
	unsigned int		 timeout_ms;	/* per call, and per connect
						   with its handshake */
	const char		*label;		/* names the link in logs */
};

/* The link is up: calls are sent. */
typedef void	rlink_up_cb(void *arg);
/* The link is down (calls fail at once); why names the failure. */
typedef void	rlink_down_cb(void *arg, const char *why);
/* A message was published on a channel the link subscribes to. */
typedef void	rlink_message_cb(void *arg, const char *channel,
		    const char *payload, size_t len);

struct rlink_cbs {
	rlink_up_cb		*up;		/* each may be NULL */
	rlink_down_cb		*down;
	rlink_message_cb	*message;
};

/*
 * A call's end, exactly once: reply is what Redis answered (an error reply
 * too), valid until the callback returns; or reply is NULL and why says
 * what happened instead: the link was down, the call (or another in
 * flight) timed out, the connection failed, or "link freed".  why never
 * holds a credential.
 */
typedef void	rlink_reply_cb(void *arg, const struct redisReply *reply,
		    const char *why);

/*
 * Return a link to p->url on base that starts connecting on the next loop
 * turn and keeps connecting until freed; the callbacks get arg.
 */
struct rlink	*rlink_new(struct event_base *base,
		    const struct rlink_params *p, const struct rlink_cbs *cbs,
		    void *arg);
/*
 * Free l (accepts NULL): every call not yet ended ends now, with reply
 * NULL and why "link freed", from inside this function; such a callback
 * must not make calls on l.  Pending up, down and message callbacks are
 * dropped.  Safe from inside any of l's callbacks.
 */
void		 rlink_free(struct rlink *l);
/* Return 1 if l is up (its up callback may still be on its way). */
int		 rlink_is_up(const struct rlink *l);

/*
 * Subscribe to channel, now if the link is up and after every connect;
 * its messages go to the message callback.  Once per channel is enough.
 */
void		 rlink_subscribe(struct rlink *l, const char *channel);

/*
 * Send one command, argv[0..argc) (argvlen NULL: C strings), on the
 * command connection; cb (may be NULL) gets the reply.  Commands that
 * change the connection's state under the link are refused (the
 * subscribe family, MONITOR, CLIENT, HELLO, RESET, SELECT, QUIT): their
 * replies would break the order the link counts on, or later calls would
 * run elsewhere.
 */
void		 rlink_command_argv(struct rlink *l, int argc,
		    const char **argv, const size_t *argvlen,
		    rlink_reply_cb *cb, void *arg);

/* Return a script of text, with its SHA-1 computed once, here. */
struct rlink_script *rlink_script_new(const char *text);
/* Free s (accepts NULL); no call made with s may be in flight. */
void		 rlink_script_free(struct rlink_script *s);
/* Return the SHA-1 that names s on the server, 40 hex digits. */
const char	*rlink_script_sha(const struct rlink_script *s);

/*
 * Run s with EVALSHA: args[0..nkeys) are its KEYS, args[nkeys..nargs)
 * its ARGV (argslen NULL: C strings).  On a NOSCRIPT error (a restart, a
 * failover, SCRIPT FLUSH) the link loads s and sends the call once more,
 * unseen by the caller (one SCRIPT LOAD serves the calls that were in
 * flight with it); the second try is again bounded by timeout_ms.  s
 * must outlive the call.
 */
void		 rlink_eval(struct rlink *l, const struct rlink_script *s,
		    int nkeys, int nargs, const char **args,
		    const size_t *argslen, rlink_reply_cb *cb, void *arg);

#endif /* RLINK_H */
