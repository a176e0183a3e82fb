#!/bin/sh
# pair: the default set-up issues a signing-only EC certificate and an encryption-only RSA
# one per CA-made key, in one transaction and one audit sequence; both chain and carry the
# keyUsage of their job; list and show say which is which; renewal renews the pair;
# `encryption_key_type same` keeps one dual-use certificate; export-p12 holds both keys (the
# default and --compat encodings) and each imports into NSS (pk12util) and OpenSSL with the
# algorithms the man page names; --compat --only encryption imports into gpgsm 2.2, and gpgsm
# and NSS decrypt mail to the encryption certificate.
set -u
. "$top_srcdir/tests/ca/setup.sh"
command -v openssl >/dev/null || { echo "1..0 # SKIP openssl not installed"; exit 0; }
for t in pk12util certutil cmsutil gpgsm; do
  command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
ca_init || { echo "Bail out! ca init: $(cat "$tmp/init.err")"; exit 1; }
ca_id=$(C ca show | sed -n 's/^ca_id=\([0-9a-f]*\) active=yes.*/\1/p')
openssl x509 -inform DER -in "$tmp/crl/$ca_id.crt" -out "$tmp/ica.pem"
ku() { openssl x509 -in "$1" -noout -ext keyUsage 2>/dev/null | tail -1 | sed 's/^ *//'; }
verify() { openssl verify -purpose "$1" -CAfile "$tmp/root.pem" -untrusted "$tmp/ica.pem" "$2" >/dev/null 2>&1; }

C issue ann@example.org --out "$tmp/ann.pem" > "$tmp/ann.out" 2>&1
check "issue under the default prints both serials" 'grep -q "^serial=[0-9a-f]* mailbox=ann@example.org not_after=.* encryption_serial=[0-9a-f]*$" "$tmp/ann.out"'
sig=$(sed -n 's/^serial=\([0-9a-f]*\) .*/\1/p' "$tmp/ann.out")
enc=$(sed -n 's/.* encryption_serial=\([0-9a-f]*\)$/\1/p' "$tmp/ann.out")
C show "$sig" --format pem > "$tmp/sig.pem" 2>/dev/null
C show "$enc" --format pem > "$tmp/enc.pem" 2>/dev/null
check "--out holds both certificates and the chain" '[ "$(grep -c "BEGIN CERTIFICATE" "$tmp/ann.pem")" = 3 ]'
check "the signing certificate is EC P-256 with keyUsage digitalSignature only" \
  'openssl x509 -in "$tmp/sig.pem" -noout -text | grep -q "ASN1 OID: prime256v1" && [ "$(ku "$tmp/sig.pem")" = "Digital Signature" ]'
check "the encryption certificate is RSA-2048 with keyUsage keyEncipherment only" \
  'openssl x509 -in "$tmp/enc.pem" -noout -text | grep -q "Public-Key: (2048 bit)" && [ "$(ku "$tmp/enc.pem")" = "Key Encipherment" ]'
check "both name the mailbox, emailProtection and the strict mailbox policy" \
  'for f in sig enc; do openssl x509 -in "$tmp/$f.pem" -noout -text | grep -q "email:ann@example.org" && openssl x509 -in "$tmp/$f.pem" -noout -text | grep -q "Policy: 2.23.140.1.5.1.3" || exit 1; done'
check "signing certificate verifies for smimesign, not for smimeencrypt" 'verify smimesign "$tmp/sig.pem" && ! verify smimeencrypt "$tmp/sig.pem"'
check "encryption certificate verifies for smimeencrypt" 'verify smimeencrypt "$tmp/enc.pem"'
check "list says which is which" 'C list --mailbox ann@example.org | grep "serial=$sig " | grep -q " use=sign" && C list --mailbox ann@example.org | grep "serial=$enc " | grep -q " use=encrypt"'
check "the audit log has one issue record per certificate, the partner naming its pair" \
  'C audit show --event issue | grep "serial=$enc " | grep -q "use=encrypt pair=$sig" && C audit show --event issue | grep "serial=$sig " | grep -q "use=sign"'
check "audit verifies" 'C audit verify | grep -q "^audit=ok"'

# encryption round trip to the RSA certificate, signature with the EC one (openssl as reader)
printf 'Content-Type: text/plain\r\n\r\nhello\r\n' > "$tmp/msg"
echo "pkcs12 export password" > "$tmp/p12pass"; chmod 600 "$tmp/p12pass"
C export-p12 ann@example.org --out "$tmp/ann.p12" --password-file "$tmp/p12pass" > "$tmp/p12.out" 2>&1
check "export-p12 names both serials" 'grep -q "^serial=$sig encryption_serial=$enc mailbox=ann@example.org file=.* format=aes$" "$tmp/p12.out"'
C export-p12 ann@example.org --out "$tmp/ann-compat.p12" --password-file "$tmp/p12pass" --compat > "$tmp/p12c.out" 2>&1
check "export-p12 --compat" 'grep -q "format=compat$" "$tmp/p12c.out" && [ "$(stat -c %a "$tmp/ann-compat.p12")" = 600 ]'
pw="pkcs12 export password"
openssl pkcs12 -in "$tmp/ann.p12" -info -noout -passin "pass:$pw" > "$tmp/p12.info" 2>&1
openssl pkcs12 -in "$tmp/ann-compat.p12" -info -noout -passin "pass:$pw" -legacy > "$tmp/p12c.info" 2>&1 ||
  openssl pkcs12 -in "$tmp/ann-compat.p12" -info -noout -passin "pass:$pw" > "$tmp/p12c.info" 2>&1
check "default file: PBES2 with AES-256-CBC, SHA-256 MAC" \
  'grep -q "MAC: sha256" "$tmp/p12.info" && grep -q "PBES2, PBKDF2, AES-256-CBC" "$tmp/p12.info" && ! grep -q "3DES\|TripleDES" "$tmp/p12.info"'
check "compat file: 3DES for keys and certificates, SHA-1 MAC" \
  'grep -q "MAC: sha1" "$tmp/p12c.info" && [ "$(grep -c "pbeWithSHA1And3-KeyTripleDES-CBC" "$tmp/p12c.info")" -ge 3 ] && ! grep -q "AES" "$tmp/p12c.info"'
for f in ann ann-compat; do
  openssl pkcs12 -in "$tmp/$f.p12" -nodes -passin "pass:$pw" -out "$tmp/$f.all.pem" 2>/dev/null ||
    openssl pkcs12 -legacy -in "$tmp/$f.p12" -nodes -passin "pass:$pw" -out "$tmp/$f.all.pem" 2>/dev/null
  check "$f.p12: OpenSSL reads two keys and three certificates" \
    '[ "$(grep -c "BEGIN PRIVATE KEY" "$tmp/$f.all.pem")" = 2 ] && [ "$(grep -c "BEGIN CERTIFICATE" "$tmp/$f.all.pem")" = 3 ]'
  db="$tmp/nss-$f"; mkdir "$db"
  certutil -N --empty-password -d "sql:$db" >/dev/null 2>&1
  pk12util -i "$tmp/$f.p12" -d "sql:$db" -W "$pw" > "$tmp/$f.pk12util" 2>&1
  check "$f.p12: pk12util imports it, with both keys" \
    'grep -q "PKCS12 IMPORT SUCCESSFUL" "$tmp/$f.pk12util" && [ "$(certutil -K -d "sql:$db" 2>/dev/null | grep -c "^<")" = 2 ]'
done
# gpgsm 2.2 takes no PBES2 and crashes on EC keys in PKCS#12: the encryption key alone, compat
C export-p12 ann@example.org --out "$tmp/ann-enc.p12" --password-file "$tmp/p12pass" --compat --only encryption > "$tmp/p12e.out" 2>&1
check "export-p12 --only encryption writes the encryption certificate" 'grep -q "^serial=$enc mailbox=ann@example.org .*format=compat$" "$tmp/p12e.out"'
export GNUPGHOME="$tmp/gnupg"; mkdir -m 700 "$GNUPGHOME"
echo allow-loopback-pinentry > "$GNUPGHOME/gpg-agent.conf"
printf 'disable-crl-checks\ndisable-dirmngr\n' > "$GNUPGHOME/gpgsm.conf"
gpgsm --batch --import "$tmp/root.pem" "$tmp/ica.pem" >/dev/null 2>&1
# the agent first: an import racing its start-up loses the secret key
gpgconf --homedir "$GNUPGHOME" --launch gpg-agent >/dev/null 2>&1
for try in 1 2 3; do
  echo "$pw" | gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 --import "$tmp/ann-enc.p12" > "$tmp/gpgsm.out" 2>&1
  grep -q "secret keys imported: 1\|secret keys unchanged: 1" "$tmp/gpgsm.out" && break
  sleep 1
done
check "ann-enc.p12: gpgsm imports the secret key" 'grep -q "secret keys imported: 1\|secret keys unchanged: 1" "$tmp/gpgsm.out" || { sed "s/^/# /" "$tmp/gpgsm.out"; false; }'
openssl cms -encrypt -aes256 -in "$tmp/msg" -outform DER -out "$tmp/to-ann.der" "$tmp/enc.pem" 2>/dev/null
echo "$pw" | gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 --decrypt "$tmp/to-ann.der" > "$tmp/gpgsm.dec" 2>"$tmp/gpgsm.dec.err"
check "gpgsm decrypts mail to the encryption certificate with it" 'cmp -s "$tmp/gpgsm.dec" "$tmp/msg"'
gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1
# NSS reads mail to the pair too (the default file)
cmsutil -D -i "$tmp/to-ann.der" -d "sql:$tmp/nss-ann" -p "" -o "$tmp/nss.dec" >/dev/null 2>&1 ||
  cmsutil -D -i "$tmp/to-ann.der" -d "sql:$tmp/nss-ann" -o "$tmp/nss.dec" >/dev/null 2>&1
check "NSS (cmsutil) decrypts it with the key pk12util imported" 'cmp -s "$tmp/nss.dec" "$tmp/msg"'

# renewal renews the pair; the old pair stays valid until it expires
C renew "$enc" > "$tmp/renew.out" 2>&1
check "renewing the encryption half renews the pair with an EC signing certificate" \
  'grep -q "renews=$enc .* encryption_serial=" "$tmp/renew.out" && s2=$(sed -n "s/^serial=\([0-9a-f]*\) .*/\1/p" "$tmp/renew.out") && C list --mailbox ann@example.org | grep "serial=$s2 " | grep -q "key=ec-p256 .*use=sign"'

# `encryption_key_type same`: one dual-use certificate, as before
echo "encryption_key_type same" >> "$tmp/conf"
C issue bo@example.org > "$tmp/bo.out" 2>&1
check "encryption_key_type same: one certificate, dual use" \
  '! grep -q encryption_serial "$tmp/bo.out" && C list --mailbox bo@example.org | grep -q " use=dual" && [ "$(C list --mailbox bo@example.org | wc -l)" = 1 ]'
echo "1..$n"
