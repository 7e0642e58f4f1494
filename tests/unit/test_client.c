/* SPDX-License-Identifier: ISC */
/*
 * test_client: client.c on a simulated clock: who a request is (token,
 * header, default), the bound on header-named clients and the shared name
 * "other", forgetting a name idle for five minutes (and never one still
 * in use), weights that follow a reload, and the per-provider rows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "metrics.h"
#include "unit.h"

static void	test_identify(void);
static void	test_bound_and_other(void);
static void	test_forget_idle(void);
static void	test_token_clients(void);
static void	test_rows(void);

static struct config	test_open_cf;		/* no tokens */

/* Header names, default, and bad fields refused naming the field. */
static void
test_identify(void)
{
	struct client		*c, *d;
	enum queue_priority	 prio;

	UNIT_ASSERT(client_identify(&test_open_cf, 0, NULL, NULL, 0, &c,
	    &prio) == NULL);
	UNIT_ASSERT_STR_EQ(client_name(c), "default");
	UNIT_ASSERT_INT_EQ(client_weight(c), 1);
	UNIT_ASSERT_INT_EQ(prio, QUEUE_INTERACTIVE);
	UNIT_ASSERT(client_identify(&test_open_cf, 0, "ci.nightly-2", "batch",
	    0, &d, &prio) == NULL);
	UNIT_ASSERT_STR_EQ(client_name(d), "ci.nightly-2");
	UNIT_ASSERT_INT_EQ(prio, QUEUE_BATCH);
	client_unref(d, 0);
	UNIT_ASSERT_STR_EQ(client_identify(&test_open_cf, 0, "a b", NULL, 0,
	    &d, &prio), "x-llmproxy-client must be 1 to 64 letters, digits, "
	    "_ . or -");
	UNIT_ASSERT(d == NULL);
	UNIT_ASSERT_STR_EQ(client_identify(&test_open_cf, 0, "", NULL, 0, &d,
	    &prio), "x-llmproxy-client must be 1 to 64 letters, digits, "
	    "_ . or -");
	UNIT_ASSERT_STR_EQ(client_identify(&test_open_cf, 0, "ok", "soon", 0,
	    &d, &prio), "x-llmproxy-priority must be interactive or batch");
	client_unref(c, 0);
	client_free_all();
}

/* Beyond CLIENT_MAX_NAMED names in use, new names share "other". */
static void
test_bound_and_other(void)
{
	struct client	*held[CLIENT_MAX_NAMED], *c, *again;
	char		 name[16];
	size_t		 i;

	for (i = 0; i < CLIENT_MAX_NAMED; i++) {
		snprintf(name, sizeof name, "n%zu", i);
		held[i] = client_get(&test_open_cf, 0, name, 0);
		UNIT_ASSERT_STR_EQ(client_name(held[i]), name);
	}
	c = client_get(&test_open_cf, 0, "one-too-many", 1000);
	UNIT_ASSERT_STR_EQ(client_name(c), "other");
	/* A name already tracked is still itself. */
	again = client_get(&test_open_cf, 0, "n7", 1000);
	UNIT_ASSERT(again == held[7]);
	client_unref(again, 1000);
	client_unref(c, 1000);
	for (i = 0; i < CLIENT_MAX_NAMED; i++)
		client_unref(held[i], 2000);
	/* Idle, but not for five minutes: still full. */
	c = client_get(&test_open_cf, 0, "late", 2000 + CLIENT_FORGET_MS - 1);
	UNIT_ASSERT_STR_EQ(client_name(c), "other");
	client_unref(c, 2000 + CLIENT_FORGET_MS - 1);
	/* Five minutes idle: forgotten, so a new name has room. */
	c = client_get(&test_open_cf, 0, "late", 2000 + CLIENT_FORGET_MS);
	UNIT_ASSERT_STR_EQ(client_name(c), "late");
	client_unref(c, 2000 + CLIENT_FORGET_MS);
	client_free_all();
}

/*
 * A name idle five minutes is forgotten with its numbers, by a sweep
 * (/status and /metrics sweep first); one a request still holds never is.
 */
static void
test_forget_idle(void)
{
	struct metrics_provider	*m = metrics_provider("p");
	struct client		*busy, *idle;
	struct client_row	*r;
	json_t			*rows;

	busy = client_get(&test_open_cf, 0, "busy", 0);
	idle = client_get(&test_open_cf, 0, "idle", 0);
	r = client_row(idle, m);
	client_row_in_flight(r, 1);
	client_row_in_flight(r, -1);
	client_row_answered(r, 200);
	client_unref(idle, 10);
	client_row(busy, m);
	client_sweep(10 + CLIENT_FORGET_MS - 1);
	rows = client_status_json(m);
	UNIT_ASSERT_INT_EQ(json_array_size(rows), 2);
	json_decref(rows);
	client_sweep(10 + CLIENT_FORGET_MS + 3600 * 1000);
	rows = client_status_json(m);
	UNIT_ASSERT_INT_EQ(json_array_size(rows), 1);
	UNIT_ASSERT_STR_EQ(json_string_value(json_object_get(
	    json_array_get(rows, 0), "name")), "busy");
	json_decref(rows);
	/* Coming back, it starts from nothing. */
	idle = client_get(&test_open_cf, 0, "idle", 10 + 2 * CLIENT_FORGET_MS);
	rows = client_status_json(m);
	UNIT_ASSERT_INT_EQ(json_array_size(rows), 1);
	json_decref(rows);
	client_unref(idle, 0);
	client_unref(busy, 0);
	client_free_all();
	metrics_free_all();
}

/* With tokens, the token names the client, the header is ignored, and a
   reload's weight applies to the next request. */
static void
test_token_clients(void)
{
	char			 n1[] = "ci", n2[] = "alice", t1[] = "x", t2[] = "y";
	struct client_config	 cc[2] = {
		{ .name = n1, .weight = 1, .token = t1 },
		{ .name = n2, .weight = 4, .token = t2 }
	};
	struct config		 cf = { .clients = cc, .nclients = 2 };
	struct client		*c;
	enum queue_priority	 prio;

	UNIT_ASSERT(client_identify(&cf, 2, "someone-else", NULL, 0, &c,
	    &prio) == NULL);
	UNIT_ASSERT_STR_EQ(client_name(c), "alice");
	UNIT_ASSERT_INT_EQ(client_weight(c), 4);
	client_unref(c, 0);
	cc[1].weight = 2;
	c = client_get(&cf, 2, NULL, 0);
	UNIT_ASSERT_INT_EQ(client_weight(c), 2);
	client_unref(c, 0);
	/* Configured clients are never swept. */
	client_sweep(UINT64_C(1) << 40);
	c = client_get(&cf, 1, NULL, 0);
	UNIT_ASSERT_STR_EQ(client_name(c), "ci");
	client_unref(c, 0);
	client_free_all();
}

/* Rows per provider: queued, in flight, admitted, answers by status. */
static void
test_rows(void)
{
	struct metrics_provider	*a = metrics_provider("a");
	struct metrics_provider	*b = metrics_provider("b");
	struct client		*c = client_get(&test_open_cf, 0, "w", 0);
	struct client_row	*ra = client_row(c, a), *rb = client_row(c, b);
	char			*text = NULL;
	size_t			 len;
	FILE			*f;
	json_t			*rows, *row;

	UNIT_ASSERT(client_row(c, a) == ra && ra != rb);
	client_row_queued(ra, 1);
	client_row_queued(ra, 1);
	client_row_queued(ra, -1);
	client_row_in_flight(ra, 1);
	client_row_answered(ra, 200);
	client_row_answered(ra, 200);
	client_row_answered(ra, 429);
	rows = client_status_json(a);
	row = json_array_get(rows, 0);
	UNIT_ASSERT_INT_EQ(json_integer_value(json_object_get(row, "queued")),
	    1);
	UNIT_ASSERT_INT_EQ(json_integer_value(json_object_get(row,
	    "in_flight")), 1);
	UNIT_ASSERT_INT_EQ(json_integer_value(json_object_get(row,
	    "admitted")), 1);
	json_decref(rows);
	UNIT_ASSERT((f = open_memstream(&text, &len)) != NULL);
	client_render_metrics(f);
	fclose(f);
	UNIT_ASSERT(strstr(text, "llmproxy_client_requests_total{provider="
	    "\"a\",client=\"w\",code=\"200\"} 2\n") != NULL);
	UNIT_ASSERT(strstr(text, "llmproxy_client_requests_total{provider="
	    "\"a\",client=\"w\",code=\"429\"} 1\n") != NULL);
	UNIT_ASSERT(strstr(text, "llmproxy_client_queue_depth{provider="
	    "\"a\",client=\"w\"} 1\n") != NULL);
	UNIT_ASSERT(strstr(text, "llmproxy_client_queue_depth{provider="
	    "\"b\",client=\"w\"} 0\n") != NULL);
	free(text);
	client_unref(c, 0);
	client_free_all();
	metrics_free_all();
}

static const struct unit_test tests[] = {
	{ "identify", test_identify },
	{ "bound and other", test_bound_and_other },
	{ "forget idle", test_forget_idle },
	{ "token clients", test_token_clients },
	{ "rows", test_rows },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
