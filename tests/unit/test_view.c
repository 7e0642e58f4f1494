/* SPDX-License-Identifier: ISC */
/*
 * test_view: llmproxyctl's frame from /status readings (snap.c parses
 * them): it fits the width and the height, whatever the names and the
 * number of providers; colour is only added, never needed; bytes from the
 * daemon cannot reach the terminal as control characters; rates come
 * from two readings; a failed reading is said.  Also fmt.c's numbers and
 * RFC 3339 times, and snap.c on partial or broken documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "snap.h"
#include "unit.h"
#include "view.h"

static struct snap *test_snap(const char *json, double t);
static int	test_widest(const char *text, int *lines);
static void	test_fits_80x24(void);
static void	test_cut_to_width(void);
static void	test_colour_is_optional(void);
static void	test_no_control_bytes(void);
static void	test_rates(void);
static void	test_problem(void);
static void	test_clients(void);
static void	test_fmt(void);
static void	test_snap_partial(void);

#define TEST_PROVIDER(name) \
	"{\"name\":\"" name "\",\"in_flight\":1,\"queued\":3," \
	"\"limits\":{\"requests_per_minute\":60,\"tokens_per_minute\":0," \
	"\"burst\":10,\"max_concurrent\":4,\"queue_max\":100}," \
	"\"buckets\":{\"requests\":2.5,\"tokens\":null}," \
	"\"cooldown_until\":null,\"totals\":{\"admitted\":10," \
	"\"refused\":0,\"retried\":0,\"upstream_429\":0}}"

/* Parse json (a /status body) and stamp it with t; fail if it is bad. */
static struct snap *
test_snap(const char *json, double t)
{
	struct snap	*s;
	char		 why[128];

	s = snap_parse(json, strlen(json), why, sizeof why);
	if (s == NULL)
		printf("# %s\n", why);
	UNIT_ASSERT(s != NULL);
	s->t_s = t;
	return s;
}

/* Return the widest line of text in columns, SGR sequences left out. */
static int
test_widest(const char *text, int *lines)
{
	int	w = 0, max = 0;

	*lines = 1;
	for (; *text != '\0'; text++) {
		if (*text == '\033') {
			text += strcspn(text, "m");
			continue;
		}
		if (*text == '\n') {
			(*lines)++;
			w = 0;
			continue;
		}
		UNIT_ASSERT(*text >= 0x20 && *text < 0x7f);
		if (++w > max)
			max = w;
	}
	return max;
}

/* Eight providers in 80x24: those that fit, a count of the rest. */
static void
test_fits_80x24(void)
{
	struct snap	*s = test_snap("{\"version\":\"1\",\"providers\":["
			    TEST_PROVIDER("p1") "," TEST_PROVIDER("p2") ","
			    TEST_PROVIDER("p3") "," TEST_PROVIDER("p4") ","
			    TEST_PROVIDER("p5") "," TEST_PROVIDER("p6") ","
			    TEST_PROVIDER("p7") "," TEST_PROVIDER("p8") "]}",
			    1);
	struct view_in	 in = { .url = "http://127.0.0.1:8080", .cur = s,
			    .width = 80, .height = 24, .interactive = 1 };
	char		*text;
	size_t		 len;
	int		 lines;

	text = view_render(&in, &len);
	UNIT_ASSERT(test_widest(text, &lines) <= 80);
	UNIT_ASSERT_INT_EQ(lines, 24);
	UNIT_ASSERT(strstr(text, "\np6 ") != NULL);
	UNIT_ASSERT(strstr(text, "\n... 2 more providers") != NULL);
	UNIT_ASSERT(strstr(text, "\nq quit") != NULL);
	UNIT_ASSERT(text[len - 1] != '\n');	/* the window must not scroll */
	free(text);
	snap_free(s);
}

/* A narrow window cuts every line, long names and URL included. */
static void
test_cut_to_width(void)
{
	struct snap	*s = test_snap("{\"version\":\"1\",\"providers\":["
			    TEST_PROVIDER("a-provider-name-of-many-characters")
			    "]}", 1);
	struct view_in	 in = { .url = "http://a-long-host-name.example:8080",
			    .cur = s, .width = 30, .height = 10 };
	char		*text;
	size_t		 len;
	int		 lines;

	text = view_render(&in, &len);
	UNIT_ASSERT(test_widest(text, &lines) == 30);
	UNIT_ASSERT(lines <= 10);
	UNIT_ASSERT(strstr(text, "\na-provider-nam       1/4") != NULL);
	free(text);
	in.colour = 1;
	text = view_render(&in, &len);
	UNIT_ASSERT(test_widest(text, &lines) == 30);
	free(text);
	snap_free(s);
}

/* Without colour no escape at all; with it, the same visible text. */
static void
test_colour_is_optional(void)
{
	struct snap	*s = test_snap("{\"version\":\"1\",\"providers\":["
			    TEST_PROVIDER("p") "]}", 1);
	struct view_in	 in = { .url = "u", .cur = s, .width = 80 };
	char		*plain, *col, *p, *q;
	size_t		 len;

	plain = view_render(&in, &len);
	UNIT_ASSERT(strchr(plain, '\033') == NULL);
	in.colour = 1;
	col = view_render(&in, &len);
	UNIT_ASSERT(strchr(col, '\033') != NULL);
	for (p = q = col; *p != '\0'; p++) {	/* strip SGR in place */
		if (*p == '\033')
			p += strcspn(p, "m");
		else
			*q++ = *p;
	}
	*q = '\0';
	/* The title pads to the width in colour; the rest is the same. */
	UNIT_ASSERT_STR_EQ(strchr(col, '\n'), strchr(plain, '\n'));
	free(plain);
	free(col);
	snap_free(s);
}

/* A name with control bytes prints as '?'s. */
static void
test_no_control_bytes(void)
{
	struct snap	*s = test_snap("{\"version\":\"\\u001b]0;x\\u0007\","
			    "\"providers\":[" TEST_PROVIDER("a\\u001b[2Jb")
			    "]}", 1);
	struct view_in	 in = { .url = "http://h\r\n", .cur = s,
			    .width = 80 };
	char		*text;
	size_t		 len;
	int		 lines;

	text = view_render(&in, &len);
	test_widest(text, &lines);	/* asserts printable ASCII */
	UNIT_ASSERT(strstr(text, "a?[2Jb") != NULL);
	free(text);
	snap_free(s);
}

/* Per-second rates from the totals of two readings 2 s apart. */
static void
test_rates(void)
{
	struct snap	*a = test_snap("{\"providers\":[{\"name\":\"p\","
			    "\"totals\":{\"admitted\":10,"
			    "\"upstream_429\":1}}]}",
			    100);
	struct snap	*b = test_snap("{\"providers\":[{\"name\":\"p\","
			    "\"totals\":{\"admitted\":15,"
			    "\"upstream_429\":5}}]}",
			    102);
	struct view_in	 in = { .url = "u", .cur = b, .prev = a, .old = a,
			    .width = 80 };
	char		*text;
	size_t		 len;

	text = view_render(&in, &len);
	UNIT_ASSERT(strstr(text, "\np  ") != NULL);
	UNIT_ASSERT(strstr(text, "     2.5    2.0 ") != NULL);
	free(text);
	in.prev = b;		/* the same reading twice: no rate */
	text = view_render(&in, &len);
	UNIT_ASSERT(strstr(text, "       -      - ") != NULL);
	free(text);
	snap_free(a);
	snap_free(b);
}

/* A failed reading is said in place of the figures. */
static void
test_problem(void)
{
	struct view_in	 in = { .url = "http://127.0.0.1:1", .problem =
			    "Connection refused", .unreachable = 1,
			    .failures = 3, .width = 80, .height = 24 };
	char		*text;
	size_t		 len;

	text = view_render(&in, &len);
	UNIT_ASSERT(strstr(text, "llmproxyd is unreachable at "
	    "http://127.0.0.1:1\n  Connection refused\n  retrying every "
	    "second (3 failed attempts)") != NULL);
	UNIT_ASSERT(strstr(text, "PROVIDER") == NULL);
	free(text);
}

/* The busiest clients first, as many as fit. */
static void
test_clients(void)
{
	struct snap	*s = test_snap("{\"providers\":[{\"name\":\"p\","
			    "\"clients\":[{\"name\":\"idle\",\"admitted\":99},"
			    "{\"name\":\"ci\",\"queued\":5,\"in_flight\":1},"
			    "{\"name\":\"alice\",\"queued\":1,\"in_flight\":2"
			    "}]}]}", 1);
	struct view_in	 in = { .url = "u", .cur = s, .width = 80 };
	char		*text;
	size_t		 len;

	UNIT_ASSERT(s->prov[0].has_clients && s->prov[0].nclients == 3);
	UNIT_ASSERT(s->prov[0].clients[0].weight == 1);
	text = view_render(&in, &len);
	UNIT_ASSERT(strstr(text, "  clients (in flight+queued): ci 1+5 "
	    "alice 2+1 idle 0+0\n") != NULL);
	free(text);
	snap_free(s);
}

/* Quantities, ages, waits and RFC 3339 times. */
static void
test_fmt(void)
{
	char	b[FMT_SIZE];
	double	t;

	UNIT_ASSERT_STR_EQ(fmt_qty(b, sizeof b, 7), "7");
	UNIT_ASSERT_STR_EQ(fmt_qty(b, sizeof b, 6.46), "6.5");
	UNIT_ASSERT_STR_EQ(fmt_qty(b, sizeof b, 200000), "200.0k");
	UNIT_ASSERT_STR_EQ(fmt_qty(b, sizeof b, 15e6), "15.0M");
	UNIT_ASSERT_STR_EQ(fmt_qty(b, sizeof b, -3.25), "-3.2");
	UNIT_ASSERT_STR_EQ(fmt_of(b, sizeof b, 3, 0), "3/-");
	UNIT_ASSERT_STR_EQ(fmt_age(b, sizeof b, 3725), "1h02m");
	UNIT_ASSERT_STR_EQ(fmt_age(b, sizeof b, 90061), "1d01h");
	UNIT_ASSERT_STR_EQ(fmt_wait(b, sizeof b, 0.0004), "0ms");
	UNIT_ASSERT_STR_EQ(fmt_wait(b, sizeof b, 2.25), "2.2s");
	UNIT_ASSERT_STR_EQ(fmt_wait(b, sizeof b, -1), "-");
	UNIT_ASSERT(fmt_parse_rfc3339("1970-01-02T00:00:01.5Z", &t) == 0);
	UNIT_ASSERT(t == 86401.5);
	UNIT_ASSERT(fmt_parse_rfc3339("1970-01-02T02:00:01+02:00", &t) == 0);
	UNIT_ASSERT(t == 86401);
	UNIT_ASSERT(fmt_parse_rfc3339("1970-01-02 00:00:01", &t) == -1);
	UNIT_ASSERT(fmt_parse_rfc3339("soon", &t) == -1);
}

/* Missing members read as zero or off; only a broken document fails. */
static void
test_snap_partial(void)
{
	struct snap	*s = test_snap("{\"providers\":[{\"name\":\"p\","
			    "\"buckets\":{\"requests\":\"x\",\"tokens\":3}}]}",
			    1);
	char		 why[128];

	UNIT_ASSERT(!s->prov[0].has_req_bucket && s->prov[0].has_tok_bucket);
	UNIT_ASSERT(s->connections == -1 && !s->prov[0].has_clients);
	UNIT_ASSERT(snap_find(s, "p") == &s->prov[0]);
	UNIT_ASSERT(snap_find(s, "q") == NULL && snap_find(NULL, "p") == NULL);
	snap_free(s);
	UNIT_ASSERT(snap_parse("{", 1, why, sizeof why) == NULL);
	UNIT_ASSERT(strncmp(why, "/status is not JSON", 19) == 0);
	UNIT_ASSERT(snap_parse("[]", 2, why, sizeof why) == NULL);
	UNIT_ASSERT_STR_EQ(why, "/status has no providers array");
}

static const struct unit_test tests[] = {
	{ "fits 80x24", test_fits_80x24 },
	{ "cut to the width", test_cut_to_width },
	{ "colour is optional", test_colour_is_optional },
	{ "no control bytes", test_no_control_bytes },
	{ "rates", test_rates },
	{ "problem", test_problem },
	{ "clients", test_clients },
	{ "fmt", test_fmt },
	{ "snap partial", test_snap_partial },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
