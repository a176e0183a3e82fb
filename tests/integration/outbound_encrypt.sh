#!/bin/bash
# outbound_encrypt: Postfix + autosmime-milter, encryption. With the recipients' certificates
# imported (autosmimectl import; one RSA, one ECDH P-256 recipient, both self-made, not from our
# CA), an enrolled sender's mail arrives as application/pkcs7-mime enveloped-data (AES-256-CBC),
# decrypts with each recipient's key and with the sender's own key (export-p12), and the
# decrypted entity is multipart/signed and verifies as a signature over the original text
# (sign, then encrypt). The sender holds the default pair: her copy is encrypted to her RSA
# encryption certificate, her EC signing certificate signs and names it. With cipher
# aes256-gcm, imported recipients (capabilities unknown) still get CBC; mail between users of
# our CA whose clients read GCM (sender_capabilities) arrives as authEnveloped-data and
# decrypts with openssl. With one recipient unknown it arrives signed only.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/smime.sh"
. "$top_srcdir/tests/integration/outbound_lib.sh"

ALICE=alice@local.test
DAVE=dave@remote.test    # RSA recipient, imported
FRANK=frank@remote.test  # ECDH P-256 recipient, imported
ERIN=erin@remote.test    # no certificate anywhere
BOB=bob@remote.test      # one of ours at another site: our CA issued his pair
ob_setup encrypt "$ALICE" || { echo "1..0 # SKIP set-up failed"; exit 1; }

ob_issue "$ALICE" && ob_issue "$BOB"
tap_ok $? "$ALICE and $BOB are enrolled"
ob_recipient_cert "$DAVE" rsa && ob_recipient_cert "$FRANK" ec
tap_ok $? "recipient certificates made (RSA and P-256)"
ms_ctl import "$DAVE" "$H_TMP/$DAVE.crt" > "$H_TMP/import.log" 2>&1 &&
	ms_ctl import "$FRANK" "$H_TMP/$FRANK.crt" >> "$H_TMP/import.log" 2>&1
tap_ok $? "autosmimectl import stores both"
# The sender's own key, as her mail client would hold it.
( umask 077; echo "export-pass" > "$H_TMP/p12.pass" ) && chown "$MS_USER:" "$H_TMP/p12.pass"
mkdir -p "$H_TMP/p12" && chown "$MS_USER:" "$H_TMP/p12"
ms_ctl export-p12 "$ALICE" --out "$H_TMP/p12/alice.p12" --password-file "$H_TMP/p12.pass" > "$H_TMP/p12.log" 2>&1 &&
	ob_p12_keys "$H_TMP/p12/alice.p12" export-pass "$H_TMP/alice" &&
	ms_ctl export-p12 "$BOB" --out "$H_TMP/p12/bob.p12" --password-file "$H_TMP/p12.pass" >> "$H_TMP/p12.log" 2>&1 &&
	ob_p12_keys "$H_TMP/p12/bob.p12" export-pass "$H_TMP/bob"
tap_ok $? "the users' keys and certificates are exported (PKCS#12, signing and encryption pair)"
tap_check "alice's pair: an EC signing and an RSA encryption certificate" \
	eval 'openssl x509 -in "$H_TMP/alice.sign.crt" -noout -text | grep -q "id-ecPublicKey" && openssl x509 -in "$H_TMP/alice.crt" -noout -text | grep -q "rsaEncryption"'
ob_go
tap_ok $? "milter and Postfix run"

# Decrypt FILE with CERT/KEY into OUT (the signed entity).
decrypt() { openssl cms -decrypt -in "$1" -inform SMIME -recip "$2" -inkey "$3" -out "$4" 2>"$4.err"; }
# The decrypted entity must be a signature by alice over the original text.
signed_original() {
	smime_is_signed "$1" && ob_signer "$1" "$1.signer" &&
		[ "$(ob_serial "$1.signer")" = "$(ob_serial "$H_TMP/alice.sign.crt")" ] &&
		grep -q 'The original text, line two.' "$1.signer.content"
}
top_ct() { awk '/^\r?$/ { exit } /^[^ \t]/ { on = tolower($0) ~ /^content-type:/ } on' "$1" | tr -d '\r\n'; }

# 1. Every recipient known: enveloped-data, AES-256-CBC.
ob_msg "$ALICE" "<$DAVE>, <$FRANK>" "encrypted cbc"
ob_submit "$ALICE" "$DAVE,$FRANK" "$m"
tap_ok $? "to two known recipients: accepted and delivered"
f=$ob_got
tap_check "it arrives as application/pkcs7-mime; smime-type=enveloped-data" \
	eval 'top_ct "$f" | grep -Eiq "application/(x-)?pkcs7-mime.*smime-type=\"?enveloped-data"'
tap_check "From, To, Subject and Message-ID stay readable outside" \
	eval 'grep -q "^Subject: encrypted cbc" "$f" && grep -q "^From: <$ALICE>" "$f" && grep -q "^Message-ID: <ob-$ob_n@local.test>" "$f"'
tap_check "the body does not show the text in clear" eval '! grep -q "original text" "$f"'
openssl cms -cmsout -print -in "$f" -inform SMIME > "$H_TMP/cbc.print" 2>&1
tap_check "the CMS content is EnvelopedData with aes-256-cbc" \
	eval 'grep -q "contentType: pkcs7-envelopedData" "$H_TMP/cbc.print" && grep -q "algorithm: aes-256-cbc" "$H_TMP/cbc.print"'
decrypt "$f" "$H_TMP/$DAVE.crt" "$H_TMP/$DAVE.key" "$H_TMP/dec-dave.eml"
tap_ok $? "openssl cms -decrypt with the RSA recipient's key"
tap_check "the decrypted entity is alice's signature over the original (sign, then encrypt)" \
	signed_original "$H_TMP/dec-dave.eml"
decrypt "$f" "$H_TMP/$FRANK.crt" "$H_TMP/$FRANK.key" "$H_TMP/dec-frank.eml"
tap_ok $? "openssl cms -decrypt with the ECDH P-256 recipient's key"
tap_check "the same signed entity for the ECDH recipient" cmp -s "$H_TMP/dec-dave.eml" "$H_TMP/dec-frank.eml"
decrypt "$f" "$H_TMP/alice.crt" "$H_TMP/alice.key" "$H_TMP/dec-alice.eml"
tap_ok $? "openssl cms -decrypt with the sender's own (RSA encryption) key"
tap_check "the sender's copy is a key transport (RSA) recipient, not ECDH" \
	eval 'grep -c "d.ktri:" "$H_TMP/cbc.print" | grep -qx 2 && grep -c "d.kari:" "$H_TMP/cbc.print" | grep -qx 1'
tap_check "the sender reads the same signed entity" cmp -s "$H_TMP/dec-dave.eml" "$H_TMP/dec-alice.eml"
tap_check "the milter logged event=sign ... encrypted=yes" \
	eval 'grep -q "event=sign sender=$ALICE recipients=2 .*encrypted=yes message_id=<ob-$ob_n@local.test>" "$MS_LOG"'

# 2. cipher aes256-gcm: authEnveloped-data (RFC 5083) only for whom it is known to suit;
# reloaded with SIGHUP.
sed -i '/^cipher /d' "$MS_CONF"
ms_conf "cipher aes256-gcm"
ms_conf "sender_capabilities aes256-gcm aes256-cbc"
mark=$(ob_mark)
kill -HUP "$(ms_pid)"
h_wait 10 eval 'ob_log_since $mark | grep -q "event=reload status=ok"'
tap_ok $? "SIGHUP reloads the configuration with cipher aes256-gcm"
ob_msg "$ALICE" "<$DAVE>" "imported, gcm configured"
ob_submit "$ALICE" "$DAVE" "$m"
tap_ok $? "gcm configured, to an imported certificate: accepted and delivered"
f=$ob_got
tap_check "it is enveloped-data (CBC): nothing says dave reads GCM" \
	eval 'top_ct "$f" | grep -Eiq "smime-type=\"?enveloped-data" && grep -q "event=cipher cipher=aes256-cbc reason=recipient-capabilities rcpt=$DAVE" "$MS_LOG"'
ob_msg "$ALICE" "<$BOB>" "encrypted gcm"
ob_submit "$ALICE" "$BOB" "$m"
tap_ok $? "gcm: to a user of our CA, accepted and delivered"
f=$ob_got
tap_check "gcm: it arrives as smime-type=authEnveloped-data" \
	eval 'top_ct "$f" | grep -Eiq "application/pkcs7-mime.*smime-type=\"?authEnveloped-data"'
openssl cms -cmsout -print -in "$f" -inform SMIME > "$H_TMP/gcm.print" 2>&1
tap_check "gcm: the CMS content is AuthEnvelopedData with aes-256-gcm" \
	eval 'grep -q "contentType: id-smime-ct-authEnvelopedData" "$H_TMP/gcm.print" && grep -q "algorithm: aes-256-gcm" "$H_TMP/gcm.print"'
decrypt "$f" "$H_TMP/bob.crt" "$H_TMP/bob.key" "$H_TMP/dec-gcm.eml"
tap_ok $? "gcm: openssl cms -decrypt with the recipient's key"
tap_check "gcm: the decrypted entity is alice's signature over the original" signed_original "$H_TMP/dec-gcm.eml"
decrypt "$f" "$H_TMP/alice.crt" "$H_TMP/alice.key" "$H_TMP/dec-gcm-alice.eml"
tap_ok $? "gcm: the sender decrypts her copy too"
# A flipped byte in the ciphertext must fail the GCM tag check, not decrypt to garbage.
openssl cms -cmsout -in "$f" -inform SMIME -outform DER -out "$H_TMP/gcm.der" 2>/dev/null
sz=$(stat -c %s "$H_TMP/gcm.der")
cp "$H_TMP/gcm.der" "$H_TMP/gcm-bad.der"
# flip the low bit (writing a fixed value would change nothing when the byte already held it)
byte=$(od -An -tu1 -j $((sz - 40)) -N1 "$H_TMP/gcm.der" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 1)))" | dd of="$H_TMP/gcm-bad.der" bs=1 seek=$((sz - 40)) conv=notrunc 2>/dev/null
tap_check "gcm: the copy differs from the original in one byte" eval '! cmp -s "$H_TMP/gcm.der" "$H_TMP/gcm-bad.der"'
tap_check "gcm: a changed ciphertext byte does not decrypt (authenticated)" eval \
	'! openssl cms -decrypt -in "$H_TMP/gcm-bad.der" -inform DER -recip "$H_TMP/bob.crt" -inkey "$H_TMP/bob.key" -out "$H_TMP/bad.out" 2>/dev/null'

# 3. One recipient unknown: signed only.
ob_msg "$ALICE" "<$DAVE>, <$ERIN>" "one unknown"
ob_submit "$ALICE" "$DAVE,$ERIN" "$m"
tap_ok $? "one recipient unknown: accepted and delivered"
f=$ob_got
tap_check "it arrives multipart/signed, not encrypted" eval 'smime_is_signed "$f" && ! top_ct "$f" | grep -qi pkcs7-mime'
smime_verify_openssl "$f" "$OB_ROOT" "$H_TMP/unknown.txt"
tap_ok $? "and verifies with openssl cms -verify"
tap_check "the verified content is the original text" grep -q 'The original text, line two.' "$H_TMP/unknown.txt"
tap_check "the milter logged encrypted=no for it" \
	eval 'grep -q "event=sign sender=$ALICE recipients=2 .*encrypted=no message_id=<ob-$ob_n@local.test>" "$MS_LOG"'

ms_stop
tap_check "the milter's log has no sanitizer report" ms_sanitizer_clean
tap_done
