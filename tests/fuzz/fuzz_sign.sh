#!/bin/sh
# Replay the sign fuzz target's corpus and fixed-seed mutations of it.
target=fuzz_sign
. "$top_srcdir/tests/fuzz/replay.sh"
