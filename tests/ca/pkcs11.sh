#!/bin/sh
# pkcs11: CA keys in a PKCS#11 token (SoftHSM2, a private SOFTHSM2_CONF and token directory
# made here). For every CA key type: keys made in the token by pkcs11-tool (sensitive,
# never extractable), ca init with the issuing key (and, every other type, the root key) in the
# token, issue, revoke and CRL verified by openssl verify -crl_check, nothing private in the
# store; concurrent issuance from threads; ca rotate to a new token key; ca import of an external issuing CA whose key is in the
# token; a wrong PIN, a missing token and a bad URI are clear errors that issue nothing.
set -u
. "$top_srcdir/tests/ca/setup.sh"
command -v openssl >/dev/null || { echo "1..0 # SKIP openssl not installed"; exit 0; }
. "$top_srcdir/tests/ca/softhsm.sh"
softhsm_setup "$tmp"
module=$softhsm_module
# Below this line a missing tool is a failure: CI installs them (contrib/install-deps.sh).
check "pkcs11-tool (opensc) is installed" 'command -v pkcs11-tool >/dev/null'
check "the OpenSSL pkcs11 engine is installed" 'openssl engine pkcs11 >/dev/null 2>&1'
mkdir -m 700 "$tmp/empty"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp/empty" > "$tmp/empty.conf"
# The key ceremony: the admin makes the key in the token; the CA only gets its URI.
keygen() { softhsm_keygen "$@"; }

# One store per key type, all with keys in the same token.
conf_for() { # dir [key-uri]
  mkdir -p "$1"
  sed "s|$tmp/|$1/|" "$tmp/conf" > "$1/conf"
  cat >> "$1/conf" <<EOC
ca_pkcs11_module $module
ca_pkcs11_pin_file $pin_file
EOC
  [ -n "${2:-}" ] && echo "ca_pkcs11_key_uri $2" >> "$1/conf"
  return 0
}
# openssl verify with the CRLs: chain root -> issuing CA, CRLs of both.
verify() { # dir cert [-crl_check: the leaf's CRL only]
  cat "$1"/crl/*.crl.pem > "$1/crls.pem"
  openssl verify ${3:--crl_check_all} -CAfile "$1/root.pem" -untrusted "$1/ica.pem" -CRLfile "$1/crls.pem" "$2" 2>&1
}
no_private() { # dir: nothing in the store or the CRL dir holds a CA private key
  ! grep -rqa "PRIVATE KEY" "$1/store" "$1/crl" && [ -z "$(find "$1/store" -name '*.key')" ]
}

k=0
for kt in ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096; do
  k=$((k + 1))
  case $kt in
    ec-p256) p11=EC:prime256v1 pub="ASN1 OID: prime256v1" sig=ecdsa-with-SHA256 ;;
    ec-p384) p11=EC:secp384r1 pub="ASN1 OID: secp384r1" sig=ecdsa-with-SHA384 ;;
    rsa-*) p11=rsa:${kt#rsa-} pub="Public-Key: (${kt#rsa-} bit)" sig=sha256WithRSAEncryption ;;
  esac
  d="$tmp/$kt"
  check "$kt: issuing and root keys made in the token, sensitive and never extractable" \
    'keygen "ica-$kt" $p11 && keygen "root-$kt" $p11'
  # Every other type keeps its root in the token too; the rest write an encrypted root key file.
  if [ $((k % 2)) = 1 ]; then rootkey=$(uri "root-$kt"); else rootkey="$d/root.key"; fi
  # ec-p256 names the issuing key in the configuration, the others on the command line.
  if [ $kt = ec-p256 ]; then
    conf_for "$d" "$(uri "ica-$kt")"; keyopt=""
  else
    conf_for "$d"; keyopt="--key-uri $(uri "ica-$kt")"
  fi
  CK() { "$ctl" -c "$d/conf" "$@"; }
  check "$kt: ca init with the issuing key in the token" \
    'CK ca init --root-cert "$d/root.pem" --root-key "$rootkey" $keyopt > "$d/init.out" 2>&1'
  ca_id=$(sed -n 's/^ca_id=\([0-9a-f]*\) active=yes.*/\1/p' "$d/init.out")
  openssl x509 -inform DER -in "$d/crl/$ca_id.crt" -out "$d/ica.pem" 2>/dev/null
  check "$kt: the store names the token key by URI, 0600" \
    '[ "$(cat "$d/store/ca/$ca_id.uri")" = "$(uri "ica-$kt")" ] && [ "$(stat -c %a "$d/store/ca/$ca_id.uri")" = 600 ]'
  check "$kt: the issuing CA certificate carries the token's public key" \
    'openssl x509 -in "$d/ica.pem" -noout -text | grep -q "$pub" &&
     [ "$(openssl x509 -in "$d/ica.pem" -noout -pubkey)" = "$(openssl pkey -engine pkcs11 -inform engine -in "$(uri "ica-$kt");pin-value=$pin" -pubout 2>/dev/null)" ]'
  if [ $((k % 2)) = 1 ]; then
    check "$kt: the root is signed by its token key and no root key file is written" \
      'openssl verify -CAfile "$d/root.pem" "$d/root.pem" >/dev/null 2>&1 && [ ! -e "$d/root.key" ] && ! grep -q "root_key=$d" "$d/init.out"'
  else
    check "$kt: the root key file is written encrypted" 'grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$d/root.key"'
  fi
  check "$kt: no CA private key in the store or the CRL directory" 'no_private "$d"'
  check "$kt: issue through the token (pre-issuance checks pass)" \
    'CK issue "u@example.org" --key-type ec-p256 --dual-use --out "$d/u.pem" > "$d/u.out" 2>&1'
  check "$kt: the certificate is signed $sig" \
    'openssl x509 -in "$d/u.pem" -noout -text | grep -q "Signature Algorithm: $sig"'
  check "$kt: crl through the token" 'CK crl > "$d/crl.out" 2>&1'
  check "$kt: openssl verify -crl_check accepts the certificate" 'verify "$d" "$d/u.pem" | grep -q ": OK$"'
  check "$kt: the CRL is signed $sig" \
    'openssl crl -in "$d/crl/$ca_id.crl.pem" -noout -text | grep -q "Signature Algorithm: $sig"'
  serial=$(openssl x509 -in "$d/u.pem" -noout -serial | cut -d= -f2)
  check "$kt: revoke and a new CRL" \
    'CK revoke "$serial" --reason keyCompromise >/dev/null 2>&1 && CK crl >/dev/null 2>&1'
  check "$kt: openssl verify -crl_check now says revoked" \
    'verify "$d" "$d/u.pem" | grep -q "certificate revoked"'
  case $kt in
    rsa-*)
      # BR 7.1.3.2's PSS encoding: both hash AlgorithmIdentifiers with NULL parameters.
      check "$kt: an RSASSA-PSS certificate signed in the token, BR encoding, verifies" \
        'CK issue "p@example.org" --key-type rsa-2048 --pss --dual-use --out "$d/p.pem" >/dev/null 2>&1 &&
         openssl x509 -in "$d/p.pem" -noout -text | grep -q "Signature Algorithm: rsassaPss" &&
         [ "$(openssl asn1parse -in "$d/p.pem" | sed -n "/rsassaPss/,/BIT STRING/p" | sed -n "1,/prim: INTEGER/p" | grep -c "prim: NULL")" = 2 ] &&
         verify "$d" "$d/p.pem" | grep -q ": OK$"' ;;
  esac
  case $kt in
    ec-p384|rsa-2048)
      # The daemon's threads sign at once: 4 threads of 5 certificates, one token session each.
      before=$("$stress" check "$d" 2>/dev/null | sed -n 's/.*certs=\([0-9]*\).*/\1/p')
      check "$kt: 4 threads issue through the token at once, every certificate and audit record there" \
        'CA_STRESS_PKCS11_MODULE=$module CA_STRESS_PKCS11_PIN_FILE=$pin_file "$stress" issue "$d" 5 4 thr > "$d/thr.out" 2>&1 &&
         "$stress" check "$d" $((before + 20)) > /dev/null 2>&1'
      good=0
      for sn in $(sed -n 's/^issued //p' "$d/thr.out"); do
        CK show "$sn" --format pem > "$d/thr.pem" 2>/dev/null && verify "$d" "$d/thr.pem" | grep -q ": OK$" && good=$((good + 1))
      done
      check "$kt: all 20 verify with openssl (-crl_check_all)" '[ $good -eq 20 ]' ;;
  esac
  check "$kt: still nothing private in the store after issuing" 'no_private "$d"'
done

# Errors: the PIN file, the token and the URI. Nothing is issued, and the reason is clear.
d="$tmp/ec-p384"
CK() { "$ctl" -c "$d/conf" "$@"; }
count() { CK list 2>/dev/null | grep -c "serial="; }
before=$(count)
printf '%s\n' "0000$pin" > "$pin_file"
CK issue "w@example.org" --key-type ec-p256 > "$tmp/wrong.out" 2>&1; rc=$?
check "wrong PIN: issue fails (exit 1) saying PIN incorrect" '[ $rc -eq 1 ] && grep -q "PIN incorrect" "$tmp/wrong.out"'
check "wrong PIN: the PIN is not in the error" '! grep -q "$pin" "$tmp/wrong.out"'
CK crl > "$tmp/wrongcrl.out" 2>&1; rc=$?
check "wrong PIN: crl fails too" '[ $rc -ne 0 ] && grep -q "PIN incorrect" "$tmp/wrongcrl.out"'
printf '%s\n' "$pin" > "$pin_file"
SOFTHSM2_CONF="$tmp/empty.conf" CK issue "w@example.org" --key-type ec-p256 > "$tmp/absent.out" 2>&1; rc=$?
check "missing token: issue fails (exit 1) naming the key it could not find" \
  '[ $rc -eq 1 ] && grep -q "cannot use the CA key pkcs11:token=asm-ca" "$tmp/absent.out"'
chmod 644 "$pin_file"
CK issue "w@example.org" --key-type ec-p256 > "$tmp/mode.out" 2>&1; rc=$?
check "a PIN file readable by others is refused" '[ $rc -eq 1 ] && grep -q "chmod 600" "$tmp/mode.out"'
chmod 600 "$pin_file"
check "nothing was issued by the failed attempts" '[ "$(count)" = "$before" ]'
check "the right PIN works again" 'CK issue "w@example.org" --key-type ec-p256 --dual-use --out "$d/w.pem" >/dev/null 2>&1 && verify "$d" "$d/w.pem" | grep -q ": OK$"'

# ca rotate to a new token key; ec-p256 keeps its root in the token and names its first
# issuing key in the configuration, which --key-uri overrides.
d="$tmp/ec-p256"
CK() { "$ctl" -c "$d/conf" "$@"; }
check "ec-p256: a new token key for the rotation" 'keygen ica2-ec-p256 EC:prime256v1'
CK ca rotate --root-cert "$d/root.pem" --root-key "$(uri root-ec-p256)" > "$tmp/same.out" 2>&1; rc=$?
check "ca rotate to the token key already in use is refused" '[ $rc -ne 0 ] && grep -q "already belongs to an issuing CA" "$tmp/same.out"'
check "ca rotate with the new token key, the root key from the token" \
  'CK ca rotate --root-cert "$d/root.pem" --root-key "$(uri root-ec-p256)" --key-uri "$(uri ica2-ec-p256)" > "$tmp/rot.out" 2>&1'
old_id=$(sed -n 's/^ca_id=\([0-9a-f]*\) active=yes.*/\1/p' "$d/init.out")
new_id=$(sed -n 's/^ca_id=\([0-9a-f]*\) active=yes.*/\1/p' "$tmp/rot.out")
check "the rotated CA is a new one, named by the new URI" \
  '[ -n "$new_id" ] && [ "$new_id" != "$old_id" ] && [ "$(cat "$d/store/ca/$new_id.uri")" = "$(uri ica2-ec-p256)" ]'
openssl x509 -inform DER -in "$d/crl/$new_id.crt" -out "$d/ica2.pem" 2>/dev/null
check "issue under the rotated CA, CRLs of both CAs and the root signed in the token" \
  'CK issue "r@example.org" --key-type ec-p384 --dual-use --out "$d/r.pem" >/dev/null 2>&1 && CK crl >/dev/null 2>&1 &&
   cat "$d/ica.pem" "$d/ica2.pem" > "$d/both.pem" && cat "$d"/crl/*.crl.pem > "$d/crls.pem" &&
   openssl verify -crl_check_all -CAfile "$d/root.pem" -untrusted "$d/both.pem" -CRLfile "$d/crls.pem" "$d/r.pem" | grep -q ": OK$"'
check "the old CA still signs its CRL, the revocation still in it" \
  'openssl crl -in "$d/crl/$old_id.crl.pem" -CAfile "$d/ica.pem" -noout 2>&1 | grep -q "verify OK" &&
   openssl crl -in "$d/crl/$old_id.crl.pem" -noout -text | grep -q "Key Compromise"'
check "no CA private key in the store after the rotation" 'no_private "$d"'
root_id=$(openssl x509 -in "$d/root.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d " :" | tr A-F a-f)
check "crl --root-key URI re-signs the root's CRL in the token" \
  'cp "$d/crl/$root_id.crl.pem" "$d/rootcrl.before" && CK crl --root-cert "$d/root.pem" --root-key "$(uri root-ec-p256)" >/dev/null 2>&1 &&
   ! cmp -s "$d/rootcrl.before" "$d/crl/$root_id.crl.pem" &&
   openssl crl -in "$d/crl/$root_id.crl.pem" -CAfile "$d/root.pem" -noout 2>&1 | grep -q "verify OK"'
check "ca revoke-issuer with the root key in the token: the old CA is in the root's CRL" \
  'CK ca revoke-issuer "$old_id" --root-cert "$d/root.pem" --root-key "$(uri root-ec-p256)" --reason superseded >/dev/null 2>&1 &&
   openssl crl -in "$d/crl/$root_id.crl.pem" -CAfile "$d/root.pem" -noout -text 2>&1 | grep -q "Superseded"'

# ca import: an issuing CA of the organisation's PKI whose key was made in the token.
d="$tmp/import"
conf_for "$d"
CK() { "$ctl" -c "$d/conf" "$@"; }
check "import: token key and an external root" 'keygen imp-ica EC:secp384r1 &&
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$d/xroot.key" \
    -subj "/C=GB/O=Example Org/CN=External Root" -days 3650 -out "$d/root.pem" >/dev/null 2>&1'
cat > "$d/ext.cnf" <<EOC
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOC
check "import: a CSR signed in the token, certified by the external root" \
  'openssl req -new -engine pkcs11 -keyform engine -key "$(uri imp-ica);pin-value=$pin" \
     -subj "/C=GB/O=Example Org/CN=Imported Issuing CA" -out "$d/ica.csr" >/dev/null 2>&1 &&
   openssl x509 -req -in "$d/ica.csr" -CA "$d/root.pem" -CAkey "$d/xroot.key" -CAcreateserial \
     -days 1000 -extfile "$d/ext.cnf" -out "$d/ica.pem" >/dev/null 2>&1'
check "ca import --key with the token URI" \
  'CK ca import --cert "$d/ica.pem" --key "$(uri imp-ica)" --chain "$d/root.pem" > "$d/imp.out" 2>&1'
imp_id=$(sed -n 's/^ca_id=\([0-9a-f]*\) active=yes.*/\1/p' "$d/imp.out")
check "import: the store keeps the URI only" '[ -s "$d/store/ca/$imp_id.uri" ] && no_private "$d"'
check "import: issue and CRL through the token verify" \
  'CK issue "i@example.org" --key-type ec-p256 --dual-use --out "$d/i.pem" >/dev/null 2>&1 && CK crl >/dev/null 2>&1 &&
   verify "$d" "$d/i.pem" -crl_check | grep -q ": OK$"'
CK ca import --cert "$d/ica.pem" --key "$(uri imp-ica)" > "$d/imp2.out" 2>&1; rc=$?
check "import: the same token key twice is refused" '[ $rc -ne 0 ] && grep -q "already belongs" "$d/imp2.out"'

# The URI: no PIN in it, a real PKCS#11 URI.
d="$tmp/uri"
conf_for "$d"
CK() { "$ctl" -c "$d/conf" "$@"; }
CK ca init --root-cert "$d/root.pem" --root-key "$d/root.key" --key-uri "$(uri ica-ec-p256);pin-value=$pin" > "$d/pin.out" 2>&1; rc=$?
check "a URI carrying a PIN is refused, and nothing is stored" \
  '[ $rc -eq 4 ] && grep -q "must not carry a PIN" "$d/pin.out" && [ -z "$(ls "$d/store/ca" 2>/dev/null)" ] && [ ! -e "$d/root.key" ]'
CK ca init --root-cert "$d/root.pem" --root-key "$d/root.key" --key-uri "pkcs11:object=no such" > "$d/sp.out" 2>&1; rc=$?
check "a URI with a space is refused" '[ $rc -eq 4 ] && grep -q "percent-encode" "$d/sp.out"'
CK ca init --root-cert "$d/root.pem" --root-key "$d/root.key" --key-uri "$(uri nosuch-key)" > "$d/nk.out" 2>&1; rc=$?
check "a URI of no key fails clearly and stores nothing" \
  '[ $rc -eq 1 ] && grep -q "object not found" "$d/nk.out" && ! CK ca show 2>/dev/null | grep -q ca_id='

echo "1..$n"
