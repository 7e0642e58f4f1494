/* SPDX-License-Identifier: ISC */
/*
 * conftext: what a configuration file says, read from its text.
 *
 * libconfig 1.5 reads an integer written without the L suffix into a
 * 32-bit int, and one too large for it wraps silently: 4294967297 loads
 * as 1, 2147483648 as a negative number.  What was written is then only
 * in the file's text.  conftext finds a setting's integer literal in that
 * text, from its name and line, so config.c can compare it with what
 * libconfig kept.  It does not parse libconfig's grammar beyond that.
 * Pure: no libevent, no clock.
 */
#ifndef CONFTEXT_H
#define CONFTEXT_H

enum conftext_found {
	CONFTEXT_NONE,		/* no integer literal for the name there */
	CONFTEXT_INT,		/* *value holds it */
	CONFTEXT_HUGE		/* one beyond the range of a long long */
};

/*
 * Find "name = LITERAL" (or "name: LITERAL") for the setting libconfig
 * places on line (from 1) of text, and read the literal as libconfig's
 * grammar writes integers (decimal or 0x hex, a sign allowed).  When the
 * line names the key more than once, the literal equal to kept (what
 * libconfig read) is the one found, if there is one.
 */
enum conftext_found conftext_int(const char *text, int line,
		    const char *name, long long kept, long long *value);

#endif /* CONFTEXT_H */
