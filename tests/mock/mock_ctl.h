/* SPDX-License-Identifier: ISC */
/*
 * mock_ctl: the control endpoints under /_mock/: the request log, the
 * counters, and a reset of both.
 */
#ifndef MOCK_CTL_H
#define MOCK_CTL_H

struct evhttp_request;

/* Serve the control endpoint at path (under /_mock/), or answer 404. */
void	mock_ctl_handle(struct evhttp_request *req, const char *path);

#endif /* MOCK_CTL_H */
