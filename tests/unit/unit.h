/* SPDX-License-Identifier: ISC */
/*
 * unit: the smallest harness that does the job.
 *
 * A test file defines its cases as functions and lists them in a
 * { name, fn } table; unit_main() runs each and prints TAP ("ok 3 - name"),
 * which automake's tap-driver counts case by case.  A failed UNIT_ASSERT
 * prints the file, line and expression and ends that case only.  A case
 * named "name # TODO why" is a known defect: TAP's TODO directive makes
 * its failure expected (XFAIL), and its passing a surprise (XPASS, which
 * fails the run) to be answered by removing the mark.
 */
#ifndef UNIT_H
#define UNIT_H

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

struct unit_test {
	const char	*name;
	void		(*fn)(void);
};

extern jmp_buf	unit_fail_jmp;

#define UNIT_ASSERT(e) do {						\
	if (!(e)) {							\
		printf("# %s:%d: assertion failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		longjmp(unit_fail_jmp, 1);				\
	}								\
} while (0)

#define UNIT_ASSERT_STR_EQ(a, b) do {					\
	const char *unit_a_ = (a), *unit_b_ = (b);			\
	if (unit_a_ == NULL || unit_b_ == NULL ||			\
	    strcmp(unit_a_, unit_b_) != 0) {				\
		printf("# %s:%d: \"%s\" != \"%s\"\n", __FILE__,		\
		    __LINE__, unit_a_ ? unit_a_ : "(null)",		\
		    unit_b_ ? unit_b_ : "(null)");			\
		longjmp(unit_fail_jmp, 1);				\
	}								\
} while (0)

#define UNIT_ASSERT_INT_EQ(a, b) do {					\
	long long unit_a_ = (long long)(a), unit_b_ = (long long)(b);	\
	if (unit_a_ != unit_b_) {					\
		printf("# %s:%d: %s == %lld, expected %lld\n",		\
		    __FILE__, __LINE__, #a, unit_a_, unit_b_);		\
		longjmp(unit_fail_jmp, 1);				\
	}								\
} while (0)

/* Run every test in tests[0..n) and print TAP; return the exit status. */
int	unit_main(const struct unit_test *tests, size_t n);

#endif /* UNIT_H */
