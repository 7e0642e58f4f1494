/* SPDX-License-Identifier: ISC */
/*
 * fuzz_batch: batchreq_parse on generated POST /batch bodies.
 *
 * The input is parsed against a fixed configuration of two providers and
 * batch_max_items 4.  Besides surviving, a parse must either refuse with
 * a status of 400 or 413 and a message, or give 1 to 4 items, each with
 * a provider of the configuration, a method, a path from "/", and a
 * body whose length is its string's.
 */
#include <stdlib.h>
#include <string.h>

#include "batchreq.h"
#include "config.h"
#include "fuzz.h"

static char	fuzz_batch_oa[] = "oa";
static char	fuzz_batch_an[] = "an";

static struct provider_config	fuzz_batch_providers[] = {
	{ .name = fuzz_batch_oa },
	{ .name = fuzz_batch_an },
};

static struct config	fuzz_batch_config = {
	.batch_max_items = 4,
	.providers = fuzz_batch_providers,
	.nproviders = 2,
};

static void	fuzz_batch_check(const struct batch_request *br);

/* Abort unless br holds what batchreq.h promises. */
static void
fuzz_batch_check(const struct batch_request *br)
{
	const struct batch_item	*it;
	size_t			 i;

	if (br->nitems == 0 || br->nitems > 4 || !(br->deadline > 0))
		abort();
	for (i = 0; i < br->nitems; i++) {
		it = &br->items[i];
		if (it->provider >= 2 || it->method == NULL ||
		    it->path == NULL || it->path[0] != '/')
			abort();
		if (it->body != NULL && strlen(it->body) != it->body_len)
			abort();
	}
	(void)batchreq_mode_name(br->mode);
}

/* libFuzzer entry point: run one generated input through the module. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct batch_request	*br;
	char			*cause = NULL;
	int			 status = 0;

	br = batchreq_parse(&fuzz_batch_config, (const char *)data, size,
	    &status, &cause);
	if (br == NULL) {
		if ((status != 400 && status != 413) || cause == NULL)
			abort();
		free(cause);
		return 0;
	}
	fuzz_batch_check(br);
	batchreq_free(br);
	return 0;
}
