#!/bin/bash
# Record the DNS fuzz target's seeds (corpus/dns/), genuine answers (dns/expect/), trust
# anchor (dns/anchor.ds) and check time (dns/now) from tests/harness/dns.sh's signed zones:
#   make-dns-seeds.sh BUILD_DIR     (a normal build: it runs BUILD_DIR/tests/fuzz/dns-record)
# Run again when the lookups of fuzz_dns_lookups.h or the test zones change.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
make -C "$build/tests/fuzz" dns-record >/dev/null
. "$here/../harness/dns.sh"
h_init fuzz-dns-seeds
dns_start
rm -rf "$here/corpus/dns" "$here/dns/expect"
mkdir -p "$here/corpus/dns" "$here/dns/expect"
cp "$DNS_TRUST_ANCHOR" "$here/dns/anchor.ds"
"$build/tests/fuzz/dns-record" "$DNS_RESOLVER" "$here/dns/anchor.ds" "$here/corpus/dns" "$here/dns"
dns_stop
