/* SPDX-License-Identifier: ISC */
/*
 * test_hist: reading a provider's histogram back from Prometheus text
 * (label order, escapes, other providers and metrics left alone, buckets
 * out of order) and the quantiles of the difference of two readings
 * (interpolation inside a bucket, the +Inf bucket, no observations, a
 * restart in between).
 */
#include <math.h>
#include <stdio.h>

#include "hist.h"
#include "unit.h"

static void	test_parse(void);
static void	test_parse_escapes(void);
static void	test_quantile_interpolates(void);
static void	test_quantile_difference(void);
static void	test_quantile_none(void);
static void	test_quantile_inf(void);

static const char test_text[] =
    "# TYPE llmproxy_queue_wait_seconds histogram\n"
    "llmproxy_queue_wait_seconds_bucket{provider=\"a\",le=\"0.1\"} 2\n"
    "llmproxy_queue_wait_seconds_bucket{le=\"1\",provider=\"a\"} 6\n"
    "llmproxy_queue_wait_seconds_bucket{provider=\"b\",le=\"0.1\"} 100\n"
    "llmproxy_queue_wait_seconds_bucket{provider=\"a\",le=\"+Inf\"} 10\n"
    "llmproxy_queue_wait_seconds_sum{provider=\"a\"} 12.5\n"
    "llmproxy_queue_wait_seconds_count{provider=\"a\"} 10\n"
    "llmproxy_upstream_ttfb_seconds_bucket{provider=\"a\",le=\"0.1\"} 7\n"
    "llmproxy_queue_wait_seconds_bucket{provider=\"a\",le=\"0.5\"} 4\n";

/* Buckets of one provider and one metric, sorted by bound. */
static void
test_parse(void)
{
	struct hist	h;

	UNIT_ASSERT_INT_EQ(hist_parse(&h, test_text,
	    "llmproxy_queue_wait_seconds", "a"), 4);
	UNIT_ASSERT(h.le[0] == 0.1 && h.count[0] == 2);
	UNIT_ASSERT(h.le[1] == 0.5 && h.count[1] == 4);
	UNIT_ASSERT(h.le[2] == 1 && h.count[2] == 6);
	UNIT_ASSERT(isinf(h.le[3]) && h.count[3] == 10);
	UNIT_ASSERT_INT_EQ(hist_parse(&h, test_text,
	    "llmproxy_queue_wait_seconds", "c"), 0);
	UNIT_ASSERT_INT_EQ(hist_parse(&h, "", "x", "a"), 0);
}

/* A label value with escapes matches only its unescaped name. */
static void
test_parse_escapes(void)
{
	struct hist	h;
	const char	*t = "m_bucket{provider=\"a\\\"b\\\\\",le=\"1\"} 3\n"
			    "m_bucket{provider=\"a\",le=\"1\"} 9\n"
			    "m_bucket{provider=\"a\\\"b\\\\\",le=\"+Inf\"} 4";

	UNIT_ASSERT_INT_EQ(hist_parse(&h, t, "m", "a\"b\\"), 2);
	UNIT_ASSERT(h.count[0] == 3 && h.count[1] == 4);
	UNIT_ASSERT_INT_EQ(hist_parse(&h, "m_bucket{provider=\"a\",le=\"1\" 3",
	    "m", "a"), 0);
}

/* Linear inside the bucket that holds the rank, from its lower bound. */
static void
test_quantile_interpolates(void)
{
	struct hist	h;

	hist_parse(&h, test_text, "llmproxy_queue_wait_seconds", "a");
	/* 10 observations: the 5th is the 1st of 2 in (0.5, 1]. */
	UNIT_ASSERT(fabs(hist_quantile(&h, NULL, 0.5) - 0.75) < 1e-9);
	/* The 1st is half way through (0, 0.1]'s two. */
	UNIT_ASSERT(fabs(hist_quantile(&h, NULL, 0.1) - 0.05) < 1e-9);
}

/* Only what was observed between the two readings counts. */
static void
test_quantile_difference(void)
{
	struct hist	old = { 3, { 0.1, 1, INFINITY }, { 5, 5, 5 } };
	struct hist	cur = { 3, { 0.1, 1, INFINITY }, { 5, 9, 9 } };

	UNIT_ASSERT(fabs(hist_quantile(&cur, &old, 0.5) - 0.55) < 1e-9);
	UNIT_ASSERT(hist_quantile(&cur, NULL, 0.5) < 0.1);
}

/* Nothing new, or counters that went back (a restart): -1. */
static void
test_quantile_none(void)
{
	struct hist	a = { 2, { 1, INFINITY }, { 4, 4 } };
	struct hist	b = { 2, { 1, INFINITY }, { 2, 2 } };
	struct hist	c = { 3, { 1, 2, INFINITY }, { 4, 4, 4 } };
	struct hist	e = { 0, { 0 }, { 0 } };

	UNIT_ASSERT(hist_quantile(&a, &a, 0.5) == -1);
	UNIT_ASSERT(hist_quantile(&b, &a, 0.5) == -1);
	UNIT_ASSERT(hist_quantile(&c, &a, 0.5) == -1);
	UNIT_ASSERT(hist_quantile(&e, NULL, 0.5) == -1);
}

/* A rank in the +Inf bucket reads as the highest finite bound. */
static void
test_quantile_inf(void)
{
	struct hist	h = { 3, { 1, 2, INFINITY }, { 0, 1, 10 } };

	UNIT_ASSERT(hist_quantile(&h, NULL, 0.99) == 2);
}

static const struct unit_test tests[] = {
	{ "parse", test_parse },
	{ "parse escapes", test_parse_escapes },
	{ "quantile interpolates", test_quantile_interpolates },
	{ "quantile of a difference", test_quantile_difference },
	{ "quantile of nothing", test_quantile_none },
	{ "quantile in +Inf", test_quantile_inf },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
