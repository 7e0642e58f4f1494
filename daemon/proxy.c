/* SPDX-License-Identifier: ISC */
/*
 * proxy: one exchange, one attempt (see proxy.h).
 *
 * The attempt's callbacks drive the exchange: its final status and fields
 * start the response, its body bytes go out unless the client lags (then
 * the attempt's transfer pauses until the exchange drains), and its end
 * ends the response the way it says.  When the exchange closes first (the
 * client left, the daemon shuts down), the attempt is cancelled, counting
 * a shutdown refusal if it was still waiting for admission.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attempt.h"
#include "config.h"
#include "exchange.h"
#include "provider.h"
#include "proxy.h"
#include "xmalloc.h"

struct proxy {
	struct exchange		*ex;
	struct provider		*prov;	/* referenced */
	struct attempt		*a;	/* NULL once it ended */
	struct attempt_request	 rq;
	char			*rest;
	int			 paused;	/* a waits for a drain */
};

static void	proxy_note(struct proxy *px, struct attempt *a);
static void	proxy_headers_cb(void *arg, struct attempt *a, int status,
		    struct evkeyvalq *headers);
static int	proxy_body_cb(void *arg, struct attempt *a, const char *data,
		    size_t len);
static void	proxy_done_cb(void *arg, struct attempt *a,
		    const struct attempt_end *end);
static void	proxy_drained_cb(void *arg);
static void	proxy_closing_cb(void *arg, enum access_end end);

static const struct attempt_cbs proxy_attempt_cbs = {
	proxy_headers_cb, proxy_body_cb, proxy_done_cb
};
static const struct exchange_owner proxy_owner = {
	proxy_drained_cb, proxy_closing_cb
};

/* Forward req to prov under cf: an exchange with one attempt. */
void
proxy_start(const struct exchange_env *env, struct evhttp_request *req,
    struct config *cf, struct provider *prov, const char *rest,
    size_t client)
{
	const struct provider_config	*pc = provider_config(prov);
	struct exchange_note		 note;
	struct proxy			*px;

	px = xcalloc(1, sizeof *px);
	px->prov = prov;
	provider_ref(prov);
	px->rest = xstrdup(rest);
	px->ex = exchange_new(env, req, cf, config_find_provider(cf,
	    pc->name, strlen(pc->name)), provider_metrics(prov), px->rest);
	memset(&note, 0, sizeof note);
	note.provider = pc->name;
	note.estimate = -1;
	exchange_set_note(px->ex, &note);
	exchange_set_owner(px->ex, &proxy_owner, px);
	px->rq.method = exchange_method(px->ex);
	px->rq.path = px->rest;
	px->rq.headers = exchange_request_headers(px->ex);
	px->rq.body = exchange_body(px->ex, &px->rq.body_len);
	px->a = attempt_start(prov, cf, &px->rq, &proxy_attempt_cbs, px);
}

/* Tell the exchange what a has done, for its headers and access line. */
static void
proxy_note(struct proxy *px, struct attempt *a)
{
	struct attempt_stats	st;
	struct exchange_note	note;

	attempt_stats(a, &st);
	memset(&note, 0, sizeof note);
	note.provider = provider_config(attempt_provider(a))->name;
	note.queue_ms = st.queue_ms;
	note.admit_ms = st.admit_ms;
	note.attempts = st.tries;
	note.estimate = st.estimate;
	exchange_set_note(px->ex, &note);
}

/* attempt: its final status and fields; the response starts. */
static void
proxy_headers_cb(void *arg, struct attempt *a, int status,
    struct evkeyvalq *headers)
{
	struct proxy	*px = arg;

	proxy_note(px, a);
	exchange_respond(px->ex, status, headers);
}

/* attempt: body bytes; send them, or have the transfer pause. */
static int
proxy_body_cb(void *arg, struct attempt *a, const char *data, size_t len)
{
	struct proxy	*px = arg;

	if (exchange_lags(px->ex)) {
		px->paused = 1;
		return 1;		/* offered again after the drain */
	}
	exchange_write(px->ex, data, len);
	return 0;
}

/* attempt: it is over (freed when this returns); end the response. */
static void
proxy_done_cb(void *arg, struct attempt *a, const struct attempt_end *e)
{
	struct proxy	*px = arg;

	proxy_note(px, a);
	px->a = NULL;
	switch (e->outcome) {
	case ATTEMPT_COMPLETE:
		exchange_end(px->ex, e->end);
		break;
	case ATTEMPT_REFUSED:
		exchange_refuse(px->ex, e->status, e->end, e->code,
		    e->message, e->retry_ms);
		break;
	case ATTEMPT_BROKEN:
		if (e->end == ACCESS_CLIENT_STALLED)
			exchange_drop(px->ex, e->end);
		else
			exchange_break(px->ex, e->end, e->code, e->message);
		break;
	}
}

/* exchange: the client took what was queued; resume the transfer. */
static void
proxy_drained_cb(void *arg)
{
	struct proxy	*px = arg;

	if (px->paused && px->a != NULL) {
		px->paused = 0;
		attempt_resume(px->a);	/* may call proxy_body_cb */
	}
}

/*
 * exchange: the response is over or the client gone: cancel the attempt
 * if it still runs (a shutdown refusal if it was waiting), free px.
 */
static void
proxy_closing_cb(void *arg, enum access_end end)
{
	struct proxy		*px = arg;
	struct attempt_stats	 st;

	if (px->a != NULL) {
		proxy_note(px, px->a);
		attempt_stats(px->a, &st);
		if (end == ACCESS_SHUTDOWN && st.waiting)
			provider_count_refusal(px->prov,
			    PROVIDER_REFUSED_SHUTDOWN);
		attempt_cancel(px->a);
	}
	provider_unref(px->prov);
	free(px->rest);
	free(px);
}
