#!/bin/sh
# Replay one fuzz target's seed corpus (tests/fuzz/corpus/NAME/) and fixed-seed mutations of
# it through the standalone driver; sourced by the per-target scripts, which set `target`.
set -eu
corpus="$top_srcdir/tests/fuzz/corpus/${target#fuzz_}"
[ -d "$corpus" ] || { echo "1..0 # no corpus at $corpus"; exit 1; }
exec "./$target" "$corpus"/*
