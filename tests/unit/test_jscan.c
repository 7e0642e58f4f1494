/* SPDX-License-Identifier: ISC */
/*
 * test_jscan: jscan.c finds a top-level member's value in JSON text,
 * across strings holding brackets, quotes and escapes, takes the last of
 * duplicate keys, refuses text that is not one balanced object, and reads
 * integers the way jansson's json_is_integer() would see them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "unit.h"

static const char *test_find(const char *s, const char *key);
static int	test_uint(const char *s, const char *key, int64_t *v);
static void	test_members(void);
static void	test_not_objects(void);
static void	test_integers(void);

static char	test_buf[256];

/* Return member key's value text in s, or NULL if it is not found. */
static const char *
test_find(const char *s, const char *key)
{
	size_t	off, len;

	if (jscan_member(s, strlen(s), key, &off, &len) == -1)
		return NULL;
	memcpy(test_buf, s + off, len);
	test_buf[len] = '\0';
	return test_buf;
}

/* Read member key of s as an integer >= 0. */
static int
test_uint(const char *s, const char *key, int64_t *v)
{
	return jscan_uint(s, strlen(s), key, v);
}

/* Values of every kind, at the top level only, the last duplicate. */
static void
test_members(void)
{
	UNIT_ASSERT_STR_EQ(test_find("{\"usage\":{\"a\":1}}", "usage"),
	    "{\"a\":1}");
	UNIT_ASSERT_STR_EQ(test_find(" { \"x\" : \"}\\\"{\" , \"usage\" :\n"
	    "[1, {\"b\": \"]\"}] } \n", "usage"), "[1, {\"b\": \"]\"}]");
	UNIT_ASSERT_STR_EQ(test_find("{\"a\":{\"usage\":1},\"usage\":2}",
	    "usage"), "2");
	UNIT_ASSERT_STR_EQ(test_find("{\"usage\":1,\"usage\":null}",
	    "usage"), "null");
	UNIT_ASSERT_STR_EQ(test_find("{\"s\":\"usage\",\"usage\":\"x\"}",
	    "usage"), "\"x\"");
	UNIT_ASSERT(test_find("{\"a\":{\"usage\":1}}", "usage") == NULL);
	UNIT_ASSERT(test_find("{\"usages\":1,\"usag\":2}", "usage") == NULL);
	UNIT_ASSERT(test_find("{}", "usage") == NULL);
}

/* Text that is not exactly one balanced object has no members. */
static void
test_not_objects(void)
{
	static const char *const texts[] = {
		"", "[1]", "\"usage\"", "{\"usage\":1", "{\"usage\":1} x",
		"{\"usage\":[1}", "{\"usage\":\"1}", "{\"usage\" 1}",
		"{\"usage\":}", "{usage:1}", "{\"usage\":1,}",
		"{\"usage\":1 \"b\":2}",
	};
	size_t	i;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
		UNIT_ASSERT(test_find(texts[i], "usage") == NULL);
	UNIT_ASSERT(jscan_member(NULL, 0, "usage", &i, &i) == -1);
}

/* Integers >= 0 within int64_t; nothing else. */
static void
test_integers(void)
{
	int64_t	v = -1;

	UNIT_ASSERT_INT_EQ(test_uint("{\"n\":42}", "n", &v), 0);
	UNIT_ASSERT_INT_EQ(v, 42);
	UNIT_ASSERT_INT_EQ(test_uint("{\"n\":0}", "n", &v), 0);
	UNIT_ASSERT_INT_EQ(v, 0);
	UNIT_ASSERT_INT_EQ(test_uint("{\"n\":9223372036854775807}", "n", &v),
	    0);
	UNIT_ASSERT_INT_EQ(v, INT64_MAX);
	UNIT_ASSERT_INT_EQ(test_uint("{\"n\":9223372036854775808}", "n", &v),
	    -1);
	UNIT_ASSERT_INT_EQ(test_uint("{\"n\":-3}", "n", &v), -1);
	UNIT_ASSERT_INT_EQ(test_uint("{\"n\":2.5}", "n", &v), -1);
	UNIT_ASSERT_INT_EQ(test_uint("{\"n\":1e3}", "n", &v), -1);
	UNIT_ASSERT_INT_EQ(test_uint("{\"n\":012}", "n", &v), -1);
	UNIT_ASSERT_INT_EQ(test_uint("{\"n\":\"7\"}", "n", &v), -1);
	UNIT_ASSERT_INT_EQ(test_uint("{\"n\":null}", "n", &v), -1);
	UNIT_ASSERT_INT_EQ(test_uint("{\"m\":1}", "n", &v), -1);
}

static const struct unit_test tests[] = {
	{ "members", test_members },
	{ "not objects", test_not_objects },
	{ "integers", test_integers },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
