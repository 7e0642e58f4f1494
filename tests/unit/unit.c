/* SPDX-License-Identifier: ISC */
/*
 * unit: run a table of test cases and report them as TAP.
 */
#include "unit.h"

jmp_buf	unit_fail_jmp;

/* Run every test in tests[0..n) and print TAP; return the exit status. */
int
unit_main(const struct unit_test *tests, size_t n)
{
	size_t		 i;
	volatile size_t	 failed = 0;

	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		if (setjmp(unit_fail_jmp) == 0) {
			tests[i].fn();
			printf("ok %zu - %s\n", i + 1, tests[i].name);
		} else {
			printf("not ok %zu - %s\n", i + 1, tests[i].name);
			failed++;
		}
		fflush(stdout);
	}
	return failed == 0 ? 0 : 1;
}
