/* SPDX-License-Identifier: ISC */
/*
 * httpver: a request's HTTP version, read from the one struct that holds
 * it.  evhttp parsed the request line and refused versions it does not
 * speak; this only reads what it stored.  It does not decide framing or
 * keep-alive: the callers do, from the version.
 */
#include <event2/http.h>
#include <event2/http_struct.h>	/* major, minor: no getter in 2.1 */

#include "httpver.h"

/* Return req's major version. */
int
httpver_major(const struct evhttp_request *req)
{
	return req->major;
}

/* Return req's minor version. */
int
httpver_minor(const struct evhttp_request *req)
{
	return req->minor;
}

/* Return 1 if req's version is major.minor or later. */
int
httpver_at_least(const struct evhttp_request *req, int major, int minor)
{
	return req->major > major || (req->major == major &&
	    req->minor >= minor);
}
