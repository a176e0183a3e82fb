#!/bin/sh
# Replay the authres fuzz target's corpus and fixed-seed mutations of it.
target=fuzz_authres
. "$top_srcdir/tests/fuzz/replay.sh"
