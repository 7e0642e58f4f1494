/* SPDX-License-Identifier: ISC */
/*
 * httpver: the HTTP version of a request evhttp received.
 *
 * libevent 2.1 has a getter for a request's method, URI and headers but
 * none for its version, which only struct evhttp_request's fields hold
 * (event2/http_struct.h).  This is the one place that reads them, so
 * that nothing else depends on that struct's layout, and so that the
 * getter libevent 2.2 may bring replaces two lines here.
 */
#ifndef HTTPVER_H
#define HTTPVER_H

struct evhttp_request;

/* Return req's major version: 1 for HTTP/1.0 and HTTP/1.1. */
int	httpver_major(const struct evhttp_request *req);
/* Return req's minor version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
int	httpver_minor(const struct evhttp_request *req);
/* Return 1 if req's version is major.minor or later. */
int	httpver_at_least(const struct evhttp_request *req, int major,
	    int minor);

#endif /* HTTPVER_H */
