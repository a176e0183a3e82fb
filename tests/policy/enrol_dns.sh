#!/bin/bash
# enrol_dns: runs test_enrol with the harness DNS (nsd + validating unbound on loopback), so
# the enrolment flow checks CAA issuemail with DNSSEC before issuing, and SPF for replies from
# internal hosts without SMTP AUTH (the secure zone's SPF record allows 192.0.2.10 only).
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$here/../..}
. "$srcdir/tests/harness/dns.sh"
h_need_cmd nsd nsd-control unbound unbound-control ldns-signzone ldns-keygen drill
h_init enrol
dns_start || { echo "1..0 # SKIP the harness DNS did not start"; exit 0; }
dns_del_rr "$DNS_ZONE_OURS" @ TXT && dns_add_rr "$DNS_ZONE_OURS" '@ IN TXT "v=spf1 ip4:192.0.2.10 -all"' ||
	{ echo "1..0 # SKIP could not publish the SPF record"; exit 0; }
export DNS_RESOLVER DNS_TRUST_ANCHOR DNS_CA_DOMAIN DNS_ZONE_OURS DNS_ZONE_OTHER
top_srcdir=$srcdir ${TEST_WRAPPER:-} ./test_enrol
