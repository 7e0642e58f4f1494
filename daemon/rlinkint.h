/* SPDX-License-Identifier: ISC */
/*
 * rlinkint: what rlink.c (the link: calls, state, callbacks) and rconn.c
 * (one connection: its hiredis context, FIFO, timer and handshake) share.
 * Not part of rlink's API: nothing else includes it.
 */
#ifndef RLINKINT_H
#define RLINKINT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>	/* struct event inside ours */
#include <hiredis.h>
#include <async.h>

#include "rlink.h"
#include "sha1.h"

enum rlink_state {
	RLINK_IDLE,		/* down: the retry timer runs */
	RLINK_CONNECTING,	/* connects and handshakes in flight */
	RLINK_UP
};

enum rcall_kind {
	RCALL_USER,		/* the owner's command or script */
	RCALL_STEP,		/* ours: AUTH, SELECT, PING, SUBSCRIBE */
	RCALL_LOAD,		/* ours: SCRIPT LOAD before a retry */
	RCALL_UP,		/* notes for the owner's callbacks */
	RCALL_DOWN,
	RCALL_MESSAGE
};

/* A command sent and awaiting its reply, or a call or note to deliver. */
struct rcall {
	TAILQ_ENTRY(rcall)	 entry;		/* a FIFO, or a delivery list */
	enum rcall_kind		 kind;
	rlink_reply_cb		*cb;
	void			*arg;
	const struct rlink_script *script;	/* EVALSHA: loaded on NOSCRIPT */
	char			*cmd;		/* EVALSHA as sent, to resend */
	size_t			 cmdlen;
	int			 retried;
	uint64_t		 deadline_ms;
	uint64_t		 seq;		/* its place among those sent */
	const char		*step;		/* names a handshake command */
	struct rcall		*load_for;	/* LOAD: the retry behind it */
	redisReply		*reply;		/* our copy, for the owner */
	char			*why;
	char			*channel;	/* RCALL_MESSAGE */
	char			*payload;
	size_t			 len;
};
TAILQ_HEAD(rcall_list, rcall);

struct rlink_script {
	char	*text;
	size_t	 len;
	char	 sha[SHA1_HEX_LEN + 1];
};

/* One of the link's two connections. */
struct rconn {
	struct rlink		*l;
	const char		*name;		/* for messages */
	int			 is_sub;	/* the subscriber */
	redisAsyncContext	*ac;		/* current; NULL: none */
	redisAsyncContext	*dead;		/* closed, to free next turn */
	struct rcall_list	 fifo;		/* sent, in reply order */
	uint64_t		 seq;		/* commands sent */
	const struct rlink_script *loaded;	/* the last SCRIPT LOAD's, */
	uint64_t		 loaded_seq;	/* sent as command number */
	struct event		 timer;		/* the FIFO head's deadline */
	struct event		 start;		/* handshake, after connect */
	int			 started;	/* the handshake was sent */
	unsigned int		 steps;		/* handshake replies awaited */
	int			 ready;		/* every one came */
};

struct rlink {
	struct event_base	*base;
	struct rlinkurl		 url;		/* its password wiped */
	char			*password;	/* NULL: no AUTH */
	char			*label;
	char			 where[RLINKURL_PATH_MAX + 32];
	unsigned int		 timeout_ms;
	struct rlink_cbs	 cbs;
	void			*arg;
	struct rconn		 cmd;
	struct rconn		 sub;
	char			**channels;
	size_t			 nchannels;
	enum rlink_state	 state;
	int			 reported;	/* RCALL_UP, RCALL_DOWN, -1 */
	unsigned int		 backoff_ms;
	struct event		 retry;		/* backoff, then connect */
	struct event		 connecting;	/* the connect's deadline */
	struct event		 dispatch;	/* callbacks; frees contexts */
	struct rcall_list	 done;		/* to deliver */
	struct rcall_list	 delivering;	/* being delivered */
	int			 dispatching;
	int			 freeing;
};

/* rlink.c */
struct rcall	*rlink_call_new(enum rcall_kind kind, rlink_reply_cb *cb,
		    void *arg);
void		 rlink_call_free(struct rcall *call);
redisReply	*rlink_reply_dup(const redisReply *r);
void		 rlink_timer(struct event *ev, struct event_base *base,
		    event_callback_fn fn, void *arg);
void		 rlink_queue(struct rlink *l, struct rcall *call);
void		 rlink_finish(struct rlink *l, struct rcall *call,
		    const redisReply *reply, const char *why);
void		 rlink_fail(struct rlink *l, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 rlink_check_up(struct rlink *l);

/* rconn.c */
void		 rconn_init(struct rlink *l, struct rconn *c,
		    const char *name, int is_sub);
int		 rconn_open(struct rconn *c);
void		 rconn_close(struct rconn *c, const char *why);
void		 rconn_reap(struct rconn *c);
int		 rconn_send(struct rconn *c, struct rcall *call);
void		 rconn_step(struct rconn *c, const char *step, int argc,
		    const char **argv);

#endif /* RLINKINT_H */
