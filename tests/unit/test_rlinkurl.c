/* SPDX-License-Identifier: ISC */
/*
 * test_rlinkurl: the Redis URLs of SPEC 14 that are taken (TCP with an
 * address or localhost, IPv6 in brackets, user info, percent-encoding,
 * unix sockets with ?db=) and those refused, each with a message that
 * names the problem and never quotes a password.
 */
#include <string.h>

#include "rlinkurl.h"
#include "unit.h"

static void	test_tcp(void);
static void	test_tcp_defaults(void);
static void	test_localhost(void);
static void	test_ipv6(void);
static void	test_userinfo(void);
static void	test_unix(void);
static void	test_refused_hosts(void);
static void	test_refused_numbers(void);
static void	test_refused_userinfo(void);
static void	test_refused_unix(void);
static void	test_refused_schemes(void);
static void	test_no_secret_in_messages(void);
static void	test_describe(void);
static void	test_refused(const char *url, const char *phrase);

/* Assert that url is refused with a message containing phrase. */
static void
test_refused(const char *url, const char *phrase)
{
	struct rlinkurl	u;
	char		err[256];

	if (rlinkurl_parse(url, &u, err, sizeof err) != -1) {
		printf("# %s was taken\n", url);
		UNIT_ASSERT(0);
	}
	if (strstr(err, phrase) == NULL) {
		printf("# %s: \"%s\" lacks \"%s\"\n", url, err, phrase);
		UNIT_ASSERT(0);
	}
}

static void
test_tcp(void)
{
	struct rlinkurl	u;
	char		err[256];

	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://127.0.0.1:6390/4", &u, err,
	    sizeof err), 0);
	UNIT_ASSERT_INT_EQ(u.kind, RLINKURL_TCP);
	UNIT_ASSERT_STR_EQ(u.host, "127.0.0.1");
	UNIT_ASSERT_INT_EQ(u.port, 6390);
	UNIT_ASSERT_INT_EQ(u.db, 4);
	UNIT_ASSERT_INT_EQ(u.has_password, 0);
	UNIT_ASSERT_STR_EQ(u.user, "");
	UNIT_ASSERT_INT_EQ(rlinkurl_parse("REDIS://10.1.2.3:1/2147483647", &u,
	    err, sizeof err), 0);
	UNIT_ASSERT_INT_EQ(u.port, 1);
	UNIT_ASSERT_INT_EQ(u.db, 2147483647);
}

static void
test_tcp_defaults(void)
{
	struct rlinkurl	u;
	char		err[256];

	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://127.0.0.1", &u, err,
	    sizeof err), 0);
	UNIT_ASSERT_INT_EQ(u.port, 6379);
	UNIT_ASSERT_INT_EQ(u.db, 0);
	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://127.0.0.1/", &u, err,
	    sizeof err), 0);
	UNIT_ASSERT_INT_EQ(u.db, 0);
	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://127.0.0.1:7000", &u, err,
	    sizeof err), 0);
	UNIT_ASSERT_INT_EQ(u.port, 7000);
}

/* localhost is 127.0.0.1: no resolver on the event loop. */
static void
test_localhost(void)
{
	struct rlinkurl	u;
	char		err[256];

	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://LocalHost:7001/3", &u, err,
	    sizeof err), 0);
	UNIT_ASSERT_STR_EQ(u.host, "127.0.0.1");
	UNIT_ASSERT_INT_EQ(u.port, 7001);
	UNIT_ASSERT_INT_EQ(u.db, 3);
}

static void
test_ipv6(void)
{
	struct rlinkurl	u;
	char		err[256];

	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://[::1]:6380/2", &u, err,
	    sizeof err), 0);
	UNIT_ASSERT_STR_EQ(u.host, "::1");
	UNIT_ASSERT_INT_EQ(u.port, 6380);
	UNIT_ASSERT_INT_EQ(u.db, 2);
	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://[2001:db8::7]", &u, err,
	    sizeof err), 0);
	UNIT_ASSERT_STR_EQ(u.host, "2001:db8::7");
	UNIT_ASSERT_INT_EQ(u.port, 6379);
}

static void
test_userinfo(void)
{
	struct rlinkurl	u;
	char		err[256];

	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://:s3cret@127.0.0.1/1", &u,
	    err, sizeof err), 0);
	UNIT_ASSERT_INT_EQ(u.has_password, 1);
	UNIT_ASSERT_STR_EQ(u.password, "s3cret");
	UNIT_ASSERT_STR_EQ(u.user, "");
	UNIT_ASSERT_INT_EQ(u.db, 1);
	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://alice:pw@[::1]", &u, err,
	    sizeof err), 0);
	UNIT_ASSERT_STR_EQ(u.user, "alice");
	UNIT_ASSERT_STR_EQ(u.password, "pw");
	/* Encoded '@', '/' and ':'; the last '@' ends the user info. */
	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://b%6Fb:p%40s%2Fs%3aw@"
	    "127.0.0.1", &u, err, sizeof err), 0);
	UNIT_ASSERT_STR_EQ(u.user, "bob");
	UNIT_ASSERT_STR_EQ(u.password, "p@s/s:w");
	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://:a@b@127.0.0.1", &u, err,
	    sizeof err), 0);
	UNIT_ASSERT_STR_EQ(u.password, "a@b");
}

static void
test_unix(void)
{
	struct rlinkurl	u;
	char		err[256];

	UNIT_ASSERT_INT_EQ(rlinkurl_parse("unix:///run/redis/redis.sock", &u,
	    err, sizeof err), 0);
	UNIT_ASSERT_INT_EQ(u.kind, RLINKURL_UNIX);
	UNIT_ASSERT_STR_EQ(u.path, "/run/redis/redis.sock");
	UNIT_ASSERT_INT_EQ(u.db, 0);
	UNIT_ASSERT_INT_EQ(rlinkurl_parse("unix:///tmp/r.sock?db=5", &u, err,
	    sizeof err), 0);
	UNIT_ASSERT_STR_EQ(u.path, "/tmp/r.sock");
	UNIT_ASSERT_INT_EQ(u.db, 5);
	UNIT_ASSERT_INT_EQ(rlinkurl_parse("unix://ann:pw@/tmp/r.sock?db=1",
	    &u, err, sizeof err), 0);
	UNIT_ASSERT_STR_EQ(u.user, "ann");
	UNIT_ASSERT_STR_EQ(u.password, "pw");
	UNIT_ASSERT_STR_EQ(u.path, "/tmp/r.sock");
	UNIT_ASSERT_INT_EQ(u.db, 1);
}

static void
test_refused_hosts(void)
{
	test_refused("redis://redis.example.com:6379/0", "give an IPv4");
	test_refused("redis://redis.example.com/0", "\"redis.example.com\"");
	test_refused("redis://127.1/0", "give an IPv4");
	test_refused("redis://256.0.0.1", "give an IPv4");
	test_refused("redis://", "no host");
	test_refused("redis://:6379", "no host");
	test_refused("redis://[::1", "without ']'");
	test_refused("redis://[zz::1]:6379", "not an IPv6");
	test_refused("redis://[fe80::1%eth0]", "not an IPv6");
	test_refused("redis://[::1]x", "junk after ']'");
	test_refused("redis://127.0.0.1?db=1", "a query");
	test_refused("redis://127.0.0.1/0?x", "path \"0?x\"");
}

static void
test_refused_numbers(void)
{
	test_refused("redis://127.0.0.1:0", "port \"0\"");
	test_refused("redis://127.0.0.1:65536", "1 to 65535");
	test_refused("redis://127.0.0.1:", "port \"\"");
	test_refused("redis://127.0.0.1:6x", "port");
	test_refused("redis://[::1]:-1", "port");
	test_refused("redis://127.0.0.1/abc", "database number");
	test_refused("redis://127.0.0.1/-1", "database number");
	test_refused("redis://127.0.0.1/2147483648", "database number");
	test_refused("redis://127.0.0.1/1/2", "database number");
	test_refused("unix:///tmp/r.sock?db=x", "db \"x\"");
	test_refused("unix:///tmp/r.sock?db=", "database number");
}

static void
test_refused_userinfo(void)
{
	test_refused("redis://alice@127.0.0.1", "without ':'");
	test_refused("redis://:@127.0.0.1", "empty password");
	test_refused("redis://alice:@127.0.0.1", "empty password");
	test_refused("redis://:p%zz@127.0.0.1", "password: bad percent");
	test_refused("redis://:p%4@127.0.0.1", "password: bad percent");
	test_refused("redis://:p%00@127.0.0.1", "password: bad percent");
	test_refused("redis://a%g1:p@127.0.0.1", "user: bad percent");
}

static void
test_refused_unix(void)
{
	struct rlinkurl	u;
	char		url[200], err[256];

	test_refused("unix://", "no socket path");
	test_refused("unix://tmp/r.sock", "absolute");
	test_refused("unix:///tmp/r.sock?database=1", "only query");
	memcpy(url, "unix:///", 8);
	memset(url + 8, 'x', 107);
	url[115] = '\0';
	test_refused(url, "longer than 107");	/* 108 with the '/' */
	url[114] = '\0';
	UNIT_ASSERT_INT_EQ(rlinkurl_parse(url, &u, err, sizeof err), 0);
	UNIT_ASSERT_INT_EQ(strlen(u.path), 107);
}

static void
test_refused_schemes(void)
{
	test_refused("rediss://127.0.0.1", "TLS");
	test_refused("http://127.0.0.1", "redis:// or unix://");
	test_refused("", "redis:// or unix://");
}

/* A password is never quoted, even one that breaks the parse. */
static void
test_no_secret_in_messages(void)
{
	test_refused("redis://:hunter2@db.example.com", "not shown");
	test_refused("redis://:hun/ter2@127.0.0.1", "'@' after the host");
	test_refused("redis://:hunter2@127.0.0.1:99999", "not shown");
	test_refused("redis://:hunter2@127.0.0.1/x", "not shown");
	test_refused("unix://:hun/ter2@/tmp/s", "absolute");
}

static void
test_describe(void)
{
	struct rlinkurl	u;
	char		err[256], buf[256];

	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://:pw@localhost", &u, err,
	    sizeof err), 0);
	rlinkurl_describe(&u, buf, sizeof buf);
	UNIT_ASSERT_STR_EQ(buf, "127.0.0.1:6379/0");
	UNIT_ASSERT_INT_EQ(rlinkurl_parse("redis://[::1]:6380/2", &u, err,
	    sizeof err), 0);
	rlinkurl_describe(&u, buf, sizeof buf);
	UNIT_ASSERT_STR_EQ(buf, "[::1]:6380/2");
	UNIT_ASSERT_INT_EQ(rlinkurl_parse("unix://:pw@/tmp/r.sock?db=1", &u,
	    err, sizeof err), 0);
	rlinkurl_describe(&u, buf, sizeof buf);
	UNIT_ASSERT_STR_EQ(buf, "unix:/tmp/r.sock?db=1");
}

static const struct unit_test tests[] = {
	{ "tcp", test_tcp },
	{ "tcp defaults", test_tcp_defaults },
	{ "localhost", test_localhost },
	{ "ipv6", test_ipv6 },
	{ "user info", test_userinfo },
	{ "unix", test_unix },
	{ "refused hosts", test_refused_hosts },
	{ "refused numbers", test_refused_numbers },
	{ "refused user info", test_refused_userinfo },
	{ "refused unix", test_refused_unix },
	{ "refused schemes", test_refused_schemes },
	{ "no secret in messages", test_no_secret_in_messages },
	{ "describe", test_describe },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
