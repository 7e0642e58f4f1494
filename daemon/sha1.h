/* SPDX-License-Identifier: ISC */
/*
 * sha1: the SHA-1 (FIPS 180-4) of a byte string, in hex.
 *
 * Only to name a Lua script the way Redis names it: EVALSHA takes the
 * SHA-1 of the script's text, and knowing it up front spares a SCRIPT
 * LOAD round trip before the first call on every connection.  Not for
 * anything that needs a collision-resistant hash.  Pure.
 */
#ifndef SHA1_H
#define SHA1_H

#include <stddef.h>

#define SHA1_HEX_LEN	40

/* Write the SHA-1 of data[0..len) to hex: 40 lowercase digits and a NUL. */
void	sha1_hex(const void *data, size_t len, char hex[SHA1_HEX_LEN + 1]);

#endif /* SHA1_H */
