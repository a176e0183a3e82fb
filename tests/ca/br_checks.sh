#!/bin/sh
# br_checks: what the S/MIME BR forbid is refused from the command line, the way an admin meets
# it: organizationIdentifier rules (BR 7.1.4.2.2 d) from -n, ca init and issue; validity kept
# below 825 days; --pss under an EC issuing CA; a root key path that cannot be written leaves no
# store behind; the root's CRL is re-signed (crl --root-cert/--root-key, ca rotate) and an
# issuing CA is revoked into it (ca revoke-issuer), checked with openssl crl and verify.
set -u
. "$top_srcdir/tests/ca/setup.sh"
command -v openssl >/dev/null || { echo "1..0 # SKIP openssl not installed"; exit 0; }

# A config with organization_identifier/country replaced.
conf_with() {
  sed -e "s|^organization_identifier .*|organization_identifier $1|" \
      -e "s|^organization_country .*|organization_country $2|" "$tmp/conf" > "$tmp/conf.$3"
}
refused_n() { # label id country expected-text
  conf_with "$2" "$3" x
  "$ctl" -c "$tmp/conf.x" -n > "$tmp/n.out" 2>&1; rc=$?
  want=$4
  check "-n refuses $1" '[ $rc -ne 0 ] && grep -qF "$want" "$tmp/n.out"'
}
refused_n "scheme XYZ" XYZDE-12345 DE "scheme \"XYZ\" is not one of VAT, NTR, PSD, LEI, GOV, INT"
refused_n "country ZZ" NTRZZ-12345 DE "country \"ZZ\" is not an ISO 3166-1"
refused_n "an NTR country that differs from organization_country" NTRUS+CA-12345 DE "country US differs from organization_country DE"
refused_n "LEI with a country other than XG" LEIDE-5493001KJTIIGC8Y1R12 DE "must be XG"
refused_n "a +subdivision on VAT" VATDE+BY-123456789 DE "takes no +subdivision"
refused_n "a missing reference" NTRDE- DE "7..64 characters"
refused_n "a missing reference after a subdivision" NTRDE+BY- DE "registration reference"
refused_n "a PSD reference without the authority code" PSDBE-1234.567.890 BE "authority's code"
refused_n "organization_country that is no ISO code" NTRGB-12345678 ZZ "not an ISO 3166-1"
conf_with NTRUS+CA-12345678 US ok1
check "-n accepts NTRUS+CA-12345678 with US" '"$ctl" -c "$tmp/conf.ok1" -n >/dev/null 2>&1'
conf_with LEIXG-5493001KJTIIGC8Y1R12 DE ok2
check "-n accepts LEIXG with any organization_country" '"$ctl" -c "$tmp/conf.ok2" -n >/dev/null 2>&1'
conf_with NTRDE-HRB12345 DE warn
"$ctl" -c "$tmp/conf.warn" -n > "$tmp/n.out" 2>&1; rc=$?
check "-n accepts a German NTR reference outside EUID form, with a warning" '[ $rc -eq 0 ] && grep -q "warning: .*should be the EUID" "$tmp/n.out"'
conf_with NTRDE-DEK1101R.HRB116737 DE euid
"$ctl" -c "$tmp/conf.euid" -n > "$tmp/n.out" 2>&1; rc=$?
check "-n is silent about an EUID" '[ $rc -eq 0 ] && ! grep -q "EUID" "$tmp/n.out"'

# Settings that turn features off are reported by -n, not left silent.
sed 's/^organization_country .*/&\nenrol_address enrol@gw.example.org\nlocal_domains example.org/' "$tmp/conf" > "$tmp/conf.enrol"
"$ctl" -c "$tmp/conf.enrol" -n > "$tmp/n.out" 2>&1; rc=$?
check "-n with enrol_address but no ca_domain: ok, and warns that enrolment cannot start" '[ $rc -eq 0 ] && grep -q "warning: caa_check is on but ca_domain is empty: enrolment cannot start" "$tmp/n.out" && grep -q "configuration ok, 1 warning" "$tmp/n.out"'
"$ctl" -c "$tmp/conf" -n > "$tmp/n.out" 2>&1
check "-n without enrol_address and local_domains warns about both" 'grep -q "warning: enrol_address is empty: enrolment is off" "$tmp/n.out" && grep -q "warning: local_domains is empty" "$tmp/n.out"'
sed 's/^organization_country .*/&\nenrol_address enrol@gw.example.org\nlocal_domains example.org\nca_domain ca.example.org/' "$tmp/conf" > "$tmp/conf.full"
check "-n with ca_domain set has nothing to warn about" '"$ctl" -c "$tmp/conf.full" -n 2>&1 | grep -qx ".*: configuration ok"'
conf_with NTRUS+CA-12345 GB bad
"$ctl" -c "$tmp/conf.bad" ca init --root-cert "$tmp/bad.pem" --root-key "$tmp/bad.key" > "$tmp/bad.out" 2>&1; rc=$?
check "ca init with a bad organization_identifier fails with the reason" '[ $rc -ne 0 ] && grep -q "differs from organization_country GB" "$tmp/bad.out"'
check "... and writes no root key and no store" '[ ! -e "$tmp/bad.key" ] && [ ! -e "$tmp/store/cas.db" ]'

# The root key path cannot be written (its directory is missing): nothing may be stored.
C ca init --root-cert "$tmp/none/root.pem" --root-key "$tmp/none/root.key" > "$tmp/ro.out" 2>&1; rc=$?
check "ca init with an unwritable root key path fails and says so" '[ $rc -ne 0 ] && grep -q "cannot create key file" "$tmp/ro.out"'
check "... and leaves no CA in the store" '[ -z "$(C ca show 2>/dev/null)" ]'
check "... so a second ca init with a good path then works" 'ca_init'
root_id=$(sed -n 's/^root_id=\([0-9a-f]*\).*/\1/p' "$tmp/init.out")
ca_id=$(sed -n 's/^ca_id=\([0-9a-f]*\) active=yes.*/\1/p' "$tmp/init.out")
check "the root CRL is published at ca init, number 1" 'openssl crl -inform DER -in "$tmp/crl/$root_id.crl" -noout -text > "$tmp/r1.txt" && grep -A1 "CRL Number" "$tmp/r1.txt" | grep -q " 1$"'
check "the root CRL's nextUpdate is at most 12 months (364 days)" 'lu=$(date -d "$(sed -n "s/.*Last Update: //p" "$tmp/r1.txt")" +%s) && nu=$(date -d "$(sed -n "s/.*Next Update: //p" "$tmp/r1.txt")" +%s) && [ $((nu - lu)) -eq $((364 * 86400)) ]'

# Validity: 825 days is the BR limit itself; the CA stays a day below.
C issue v1@example.org --days 825 > "$tmp/v.out" 2>&1; rc=$?
check "issue --days 825 is refused (usage)" '[ $rc -eq 2 ]'
check "issue --days 824 gives 824 days counted inclusively" 'C issue v2@example.org --days 824 --out "$tmp/v2.pem" >/dev/null && nb=$(date -d "$(openssl x509 -in "$tmp/v2.pem" -noout -startdate | cut -d= -f2)" +%s) && na=$(date -d "$(openssl x509 -in "$tmp/v2.pem" -noout -enddate | cut -d= -f2)" +%s) && [ $((na - nb + 1)) -eq $((824 * 86400)) ]'
sed 's/^organization_country .*/&\ncert_validity 825d/' "$tmp/conf" > "$tmp/conf.v"
check "-n refuses cert_validity 825d" '! "$ctl" -c "$tmp/conf.v" -n >/dev/null 2>&1'

# --pss under the default EC issuing CA.
C issue p1@example.org --key-type rsa-2048 --pss > "$tmp/pss.out" 2>&1; rc=$?
check "issue --pss under an EC issuing CA is refused (exit 4) and says why" '[ $rc -eq 4 ] && grep -q "RSASSA-PSS needs an RSA issuing CA" "$tmp/pss.out"'
check "... and nothing was issued" '[ -z "$(C list --mailbox p1@example.org)" ]'

# The root's CRL: the timer mode skips a fresh one, the root key re-signs it.
C crl --if-due > "$tmp/due.out" 2> "$tmp/due.err"; rc=$?
check "crl --if-due signs the issuing CA's first CRL and leaves the fresh root CRL alone" '[ $rc -eq 0 ] && grep -q "ca_id=$ca_id number=1" "$tmp/due.out" && ! grep -q "$root_id" "$tmp/due.out" "$tmp/due.err"'
C crl --if-due > "$tmp/due2.out" 2>&1
check "crl --if-due again does nothing (nothing is due)" '[ ! -s "$tmp/due2.out" ]'
C crl --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" > "$tmp/rc.out" 2>&1
check "crl with the root key re-signs the root CRL (number 2)" 'grep -q "ca_id=$root_id number=2" "$tmp/rc.out" && openssl crl -inform DER -in "$tmp/crl/$root_id.crl" -CAfile "$tmp/root.pem" -noout 2>&1 | grep -q "verify OK"'
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/other.key" -out "$tmp/other.pem" -subj "/CN=other" -days 2 >/dev/null 2>&1
C crl --root-cert "$tmp/other.pem" --root-key "$tmp/other.key" > "$tmp/oth.out" 2>&1; rc=$?
check "crl with a foreign root is refused" '[ $rc -eq 4 ] && grep -q "not the root of an issuing CA" "$tmp/oth.out"'

# Rotation publishes the root CRL it signs; then the old issuing CA is revoked into it.
C issue old@example.org --out "$tmp/old.pem" >/dev/null
openssl x509 -inform DER -in "$tmp/crl/$ca_id.crt" -out "$tmp/ica_old.pem"
C ca revoke-issuer "$ca_id" --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" --reason cACompromise > "$tmp/ra.out" 2>&1; rc=$?
check "ca revoke-issuer refuses the active issuing CA" '[ $rc -eq 4 ] && grep -q "ca rotate first" "$tmp/ra.out"'
C ca rotate --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" > "$tmp/rot.out" 2>&1
check "ca rotate publishes the root CRL (number 3)" 'openssl crl -inform DER -in "$tmp/crl/$root_id.crl" -noout -text | grep -A1 "CRL Number" | grep -q " 3$"'
C ca revoke-issuer "$ca_id" --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" --reason certificateHold > "$tmp/rh.out" 2>&1; rc=$?
check "ca revoke-issuer refuses certificateHold" '[ $rc -eq 4 ]'
C ca revoke-issuer "$ca_id" --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" --reason keyCompromise > "$tmp/rv.out" 2>&1; rc=$?
check "ca revoke-issuer revokes the old issuing CA" '[ $rc -eq 0 ] && grep -q "ca_id=$ca_id revoked reason=keyCompromise" "$tmp/rv.out"'
openssl crl -inform DER -in "$tmp/crl/$root_id.crl" -noout -text > "$tmp/arl.txt"
serial=$(openssl x509 -in "$tmp/ica_old.pem" -noout -serial | cut -d= -f2)
check "the root CRL lists the issuing CA with its reason and verifies" 'grep -A4 "Serial Number: 0*$serial" "$tmp/arl.txt" | grep -q "Key Compromise" && openssl crl -inform DER -in "$tmp/crl/$root_id.crl" -CAfile "$tmp/root.pem" -noout 2>&1 | grep -q "verify OK"'
openssl crl -inform DER -in "$tmp/crl/$root_id.crl" -out "$tmp/arl.pem"
cat "$tmp/root.pem" "$tmp/arl.pem" > "$tmp/trust.pem"
check "openssl verify -crl_check now rejects the old issuing CA" '! openssl verify -crl_check -CAfile "$tmp/trust.pem" "$tmp/ica_old.pem" >/dev/null 2>&1 && openssl verify -crl_check -CAfile "$tmp/trust.pem" "$tmp/ica_old.pem" 2>&1 | grep -q "certificate revoked"'
check "certificates of the revoked issuing CA count as revoked" 'C list --mailbox old@example.org | grep -q "status=revoked"'
C ca revoke-issuer "$ca_id" --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" --reason keyCompromise >/dev/null 2>&1; rc=$?
check "a second revoke-issuer is refused" '[ $rc -eq 4 ]'
# crl_dir made 0700 (an admin's umask 077): crl makes it publishable for a web server.
chmod 700 "$tmp/crl"
(umask 077; C crl >/dev/null 2>&1)
check "crl under umask 077 leaves crl_dir 0755 and the CRLs 0644 for a web server" '[ "$(stat -c %a "$tmp/crl")" = 755 ] && [ -z "$(find "$tmp/crl" -type f ! -perm 644)" ]'
# The root's CRL is an ARL proper, passes the CA's CRL check (or it would not be published),
# and with every published CRL openssl verify -crl_check_all refuses the revoked CA's leaf.
check "an issuing CA names the root's published CRL as its distribution point" 'openssl x509 -in "$tmp/ica_old.pem" -noout -ext crlDistributionPoints | grep -qx " *URI:http://ca.example.org/pub/$root_id.crl" && [ -s "$tmp/crl/$root_id.crl" ]'
check "the root CRL is an ARL: critical issuingDistributionPoint, onlyContainsCACerts" 'grep -A1 "Issuing Distribution Point: critical" "$tmp/arl.txt" | grep -q "Only CA Certificates"'
check "its entry has a reason code and the ARL's nextUpdate stays within 12 months" 'grep -q "CRL Reason Code" "$tmp/arl.txt" && ! grep -q "Unspecified" "$tmp/arl.txt" && lu=$(date -d "$(sed -n "s/.*Last Update: //p" "$tmp/arl.txt")" +%s) && nu=$(date -d "$(sed -n "s/.*Next Update: //p" "$tmp/arl.txt")" +%s) && [ $((nu - lu)) -le $((365 * 86400)) ]'
new_id=$(sed -n 's/^ca_id=\([0-9a-f]*\) active=yes.*/\1/p' "$tmp/rot.out")
C issue new@example.org --out "$tmp/new.pem" >/dev/null 2>&1
C crl >/dev/null 2>&1
check "the issuing CAs' CRLs are no ARLs (no issuingDistributionPoint)" '[ -n "$new_id" ] && ! openssl crl -inform DER -in "$tmp/crl/$new_id.crl" -noout -text | grep -q "Issuing Distribution Point"'
for f in "$tmp"/crl/*.crl; do openssl crl -inform DER -in "$f"; done > "$tmp/crls.pem"
openssl x509 -inform DER -in "$tmp/crl/$new_id.crt" -out "$tmp/ica_new.pem"
openssl verify -crl_check_all -CAfile "$tmp/root.pem" -untrusted "$tmp/ica_old.pem" -CRLfile "$tmp/crls.pem" "$tmp/old.pem" > "$tmp/vall.out" 2>&1; rc=$?
check "openssl verify -crl_check_all with the published CRLs rejects a leaf of the revoked issuing CA" '[ $rc -ne 0 ] && grep -q "error 23 at 1 depth lookup: certificate revoked" "$tmp/vall.out"'
check "... and accepts a leaf of the active issuing CA" 'openssl verify -crl_check_all -CAfile "$tmp/root.pem" -untrusted "$tmp/ica_new.pem" -CRLfile "$tmp/crls.pem" "$tmp/new.pem" 2>&1 | sed "s/^/# /" | grep -q ": OK"'
check "audit verify passes after it all" 'C audit verify >/dev/null'
echo "1..$n"
