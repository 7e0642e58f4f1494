/* SPDX-License-Identifier: ISC */
/*
 * uigen: turn the status page (daemon/ui.html) into C at build time.
 *
 * It writes a C file holding the page's bytes and the Content-Security-
 * Policy it is served with, whose script-src and style-src list the
 * SHA-256 of each inline <script> and <style> element (CSP Level 2 hash
 * sources), so the page stays editable as plain HTML and its policy can
 * never drift from it: nothing but those exact blocks may run or style
 * the page.  The tags must be written bare (<script>, <style>) and each
 * closed, and neither may hold "</script>" or "</style>" in a string or
 * comment of its own; a page without both is a build error.  HTML
 * comments may name the tags.  It runs at build time only, is never
 * installed, and links nothing of the daemon's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UIGEN_MAX_BYTES		(1024 * 1024)	/* a page, not a site */
#define UIGEN_MAX_HASHES	8		/* per kind of element */
#define UIGEN_HASH_B64		45		/* 32 bytes in base64, NUL */

struct uigen_sha256 {
	uint32_t	h[8];
	uint8_t		block[64];
	size_t		used;			/* bytes in block */
	uint64_t	total;			/* bytes hashed */
};

static void	uigen_sha256_init(struct uigen_sha256 *c);
static void	uigen_sha256_block(struct uigen_sha256 *c);
static void	uigen_sha256_add(struct uigen_sha256 *c, const uint8_t *p,
		    size_t len);
static void	uigen_sha256_end(struct uigen_sha256 *c, uint8_t out[32]);
static void	uigen_base64(const uint8_t in[32], char out[UIGEN_HASH_B64]);
static const char *uigen_find(const char *p, const char *tag);
static int	uigen_hashes(const char *page, const char *tag, char *out,
		    size_t outlen);
static char	*uigen_read(const char *path, size_t *len);
static void	uigen_write(const char *src, const char *page, size_t len,
		    const char *scripts, const char *styles);

static const uint32_t uigen_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b,
	0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
	0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
	0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152,
	0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
	0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
	0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
	0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

#define UIGEN_ROR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))

/* Start a SHA-256 (FIPS 180-4). */
static void
uigen_sha256_init(struct uigen_sha256 *c)
{
	static const uint32_t	h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
	};

	memcpy(c->h, h0, sizeof c->h);
	c->used = 0;
	c->total = 0;
}

/* Mix one full 64-byte block into the state. */
static void
uigen_sha256_block(struct uigen_sha256 *c)
{
	uint32_t	w[64], v[8], s0, s1, t1, t2;
	int		i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)c->block[i * 4] << 24 |
		    (uint32_t)c->block[i * 4 + 1] << 16 |
		    (uint32_t)c->block[i * 4 + 2] << 8 | c->block[i * 4 + 3];
	for (i = 16; i < 64; i++) {
		s0 = UIGEN_ROR(w[i - 15], 7) ^ UIGEN_ROR(w[i - 15], 18) ^
		    (w[i - 15] >> 3);
		s1 = UIGEN_ROR(w[i - 2], 17) ^ UIGEN_ROR(w[i - 2], 19) ^
		    (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, c->h, sizeof v);
	for (i = 0; i < 64; i++) {
		t1 = v[7] + (UIGEN_ROR(v[4], 6) ^ UIGEN_ROR(v[4], 11) ^
		    UIGEN_ROR(v[4], 25)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) +
		    uigen_k[i] + w[i];
		t2 = (UIGEN_ROR(v[0], 2) ^ UIGEN_ROR(v[0], 13) ^
		    UIGEN_ROR(v[0], 22)) + ((v[0] & v[1]) ^ (v[0] & v[2]) ^
		    (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof v[0]);
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		c->h[i] += v[i];
	c->used = 0;
}

/* Hash len more bytes. */
static void
uigen_sha256_add(struct uigen_sha256 *c, const uint8_t *p, size_t len)
{
	c->total += len;
	while (len-- > 0) {
		c->block[c->used++] = *p++;
		if (c->used == sizeof c->block)
			uigen_sha256_block(c);
	}
}

/* Pad, finish and write the 32-byte digest. */
static void
uigen_sha256_end(struct uigen_sha256 *c, uint8_t out[32])
{
	uint64_t	bits = c->total * 8;
	int		i;

	c->block[c->used++] = 0x80;
	if (c->used > 56) {
		memset(c->block + c->used, 0, sizeof c->block - c->used);
		uigen_sha256_block(c);
	}
	memset(c->block + c->used, 0, 56 - c->used);
	for (i = 0; i < 8; i++)
		c->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	uigen_sha256_block(c);
	for (i = 0; i < 32; i++)
		out[i] = (uint8_t)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* Write a digest in standard base64, as CSP hash sources spell it. */
static void
uigen_base64(const uint8_t in[32], char out[UIGEN_HASH_B64])
{
	static const char	abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t		v;
	int			i, o = 0;

	for (i = 0; i < 32; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < 32)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < 32)
			v |= in[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = i + 1 < 32 ? abc[v >> 6 & 63] : '=';
		out[o++] = i + 2 < 32 ? abc[v & 63] : '=';
	}
	out[o] = '\0';
}

/* Find tag in p outside HTML comments, which may name it in prose. */
static const char *
uigen_find(const char *p, const char *tag)
{
	const char	*t, *c;

	for (;;) {
		t = strstr(p, tag);
		c = strstr(p, "<!--");
		if (t == NULL || c == NULL || t < c)
			return t;
		if ((p = strstr(c + 4, "-->")) == NULL)
			return NULL;
		p += 3;
	}
}

/*
 * Append " 'sha256-...'" to out for the content of each <tag>...</tag> of
 * page; return how many, or -1 if one is not closed or there are too many.
 */
static int
uigen_hashes(const char *page, const char *tag, char *out, size_t outlen)
{
	struct uigen_sha256	 c;
	char			 open[16], close[16], b64[UIGEN_HASH_B64];
	const char		*p = page, *end;
	uint8_t			 digest[32];
	int			 n = 0;

	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	while ((p = uigen_find(p, open)) != NULL) {
		p += strlen(open);
		if ((end = strstr(p, close)) == NULL || ++n > UIGEN_MAX_HASHES)
			return -1;
		uigen_sha256_init(&c);
		uigen_sha256_add(&c, (const uint8_t *)p, (size_t)(end - p));
		uigen_sha256_end(&c, digest);
		uigen_base64(digest, b64);
		snprintf(out + strlen(out), outlen - strlen(out),
		    " 'sha256-%s'", b64);
		p = end;
	}
	return n;
}

/* Read the whole file at path (NUL-terminated); exit on any error. */
static char *
uigen_read(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		exit(1);
	}
	if ((buf = malloc(UIGEN_MAX_BYTES + 1)) == NULL) {
		perror("malloc");
		exit(1);
	}
	*len = fread(buf, 1, UIGEN_MAX_BYTES + 1, f);
	if (ferror(f) || *len > UIGEN_MAX_BYTES || memchr(buf, '\0',
	    *len) != NULL) {
		fprintf(stderr, "%s: unreadable, too large or not text\n",
		    path);
		exit(1);
	}
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

/* Write the C file: the policy, then the page as an array of bytes. */
static void
uigen_write(const char *src, const char *page, size_t len,
    const char *scripts, const char *styles)
{
	size_t	i;

	printf("/* Generated from %s by uigen: edit that file instead. */\n"
	    "#include <stddef.h>\n\n#include \"ui_page.h\"\n\n", src);
	printf("const char ui_page_csp[] = \"default-src 'none'; "
	    "script-src%s; style-src%s; connect-src 'self'; img-src data:; "
	    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\";\n",
	    scripts, styles);
	printf("const size_t ui_page_len = %zu;\n", len);
	printf("const unsigned char ui_page_html[] = {");
	for (i = 0; i < len; i++)
		printf("%s0x%02x,", i % 12 == 0 ? "\n\t" : " ",
		    (unsigned char)page[i]);
	printf("\n};\n");
}

/* uigen ui.html: write the page's C source to standard output. */
int
main(int argc, char *argv[])
{
	char	*page, scripts[1024] = "", styles[1024] = "";
	size_t	 len;

	if (argc != 2) {
		fprintf(stderr, "usage: uigen page.html\n");
		return 2;
	}
	page = uigen_read(argv[1], &len);
	if (uigen_hashes(page, "script", scripts, sizeof scripts) < 1 ||
	    uigen_hashes(page, "style", styles, sizeof styles) < 1) {
		fprintf(stderr, "%s: need closed, bare <script> and <style> "
		    "elements (at most %d of each)\n", argv[1],
		    UIGEN_MAX_HASHES);
		free(page);
		return 1;
	}
	uigen_write(argv[1], page, len, scripts, styles);
	free(page);
	return fflush(stdout) == EOF || ferror(stdout) ? 1 : 0;
}
