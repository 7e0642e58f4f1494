/* SPDX-License-Identifier: ISC */
/*
 * ui: serve the status page compiled in from daemon/ui.html.
 *
 * The page is one self-contained document: its script and style are
 * inline and the Content-Security-Policy lets only those exact blocks
 * (by hash) run, fetches go to the page's own origin only, and nothing
 * may be loaded from elsewhere or frame it.  It is never cached, so a
 * new daemon's page and its /status always match.  The method check
 * (405) is the router's, as for the daemon's other endpoints; this
 * module neither reads a request nor knows about tokens.
 */
#include <event2/buffer.h>
#include <event2/http.h>

#include "log.h"
#include "ui.h"
#include "ui_page.h"

/* Answer a GET or HEAD of / or /ui with the page. */
void
ui_serve(struct evhttp_request *req)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	/* The page is static and outlives every request: no copy. */
	if (evbuffer_add_reference(buf, ui_page_html, ui_page_len, NULL,
	    NULL) == -1)
		fatalx("%s: out of memory", __func__);
	evhttp_add_header(out, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(out, "Content-Security-Policy", ui_page_csp);
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "X-Frame-Options", "DENY");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}
