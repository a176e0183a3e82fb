#!/bin/sh
# The demo on a fresh Debian 12 machine, as root: install packages, build, then run
# contrib/demo/run-demo.sh (through a throwaway Postfix on loopback with the milter, a sender
# without a certificate enrols in band and her next message is delivered signed and verified).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh contrib/install-deps.sh
[ -x configure ] || autoreconf -fi
mkdir -p _build
cd _build
[ -f Makefile ] || ../configure -q
make -j"$(nproc)" >/dev/null
exec bash "$top/contrib/demo/run-demo.sh" "$top/_build"
