#!/bin/sh
# Replay the reply fuzz target's corpus and fixed-seed mutations of it.
target=fuzz_reply
. "$top_srcdir/tests/fuzz/replay.sh"
