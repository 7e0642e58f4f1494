/* SPDX-License-Identifier: ISC */
/*
 * test_sha1: sha1.c against the FIPS 180 examples, the padding edges
 * (55, 56, 63 and 64 bytes, where the length spills into a second block),
 * and the name Redis gives a script (SCRIPT LOAD "return 1").
 */
#include <string.h>

#include "sha1.h"
#include "unit.h"

static void	test_fips_vectors(void);
static void	test_padding_edges(void);
static void	test_redis_script_name(void);

/* The examples of FIPS 180-2, appendix A. */
static void
test_fips_vectors(void)
{
	char	hex[SHA1_HEX_LEN + 1];

	sha1_hex("abc", 3, hex);
	UNIT_ASSERT_STR_EQ(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
	sha1_hex("", 0, hex);
	UNIT_ASSERT_STR_EQ(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    56, hex);
	UNIT_ASSERT_STR_EQ(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

/* Lengths around a block's last 8 bytes, checked with sha1sum(1). */
static void
test_padding_edges(void)
{
	char	buf[65], hex[SHA1_HEX_LEN + 1];

	memset(buf, 'a', sizeof buf);
	sha1_hex(buf, 55, hex);
	UNIT_ASSERT_STR_EQ(hex, "c1c8bbdc22796e28c0e15163d20899b65621d65a");
	sha1_hex(buf, 63, hex);
	UNIT_ASSERT_STR_EQ(hex, "03f09f5b158a7a8cdad920bddc29b81c18a551f5");
	sha1_hex(buf, 64, hex);
	UNIT_ASSERT_STR_EQ(hex, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
	sha1_hex(buf, 65, hex);
	UNIT_ASSERT_STR_EQ(hex, "11655326c708d70319be2610e8a57d9a5b959d3b");
}

/* redis-cli SCRIPT LOAD "return 1" answers this name. */
static void
test_redis_script_name(void)
{
	char	hex[SHA1_HEX_LEN + 1];

	sha1_hex("return 1", 8, hex);
	UNIT_ASSERT_STR_EQ(hex, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

static const struct unit_test tests[] = {
	{ "FIPS 180 vectors", test_fips_vectors },
	{ "padding edges", test_padding_edges },
	{ "redis script name", test_redis_script_name },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
