#!/bin/sh
# Replay the dns fuzz target's corpus and fixed-seed mutations of it.
target=fuzz_dns
. "$top_srcdir/tests/fuzz/replay.sh"
