/* SPDX-License-Identifier: ISC */
/*
 * fuzz_httpscan: the raw framing scanner on generated connection bytes.
 *
 * The input is scanned twice, whole and cut at a point taken from its
 * first byte, and both scans must end in the same phase, request number
 * and verdict: a socket may split bytes anywhere.  A broken scan must
 * say why.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "httpscan.h"

/* libFuzzer entry point: run one generated input through the module. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpscan		whole, split;
	enum httpscan_phase	a, b;
	size_t			cut;

	if (size == 0)
		return 0;
	cut = data[0] % size;
	httpscan_init(&whole);
	a = httpscan_feed(&whole, data, size);
	httpscan_init(&split);
	httpscan_feed(&split, data, cut);
	b = httpscan_feed(&split, data + cut, size - cut);
	if (a != b || whole.seq != split.seq || whole.why != split.why)
		abort();
	if (a == HTTPSCAN_BAD && whole.why == NULL)
		abort();
	return 0;
}
