/* SPDX-License-Identifier: ISC */
/*
 * hist: one provider's Prometheus histogram, read from the text format,
 * and quantiles of the observations made between two readings.
 */
#ifndef HIST_H
#define HIST_H

#include <stddef.h>

#define HIST_MAX	40		/* buckets kept; the daemon has 17 */

/* Cumulative bucket counts by upper bound, ascending; the last is +Inf. */
struct hist {
	size_t	n;
	double	le[HIST_MAX];
	double	count[HIST_MAX];
};

/*
 * Fill h with the buckets of metric (e.g. "llmproxy_queue_wait_seconds")
 * whose provider label is provider, from Prometheus text; return the
 * number of buckets found (0: none, h is empty).
 */
size_t	hist_parse(struct hist *h, const char *text, const char *metric,
	    const char *provider);
/*
 * Return the q-quantile (0 < q < 1) of the observations counted in cur but
 * not yet in old (NULL: all of cur's), interpolating inside a bucket as
 * Prometheus's histogram_quantile() does; -1 when there are none, or when
 * the two do not line up (the daemon restarted in between).
 */
double	hist_quantile(const struct hist *cur, const struct hist *old,
	    double q);

#endif /* HIST_H */
