/*
 * fuzz: every fuzz target defines LLVMFuzzerTestOneInput. Built with clang's libFuzzer by
 * `make fuzz`, and linked with standalone.c for `make check`, which replays the seed corpus and
 * a fixed-seed stream of mutated inputs so regressions show up without clang.
 */
#ifndef AUTOSMIME_FUZZ_H
#define AUTOSMIME_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant does not hold: say which and abort, so libFuzzer keeps the input. */
__attribute__((noreturn)) static inline void
fuzz_fail(const char *target, const char *what)
{
	fprintf(stderr, "%s: %s\n", target, what);
	abort();
}

#endif
