#!/bin/sh
# Replay the configuration parser's corpus and fixed-seed mutations of it.
exec ./fuzz_conf "$top_srcdir"/tests/fuzz/corpus/conf/*
