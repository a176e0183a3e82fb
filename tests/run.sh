#!/bin/sh
# The whole test suite on a fresh Debian 12 machine, as root: install packages, build in
# _build/, run `make check` (unit, protocol, integration and interop tests). Exit status is
# the suite's.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh contrib/install-deps.sh
[ -x configure ] || autoreconf -fi
mkdir -p _build
cd _build
[ -f Makefile ] || ../configure -q
make -j"$(nproc)"
rc=0
# -k: run every suite even when one fails, so one run shows every failure.
make -k -j"$(nproc)" check || rc=$?
# One closing line over every suite: automake prints totals per directory only.
pass=0 fail=0 skip=0
for log in tests/*/test-suite.log; do
	[ -f "$log" ] || continue
	p=$(sed -n 's/^# PASS: *//p' "$log"); f=$(sed -n 's/^# FAIL: *//p' "$log")
	e=$(sed -n 's/^# ERROR: *//p' "$log"); x=$(sed -n 's/^# XPASS: *//p' "$log")
	s=$(sed -n 's/^# SKIP: *//p' "$log")
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0} + ${e:-0} + ${x:-0})); skip=$((skip + ${s:-0}))
	if [ "${f:-0}" != 0 ] || [ "${e:-0}" != 0 ] || [ "${x:-0}" != 0 ]; then cat "$log"; fi
done
echo "$pass passed, $fail failed, $skip skipped"
# CI installs every tool, so a skipped test there means a missing dependency.
if [ "${CI:-}" = true ] && [ "$skip" -ne 0 ]; then
	grep -h '^SKIP' tests/*/test-suite.log >&2 || true
	echo "tests/run.sh: $skip tests skipped under CI" >&2
	exit 1
fi
[ "$rc" -eq 0 ] && [ "$fail" -eq 0 ]
