/* SPDX-License-Identifier: ISC */
/*
 * fuzz_httpscan: the raw framing scanner on generated connection bytes.
 *
 * The input is scanned twice, whole and cut at a point taken from its
 * first byte, and both scans must end in the same phase, request number
 * and verdict, with the same bytes rewritten: a socket may split bytes
 * anywhere.  A refusal must say why.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "httpscan.h"

/* libFuzzer entry point: run one generated input through the module. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpscan		*whole, *split;
	enum httpscan_phase	 a, b;
	const char		*wa = NULL, *wb = NULL;
	uint8_t			*x, *y;
	size_t			 cut;

	if (size == 0)
		return 0;
	cut = data[0] % size;
	x = malloc(size);
	y = malloc(size);
	if (x == NULL || y == NULL)
		abort();
	memcpy(x, data, size);
	memcpy(y, data, size);
	whole = httpscan_new();
	httpscan_set_limits(whole, 512, 256);
	a = httpscan_feed(whole, x, size);
	split = httpscan_new();
	httpscan_set_limits(split, 512, 256);
	httpscan_feed(split, y, cut);
	b = httpscan_feed(split, y + cut, size - cut);
	if (a != b || httpscan_seq(whole) != httpscan_seq(split) ||
	    httpscan_refusal(whole, &wa) != httpscan_refusal(split, &wb) ||
	    wa != wb || memcmp(x, y, size) != 0)
		abort();
	if (a == HTTPSCAN_BAD && wa == NULL)
		abort();
	if (strlen(httpscan_method(whole)) >= 16 ||
	    strlen(httpscan_target(whole)) >= 256)
		abort();
	httpscan_free(whole);
	httpscan_free(split);
	free(x);
	free(y);
	return 0;
}
