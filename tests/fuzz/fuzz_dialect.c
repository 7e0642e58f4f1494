/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dialect: dialect.c's readers and writers on generated input.
 *
 * The input is a request body for the estimate and a response body for
 * usage, in both dialects; split at its first newline it is also an SSE
 * event name and data.  As a NUL-terminated string it becomes the message
 * of error bodies and stream error events, which must parse back as JSON.
 * The estimate must never be negative.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dialect.h"
#include "fuzz.h"
#include "jscan.h"
#include "xmalloc.h"

static void	fuzz_dialect_errors(enum dialect d, const char *text);
static void	fuzz_dialect_check_json(const char *s);
static void	fuzz_dialect_check_jscan(const char *s, size_t size);

/* Abort unless s is one valid JSON document. */
static void
fuzz_dialect_check_json(const char *s)
{
	json_error_t	 err;
	json_t		*j;

	if ((j = json_loads(s, 0, &err)) == NULL)
		abort();
	json_decref(j);
}

/*
 * Abort unless jscan and jansson agree on whether s is a valid JSON object.
 * Texts with a raw NUL byte are left out: jansson skips one after a number
 * or a literal (it takes {"a":0<NUL>}), jscan refuses it like any other
 * control byte outside a string.
 */
static void
fuzz_dialect_check_jscan(const char *s, size_t size)
{
	json_error_t	 err;
	json_t		*j;
	size_t		 i;

	for (i = 0; i < size && strchr(" \t\r\n", s[i]) != NULL &&
	    s[i] != '\0'; i++)
		;
	if (i == size || s[i] != '{' || memchr(s, '\0', size) != NULL)
		return;
	j = json_loadb(s, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if ((j != NULL) != (jscan_valid(s, size) == 0))
		abort();
	json_decref(j);
}

/* Build d's error body and stream error event around text; check them. */
static void
fuzz_dialect_errors(enum dialect d, const char *text)
{
	const char	*json;
	char		*s;

	s = dialect_error_body(d, dialect_error_type(d, 429), text, text);
	fuzz_dialect_check_json(s);
	free(s);
	s = dialect_stream_error_event(d, text, text);
	if ((json = strstr(s, "data: ")) == NULL ||
	    strchr(json, '\n') != s + strlen(s) - 2 || s[strlen(s) - 1] != '\n')
		abort();
	s[strlen(s) - 2] = '\0';
	fuzz_dialect_check_json(json + 6);
	free(s);
}

/* libFuzzer entry point: run one generated input through the module. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*s = (const char *)data, *nl;
	struct dialect_usage	 u;
	char			*text;
	size_t			 elen;

	fuzz_dialect_check_jscan(s, size);
	if (dialect_estimate_tokens(s, size, 1024) < 0 ||
	    dialect_estimate_tokens(s, size, 0) < 0)
		abort();
	dialect_usage_init(&u);
	dialect_usage_from_body(DIALECT_OPENAI, s, size, &u);
	dialect_usage_from_body(DIALECT_ANTHROPIC, s, size, &u);
	nl = memchr(s, '\n', size);
	elen = nl != NULL ? (size_t)(nl - s) : 0;
	if (nl != NULL) {
		dialect_usage_from_event(DIALECT_OPENAI, s, elen, nl + 1,
		    size - elen - 1, &u);
		dialect_usage_from_event(DIALECT_ANTHROPIC, s, elen, nl + 1,
		    size - elen - 1, &u);
	}
	if (u.input_tokens < -1 || u.output_tokens < -1)
		abort();
	text = dialect_add_include_usage(s, size, &elen);
	/* A patched body is still one valid JSON text, and asks for it. */
	if (text != NULL && (jscan_valid(text, elen) != 0 ||
	    dialect_add_include_usage(text, elen, &elen) != NULL))
		abort();
	free(text);
	text = xstrndup(s, size);
	fuzz_dialect_errors(DIALECT_OPENAI, text);
	fuzz_dialect_errors(DIALECT_ANTHROPIC, text);
	free(text);
	return 0;
}
