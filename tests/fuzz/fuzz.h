/* SPDX-License-Identifier: ISC */
/*
 * fuzz: the one entry point every fuzz target defines.
 *
 * libFuzzer calls it with generated inputs; tests/fuzz/replay.c calls it
 * with each file of the target's corpus in the normal test run.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* FUZZ_H */
