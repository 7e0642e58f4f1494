/* SPDX-License-Identifier: ISC */
/*
 * access: the access line and the metrics of each answered request, in
 * one place (see access.h).  The line is logfmt: key=value pairs whose
 * values hold no space, quote or control character, so a target that
 * carries one is written with it escaped as \xHH.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "client.h"
#include "log.h"
#include "metrics.h"

/* Room for why="...": a longer reason is cut. */
#define ACCESS_WHY_MAX		256
/* Longest path written; the rest of a longer one is cut ("..."). */
#define ACCESS_PATH_MAX		512

/* Labels, in enum access_end's order. */
static const char *const access_labels[ACCESS_NENDS] = {
	"",
	"queue_full", "queue_timeout", "too_large", "unauthorized",
	"forbidden", "overload", "shutdown", "cancelled", "batch_deadline",
	"bad_request", "header_too_large", "method_not_allowed",
	"client_closed", "client_stalled", "connect_failed",
	"connect_timeout", "first_byte_timeout", "idle_timeout",
	"upstream_error", "upstream_truncated", "provider_removed",
	"no_transfer"
};

/* The refusals are metrics' reasons, in the same order. */
_Static_assert(ACCESS_METHOD_NOT_ALLOWED - ACCESS_QUEUE_FULL + 1 ==
    METRICS_NREASONS, "access refusals and metrics reasons differ");

static void	access_escape_path(const char *target, char *out,
		    size_t size);
static void	access_count(struct metrics_provider *m,
		    const struct access_entry *e);
static void	access_quote(const char *text, char *out, size_t size);

/* Return the label of end, "" for a normal end. */
const char *
access_label(enum access_end end)
{
	if ((int)end < 0 || end >= ACCESS_NENDS)
		return "";
	return access_labels[end];
}

/* Return 1 if end is a refusal of the daemon's own. */
int
access_is_refusal(enum access_end end)
{
	return end >= ACCESS_QUEUE_FULL && end <= ACCESS_METHOD_NOT_ALLOWED;
}

/* Write e's access line and count it in m. */
void
access_record(struct metrics_provider *m, const struct access_entry *e)
{
	char	path[ACCESS_PATH_MAX * 4 + 4], why[ACCESS_WHY_MAX];

	access_count(m, e);
	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	access_escape_path(e->target != NULL ? e->target : "-", path,
	    sizeof path);
	if (e->detail != NULL)
		access_quote(e->detail, why, sizeof why);
	log_info("access provider=%s%s%s%s%s method=%s path=%s status=%d "
	    "queue_ms=%" PRIu64 " upstream_ms=%" PRIu64 " bytes_in=%zu "
	    "bytes_out=%" PRIu64 " attempts=%d%s%s%s%s%s%s%s%s",
	    e->provider != NULL ? e->provider : "-",
	    e->first != NULL ? " first=" : "", e->first != NULL ?
	    e->first : "", e->client != NULL ? " client=" : "",
	    e->client != NULL ? client_name(e->client) : "",
	    e->method != NULL ? e->method : "-", path,
	    e->status, e->queue_ms, e->upstream_ms, e->bytes_in, e->bytes_out,
	    e->attempts, e->model != NULL ? " model=" : "",
	    e->model != NULL ? e->model : "",
	    e->end == ACCESS_OK ? "" : access_is_refusal(e->end) ?
	    " reason=" : " end=", access_label(e->end),
	    e->batch != NULL ? " batch=" : "", e->batch != NULL ? e->batch :
	    "", e->detail != NULL ? " why=" : "", e->detail != NULL ? why :
	    "");
}

/*
 * Copy target's path (up to '?') into out, each byte that logfmt cannot
 * carry as \xHH, and at most ACCESS_PATH_MAX bytes of it.
 */
static void
access_escape_path(const char *target, char *out, size_t size)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)target;
	size_t			 o = 0, n;

	for (n = 0; p[n] != '\0' && p[n] != '?' && o + 5 < size; n++) {
		if (n == ACCESS_PATH_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (p[n] > 0x20 && p[n] < 0x7f && p[n] != '"' &&
		    p[n] != '\\') {
			out[o++] = (char)p[n];
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[p[n] >> 4];
		out[o++] = hex[p[n] & 0xf];
	}
	out[o] = '\0';
}

/*
 * Write text as one logfmt value: in double quotes (a reason has
 * spaces), with quotes and backslashes escaped and control characters
 * left out, cut to fit size.
 */
static void
access_quote(const char *text, char *out, size_t size)
{
	const unsigned char	*p = (const unsigned char *)text;
	size_t			 o = 0;

	out[o++] = '"';
	for (; *p != '\0' && o + 3 < size; p++) {
		if (*p < 0x20 || *p == 0x7f)
			continue;
		if (*p == '"' || *p == '\\')
			out[o++] = '\\';
		out[o++] = (char)*p;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* Count e in m, as its access line reports it. */
static void
access_count(struct metrics_provider *m, const struct access_entry *e)
{
	metrics_count_request(m, e->status, 1);
	if (e->client != NULL)
		client_row_answered(client_row(e->client, m), e->status);
	if (e->model_metrics != NULL)
		metrics_count_model_request(e->model_metrics, e->status);
	if (access_is_refusal(e->end))
		metrics_count_refusal(m,
		    (enum metrics_reason)(e->end - ACCESS_QUEUE_FULL), 1);
	metrics_count_bytes(m, e->bytes_in, e->bytes_out);
	if (e->estimate > 0)
		metrics_count_estimate(m, e->estimate);
	if (!e->timed)
		return;
	metrics_observe_ms(m, METRICS_QUEUE_WAIT, e->queue_ms);
	metrics_observe_ms(m, METRICS_DURATION, e->duration_ms);
}
