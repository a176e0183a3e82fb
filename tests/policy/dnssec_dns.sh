#!/bin/bash
# dnssec_dns: runs test_dnssec against the harness DNS (nsd + validating unbound on loopback):
# wildcard answers in the NSEC zone and the NSEC3 zone, the NSEC3 opt-out zone, and forged
# answers built from the real ones. Also exports nsd's own address as a non-validating
# "resolver", to show that the checks are ours and not unbound's.
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$here/../..}
. "$srcdir/tests/harness/dns.sh"
h_need_cmd nsd nsd-control unbound unbound-control ldns-signzone ldns-keygen drill
h_init dnssec
dns_start || { echo "1..0 # SKIP the harness DNS did not start"; exit 0; }
DNSSEC_RAW_RESOLVER=127.0.0.1@$DNS_AUTH_PORT
export DNS_RESOLVER DNS_TRUST_ANCHOR DNSSEC_RAW_RESOLVER
${TEST_WRAPPER:-} ./test_dnssec
