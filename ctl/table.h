/* SPDX-License-Identifier: ISC */
/*
 * table: the `status` command's tables, printed from one reading.
 */
#ifndef TABLE_H
#define TABLE_H

#include <stdio.h>

#include "snap.h"

/* Print s as tables to f: providers now, their totals, their clients. */
void	table_print(FILE *f, const struct snap *s, const char *url);

#endif /* TABLE_H */
