#!/bin/sh
# Replay the crl_http fuzz target's corpus and fixed-seed mutations of it.
target=fuzz_crl_http
. "$top_srcdir/tests/fuzz/replay.sh"
