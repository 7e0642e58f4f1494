/* SPDX-License-Identifier: ISC */
/*
 * conftext: a setting's integer literal, found in the file's text.
 *
 * libconfig gives a setting's line but not its column, and one line may
 * hold several settings ({ name = "x"; burst = 5; }), so the name is
 * searched for on that line as a whole word followed by '=' or ':'.  The
 * line libconfig reports is the one where the value ends, so when the name
 * is not there the few lines before it are searched too.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conftext.h"

/* Lines before a setting's reported line where its name may be. */
#define CONFTEXT_LOOKBACK	3

static const char *conftext_line(const char *text, int line);
static enum conftext_found conftext_on_line(const char *p, const char *name,
		    long long kept, long long *value);
static enum conftext_found conftext_literal(const char *p, long long *value);
static int	conftext_is_name(int c);

enum conftext_found
conftext_int(const char *text, int line, const char *name, long long kept,
    long long *value)
{
	const char		*p;
	enum conftext_found	 f;
	int			 n;

	for (n = line; n > 0 && n >= line - CONFTEXT_LOOKBACK; n--) {
		if ((p = conftext_line(text, n)) == NULL)
			return CONFTEXT_NONE;
		if ((f = conftext_on_line(p, name, kept, value)) !=
		    CONFTEXT_NONE)
			return f;
	}
	return CONFTEXT_NONE;
}

/* Return the start of line (from 1) in text, or NULL. */
static const char *
conftext_line(const char *text, int line)
{
	const char	*p = text;

	while (--line > 0) {
		if ((p = strchr(p, '\n')) == NULL)
			return NULL;
		p++;
	}
	return p;
}

/*
 * Look for "name [=:] LITERAL" in the line starting at p.  A line may
 * name one key several times (a provider and its model groups on one
 * line): a literal equal to kept wins; else the first one found counts.
 */
static enum conftext_found
conftext_on_line(const char *p, const char *name, long long kept,
    long long *value)
{
	const char		*end = strchr(p, '\n'), *q;
	size_t			 len = strlen(name);
	enum conftext_found	 first = CONFTEXT_NONE, f;
	long long		 v = 0, first_v = 0;

	if (end == NULL)
		end = p + strlen(p);
	for (q = p; q + len <= end; q++) {
		if (memcmp(q, name, len) != 0 || (q > p &&
		    conftext_is_name((unsigned char)q[-1])) ||
		    conftext_is_name((unsigned char)q[len]))
			continue;
		q += len;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=' && *q != ':')
			continue;
		q++;
		while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
			q++;
		if ((f = conftext_literal(q, &v)) == CONFTEXT_INT && v == kept) {
			*value = v;
			return f;
		}
		if (first == CONFTEXT_NONE) {
			first = f;
			first_v = v;
		}
	}
	*value = first_v;
	return first;
}

/* Read an integer literal at p: [+-] digits, or [+-] 0x hex digits. */
static enum conftext_found
conftext_literal(const char *p, long long *value)
{
	const char	*q = p;
	char		*end;
	int		 hex;

	if (*q == '+' || *q == '-')
		q++;
	hex = q[0] == '0' && (q[1] == 'x' || q[1] == 'X');
	if (!(hex ? isxdigit((unsigned char)q[2]) :
	    isdigit((unsigned char)*q)))
		return CONFTEXT_NONE;
	errno = 0;
	*value = strtoll(p, &end, hex ? 16 : 10);
	if (*end == '.' || *end == 'e' || *end == 'E')
		return CONFTEXT_NONE;	/* a float: libconfig reads it whole */
	return errno == ERANGE ? CONFTEXT_HUGE : CONFTEXT_INT;
}

/* Return 1 if c may be part of a setting name. */
static int
conftext_is_name(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '*';
}
