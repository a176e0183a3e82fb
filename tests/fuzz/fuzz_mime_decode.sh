#!/bin/sh
# Replay the mime_decode fuzz target's corpus and fixed-seed mutations of it.
target=fuzz_mime_decode
. "$top_srcdir/tests/fuzz/replay.sh"
