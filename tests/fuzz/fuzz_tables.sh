#!/bin/sh
# Replay the tables fuzz target's corpus and fixed-seed mutations of it.
target=fuzz_tables
. "$top_srcdir/tests/fuzz/replay.sh"
