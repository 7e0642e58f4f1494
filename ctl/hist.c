/* SPDX-License-Identifier: ISC */
/*
 * hist: Prometheus histograms, read back from the daemon's /metrics.
 *
 * /status has no latency figures, so llmproxyctl top takes its queue-wait
 * percentiles from the llmproxy_queue_wait_seconds histogram: two readings
 * some seconds apart, their bucket counts subtracted, give the waits that
 * ended in between.  Only the `_bucket` series of one metric and one
 * provider are read; label order is free and values may be escaped, as
 * the text format allows.  Pure: no clock, no I/O.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

static int	hist_label(const char **pp, char *name, size_t namelen,
		    char *val, size_t vallen);
static int	hist_line(const char *line, size_t metriclen,
		    const char *provider, double *le, double *count);
static void	hist_insert(struct hist *h, double le, double count);

/* Read one name="value" pair at *pp, unescaping the value; -1 if bad. */
static int
hist_label(const char **pp, char *name, size_t namelen, char *val,
    size_t vallen)
{
	const char	*p = *pp;
	size_t		 n = 0;
	char		 c;

	while (*p == ' ' || *p == ',')
		p++;
	while (*p != '=' && *p != '\0' && *p != '}' && n + 1 < namelen)
		name[n++] = *p++;
	name[n] = '\0';
	if (p[0] != '=' || p[1] != '"')
		return -1;
	p += 2;
	for (n = 0; *p != '"'; p++) {
		if (*p == '\0' || *p == '\n')
			return -1;
		c = *p;
		if (c == '\\' && p[1] != '\0')
			c = *++p == 'n' ? '\n' : *p;
		if (n + 1 < vallen)
			val[n++] = c;
	}
	val[n] = '\0';
	*pp = p + 1;
	return 0;
}

/* Parse one `<metric>_bucket{...} value` line for provider. */
static int
hist_line(const char *line, size_t metriclen, const char *provider,
    double *le, double *count)
{
	const char	*p = line + metriclen + strlen("_bucket{");
	char		 name[64], val[256], *end;
	int		 found_le = 0, found_prov = 0;

	while (*p != '}') {
		if (hist_label(&p, name, sizeof name, val, sizeof val) == -1)
			return -1;
		if (strcmp(name, "le") == 0) {
			*le = strcmp(val, "+Inf") == 0 ? INFINITY :
			    strtod(val, NULL);
			found_le = 1;
		} else if (strcmp(name, "provider") == 0)
			found_prov = strcmp(val, provider) == 0;
		while (*p == ' ' || *p == ',')
			p++;
	}
	if (!found_le || !found_prov)
		return -1;
	*count = strtod(p + 1, &end);
	return end == p + 1 ? -1 : 0;
}

/* Put one bucket in h, keeping the upper bounds in ascending order. */
static void
hist_insert(struct hist *h, double le, double count)
{
	size_t	i;

	if (h->n == HIST_MAX)
		return;
	for (i = h->n; i > 0 && h->le[i - 1] > le; i--) {
		h->le[i] = h->le[i - 1];
		h->count[i] = h->count[i - 1];
	}
	h->le[i] = le;
	h->count[i] = count;
	h->n++;
}

size_t
hist_parse(struct hist *h, const char *text, const char *metric,
    const char *provider)
{
	size_t		 mlen = strlen(metric);
	const char	*line;
	double		 le, count;

	h->n = 0;
	for (line = text; line != NULL; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, metric, mlen) == 0 &&
		    strncmp(line + mlen, "_bucket{", 8) == 0 &&
		    hist_line(line, mlen, provider, &le, &count) == 0)
			hist_insert(h, le, count);
	}
	return h->n;
}

double
hist_quantile(const struct hist *cur, const struct hist *old, double q)
{
	double	d[HIST_MAX], total, rank, lo, below;
	size_t	i;

	if (cur->n == 0 || (old != NULL && old->n != cur->n))
		return -1;
	for (i = 0; i < cur->n; i++) {
		d[i] = cur->count[i] - (old != NULL ? old->count[i] : 0);
		if (d[i] < 0)
			return -1;	/* counters went back: a restart */
	}
	if ((total = d[cur->n - 1]) <= 0)
		return -1;
	rank = q * total;
	for (i = 0; i < cur->n && d[i] < rank; i++)
		;
	if (i == cur->n)
		i = cur->n - 1;
	if (isinf(cur->le[i]))	/* as Prometheus: the highest finite bound */
		return i > 0 ? cur->le[i - 1] : -1;
	lo = i > 0 ? cur->le[i - 1] : 0;
	below = i > 0 ? d[i - 1] : 0;
	if (d[i] - below <= 0)
		return cur->le[i];
	return lo + (cur->le[i] - lo) * (rank - below) / (d[i] - below);
}
