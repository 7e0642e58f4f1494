/* SPDX-License-Identifier: ISC */
/*
 * headers: which HTTP header fields cross the proxy.
 *
 * Decides, field by field, what is hop-by-hop (RFC 9110 section 7.6.1: the
 * fixed list plus every name a Connection header lists), what carries a
 * client credential that the provider's key replaces, and what the daemon
 * sets itself towards the upstream.  Pure: no libevent, no clock.
 */
#ifndef HEADERS_H
#define HEADERS_H

#include <stddef.h>

/*
 * Return 1 if a field called name must not be forwarded, in either
 * direction: it is hop-by-hop by definition, or it is listed in conn, the
 * message's Connection field values joined with ", " (NULL if none).
 * Names compare case-insensitively; conn's tokens may carry optional
 * whitespace and empty list elements.
 */
int	headers_is_hop_by_hop(const char *name, const char *conn);

/* Return 1 if name carries a client credential (Authorization, x-api-key). */
int	headers_is_credential(const char *name);

/*
 * Return 1 if name is a request field the daemon sets itself towards the
 * upstream, so the client's copy is dropped: Host, Content-Length, Expect.
 */
int	headers_is_upstream_managed(const char *name);

/*
 * Return 1 if value is safe to put in a header field: no CR, LF or NUL
 * within its len bytes.
 */
int	headers_value_is_clean(const char *value, size_t len);

#endif /* HEADERS_H */
