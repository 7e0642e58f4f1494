/* SPDX-License-Identifier: ISC */
/*
 * reply: the daemon's own answers in JSON, in the error shape of a
 * provider's dialect, and the reason phrases libevent 2.1 does not know.
 * Used by the exchange (refusals after routing) and by the server (its
 * endpoints and the refusals before routing).
 */
#ifndef REPLY_H
#define REPLY_H

struct evhttp_request;
struct provider_config;

/* Answer req with status and an error body in pc's dialect (NULL: OpenAI). */
void		 reply_error(struct evhttp_request *req,
		    const struct provider_config *pc, int status,
		    const char *code, const char *message);
/* Answer req with status and body, a JSON text. */
void		 reply_json(struct evhttp_request *req, int status,
		    const char *body);
/*
 * Return the reason phrase for the status codes libevent 2.1 does not
 * know (it would say "Unknown Status Code"); NULL lets libevent choose.
 */
const char	*reply_reason(int status);

#endif /* REPLY_H */
