#!/bin/sh
# Replay the ocsp fuzz target's corpus and fixed-seed mutations of it.
target=fuzz_ocsp
. "$top_srcdir/tests/fuzz/replay.sh"
