/* SPDX-License-Identifier: ISC */
/*
 * reply: the daemon's own JSON answers (see reply.h).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "config.h"
#include "dialect.h"
#include "log.h"
#include "reply.h"

/*
 * Return the reason phrase for the status codes libevent 2.1 does not know
 * (it would say "Unknown Status Code"); NULL lets libevent choose.
 */
const char *
reply_reason(int status)
{
	switch (status) {
	case 421:
		return "Misdirected Request";
	case 422:
		return "Unprocessable Content";
	case 425:
		return "Too Early";
	case 426:
		return "Upgrade Required";
	case 428:
		return "Precondition Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 451:
		return "Unavailable For Legal Reasons";
	case 529:
		return "Site Overloaded";
	default:
		return NULL;
	}
}

/* Answer req with status and an error body in pc's dialect. */
void
reply_error(struct evhttp_request *req,
    const struct provider_config *pc, int status, const char *code,
    const char *message)
{
	enum dialect	 d = pc != NULL ? pc->dialect : DIALECT_OPENAI;
	char		*body;

	body = dialect_error_body(d, dialect_error_type(d, status), code,
	    message);
	reply_json(req, status, body);
	free(body);
}

/* Answer req with status and body, a JSON text. */
void
reply_json(struct evhttp_request *req, int status, const char *body)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	if (evbuffer_add(buf, body, strlen(body)) == -1)
		fatalx("%s: out of memory", __func__);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, status, reply_reason(status), buf);
	evbuffer_free(buf);
}
