/* SPDX-License-Identifier: ISC */
/*
 * client: the clients the daemon knows now, in one list.  A request finds
 * its client by name; the list holds the configured clients, "default",
 * "other" and at most CLIENT_MAX_NAMED header-named ones, so a walk is
 * short, and a request walks it once (its row at a provider is then kept
 * by its ticket).  Names are of [A-Za-z0-9._-] only (the configuration
 * and the header check say so): they go into label values and logfmt as
 * they are.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "confval.h"
#include "metrics.h"
#include "xmalloc.h"

/* How often a lookup may sweep the idle header-named clients. */
#define CLIENT_SWEEP_EVERY_MS	10000

/* One status and how many answers had it. */
struct client_code {
	int		 status;
	uint64_t	 n;
};

struct client_row {
	struct metrics_provider	*m;
	int64_t			 queued;
	int64_t			 in_flight;
	uint64_t		 admitted;
	struct client_code	*codes;		/* few distinct statuses */
	size_t			 ncodes;
	TAILQ_ENTRY(client_row)	 entry;
};

struct client {
	char			 name[CONFVAL_NAME_MAX + 1];
	int			 weight;
	int			 from_header;	/* counted, may be forgotten */
	unsigned		 refs;
	uint64_t		 idle_since_ms;	/* when refs reached 0 */
	TAILQ_HEAD(, client_row) rows;
	TAILQ_ENTRY(client)	 entry;
};

static TAILQ_HEAD(, client)	client_list =
    TAILQ_HEAD_INITIALIZER(client_list);
static size_t			client_named;	/* from_header ones */
static uint64_t			client_swept_ms;

static struct client *client_find(const char *name, size_t len);
static struct client *client_new(const char *name, size_t len, int weight,
		    int from_header);
static void	client_free(struct client *c);

/* Return the client called name (len bytes), or NULL. */
static struct client *
client_find(const char *name, size_t len)
{
	struct client	*c;

	TAILQ_FOREACH(c, &client_list, entry) {
		if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
			return c;
	}
	return NULL;
}

/* Add a client called name (len bytes, a valid name) to the list. */
static struct client *
client_new(const char *name, size_t len, int weight, int from_header)
{
	struct client	*c;

	c = xcalloc(1, sizeof *c);
	memcpy(c->name, name, len);
	c->weight = weight;
	c->from_header = from_header;
	TAILQ_INIT(&c->rows);
	TAILQ_INSERT_TAIL(&client_list, c, entry);
	if (from_header)
		client_named++;
	return c;
}

/* Return the client of a request, with a reference; NULL: bad header. */
struct client *
client_get(const struct config *cf, size_t token, const char *header,
    uint64_t now_ms)
{
	const struct client_config	*cc;
	struct client			*c;
	const char			*name = "default";
	size_t				 len;
	int				 weight = 1, from_header = 0;

	if (cf->nclients > 0 && token > 0 && token <= cf->nclients) {
		cc = &cf->clients[token - 1];
		name = cc->name;
		weight = (int)cc->weight;	/* a reload may change it */
	} else if (cf->nclients == 0 && header != NULL) {
		if (!confval_is_client_name(header, strlen(header)))
			return NULL;
		name = header;
		from_header = 1;
	}
	len = strlen(name);
	if ((c = client_find(name, len)) == NULL) {
		if (from_header && client_named >= CLIENT_MAX_NAMED)
			client_sweep(now_ms);
		if (from_header && client_named >= CLIENT_MAX_NAMED) {
			name = "other";		/* shared, never forgotten */
			len = strlen(name);
			from_header = 0;
			c = client_find(name, len);
		}
		if (c == NULL)
			c = client_new(name, len, weight, from_header);
	}
	c->weight = weight;
	c->refs++;
	if (now_ms >= client_swept_ms + CLIENT_SWEEP_EVERY_MS)
		client_sweep(now_ms);
	return c;
}

/* Say who a request is and at which priority, or why not. */
const char *
client_identify(const struct config *cf, size_t token, const char *name,
    const char *priority, uint64_t now_ms, struct client **c,
    enum queue_priority *prio)
{
	*c = NULL;
	*prio = QUEUE_INTERACTIVE;
	if (priority != NULL && strcmp(priority, "batch") == 0)
		*prio = QUEUE_BATCH;
	else if (priority != NULL && strcmp(priority, "interactive") != 0)
		return "x-llmproxy-priority must be interactive or batch";
	if ((*c = client_get(cf, token, name, now_ms)) == NULL)
		return "x-llmproxy-client must be 1 to 64 letters, digits, "
		    "_ . or -";
	return NULL;
}

/* Drop a reference taken by client_get(). */
void
client_unref(struct client *c, uint64_t now_ms)
{
	if (--c->refs == 0)
		c->idle_since_ms = now_ms;
}

/* Return c's name. */
const char *
client_name(const struct client *c)
{
	return c->name;
}

/* Return c's weight. */
int
client_weight(const struct client *c)
{
	return c->weight;
}

/* Return c's row at the provider whose metrics block is m. */
struct client_row *
client_row(struct client *c, struct metrics_provider *m)
{
	struct client_row	*r;

	TAILQ_FOREACH(r, &c->rows, entry) {
		if (r->m == m)
			return r;
	}
	r = xcalloc(1, sizeof *r);
	r->m = m;
	TAILQ_INSERT_TAIL(&c->rows, r, entry);
	return r;
}

/* Count a request joining or leaving the queue. */
void
client_row_queued(struct client_row *r, int delta)
{
	r->queued += delta;
}

/* Count a slot taken (an admission) or given back. */
void
client_row_in_flight(struct client_row *r, int delta)
{
	r->in_flight += delta;
	if (delta > 0)
		r->admitted++;
}

/* Count an answer with status. */
void
client_row_answered(struct client_row *r, int status)
{
	size_t	i;

	for (i = 0; i < r->ncodes; i++) {
		if (r->codes[i].status == status) {
			r->codes[i].n++;
			return;
		}
	}
	r->codes = xreallocarray(r->codes, r->ncodes + 1, sizeof *r->codes);
	r->codes[r->ncodes].status = status;
	r->codes[r->ncodes].n = 1;
	r->ncodes++;
}

/* Free c and its rows, taking it off the list. */
static void
client_free(struct client *c)
{
	struct client_row	*r;

	TAILQ_REMOVE(&client_list, c, entry);
	if (c->from_header)
		client_named--;
	while ((r = TAILQ_FIRST(&c->rows)) != NULL) {
		TAILQ_REMOVE(&c->rows, r, entry);
		free(r->codes);
		free(r);
	}
	free(c);
}

/* Forget the header-named clients no request has held for a while. */
void
client_sweep(uint64_t now_ms)
{
	struct client	*c, *next;

	client_swept_ms = now_ms;
	for (c = TAILQ_FIRST(&client_list); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->from_header && c->refs == 0 &&
		    now_ms >= c->idle_since_ms + CLIENT_FORGET_MS)
			client_free(c);
	}
}

/* Return /status's clients array for the provider of metrics block m. */
json_t *
client_status_json(const struct metrics_provider *m)
{
	struct client		*c;
	struct client_row	*r;
	json_t			*a = json_array();

	TAILQ_FOREACH(c, &client_list, entry) {
		TAILQ_FOREACH(r, &c->rows, entry) {
			if (r->m != m)
				continue;
			json_array_append_new(a, json_pack("{s:s,s:i,s:I,s:I,"
			    "s:I}", "name", c->name, "weight", c->weight,
			    "queued", (json_int_t)r->queued, "in_flight",
			    (json_int_t)r->in_flight, "admitted",
			    (json_int_t)r->admitted));
		}
	}
	return a;
}

/*
 * Write llmproxy_client_requests_total and llmproxy_client_queue_depth:
 * one series per client and provider it used (names need no escaping).
 */
void
client_render_metrics(FILE *f)
{
	struct client		*c;
	struct client_row	*r;
	size_t			 i;

	fputs("# HELP llmproxy_client_requests_total Requests answered, by "
	    "provider, client and the status sent.\n"
	    "# TYPE llmproxy_client_requests_total counter\n", f);
	TAILQ_FOREACH(c, &client_list, entry) {
		TAILQ_FOREACH(r, &c->rows, entry) {
			for (i = 0; i < r->ncodes; i++)
				fprintf(f, "llmproxy_client_requests_total{"
				    "provider=\"%s\",client=\"%s\",code=\"%d\"} "
				    "%" PRIu64 "\n", metrics_label(r->m),
				    c->name, r->codes[i].status,
				    r->codes[i].n);
		}
	}
	fputs("# HELP llmproxy_client_queue_depth Requests waiting for "
	    "admission now, by provider and client.\n"
	    "# TYPE llmproxy_client_queue_depth gauge\n", f);
	TAILQ_FOREACH(c, &client_list, entry) {
		TAILQ_FOREACH(r, &c->rows, entry)
			fprintf(f, "llmproxy_client_queue_depth{provider=\"%s\","
			    "client=\"%s\"} %" PRId64 "\n",
			    metrics_label(r->m), c->name, r->queued);
	}
}

/* Free every client. */
void
client_free_all(void)
{
	struct client	*c;

	while ((c = TAILQ_FIRST(&client_list)) != NULL)
		client_free(c);
	client_named = 0;
}
