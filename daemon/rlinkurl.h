/* SPDX-License-Identifier: ISC */
/*
 * rlinkurl: where the shared-limits Redis is (SPEC 14), from its URL.
 *
 *   redis://[[user]:password@]HOST[:PORT][/DB]
 *   unix://[[user]:password@]/path/to/socket[?db=N]
 *
 * HOST is an IPv4 address, an IPv6 address in brackets, or "localhost",
 * which is taken as 127.0.0.1.  Host names are refused: hiredis 0.14
 * resolves a name with a blocking getaddrinfo() inside its "asynchronous"
 * connect, which would stall the daemon's event loop for as long as the
 * resolver takes, on every reconnect.  PORT defaults to 6379 and DB to 0.
 * User and password may be percent-encoded (a password with '@', '/' or
 * ':' must be).  A message about a bad URL never quotes the user info.
 * Pure: the configuration layer uses it to say what is wrong.
 */
#ifndef RLINKURL_H
#define RLINKURL_H

#include <stddef.h>

#define RLINKURL_DEFAULT_PORT	6379
#define RLINKURL_HOST_MAX	45	/* INET6_ADDRSTRLEN less the NUL */
#define RLINKURL_PATH_MAX	107	/* sun_path less the NUL */
#define RLINKURL_USER_MAX	128
#define RLINKURL_PASSWORD_MAX	512

enum rlinkurl_kind {
	RLINKURL_TCP,
	RLINKURL_UNIX
};

/* A parsed URL: plain data, copied by assignment. */
struct rlinkurl {
	enum rlinkurl_kind	kind;
	char	host[RLINKURL_HOST_MAX + 1];	/* numeric, no brackets */
	int	port;
	char	path[RLINKURL_PATH_MAX + 1];	/* RLINKURL_UNIX */
	char	user[RLINKURL_USER_MAX + 1];	/* "": the default user */
	char	password[RLINKURL_PASSWORD_MAX + 1];
	int	has_password;
	int	db;				/* SELECT after connect */
};

/*
 * Parse s into u; return 0, or -1 with err (errlen bytes) saying what is
 * wrong.
 */
int	rlinkurl_parse(const char *s, struct rlinkurl *u, char *err,
	    size_t errlen);
/*
 * Write where u points, without user or password, for log lines:
 * "127.0.0.1:6379/0", "[::1]:6380/2", "unix:/run/redis.sock?db=1".
 */
void	rlinkurl_describe(const struct rlinkurl *u, char *buf, size_t len);

#endif /* RLINKURL_H */
