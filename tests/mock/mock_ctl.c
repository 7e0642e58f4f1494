/* SPDX-License-Identifier: ISC */

/*
 * mock_ctl: the control endpoints, for tests and benchmarks to see what
 * the mock received and how busy it was.  GET /_mock/requests is the
 * request log (mock_reqlog.c), GET /_mock/stats the counters, POST
 * /_mock/reset clears the log, the total and the peak.  Answers are
 * JSON; anything else under /_mock/ is a 404.
 */

#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include <jansson.h>

#include "mock.h"
#include "mock_ctl.h"
#include "mock_reqlog.h"
#include "mock_state.h"

static void	 mock_ctl_reply(struct evhttp_request *, int, json_t *);
static json_t	*mock_ctl_stats(void);
static void	 mock_ctl_reset(void);

/*
 * Serve the control endpoints.  They are not logged and not counted in
 * active or total; their connections are counted like any other.
 */
void
mock_ctl_handle(struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type	cmd = evhttp_request_get_command(req);

	if (strcmp(path, "/_mock/requests") == 0 && cmd == EVHTTP_REQ_GET)
		mock_ctl_reply(req, 200, mock_reqlog_json());
	else if (strcmp(path, "/_mock/stats") == 0 && cmd == EVHTTP_REQ_GET)
		mock_ctl_reply(req, 200, mock_ctl_stats());
	else if (strcmp(path, "/_mock/reset") == 0 &&
	    cmd == EVHTTP_REQ_POST) {
		mock_ctl_reset();
		mock_ctl_reply(req, 200, json_pack("{s:b}", "ok", 1));
	} else
		mock_ctl_reply(req, 404, json_pack("{s:s}", "error",
		    "no such control endpoint"));
}

/* Answer a control request with j, dropping the reference to j. */
static void
mock_ctl_reply(struct evhttp_request *req, int code, json_t *j)
{
	struct evbuffer	*b = mock_evbuffer();

	mock_json_out(b, j);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, mock_reason(code), b);
	evbuffer_free(b);
}

/*
 * Describe the counters.  connections_open includes the connection of
 * the control request itself, so tests should compare differences.
 */
static json_t *
mock_ctl_stats(void)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}",
	    "active", (json_int_t)mock.active,
	    "peak_active", (json_int_t)mock.peak,
	    "total", (json_int_t)mock.total,
	    "connections_open", (json_int_t)mock.conns_open,
	    "connections_total", (json_int_t)mock.conns_total,
	    "now_ms", mock_now_ms());
}

/* Clear the log, the total and the peak (to what is active now). */
static void
mock_ctl_reset(void)
{
	mock_reqlog_clear();
	mock.total = 0;
	mock.peak = mock.active;
}

