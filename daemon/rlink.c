/* SPDX-License-Identifier: ISC */
/*
 * rlink: the link's calls, state and callbacks; rconn.c runs each of its
 * two connections.
 *
 * A call is queued on the command connection's FIFO when sent and moved
 * to the link's "done" list when it ends, with a copy of its reply (the
 * owner's callbacks run from the dispatch event, after hiredis has freed
 * its reply; copying a six-element array costs less than waking up for
 * it, and it keeps all of the owner's code out of hiredis's stack, where
 * freeing the link would free a context hiredis is still using).  The
 * up, down and message notes go through the same list, so the owner sees
 * everything in the order it happened.
 *
 * A failure anywhere is one rlink_fail(): both connections close, every
 * call in flight ends with its why, and the retry timer runs.  The state
 * the owner was told (up or down) is kept apart from the link's, so that
 * the owner hears of a change once however many connects fail meanwhile.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "log.h"
#include "rlinkint.h"
#include "xmalloc.h"

/* Reconnect backoff: doubles from the first to the last, with jitter. */
#define RLINK_BACKOFF_MIN_MS	100
#define RLINK_BACKOFF_MAX_MS	5000
/* A failure's description. */
#define RLINK_WHY_MAX		256

static void	rlink_cancel(struct rlink *l);
static void	rlink_destroy(struct rlink *l);
static int	rlink_takes_over(const char *name, size_t len);
static void	rlink_send(struct rlink *l, struct rcall *call);
static void	rlink_reply_free(redisReply *r);
static void	rlink_kick(struct rlink *l);
static void	rlink_note(struct rlink *l, enum rcall_kind kind,
		    const char *why);
static void	rlink_backoff(struct rlink *l);
static void	rlink_deliver(struct rlink *l, struct rcall *call);
static void	rlink_dispatch_cb(evutil_socket_t fd, short what, void *arg);
static void	rlink_retry_cb(evutil_socket_t fd, short what, void *arg);
static void	rlink_connecting_cb(evutil_socket_t fd, short what, void *arg);

/* Return a link to p->url on base that starts connecting next turn. */
struct rlink *
rlink_new(struct event_base *base, const struct rlink_params *p,
    const struct rlink_cbs *cbs, void *arg)
{
	struct rlink	*l;
	struct timeval	 now = { 0, 0 };

	l = xcalloc(1, sizeof *l);
	l->base = base;
	l->url = *p->url;
	explicit_bzero(l->url.password, sizeof l->url.password);
	if (p->password != NULL)
		l->password = xstrdup(p->password);
	else if (p->url->has_password)
		l->password = xstrdup(p->url->password);
	l->label = xstrdup(p->label != NULL ? p->label : "redis");
	rlinkurl_describe(&l->url, l->where, sizeof l->where);
	l->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : 1;
	if (cbs != NULL)
		l->cbs = *cbs;
	l->arg = arg;
	l->reported = -1;
	l->backoff_ms = RLINK_BACKOFF_MIN_MS;
	TAILQ_INIT(&l->done);
	TAILQ_INIT(&l->delivering);
	rconn_init(l, &l->cmd, "command", 0);
	rconn_init(l, &l->sub, "subscriber", 1);
	rlink_timer(&l->retry, base, rlink_retry_cb, l);
	rlink_timer(&l->connecting, base, rlink_connecting_cb, l);
	rlink_timer(&l->dispatch, base, rlink_dispatch_cb, l);
	evtimer_add(&l->retry, &now);
	return l;
}

/* Free l: what has not ended ends now, with "link freed". */
void
rlink_free(struct rlink *l)
{
	if (l == NULL || l->freeing)
		return;
	l->freeing = 1;
	log_debug("redis %s: freed", l->label);
	rconn_close(&l->cmd, "link freed");
	rconn_close(&l->sub, "link freed");
	rconn_reap(&l->cmd);
	rconn_reap(&l->sub);
	rlink_cancel(l);
	if (!l->dispatching)
		rlink_destroy(l);	/* else the dispatch event does */
}

/* End every call waiting for delivery, and those their callbacks make. */
static void
rlink_cancel(struct rlink *l)
{
	struct rcall	*call;

	for (;;) {
		TAILQ_CONCAT(&l->delivering, &l->done, entry);
		if ((call = TAILQ_FIRST(&l->delivering)) == NULL)
			break;
		TAILQ_REMOVE(&l->delivering, call, entry);
		if (call->kind == RCALL_USER && call->cb != NULL)
			call->cb(call->arg, NULL, "link freed");
		rlink_call_free(call);
	}
}

/* Free what is left of l once nothing of it is on the stack. */
static void
rlink_destroy(struct rlink *l)
{
	size_t	i;

	evtimer_del(&l->retry);
	evtimer_del(&l->connecting);
	evtimer_del(&l->dispatch);
	evtimer_del(&l->cmd.timer);
	evtimer_del(&l->cmd.start);
	evtimer_del(&l->sub.timer);
	evtimer_del(&l->sub.start);
	for (i = 0; i < l->nchannels; i++)
		free(l->channels[i]);
	free(l->channels);
	if (l->password != NULL) {
		explicit_bzero(l->password, strlen(l->password));
		free(l->password);
	}
	free(l->label);
	free(l);
}

/* Return 1 if l is up. */
int
rlink_is_up(const struct rlink *l)
{
	return l->state == RLINK_UP && !l->freeing;
}

/* Subscribe to channel, now if the subscriber is connected, and later. */
void
rlink_subscribe(struct rlink *l, const char *channel)
{
	const char	*argv[2] = { "SUBSCRIBE", channel };
	size_t		 i;

	if (l->freeing)
		return;
	for (i = 0; i < l->nchannels; i++) {
		if (strcmp(l->channels[i], channel) == 0)
			return;
	}
	l->channels = xreallocarray(l->channels, l->nchannels + 1,
	    sizeof *l->channels);
	l->channels[l->nchannels++] = xstrdup(channel);
	if (l->sub.started)
		rconn_step(&l->sub, "SUBSCRIBE", 2, argv);
}

/* Send argv on the command connection; cb gets the reply. */
void
rlink_command_argv(struct rlink *l, int argc, const char **argv,
    const size_t *argvlen, rlink_reply_cb *cb, void *arg)
{
	struct rcall	*call;
	int		 len;

	call = rlink_call_new(RCALL_USER, cb, arg);
	if (argc < 1) {
		rlink_finish(l, call, NULL, "no command");
		return;
	}
	if (rlink_takes_over(argv[0], argvlen != NULL ? argvlen[0] :
	    strlen(argv[0]))) {
		rlink_finish(l, call, NULL, "command refused: it would "
		    "change the connection's state");
		return;
	}
	if ((len = redisFormatCommandArgv(&call->cmd, argc, argv,
	    argvlen)) < 0)
		fatalx("%s: out of memory", __func__);
	call->cmdlen = (size_t)len;
	rlink_send(l, call);
}

/* Return 1 if the command name would break the connection's FIFO. */
static int
rlink_takes_over(const char *name, size_t len)
{
	static const char	*refused[] = { "subscribe", "psubscribe",
				    "ssubscribe", "unsubscribe", "punsubscribe",
				    "sunsubscribe", "monitor", "client",
				    "hello", "reset", "select", "quit" };
	size_t			 i;

	for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		if (strlen(refused[i]) == len &&
		    strncasecmp(name, refused[i], len) == 0)
			return 1;
	}
	return 0;
}

/* Return a script of text, named by its SHA-1. */
struct rlink_script *
rlink_script_new(const char *text)
{
	struct rlink_script	*s;

	s = xcalloc(1, sizeof *s);
	s->text = xstrdup(text);
	s->len = strlen(text);
	sha1_hex(s->text, s->len, s->sha);
	return s;
}

/* Free s; accepts NULL. */
void
rlink_script_free(struct rlink_script *s)
{
	if (s == NULL)
		return;
	free(s->text);
	free(s);
}

/* Return s's SHA-1 in hex. */
const char *
rlink_script_sha(const struct rlink_script *s)
{
	return s->sha;
}

/* Run s with EVALSHA; on NOSCRIPT load it and send again, once. */
void
rlink_eval(struct rlink *l, const struct rlink_script *s, int nkeys,
    int nargs, const char **args, const size_t *argslen, rlink_reply_cb *cb,
    void *arg)
{
	struct rcall	 *call;
	const char	**argv;
	size_t		 *argvlen;
	char		  nk[16];
	int		  i, len;

	call = rlink_call_new(RCALL_USER, cb, arg);
	if (nkeys < 0 || nargs < nkeys) {
		rlink_finish(l, call, NULL, "bad arguments");
		return;
	}
	argv = xreallocarray(NULL, (size_t)nargs + 3, sizeof *argv);
	argvlen = xreallocarray(NULL, (size_t)nargs + 3, sizeof *argvlen);
	snprintf(nk, sizeof nk, "%d", nkeys);
	argv[0] = "EVALSHA";
	argvlen[0] = strlen(argv[0]);
	argv[1] = s->sha;
	argvlen[1] = SHA1_HEX_LEN;
	argv[2] = nk;
	argvlen[2] = strlen(nk);
	for (i = 0; i < nargs; i++) {
		argv[i + 3] = args[i];
		argvlen[i + 3] = argslen != NULL ? argslen[i] : strlen(args[i]);
	}
	len = redisFormatCommandArgv(&call->cmd, nargs + 3, argv, argvlen);
	free(argv);
	free(argvlen);
	if (len < 0)
		fatalx("%s: out of memory", __func__);
	call->cmdlen = (size_t)len;
	call->script = s;
	rlink_send(l, call);
}

/* Send call's command on the command connection, or end it. */
static void
rlink_send(struct rlink *l, struct rcall *call)
{
	if (l->freeing) {
		rlink_finish(l, call, NULL, "link freed");
		return;
	}
	if (l->state != RLINK_UP || rconn_send(&l->cmd, call) == -1) {
		rlink_finish(l, call, NULL, "link down");
		return;
	}
	if (call->script == NULL) {
		redisFreeCommand(call->cmd);	/* never sent again */
		call->cmd = NULL;
	}
}

/* Return a call or note of kind for cb(arg). */
struct rcall *
rlink_call_new(enum rcall_kind kind, rlink_reply_cb *cb, void *arg)
{
	struct rcall	*call;

	call = xcalloc(1, sizeof *call);
	call->kind = kind;
	call->cb = cb;
	call->arg = arg;
	return call;
}

/* Free call and what it holds; accepts NULL. */
void
rlink_call_free(struct rcall *call)
{
	if (call == NULL)
		return;
	rlink_reply_free(call->reply);
	if (call->cmd != NULL)
		redisFreeCommand(call->cmd);
	free(call->why);
	free(call->channel);
	free(call->payload);
	free(call);
}

/* Return a deep copy of r, to outlive hiredis's. */
redisReply *
rlink_reply_dup(const redisReply *r)
{
	redisReply	*d;
	size_t		 i;

	d = xmalloc(sizeof *d);
	*d = *r;
	d->str = NULL;
	d->element = NULL;
	if (r->str != NULL) {
		d->str = xmalloc(r->len + 1);
		memcpy(d->str, r->str, r->len);
		d->str[r->len] = '\0';
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
		d->element = xreallocarray(NULL, r->elements,
		    sizeof *d->element);
		for (i = 0; i < r->elements; i++)
			d->element[i] = rlink_reply_dup(r->element[i]);
	}
	return d;
}

/* Free a copy made by rlink_reply_dup; accepts NULL. */
static void
rlink_reply_free(redisReply *r)
{
	size_t	i;

	if (r == NULL)
		return;
	if (r->element != NULL) {
		for (i = 0; i < r->elements; i++)
			rlink_reply_free(r->element[i]);
		free(r->element);
	}
	free(r->str);
	free(r);
}

/* Make ev a timer on base that calls fn(arg). */
void
rlink_timer(struct event *ev, struct event_base *base, event_callback_fn fn,
    void *arg)
{
	if (evtimer_assign(ev, base, fn, arg) == -1)
		fatalx("%s: evtimer_assign failed", __func__);
}

/* Have the dispatch event run on the next loop turn. */
static void
rlink_kick(struct rlink *l)
{
	struct timeval	now = { 0, 0 };

	/* A timer, not event_active: I/O is polled before it runs. */
	if (!evtimer_pending(&l->dispatch, NULL))
		evtimer_add(&l->dispatch, &now);
}

/* Queue call (ended) or a note for delivery on the next loop turn. */
void
rlink_queue(struct rlink *l, struct rcall *call)
{
	TAILQ_INSERT_TAIL(&l->done, call, entry);
	rlink_kick(l);
}

/* Queue an up, down or message note for the owner. */
static void
rlink_note(struct rlink *l, enum rcall_kind kind, const char *why)
{
	struct rcall	*note;

	note = rlink_call_new(kind, NULL, NULL);
	if (why != NULL)
		note->why = xstrdup(why);
	rlink_queue(l, note);
}

/*
 * End call with (a copy of) reply, or with NULL and why, and queue it for
 * delivery.  A reply kept from an earlier step (a failed SCRIPT LOAD)
 * wins over the one given.
 */
void
rlink_finish(struct rlink *l, struct rcall *call, const redisReply *reply,
    const char *why)
{
	if (reply != NULL) {
		if (call->reply == NULL)
			call->reply = rlink_reply_dup(reply);
	} else {
		rlink_reply_free(call->reply);
		call->reply = NULL;
		call->why = xstrdup(why);
	}
	if (call->cmd != NULL) {
		redisFreeCommand(call->cmd);
		call->cmd = NULL;
	}
	rlink_queue(l, call);
}

/*
 * Take the link down: fail every call in flight, close both connections
 * (their contexts are freed on the next turn), report down unless already
 * reported, and connect again after the backoff.  Safe inside hiredis's
 * callbacks.
 */
void
rlink_fail(struct rlink *l, const char *fmt, ...)
{
	char	what[RLINK_WHY_MAX], why[sizeof l->where + 2 + RLINK_WHY_MAX];
	va_list	ap;

	if (l->state == RLINK_IDLE || l->freeing)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(why, sizeof why, "%s: %s", l->where, what);
	log_debug("redis %s: %s: %s", l->label, l->reported != RCALL_DOWN ?
	    "down" : "still down", why);
	if (l->reported != RCALL_DOWN) {
		l->reported = RCALL_DOWN;
		rlink_note(l, RCALL_DOWN, why);
	}
	rconn_close(&l->cmd, why);
	rconn_close(&l->sub, why);
	evtimer_del(&l->connecting);
	l->state = RLINK_IDLE;
	rlink_backoff(l);
	rlink_kick(l);
}

/* Arm the retry timer: half the backoff plus up to as much at random. */
static void
rlink_backoff(struct rlink *l)
{
	struct timeval	tv;
	unsigned int	half = l->backoff_ms / 2;

	tv = clock_tv_ms(half + arc4random_uniform(half + 1));
	evtimer_add(&l->retry, &tv);
	l->backoff_ms *= 2;
	if (l->backoff_ms > RLINK_BACKOFF_MAX_MS)
		l->backoff_ms = RLINK_BACKOFF_MAX_MS;
}

/* Declare the link up once both connections finished their handshake. */
void
rlink_check_up(struct rlink *l)
{
	if (l->state != RLINK_CONNECTING || !l->cmd.ready || !l->sub.ready)
		return;
	l->state = RLINK_UP;
	l->backoff_ms = RLINK_BACKOFF_MIN_MS;
	evtimer_del(&l->connecting);
	log_debug("redis %s: up: %s", l->label, l->where);
	if (l->reported != RCALL_UP) {
		l->reported = RCALL_UP;
		rlink_note(l, RCALL_UP, NULL);
	}
}

/* Run one owner callback for call. */
static void
rlink_deliver(struct rlink *l, struct rcall *call)
{
	switch (call->kind) {
	case RCALL_UP:
		if (l->cbs.up != NULL)
			l->cbs.up(l->arg);
		break;
	case RCALL_DOWN:
		if (l->cbs.down != NULL)
			l->cbs.down(l->arg, call->why);
		break;
	case RCALL_MESSAGE:
		if (l->cbs.message != NULL)
			l->cbs.message(l->arg, call->channel, call->payload,
			    call->len);
		break;
	default:
		if (call->cb != NULL)
			call->cb(call->arg, call->reply, call->why);
		break;
	}
}

/*
 * Dispatch event: free closed contexts (outside hiredis's callbacks),
 * then deliver what was queued before this turn; what the callbacks queue
 * waits for the next turn, so a caller that retries at once cannot starve
 * the loop.
 */
static void
rlink_dispatch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rlink	*l = arg;
	struct rcall	*call;

	rconn_reap(&l->cmd);
	rconn_reap(&l->sub);
	TAILQ_CONCAT(&l->delivering, &l->done, entry);
	l->dispatching = 1;
	while (!l->freeing && (call = TAILQ_FIRST(&l->delivering)) != NULL) {
		TAILQ_REMOVE(&l->delivering, call, entry);
		rlink_deliver(l, call);
		rlink_call_free(call);
	}
	l->dispatching = 0;
	if (l->freeing)
		rlink_destroy(l);	/* a callback called rlink_free() */
}

/* Retry timer: open both connections; the handshake follows. */
static void
rlink_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rlink	*l = arg;
	struct timeval	 tv = clock_tv_ms(l->timeout_ms);

	rconn_reap(&l->cmd);
	rconn_reap(&l->sub);
	l->state = RLINK_CONNECTING;
	evtimer_add(&l->connecting, &tv);
	if (rconn_open(&l->cmd) == 0)
		rconn_open(&l->sub);
}

/* Connect timer: the link is not up within timeout_ms of the connect. */
static void
rlink_connecting_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rlink	*l = arg;

	if (l->state == RLINK_CONNECTING)
		rlink_fail(l, "not connected within %u ms", l->timeout_ms);
}
