# perspectives_setup: sourced by the multi-perspective DNS tests (caa_quorum_dns.sh,
# domain_dns.sh). Starts the harness DNS and the perspectives beside it, and exports them:
#   PERSP_GOOD1        the harness's validating unbound
#   PERSP_GOOD2        a second honest validating unbound
#   PERSP_LIAR         an unbound with forged, unsigned records: CAA issuemail ";" for the zone
#                      that names us, CAA naming us for the zone that names another CA, and a
#                      forged challenge TXT record (all bogus to our own validation)
#   PERSP_SIGNED_LIAR  an nsd serving a validly signed lie: the zone that names us re-signed
#                      with CAA issuemail ";" and a forged challenge TXT record
#   PERSP_DEAD1/2      ports where nobody answers
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$here/../..}
builddir=${top_builddir:-$here/../..}
. "$srcdir/tests/harness/dns.sh"
. "$srcdir/tests/harness/dns_perspectives.sh"
h_need_cmd nsd nsd-control unbound unbound-control ldns-signzone ldns-keygen drill openssl
h_init "${PERSP_TEST_NAME:-persp}"
dns_start || { echo "1..0 # SKIP the harness DNS did not start"; exit 0; }
PERSP_GOOD1=$DNS_RESOLVER
dnsp_unbound good2 || { echo "1..0 # SKIP a second unbound did not start"; exit 0; }
PERSP_GOOD2=$DNSP_ADDR
dnsp_unbound liar "$DNS_ZONE_OURS. 300 IN CAA 0 issuemail \";\"" \
	"$DNS_ZONE_OTHER. 300 IN CAA 0 issuemail \"$DNS_CA_DOMAIN\"" \
	"_autosmime-challenge.$DNS_ZONE_OURS. 300 IN TXT \"forged\"" ||
	{ echo "1..0 # SKIP the forging unbound did not start"; exit 0; }
PERSP_LIAR=$DNSP_ADDR
dnsp_forged_nsd signed-liar "$DNS_ZONE_OURS" '!IN CAA' '@ IN CAA 0 issuemail ";"' \
	'_autosmime-challenge IN TXT "signed-forgery"' ||
	{ echo "1..0 # SKIP the forging nsd did not start"; exit 0; }
PERSP_SIGNED_LIAR=$DNSP_ADDR
PERSP_DEAD1=$(dnsp_dead)
PERSP_DEAD2=127.0.0.1@$(h_free_port)
export PERSP_GOOD1 PERSP_GOOD2 PERSP_LIAR PERSP_SIGNED_LIAR PERSP_DEAD1 PERSP_DEAD2 \
	DNS_TRUST_ANCHOR DNS_CA_DOMAIN
