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
make -j"$(nproc)" check || { find . -name 'test-suite.log' -newer Makefile -exec cat {} + ; exit 1; }
echo "tests/run.sh: all tests passed"
