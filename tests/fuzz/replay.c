/* SPDX-License-Identifier: ISC */
/*
 * replay: feed every file of a fuzz target's corpus to the target once.
 *
 * Linked with one fuzz_<name>.c in place of libFuzzer, so the corpus (the
 * seeds plus every input that once found a bug) runs in each normal test
 * run under the sanitizers.  Prints one TAP line per file; a crash is the
 * failure mode, so reaching the end means every input passed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int	replay_file(const char *path);
static int	replay_name_cmp(const void *a, const void *b);

/* Read path whole and run the target on it; return -1 if unreadable. */
static int
replay_file(const char *path)
{
	FILE		*f;
	uint8_t		*buf;
	long		 len;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

/* qsort comparator: file names in byte order, for a stable TAP plan. */
static int
replay_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	const char	*srcdir = getenv("srcdir");
	char		 dir[4096], path[8192], *names[4096];
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0, i;
	int		 failed = 0;

	if (argc > 1)
		snprintf(dir, sizeof dir, "%s", argv[1]);
	else
		snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s",
		    srcdir != NULL ? srcdir : ".", FUZZ_NAME);
	if ((d = opendir(dir)) == NULL) {
		printf("1..1\nnot ok 1 - corpus %s missing\n", dir);
		return 1;
	}
	while ((de = readdir(d)) != NULL && n < 4096) {
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], replay_name_cmp);
	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (replay_file(path) == -1) {
			printf("not ok %zu - %s unreadable\n", i + 1, names[i]);
			failed = 1;
		} else
			printf("ok %zu - %s/%s\n", i + 1, FUZZ_NAME, names[i]);
		fflush(stdout);
		free(names[i]);
	}
	return failed;
}
