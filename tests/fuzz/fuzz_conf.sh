#!/bin/sh
# Replay the conf fuzz target's corpus and fixed-seed mutations of it.
target=fuzz_conf
. "$top_srcdir/tests/fuzz/replay.sh"
