#!/bin/sh
# crlcheck.sh: a CRL's signature is checked once per CRL object and issuer key and the outcome
# remembered, never reused for a newer CRL or another key (crl-check-tool against the test
# PKI's issuing CA, its CRLs served by crl-server on loopback).
. "${top_srcdir:-../..}/tests/inbound/common.sh"
CHECK="$top_builddir/tests/inbound/crl-check-tool"
[ -x "$CHECK" ] || skip_all "crl-check-tool not built"
start_server ok || { echo "Bail out! crl-server did not start"; exit 1; }
URL="http://127.0.0.1:$PORT_ok/int.crl"
make_pki "$URL" || { echo "Bail out! cannot create the test PKI"; sed 's/^/# /' "$T/pki.log"; exit 1; }
timeout 300 $TOOL_RUN "$CHECK" "$T/www" "$URL" "$T/root.pem" "$T/int.pem" "$T/int.key" \
    "$T/alice.pem" "$T/eve.pem"
