/* SPDX-License-Identifier: ISC */
/*
 * rconn: one of a link's two connections, its hiredis context on the
 * link's event base, the FIFO of what it sent, its timer and handshake.
 *
 * The FIFO holds what was sent in the order the replies come back (Redis
 * answers in order, subscribe confirmations included), so hiredis's
 * per-command callbacks carry no pointer of ours: a context's data names
 * its connection, and a callback from a context that is no longer the
 * connection's current one is ignored.  That makes a close simple and
 * safe anywhere, inside hiredis's callbacks too: the calls are failed
 * from our FIFO, the context is forgotten at once and freed on the next
 * loop turn by the link's dispatch event (hiredis must not free a context
 * from inside its own callbacks), and whatever hiredis then does with its
 * callbacks falls on deaf ears.  When hiredis frees a context itself (an
 * error on the socket, a refused connect) it says so through the connect
 * or disconnect callback, and the context is dropped from our books
 * before it is gone.
 *
 * One timer watches the FIFO's head: a deadline is the moment of sending
 * plus timeout_ms, so deadlines grow along the FIFO and the head's comes
 * first.  The timer is re-armed when it fires before the current head's
 * deadline, never on each reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <adapters/libevent.h>

#include "clock.h"
#include "log.h"
#include "rlinkint.h"
#include "xmalloc.h"

static void	rconn_push(struct rconn *c, struct rcall *call);
static void	rconn_arm(struct rconn *c);
static void	rconn_auth(struct rconn *c);
static void	rconn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void	rconn_start_cb(evutil_socket_t fd, short what, void *arg);
static void	rconn_hi_connect(const redisAsyncContext *ac, int status);
static void	rconn_hi_disconnect(const redisAsyncContext *ac, int status);
static void	rconn_hi_reply(redisAsyncContext *ac, void *r, void *privdata);
static int	rconn_on_message(struct rlink *l, const redisReply *r);
static void	rconn_on_step(struct rconn *c, struct rcall *call,
		    const redisReply *r);
static void	rconn_on_load(struct rconn *c, struct rcall *load,
		    const redisReply *r);
static void	rconn_on_user(struct rconn *c, struct rcall *call,
		    const redisReply *r);
static void	rconn_reload(struct rconn *c, struct rcall *call);

/* Set c up as l's connection called name. */
void
rconn_init(struct rlink *l, struct rconn *c, const char *name, int is_sub)
{
	c->l = l;
	c->name = name;
	c->is_sub = is_sub;
	TAILQ_INIT(&c->fifo);
	rlink_timer(&c->timer, l->base, rconn_timer_cb, c);
	rlink_timer(&c->start, l->base, rconn_start_cb, c);
}

/*
 * Start a non-blocking connect on the link's event base; return 0, or -1
 * when it failed at once and the link went down.
 */
int
rconn_open(struct rconn *c)
{
	struct rlink		*l = c->l;
	redisAsyncContext	*ac;

	if (l->url.kind == RLINKURL_UNIX)
		ac = redisAsyncConnectUnix(l->url.path);
	else
		ac = redisAsyncConnect(l->url.host, l->url.port);
	if (ac == NULL)
		fatalx("%s: out of memory", __func__);
	if (ac->err != 0) {
		rlink_fail(l, "connect: %s", ac->errstr);
		redisAsyncFree(ac);	/* never attached: no callbacks */
		return -1;
	}
	ac->data = c;
	if (redisLibeventAttach(ac, l->base) != REDIS_OK)
		fatalx("%s: redisLibeventAttach failed", __func__);
	redisAsyncSetConnectCallback(ac, rconn_hi_connect);
	redisAsyncSetDisconnectCallback(ac, rconn_hi_disconnect);
	c->ac = ac;
	return 0;
}

/*
 * Fail c's calls with why and forget its context, to be freed by the
 * next rconn_reap() (always before the next connect, so at most one).
 */
void
rconn_close(struct rconn *c, const char *why)
{
	struct rcall	*call;

	while ((call = TAILQ_FIRST(&c->fifo)) != NULL) {
		TAILQ_REMOVE(&c->fifo, call, entry);
		if (call->kind == RCALL_USER)
			rlink_finish(c->l, call, NULL, why);
		else
			rlink_call_free(call);
	}
	evtimer_del(&c->timer);
	evtimer_del(&c->start);
	if (c->ac != NULL) {
		c->dead = c->ac;
		c->ac = NULL;
	}
	c->started = 0;
	c->steps = 0;
	c->ready = 0;
	c->loaded = NULL;	/* the next connect may reach another server */
}

/* Free c's closed context; never from inside hiredis's callbacks. */
void
rconn_reap(struct rconn *c)
{
	redisAsyncContext	*ac = c->dead;

	if (ac == NULL)
		return;
	c->dead = NULL;
	redisAsyncFree(ac);	/* its callbacks now see a stale context */
}

/* Send call's formatted command on c; return 0, or -1 if not sent. */
int
rconn_send(struct rconn *c, struct rcall *call)
{
	if (c->ac == NULL || redisAsyncFormattedCommand(c->ac, rconn_hi_reply,
	    NULL, call->cmd, call->cmdlen) != REDIS_OK)
		return -1;
	rconn_push(c, call);
	return 0;
}

/* Put call, just sent, at the FIFO's tail with its deadline. */
static void
rconn_push(struct rconn *c, struct rcall *call)
{
	call->deadline_ms = clock_now_ms() + c->l->timeout_ms;
	call->seq = ++c->seq;
	TAILQ_INSERT_TAIL(&c->fifo, call, entry);
	rconn_arm(c);
}

/* Arm c's timer for its FIFO head, unless it is armed (for earlier). */
static void
rconn_arm(struct rconn *c)
{
	struct rcall	*head = TAILQ_FIRST(&c->fifo);
	struct timeval	 tv;
	uint64_t	 now;

	if (head == NULL || evtimer_pending(&c->timer, NULL))
		return;
	now = clock_now_ms();
	tv = clock_tv_ms(head->deadline_ms > now ? head->deadline_ms - now :
	    0);
	evtimer_add(&c->timer, &tv);
}

/* Connection timer: the FIFO head has had its timeout_ms. */
static void
rconn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rconn	*c = arg;
	struct rcall	*head = TAILQ_FIRST(&c->fifo);

	if (head == NULL)
		return;
	if (head->deadline_ms > clock_now_ms()) {
		rconn_arm(c);		/* armed for an earlier head */
		return;
	}
	rlink_fail(c->l, "no reply within %u ms on the %s connection",
	    c->l->timeout_ms, c->name);
}

/*
 * Start event, the turn after hiredis said connected (sending from its
 * connect callback is unsafe in 0.14): send the handshake.
 */
static void
rconn_start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rconn	*c = arg;
	struct rlink	*l = c->l;
	char		 db[16];
	const char	*select[2] = { "SELECT", db };
	const char	*ping[1] = { "PING" };
	const char	*subscribe[2] = { "SUBSCRIBE", NULL };
	size_t		 i;

	if (c->ac == NULL)
		return;
	c->started = 1;
	rconn_auth(c);
	if (!c->is_sub) {
		snprintf(db, sizeof db, "%d", l->url.db);
		if (l->url.db != 0)
			rconn_step(c, "SELECT", 2, select);
		rconn_step(c, "PING", 1, ping);
	}
	for (i = 0; c->is_sub && i < l->nchannels; i++) {
		subscribe[1] = l->channels[i];
		rconn_step(c, "SUBSCRIBE", 2, subscribe);
	}
	if (c->ac != NULL && c->steps == 0) {
		c->ready = 1;
		rlink_check_up(l);
	}
}

/* Send AUTH on c if the link has a password (and a user, if any). */
static void
rconn_auth(struct rconn *c)
{
	struct rlink	*l = c->l;
	const char	*argv[3] = { "AUTH", l->url.user, l->password };

	if (l->password == NULL)
		return;
	if (l->url.user[0] != '\0')
		rconn_step(c, "AUTH", 3, argv);
	else {
		argv[1] = l->password;
		rconn_step(c, "AUTH", 2, argv);
	}
}

/* Send one handshake command on c, its reply awaited before up. */
void
rconn_step(struct rconn *c, const char *step, int argc, const char **argv)
{
	struct rcall	*call;

	if (c->ac == NULL)
		return;
	if (redisAsyncCommandArgv(c->ac, rconn_hi_reply, NULL, argc, argv,
	    NULL) != REDIS_OK) {
		rlink_fail(c->l, "%s: not sent on the %s connection", step,
		    c->name);
		return;
	}
	call = rlink_call_new(RCALL_STEP, NULL, NULL);
	call->step = step;
	if (!c->ready)
		c->steps++;
	rconn_push(c, call);
}

/* hiredis connect callback: connected (handshake next turn) or failed. */
static void
rconn_hi_connect(const redisAsyncContext *ac, int status)
{
	struct rconn	*c = ac->data;
	struct timeval	 now = { 0, 0 };

	if (ac != c->ac) {
		if (status != REDIS_OK && ac == c->dead)
			c->dead = NULL;		/* hiredis frees it now */
		return;
	}
	if (status != REDIS_OK) {
		c->ac = NULL;			/* hiredis frees it now */
		rlink_fail(c->l, "connect: %s", ac->errstr);
		return;
	}
	evtimer_add(&c->start, &now);
}

/* hiredis disconnect callback: the context is being freed, by whom? */
static void
rconn_hi_disconnect(const redisAsyncContext *ac, int status)
{
	struct rconn	*c = ac->data;

	if (ac == c->dead) {
		c->dead = NULL;			/* hiredis frees it now */
		return;
	}
	if (ac != c->ac)
		return;				/* we free it (rconn_reap) */
	c->ac = NULL;
	rlink_fail(c->l, "%s connection: %s", c->name,
	    ac->err != 0 ? ac->errstr : "closed");
}

/* hiredis reply callback, for every command of both connections. */
static void
rconn_hi_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct rconn	*c = ac->data;
	redisReply	*reply = r;
	struct rcall	*call;

	if (reply == NULL || ac != c->ac)
		return;		/* closing: its calls were failed already */
	if (c->is_sub && rconn_on_message(c->l, reply) == 0)
		return;
	if ((call = TAILQ_FIRST(&c->fifo)) == NULL) {
		rlink_fail(c->l, "a reply nobody asked for on the %s "
		    "connection", c->name);
		return;
	}
	TAILQ_REMOVE(&c->fifo, call, entry);
	if (call->kind == RCALL_STEP)
		rconn_on_step(c, call, reply);
	else if (call->kind == RCALL_LOAD)
		rconn_on_load(c, call, reply);
	else
		rconn_on_user(c, call, reply);
}

/* Queue r if it is a published message; return 0 if it was one. */
static int
rconn_on_message(struct rlink *l, const redisReply *r)
{
	const redisReply	*ch, *pl;
	struct rcall		*note;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") != 0)
		return -1;
	ch = r->element[1];
	pl = r->element[2];
	if (ch->type != REDIS_REPLY_STRING || pl->type != REDIS_REPLY_STRING)
		return 0;
	note = rlink_call_new(RCALL_MESSAGE, NULL, NULL);
	note->channel = xstrndup(ch->str, ch->len);
	note->payload = xmalloc(pl->len + 1);
	memcpy(note->payload, pl->str, pl->len);
	note->payload[pl->len] = '\0';
	note->len = pl->len;
	rlink_queue(l, note);
	return 0;
}

/* A handshake reply: an error takes the link down; the last makes up. */
static void
rconn_on_step(struct rconn *c, struct rcall *call, const redisReply *r)
{
	if (r->type == REDIS_REPLY_ERROR) {
		rlink_fail(c->l, "%s: %s", call->step, r->str);
		rlink_call_free(call);
		return;
	}
	rlink_call_free(call);
	if (!c->ready && c->steps > 0 && --c->steps == 0) {
		c->ready = 1;
		rlink_check_up(c->l);
	}
}

/*
 * The reply to SCRIPT LOAD: an error is what the retry behind it will
 * report (it would only say NOSCRIPT again).
 */
static void
rconn_on_load(struct rconn *c, struct rcall *load, const redisReply *r)
{
	struct rcall	*call = load->load_for;

	if (r->type == REDIS_REPLY_ERROR)
		call->reply = rlink_reply_dup(r);
	else if (r->type != REDIS_REPLY_STRING ||
	    strcmp(r->str, call->script->sha) != 0)
		log_warnx("redis %s: SCRIPT LOAD did not answer the script's "
		    "SHA-1 %s", c->l->label, call->script->sha);
	rlink_call_free(load);
}

/* The owner's reply, or a NOSCRIPT to answer by loading the script. */
static void
rconn_on_user(struct rconn *c, struct rcall *call, const redisReply *r)
{
	if (call->script != NULL && !call->retried &&
	    r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)
		rconn_reload(c, call);
	else
		rlink_finish(c->l, call, r, NULL);
}

/*
 * Send call's EVALSHA again (from a reply callback), behind a SCRIPT LOAD
 * unless one was sent after the call: calls pipelined behind the first
 * NOSCRIPT get theirs too, and one load serves them all.
 */
static void
rconn_reload(struct rconn *c, struct rcall *call)
{
	const struct rlink_script	*s = call->script;
	struct rcall			*load = NULL;

	call->retried = 1;
	if (c->loaded != s || c->loaded_seq < call->seq) {
		log_debug("redis %s: NOSCRIPT: loading %s", c->l->label,
		    s->sha);
		if (redisAsyncCommand(c->ac, rconn_hi_reply, NULL,
		    "SCRIPT LOAD %b", s->text, s->len) != REDIS_OK) {
			rlink_finish(c->l, call, NULL, "link down");
			rlink_fail(c->l, "SCRIPT LOAD: not sent");
			return;
		}
		load = rlink_call_new(RCALL_LOAD, NULL, NULL);
		load->load_for = call;
		rconn_push(c, load);
		c->loaded = s;
		c->loaded_seq = load->seq;
	}
	if (rconn_send(c, call) == -1) {
		rlink_finish(c->l, call, NULL, "link down");
		rlink_fail(c->l, "EVALSHA: not sent again");
	}
}
