/* SPDX-License-Identifier: ISC */
/*
 * table: `llmproxyctl status`, a plain-text rendering of GET /status.
 *
 * Three tables, each fitting 80 columns whatever the number of
 * providers: what each provider holds now (slots, queue, bucket levels,
 * cooldown), its totals since the daemon started, and its clients when
 * the daemon reports them (SPEC 11).  The output is meant for people and
 * for grep: one provider per line, columns aligned, no colour; a limit
 * that is off prints as "-".  Scripts wanting every member should read
 * /status itself.
 */
#include <stdio.h>

#include "fmt.h"
#include "snap.h"
#include "table.h"

static const char *table_name(const struct snap_provider *p, char *buf,
		    size_t len);
static void	table_now(FILE *f, const struct snap *s);
static void	table_totals(FILE *f, const struct snap *s);
static void	table_clients(FILE *f, const struct snap_provider *p);

/* Return p's name, marked when a reload removed it. */
static const char *
table_name(const struct snap_provider *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", p->name, p->retired ? " (retired)" : "");
	return buf;
}

/* Print what each provider holds now. */
static void
table_now(FILE *f, const struct snap *s)
{
	const struct snap_provider	*p;
	char				 nm[96], a[FMT_SIZE], b[FMT_SIZE];
	char				 rq[2 * FMT_SIZE], tk[2 * FMT_SIZE];
	size_t				 i;

	fprintf(f, "%-16s %10s %11s %11s %14s  %s\n", "PROVIDER",
	    "IN FLIGHT", "QUEUED", "REQ BUCKET", "TOKEN BUCKET", "COOLDOWN");
	for (i = 0; i < s->nprov; i++) {
		p = &s->prov[i];
		snprintf(rq, sizeof rq, "-");
		snprintf(tk, sizeof tk, "-");
		if (p->has_req_bucket)
			snprintf(rq, sizeof rq, "%s/%s", fmt_qty(a, sizeof a,
			    p->req_bucket), fmt_qty(b, sizeof b, p->burst));
		if (p->has_tok_bucket)
			snprintf(tk, sizeof tk, "%s/%s", fmt_qty(a, sizeof a,
			    p->tok_bucket), fmt_qty(b, sizeof b,
			    p->tokens_per_minute));
		fprintf(f, "%-16s %10s", table_name(p, nm, sizeof nm),
		    fmt_of(a, sizeof a, p->in_flight, p->max_concurrent));
		fprintf(f, " %11s %11s %14s  %s\n", fmt_of(b, sizeof b,
		    p->queued, p->queue_max), rq, tk, p->cooldown[0] != '\0' ?
		    p->cooldown : "-");
	}
}

/* Print each provider's totals since the daemon started. */
static void
table_totals(FILE *f, const struct snap *s)
{
	const struct snap_provider	*p;
	char				 nm[96];
	size_t				 i;

	fprintf(f, "\n%-16s %12s %12s %12s %14s\n", "PROVIDER", "ADMITTED",
	    "REFUSED", "RETRIED", "UPSTREAM 429");
	for (i = 0; i < s->nprov; i++) {
		p = &s->prov[i];
		fprintf(f, "%-16s %12lld %12lld %12lld %14lld\n",
		    table_name(p, nm, sizeof nm), p->admitted, p->refused,
		    p->retried, p->upstream_429);
	}
}

/* Print p's clients, if the daemon lists them. */
static void
table_clients(FILE *f, const struct snap_provider *p)
{
	const struct snap_client	*c;
	char				 w[FMT_SIZE];
	size_t				 i;

	if (!p->has_clients || p->nclients == 0)
		return;
	fprintf(f, "\nCLIENTS OF %s\n%-32s %8s %10s %10s %12s\n", p->name,
	    "CLIENT", "WEIGHT", "IN FLIGHT", "QUEUED", "ADMITTED");
	for (i = 0; i < p->nclients; i++) {
		c = &p->clients[i];
		fprintf(f, "%-32s %8s %10lld %10lld %12lld\n", c->name,
		    fmt_qty(w, sizeof w, c->weight), c->in_flight, c->queued,
		    c->admitted);
	}
}

void
table_print(FILE *f, const struct snap *s, const char *url)
{
	char	age[FMT_SIZE];
	size_t	i;

	fprintf(f, "llmproxyd %s at %s\nup %s, %zu provider%s", s->version,
	    url, fmt_age(age, sizeof age, s->uptime_s), s->nprov,
	    s->nprov == 1 ? "" : "s");
	if (s->connections >= 0)
		fprintf(f, ", %lld client connection%s", s->connections,
		    s->connections == 1 ? "" : "s");
	fprintf(f, "\n\n");
	table_now(f, s);
	table_totals(f, s);
	for (i = 0; i < s->nprov; i++)
		table_clients(f, &s->prov[i]);
}
