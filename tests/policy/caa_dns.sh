#!/bin/bash
# caa_dns: runs test_caa against the harness DNS (nsd + validating unbound on loopback). Adds a
# few records to the no-CAA zone (issue-only set, issuemail with parameters, a critical unknown
# tag, a CNAME, a CNAME to a name that does not exist, and a CNAME loop) and a delegation from the insecure zone to a dead server (a
# lookup failure in a provably insecure zone). Also exports nsd's own address as a
# non-validating "resolver" and a dead port.
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$here/../..}
. "$srcdir/tests/harness/dns.sh"
h_need_cmd nsd nsd-control unbound unbound-control ldns-signzone ldns-keygen drill
h_init caa
dns_start || { echo "1..0 # SKIP the harness DNS did not start"; exit 0; }
z=$DNS_ZONE_NOCAA
ca_upper=$(printf '%s' "$DNS_CA_DOMAIN" | tr a-z A-Z)
dns_add_rr "$z" 'issueonly IN CAA 0 issue "other-ca.example"' &&
dns_add_rr "$z" "params IN CAA 0 issuemail \" $ca_upper; account=42\"" &&
dns_add_rr "$z" 'params IN CAA 0 issuemail "other-ca.example"' &&
dns_add_rr "$z" "crit IN CAA 128 futuretag \"x\"" &&
dns_add_rr "$z" "crit IN CAA 0 issuemail \"$DNS_CA_DOMAIN\"" &&
dns_add_rr "$z" "alias IN CNAME target.$DNS_ZONE_OTHER." &&
dns_add_rr "$DNS_ZONE_OTHER" 'target IN CAA 0 issuemail "third-ca.example"' &&
dns_add_rr "$z" "dangling IN CNAME nowhere.$DNS_ZONE_OTHER." &&
dns_add_rr "$z" "loop IN CNAME loop2.$z." &&
dns_add_rr "$z" "loop2 IN CNAME loop.$z." &&
dns_add_rr "$DNS_ZONE_INSECURE" "dead IN NS ns.dead.$DNS_ZONE_INSECURE." &&
dns_add_rr "$DNS_ZONE_INSECURE" "ns.dead IN A 127.0.0.1" ||
	{ echo "1..0 # SKIP could not publish the CAA records"; exit 0; }
CAA_RAW_RESOLVER=127.0.0.1@$DNS_AUTH_PORT
CAA_DEAD_RESOLVER=127.0.0.1@$DNS_DEAD_PORT
export DNS_RESOLVER DNS_TRUST_ANCHOR DNS_TRUST_ANCHOR_KEY DNS_CA_DOMAIN CAA_RAW_RESOLVER \
	CAA_DEAD_RESOLVER
${TEST_WRAPPER:-} ./test_caa
