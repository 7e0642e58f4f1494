/* SPDX-License-Identifier: ISC */
/*
 * test_metrics: metrics.c's Prometheus text: label escaping, cumulative
 * histogram buckets with their sum and count, which series each block
 * renders (the unrouted one only requests and refusals), blocks kept by
 * name (a reload), and the refusal labels.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unit.h"

static int	test_has_line(const char *text, const char *line);
static char	*test_render(void);
static void	test_escaping(void);
static void	test_buckets_cumulative(void);
static void	test_statuses_seen_only(void);
static void	test_unrouted_block(void);
static void	test_same_name_same_block(void);
static void	test_every_family_typed(void);

/* Return 1 if text holds line as a whole line. */
static int
test_has_line(const char *text, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p;

	for (p = text; (p = strstr(p, line)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	}
	return 0;
}

/* Render everything, after a fresh start's blocks were filled. */
static char *
test_render(void)
{
	size_t	len;
	char	*text = metrics_render(3, &len);

	UNIT_ASSERT(text != NULL);
	UNIT_ASSERT_INT_EQ(strlen(text), len);
	return text;
}

/* Backslash, double quote and line feed in a name are escaped. */
static void
test_escaping(void)
{
	char	*text;

	metrics_free_all();
	metrics_count_request(metrics_provider("a\"b\\c\nd"), 200, 1);
	text = test_render();
	UNIT_ASSERT(test_has_line(text, "llmproxy_requests_total"
	    "{provider=\"a\\\"b\\\\c\\nd\",code=\"200\"} 1"));
	UNIT_ASSERT(strstr(text, "a\"b") == NULL);
	free(text);
	metrics_free_all();
}

/* Each bucket counts everything up to its bound; sum in seconds. */
static void
test_buckets_cumulative(void)
{
	struct metrics_provider	*m;
	const uint64_t		 ms[] = { 0, 1, 2, 3, 1000, 200000 };
	char			*text;
	size_t			 i;

	metrics_free_all();
	m = metrics_provider("p");
	for (i = 0; i < sizeof ms / sizeof ms[0]; i++)
		metrics_observe_ms(m, METRICS_QUEUE_WAIT, ms[i]);
	text = test_render();
	UNIT_ASSERT(test_has_line(text, "llmproxy_queue_wait_seconds_bucket"
	    "{provider=\"p\",le=\"0.001\"} 2"));
	UNIT_ASSERT(test_has_line(text, "llmproxy_queue_wait_seconds_bucket"
	    "{provider=\"p\",le=\"0.0025\"} 3"));
	UNIT_ASSERT(test_has_line(text, "llmproxy_queue_wait_seconds_bucket"
	    "{provider=\"p\",le=\"0.005\"} 4"));
	UNIT_ASSERT(test_has_line(text, "llmproxy_queue_wait_seconds_bucket"
	    "{provider=\"p\",le=\"1\"} 5"));
	UNIT_ASSERT(test_has_line(text, "llmproxy_queue_wait_seconds_bucket"
	    "{provider=\"p\",le=\"120\"} 5"));
	UNIT_ASSERT(test_has_line(text, "llmproxy_queue_wait_seconds_bucket"
	    "{provider=\"p\",le=\"+Inf\"} 6"));
	UNIT_ASSERT(test_has_line(text, "llmproxy_queue_wait_seconds_sum"
	    "{provider=\"p\"} 201.006000"));
	UNIT_ASSERT(test_has_line(text, "llmproxy_queue_wait_seconds_count"
	    "{provider=\"p\"} 6"));
	UNIT_ASSERT(test_has_line(text, "llmproxy_upstream_ttfb_seconds_count"
	    "{provider=\"p\"} 0"));
	free(text);
	metrics_free_all();
}

/* Only statuses that occurred are series; a bad status counts as 0. */
static void
test_statuses_seen_only(void)
{
	struct metrics_provider	*m;
	char			*text;

	metrics_free_all();
	m = metrics_provider("p");
	metrics_count_request(m, 200, 2);
	metrics_count_request(m, 429, 1);
	metrics_count_request(m, 1234, 1);	/* not a status: as 0 */
	text = test_render();
	UNIT_ASSERT(test_has_line(text,
	    "llmproxy_requests_total{provider=\"p\",code=\"200\"} 2"));
	UNIT_ASSERT(test_has_line(text,
	    "llmproxy_requests_total{provider=\"p\",code=\"429\"} 1"));
	UNIT_ASSERT(test_has_line(text,
	    "llmproxy_requests_total{provider=\"p\",code=\"0\"} 1"));
	UNIT_ASSERT(strstr(text, "code=\"500\"") == NULL);
	free(text);
	metrics_free_all();
}

/* provider="" has requests and refusals only, no gauges or histograms. */
static void
test_unrouted_block(void)
{
	char	*text;

	metrics_free_all();
	(void)metrics_provider("p");
	metrics_count_request(metrics_unrouted(), 401, 1);
	metrics_count_refusal(metrics_unrouted(), METRICS_UNAUTHORIZED, 1);
	text = test_render();
	UNIT_ASSERT(test_has_line(text,
	    "llmproxy_requests_total{provider=\"\",code=\"401\"} 1"));
	UNIT_ASSERT(test_has_line(text, "llmproxy_refused_total"
	    "{provider=\"\",reason=\"unauthorized\"} 1"));
	UNIT_ASSERT(test_has_line(text, "llmproxy_refused_total"
	    "{provider=\"p\",reason=\"unauthorized\"} 0"));
	UNIT_ASSERT(strstr(text, "_count{provider=\"\"}") == NULL);
	UNIT_ASSERT(strstr(text, "llmproxy_in_flight{provider=\"\"}") == NULL);
	UNIT_ASSERT(test_has_line(text, "llmproxy_connections 3"));
	free(text);
	metrics_free_all();
}

/* A name finds its block again (a reload); gauges add up. */
static void
test_same_name_same_block(void)
{
	struct metrics_provider	*m;
	char			*text;

	metrics_free_all();
	m = metrics_provider("p");
	metrics_count_retry(m);
	UNIT_ASSERT(metrics_provider("q") != m);
	UNIT_ASSERT(metrics_provider("p") == m);
	UNIT_ASSERT(metrics_unrouted() != m);
	metrics_count_retry(metrics_provider("p"));
	metrics_clear_gauges();
	metrics_add_gauges(m, 2, 5);
	metrics_add_gauges(m, 1, 0);	/* a retired p still finishing */
	text = test_render();
	UNIT_ASSERT(test_has_line(text,
	    "llmproxy_retries_total{provider=\"p\"} 2"));
	UNIT_ASSERT(test_has_line(text,
	    "llmproxy_in_flight{provider=\"p\"} 3"));
	UNIT_ASSERT(test_has_line(text,
	    "llmproxy_queue_depth{provider=\"p\"} 5"));
	UNIT_ASSERT(test_has_line(text,
	    "llmproxy_retries_total{provider=\"q\"} 0"));
	free(text);
	metrics_free_all();
}

/* Every family has its TYPE; tokens by kind; the text ends in LF. */
static void
test_every_family_typed(void)
{
	static const char *types[] = {
		"# TYPE llmproxy_requests_total counter",
		"# TYPE llmproxy_refused_total counter",
		"# TYPE llmproxy_in_flight gauge",
		"# TYPE llmproxy_queue_depth gauge",
		"# TYPE llmproxy_upstream_429_total counter",
		"# TYPE llmproxy_retries_total counter",
		"# TYPE llmproxy_bytes_received_total counter",
		"# TYPE llmproxy_bytes_sent_total counter",
		"# TYPE llmproxy_tokens_total counter",
		"# TYPE llmproxy_tokens_estimated_total counter",
		"# TYPE llmproxy_queue_wait_seconds histogram",
		"# TYPE llmproxy_upstream_ttfb_seconds histogram",
		"# TYPE llmproxy_request_duration_seconds histogram",
		"# TYPE llmproxy_connections gauge",
	};
	char	*text;
	size_t	 i;

	metrics_free_all();
	metrics_count_tokens(metrics_provider("p"), 7, -1);
	text = test_render();
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		UNIT_ASSERT(test_has_line(text, types[i]));
	UNIT_ASSERT(test_has_line(text,
	    "llmproxy_tokens_total{provider=\"p\",kind=\"prompt\"} 7"));
	UNIT_ASSERT(test_has_line(text,
	    "llmproxy_tokens_total{provider=\"p\",kind=\"completion\"} 0"));
	UNIT_ASSERT(text[strlen(text) - 1] == '\n');
	free(text);
	metrics_free_all();
}

static const struct unit_test tests[] = {
	{ "label values escaped", test_escaping },
	{ "histogram buckets cumulative", test_buckets_cumulative },
	{ "only statuses seen", test_statuses_seen_only },
	{ "unrouted block", test_unrouted_block },
	{ "same name, same block", test_same_name_same_block },
	{ "every family typed", test_every_family_typed },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
