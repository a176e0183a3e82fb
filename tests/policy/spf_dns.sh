#!/bin/bash
# spf_dns: runs test_spf against the harness DNS (nsd + validating unbound on loopback) with
# TXT records for each SPF result published in the parent test zone. Client addresses are
# TEST-NET (192.0.2.0/24, 2001:db8::/32): only evaluated against records, never contacted.
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$here/../..}
. "$srcdir/tests/harness/dns.sh"
h_need_cmd nsd unbound ldns-signzone ldns-keygen drill
h_init spf
dns_start || { echo "1..0 # SKIP the harness DNS did not start"; exit 0; }
p=$DNS_PARENT
dns_add_rr $p "ours IN TXT \"v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 -all\"" &&
dns_add_rr $p "soft IN TXT \"v=spf1 ~all\"" &&
dns_add_rr $p "neutral IN TXT \"v=spf1 ?all\"" &&
dns_add_rr $p "amech IN TXT \"v=spf1 a -all\"" &&
dns_add_rr $p "amech IN A 192.0.2.5" &&
dns_add_rr $p "incl IN TXT \"v=spf1 include:ours.$p -all\"" &&
dns_add_rr $p "mxmech IN TXT \"v=spf1 mx -all\"" &&
dns_add_rr $p "mxmech IN MX 10 mx1.mxmech.$p." &&
dns_add_rr $p "mx1.mxmech IN A 192.0.2.7" &&
dns_add_rr $p "perm IN TXT \"v=spf1 ip4:127.0.0.1 bogus:mechanism -all\"" ||
	{ echo "1..0 # SKIP could not publish the SPF records"; exit 0; }
export DNS_RESOLVER DNS_PARENT
${TEST_WRAPPER:-} ./test_spf || exit 1
