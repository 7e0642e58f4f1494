/* SPDX-License-Identifier: ISC */
/*
 * test_logbuf: the bounded queue behind log.c: lines kept whole and in
 * order, partial writes, the bound, the count of dropped lines and the
 * one notice that reports them ahead of any later line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logbuf.h"
#include "unit.h"

static char	*test_take(struct logbuf *b);
static void	test_lines_in_order(void);
static void	test_partial_writes(void);
static void	test_bound_drops_whole_lines(void);
static void	test_notice_before_next_line(void);
static void	test_notice_after_drain(void);
static void	test_grows_past_first_size(void);

/* Return a copy of everything waiting in b, and consume it. */
static char *
test_take(struct logbuf *b)
{
	const char	*p;
	char		*s;
	size_t		 n;

	p = logbuf_peek(b, &n);
	s = calloc(1, n + 1);
	if (n > 0)
		memcpy(s, p, n);
	logbuf_consume(b, n);
	return s;
}

/* Lines come out whole and in the order they went in. */
static void
test_lines_in_order(void)
{
	struct logbuf	*b = logbuf_new(1024);
	size_t		 n;
	char		*s;

	UNIT_ASSERT(logbuf_peek(b, &n) == NULL && n == 0);
	UNIT_ASSERT_INT_EQ(logbuf_add(b, "one\n", 4), 0);
	UNIT_ASSERT_INT_EQ(logbuf_add(b, "two\n", 4), 0);
	UNIT_ASSERT_INT_EQ(logbuf_length(b), 8);
	s = test_take(b);
	UNIT_ASSERT_STR_EQ(s, "one\ntwo\n");
	free(s);
	UNIT_ASSERT_INT_EQ(logbuf_length(b), 0);
	logbuf_free(b);
}

/* A partial write leaves the rest of a line first in line. */
static void
test_partial_writes(void)
{
	struct logbuf	*b = logbuf_new(1024);
	const char	*p;
	size_t		 n;
	char		*s;

	logbuf_add(b, "abcdef\n", 7);
	logbuf_consume(b, 3);
	p = logbuf_peek(b, &n);
	UNIT_ASSERT_INT_EQ(n, 4);
	UNIT_ASSERT(memcmp(p, "def\n", 4) == 0);
	logbuf_add(b, "gh\n", 3);
	s = test_take(b);
	UNIT_ASSERT_STR_EQ(s, "def\ngh\n");
	free(s);
	logbuf_free(b);
}

/* Past the bound whole lines are dropped and counted, never cut. */
static void
test_bound_drops_whole_lines(void)
{
	struct logbuf	*b = logbuf_new(10);
	char		*s;

	UNIT_ASSERT_INT_EQ(logbuf_add(b, "12345678\n", 9), 0);
	UNIT_ASSERT_INT_EQ(logbuf_add(b, "ab\n", 3), -1);
	UNIT_ASSERT_INT_EQ(logbuf_add(b, "c\n", 2), -1);
	UNIT_ASSERT_INT_EQ(logbuf_dropped(b), 2);
	UNIT_ASSERT_INT_EQ(logbuf_length(b), 9);
	/* A line longer than the bound never fits. */
	logbuf_free(b);
	b = logbuf_new(4);
	UNIT_ASSERT_INT_EQ(logbuf_add(b, "toolong\n", 8), -1);
	s = test_take(b);		/* nothing: then the notice */
	UNIT_ASSERT_STR_EQ(s, "");
	free(s);
	s = test_take(b);
	UNIT_ASSERT(strstr(s, "1 line(s) dropped") != NULL);
	free(s);
	logbuf_free(b);
}

/* Once some bytes went out, the notice comes before any later line. */
static void
test_notice_before_next_line(void)
{
	struct logbuf	*b = logbuf_new(16);
	char		*s, *notice, *later;

	logbuf_add(b, "0123456789abcd\n", 15);
	logbuf_add(b, "lost1\n", 6);
	logbuf_add(b, "lost2\n", 6);
	/* The first line is written: the notice goes in at once. */
	logbuf_consume(b, 15);
	UNIT_ASSERT_INT_EQ(logbuf_dropped(b), 0);
	UNIT_ASSERT_INT_EQ(logbuf_add(b, "later\n", 6), -1);
	s = test_take(b);
	notice = strstr(s, "llmproxyd: warning: log: 2 line(s) dropped");
	UNIT_ASSERT(notice == s);
	UNIT_ASSERT(s[strlen(s) - 1] == '\n');
	free(s);
	/* "later" met the notice filling the buffer: a notice of its own. */
	s = test_take(b);
	later = strstr(s, "1 line(s) dropped");
	UNIT_ASSERT(later == s + strlen("llmproxyd: warning: log: "));
	free(s);
	UNIT_ASSERT_INT_EQ(logbuf_add(b, "after\n", 6), 0);
	s = test_take(b);
	UNIT_ASSERT_STR_EQ(s, "after\n");
	free(s);
	logbuf_free(b);
}

/* Emptying the buffer makes room for the notice at once. */
static void
test_notice_after_drain(void)
{
	struct logbuf	*b = logbuf_new(8);
	char		*s;

	logbuf_add(b, "1234567\n", 8);
	logbuf_add(b, "x\n", 2);
	UNIT_ASSERT_INT_EQ(logbuf_dropped(b), 1);
	s = test_take(b);		/* consumes, then queues the notice */
	UNIT_ASSERT_STR_EQ(s, "1234567\n");
	free(s);
	s = test_take(b);
	UNIT_ASSERT(strstr(s, "1 line(s) dropped") != NULL);
	free(s);
	UNIT_ASSERT_INT_EQ(logbuf_length(b), 0);
	logbuf_free(b);
}

/* The buffer grows to its bound, no further, and counts the rest. */
static void
test_grows_past_first_size(void)
{
	struct logbuf	*b = logbuf_new(1 << 20);
	char		 line[101];
	size_t		 i, n;

	memset(line, 'x', 100);
	line[100] = '\n';
	for (i = 0; i < 5000; i++)
		UNIT_ASSERT_INT_EQ(logbuf_add(b, line, 101), 0);
	UNIT_ASSERT_INT_EQ(logbuf_length(b), 505000);
	for (i = 0; i < 6000; i++)
		logbuf_add(b, line, 101);
	/* Nothing written meanwhile: no notice yet, every drop counted. */
	UNIT_ASSERT_INT_EQ(logbuf_length(b), (1 << 20) / 101 * 101);
	UNIT_ASSERT_INT_EQ(logbuf_dropped(b), 11000 - (1 << 20) / 101);
	(void)logbuf_peek(b, &n);
	UNIT_ASSERT_INT_EQ(n, logbuf_length(b));
	logbuf_free(b);
}

static const struct unit_test tests[] = {
	{ "lines in order", test_lines_in_order },
	{ "partial writes", test_partial_writes },
	{ "bound drops whole lines", test_bound_drops_whole_lines },
	{ "notice before the next line", test_notice_before_next_line },
	{ "notice after a drain", test_notice_after_drain },
	{ "grows past its first size", test_grows_past_first_size },
};

int
main(void)
{
	return unit_main(tests, sizeof tests / sizeof tests[0]);
}
