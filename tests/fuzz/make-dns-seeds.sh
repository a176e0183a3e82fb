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
# Regression seed: no-caa's genuine NODATA answer (its NSEC proves the name exists) with the
# first packet's RCODE turned into NXDOMAIN. An earlier validator reported that as a secure
# NXDOMAIN; it must come out bogus. Byte 6 = lookup byte, 2-byte length, then header byte 3.
seed=$(ls "$here/corpus/dns"/3-no-caa.*.seq)
{
	head -c 6 "$seed"
	printf "\\$(printf '%03o' $(( ($(od -An -tu1 -j6 -N1 "$seed") & 0xf0) | 3 )))"
	tail -c +8 "$seed"
} > "$here/corpus/dns/regress-forged-nxdomain.seq"
