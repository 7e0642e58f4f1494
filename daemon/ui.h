/* SPDX-License-Identifier: ISC */
/*
 * ui: the status page at / and /ui (SPEC 15).  The page holds no data: it
 * reads /status from the browser, so it is served like /healthz, without
 * a token, after the Host and Origin checks.
 */
#ifndef UI_H
#define UI_H

struct evhttp_request;

/* Answer a GET or HEAD of / or /ui with the page. */
void	ui_serve(struct evhttp_request *req);

#endif /* UI_H */
