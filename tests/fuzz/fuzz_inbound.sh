#!/bin/sh
# Replay the inbound fuzz target's corpus and fixed-seed mutations of it.
target=fuzz_inbound
. "$top_srcdir/tests/fuzz/replay.sh"
