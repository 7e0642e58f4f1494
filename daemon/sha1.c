/* SPDX-License-Identifier: ISC */
/*
 * sha1: one-shot SHA-1 of a buffer held whole in memory (a script's
 * text), so there is no streaming state: the full blocks are hashed in
 * place and the tail is padded in a local buffer.
 */
#include <stdint.h>
#include <string.h>

#include "sha1.h"

#define SHA1_BLOCK	64
#define SHA1_ROL(x, n)	(((x) << (n)) | ((x) >> (32 - (n))))

static void	sha1_block(uint32_t h[5], const uint8_t *p);

/* Mix one 64-byte block into the state h. */
static void
sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t	w[80], a, b, c, d, e, f, k, t;
	int		i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 80; i++)
		w[i] = SHA1_ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20)
			f = (b & c) | (~b & d), k = 0x5a827999;
		else if (i < 40)
			f = b ^ c ^ d, k = 0x6ed9eba1;
		else if (i < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
		else
			f = b ^ c ^ d, k = 0xca62c1d6;
		t = SHA1_ROL(a, 5) + f + e + k + w[i];
		e = d, d = c, c = SHA1_ROL(b, 30), b = a, a = t;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* Write the SHA-1 of data[0..len) to hex: 40 lowercase digits and a NUL. */
void
sha1_hex(const void *data, size_t len, char hex[SHA1_HEX_LEN + 1])
{
	static const char	 digits[] = "0123456789abcdef";
	const uint8_t		*p = data;
	uint32_t		 h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe,
				    0x10325476, 0xc3d2e1f0 };
	uint8_t			 tail[2 * SHA1_BLOCK], byte;
	uint64_t		 bits = (uint64_t)len * 8;
	size_t			 done = 0, rest, ntail, i;

	for (; len - done >= SHA1_BLOCK; done += SHA1_BLOCK)
		sha1_block(h, p + done);
	rest = len - done;
	memset(tail, 0, sizeof tail);
	if (rest > 0)
		memcpy(tail, p + done, rest);
	tail[rest] = 0x80;
	/* The length takes the last 8 bytes: a second block if no room. */
	ntail = rest < SHA1_BLOCK - 8 ? SHA1_BLOCK : 2 * SHA1_BLOCK;
	for (i = 0; i < 8; i++)
		tail[ntail - 1 - i] = (uint8_t)(bits >> (8 * i));
	for (i = 0; i < ntail; i += SHA1_BLOCK)
		sha1_block(h, tail + i);
	for (i = 0; i < 20; i++) {
		byte = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
		hex[2 * i] = digits[byte >> 4];
		hex[2 * i + 1] = digits[byte & 15];
	}
	hex[SHA1_HEX_LEN] = '\0';
}
