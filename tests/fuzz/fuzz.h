/*
 * fuzz: every fuzz target defines LLVMFuzzerTestOneInput. Built with clang's libFuzzer by
 * `make fuzz`, and linked with standalone.c for `make check`, which replays the seed corpus and
 * a fixed-seed stream of mutated inputs so regressions show up without clang.
 */
#ifndef AUTOSMIME_FUZZ_H
#define AUTOSMIME_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
