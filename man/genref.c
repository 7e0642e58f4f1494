/* SPDX-License-Identifier: ISC */
/*
 * genref: copy a man page template from standard input to standard output,
 * replacing each line that reads exactly "@KEYS@" with the reference that
 * confkey_write_reference() prints from the configuration key table.  It
 * runs at build time to make llmproxyd.conf(5); it is never installed and
 * links only the pure modules.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "confkey.h"

/* Filter stdin to stdout, expanding @KEYS@; exit 1 on a read error. */
int
main(void)
{
	char	line[4096];

	while (fgets(line, sizeof line, stdin) != NULL) {
		if (strcmp(line, "@KEYS@\n") == 0)
			confkey_write_reference(stdout);
		else
			fputs(line, stdout);
	}
	if (ferror(stdin) || fflush(stdout) == EOF)
		return 1;
	return 0;
}
