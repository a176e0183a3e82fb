#!/bin/bash
# postfix_inbound: inbound S/MIME through a private Postfix and the real autosmime-milter.
# Mail from a client outside mynetworks to a local user: signed by openssl cms (RSA detached,
# EC opaque) and by gpgsm gets the right Authentication-Results (pass; tampered -> fail;
# untrusted root -> neutral; revoked, with the CRL served by crl-server on loopback -> fail);
# a forged Authentication-Results with our authserv-id is removed; mail enveloped to the
# local user's gateway key (openssl cms and gpgsm) arrives decrypted with X-Autosmime-Decryption.
# A harvested certificate then drives outbound encryption: the local user's next mail to that
# correspondent leaves as application/pkcs7-mime and decrypts with the correspondent's key;
# an imported one (autosmimectl recipients import) does too until it is removed.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/inbound/common.sh"
. "$top_srcdir/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
h_need_root
h_need_cmd postfix swaks smtp-sink saslpasswd2 openssl runuser
h_init inbound
h_at_exit cleanup          # common.sh's: the CRL server, the gpg-agent, $T
chmod 0755 "$T"
missing=$(ms_missing)
if [ -n "$missing" ]; then
	echo "1..0 # SKIP $(echo "$missing" | head -n1)"
	exit 0
fi

start_server ok || { echo "Bail out! crl-server did not start"; exit 1; }
make_pki "http://127.0.0.1:$PORT_ok/int.crl" ||
	{ echo "Bail out! cannot create the test PKI"; sed 's/^/# /' "$T/pki.log"; exit 1; }

BOB=bob@local.test
MS_AUTHSERV_ID=gw.autosmime.test
pf_add_user "$BOB" 'pw-bob'
ms_init unix
ms_ca_init > "$H_TMP/ca-init.log" 2>&1
tap_ok $? "autosmimectl ca init"
ms_ctl issue "$BOB" --key-type rsa-2048 > "$H_TMP/issue.log" 2>&1
tap_ok $? "the local user $BOB has a gateway certificate and key"
ms_ctl show "$BOB" --format pem > "$T/bob-gw.crt" 2>/dev/null
ms_ca_chain "$T/gw-chain.pem"
cp "$T/root.pem" "$MS_DIR/anchors.pem"
chmod 0644 "$MS_DIR/anchors.pem"
mkdir -p "$MS_DIR/crlcache" && chown "$MS_USER:" "$MS_DIR/crlcache"
ms_conf "trust_anchor_file $MS_DIR/anchors.pem" "crl_cache_dir $MS_DIR/crlcache" "crl_wait 5s" \
	"crl_fetch_timeout 5s"
pf_start
tap_ok $? "Postfix starts"
ms_start
tap_ok $? "autosmime-milter starts with inbound processing"
pf_milter "$MS_PF_SOCKET"

# The delivered copy of the message in file $1 (by its Message-ID) in $BOB's Maildir -> $got.
got=
deliver() { # FILE -> 0 when it reached the Maildir; $got is the delivered file
	local mid before
	mid=$(tr -d '\r' < "$1" | sed -n 's/^Message-ID: *//Ip' | head -n1)
	before=$(pf_delivered_count)
	got=
	PF_SEND_IP=$PF_OUTSIDE_IP pf_send "$(tr -d '\r' < "$1" | sed -n 's/^From: *<\(.*\)>$/\1/p' | head -n1)" "$BOB" "$1" ||
		return 1
	pf_wait_delivered $((before + 1)) 30 || return 1
	got=$(grep -l -F "Message-ID: $mid" $(pf_maildir_files "$BOB") 2>/dev/null | tail -n1)
	[ -n "$got" ]
}
# The unfolded header fields NAME of a delivered file, one per line.
fields() {
	awk '/^\r?$/{exit} {print}' "$1" | tr -d '\r' |
	    awk '/^[^ \t]/{if (h) print h; h=$0; next} {sub(/^[ \t]+/, " "); h=h $0} END{if (h) print h}' |
	    grep -i "^$2:"
}
ours() { fields "$1" Authentication-Results | grep -i "^Authentication-Results: *$MS_AUTHSERV_ID;"; }
result_is() { # FILE WORD: exactly one result of ours, saying smime=WORD
	[ "$(ours "$1" | wc -l)" = 1 ] && ours "$1" | grep -q "smime=$2"
}
body_of() { tr -d '\r' < "$1" | sed '1,/^$/d'; }

# 1. signatures made by openssl cms
cms_sign alice alice@remote.test "$T/m1.eml"
deliver "$T/m1.eml"; tap_ok $? "RSA signed mail (openssl cms) is delivered"
tap_check "RSA detached: smime=pass" result_is "$got" pass
tap_check "the result names the signer" eval 'ours "$got" | grep -q "body.smime-identifier=alice@remote.test"'
tap_check "the body of a verified message is untouched" eval '[ "$(body_of "$T/m1.eml" | md5sum)" = "$(body_of "$got" | md5sum)" ]'

cms_sign carol carol@remote.test "$T/m2.eml" -nodetach
deliver "$T/m2.eml"; tap_check "EC opaque signed-data: smime=pass" result_is "$got" pass

sed 's/Hello from the inbound tests/Hello from the evil tests!/' "$T/m1.eml" |
	sed "s/^Message-ID: <\(.*\)>/Message-ID: <t-\1>/" > "$T/m3.eml"
deliver "$T/m3.eml"; tap_check "tampered body: smime=fail" result_is "$got" fail

content > "$T/content.txt"
{ headers mallory@remote.test "$BOB" "untrusted"
  openssl cms -sign -in "$T/content.txt" -signer "$T/mallory.pem" -inkey "$T/mallory.key" \
      -certfile "$T/evilroot.pem"; } > "$T/m4.eml" 2>>"$T/cms.log"
deliver "$T/m4.eml"; tap_check "untrusted root: smime=neutral" result_is "$got" neutral

cms_sign eve eve@remote.test "$T/m5.eml"
deliver "$T/m5.eml"
tap_check "revoked signer (CRL fetched from crl-server on loopback): smime=fail, reason revoked" \
	eval 'result_is "$got" fail && ours "$got" | grep -q revoked'
tap_check "the CRL landed in the daemon's disk cache" eval '[ "$(ls "$MS_DIR/crlcache" | grep -c "\.crl$")" -ge 1 ]'

# 2. a forged result claiming our authserv-id goes, another service's stays
{ printf 'Authentication-Results: %s; smime=pass body.smime-identifier=alice@remote.test\r\n' "$MS_AUTHSERV_ID"
  printf 'Authentication-Results: mx.other.example; spf=pass\r\n'
  headers alice@remote.test "$BOB" "forged result"; content; } > "$T/m6.eml"
deliver "$T/m6.eml"; tap_ok $? "unsigned mail with a forged result is delivered"
tap_check "the forged Authentication-Results is removed" eval '[ -z "$(ours "$got")" ]'
tap_check "another service's Authentication-Results stays" eval 'fields "$got" Authentication-Results | grep -q "mx.other.example; spf=pass"'

# 3. gpgsm: a signature, and mail enveloped to the gateway key
if command -v gpgsm >/dev/null && command -v gpgconf >/dev/null; then
	gpgsm_home "$T/root.pem" "$MS_DIR/ca/root.pem"
	gpgsm --batch --disable-dirmngr --import "$T/root.pem" "$T/int.pem" "$T/gw-chain.pem" \
	    "$T/bob-gw.crt" >/dev/null 2>&1
	content > "$T/content.txt"
	gpgsm_sign rita@remote.test "$T/rita.key" "$T/rita.pem" "$T/int.pem" "$T/content.txt" "$T/rita.sig"
	tap_ok $? "gpgsm made a detached signature"
	{ headers rita@remote.test "$BOB" "signed by gpgsm"
	  printf 'MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="gpgsm-b"\r\n\r\n'
	  printf -- '--gpgsm-b\r\n'; cat "$T/content.txt"
	  printf -- '\r\n--gpgsm-b\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n'
	  sed 's/$/\r/' "$T/rita.sig"
	  printf -- '\r\n--gpgsm-b--\r\n'; } > "$T/m7.eml"
	deliver "$T/m7.eml"; tap_check "RSA detached (gpgsm): smime=pass" result_is "$got" pass
	timeout 60 gpgsm --batch --disable-dirmngr --disable-policy-checks --encrypt --base64 \
	    -r "$BOB" -o "$T/gpgsm.b64" "$T/content.txt" >> "$T/gpgsm.log" 2>&1
	tap_ok $? "gpgsm encrypted to $BOB's gateway certificate"
	{ headers rita@remote.test "$BOB" "gpgsm encrypted"
	  printf 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n'
	  sed 's/$/\r/' "$T/gpgsm.b64"; } > "$T/m8.eml"
	deliver "$T/m8.eml"
	tap_check "gpgsm-encrypted mail arrives decrypted" eval 'fields "$got" X-Autosmime-Decryption | grep -q "decrypted; key=$BOB" &&
		grep -q "Hello from the inbound tests" "$got" && ! grep -qi pkcs7-mime "$got"'
else
	tap_skip "gpgsm signature and encryption" "gpgsm not installed"
fi

# 4. openssl cms enveloped to the gateway key, signed inside
{ headers alice@remote.test "$BOB" "encrypted by openssl"
  openssl cms -encrypt -in "$T/content.txt" -aes256 "$T/bob-gw.crt"; } > "$T/m9.eml" 2>>"$T/cms.log"
deliver "$T/m9.eml"; tap_ok $? "encrypted mail to $BOB is delivered"
tap_check "it arrives decrypted with X-Autosmime-Decryption" eval 'fields "$got" X-Autosmime-Decryption | grep -q "decrypted; key=$BOB" &&
	grep -q "Second line" "$got" && ! grep -qi "pkcs7-mime" "$got"'
openssl cms -sign -in "$T/content.txt" -signer "$T/carol.pem" -inkey "$T/carol.key" \
    -certfile "$T/int.pem" > "$T/signed-entity.txt" 2>>"$T/cms.log"
{ headers carol@remote.test "$BOB" "signed and encrypted"
  openssl cms -encrypt -in "$T/signed-entity.txt" -aes256 "$T/bob-gw.crt"; } > "$T/m10.eml" 2>>"$T/cms.log"
deliver "$T/m10.eml"
tap_check "signed inside encrypted: decrypted and smime=pass" eval 'fields "$got" X-Autosmime-Decryption | grep -q decrypted && result_is "$got" pass'

# 5. harvested certificates drive outbound encryption
outbound() { # TO LABEL -> $cap: the sink copy of $BOB's next mail to TO
	local mid="out-$RANDOM-$(date +%N)@local.test" before f
	printf 'From: <%s>\r\nTo: <%s>\r\nSubject: reply\r\nMessage-ID: <%s>\r\nDate: %s\r\nContent-Type: text/plain\r\n\r\nThe answer to your signed mail.\r\n' \
	    "$BOB" "$1" "$mid" "$(date -R)" > "$T/out.eml"
	before=$(pf_delivered_count)
	cap=
	pf_send "$BOB" "$1" "$T/out.eml" "$BOB" pw-bob || return 1
	pf_wait_delivered $((before + 1)) 30 || return 1
	for f in $(pf_sink_files); do
		grep -q "^Message-ID: <$mid>" "$f" && { pf_sink_message "$f" > "$T/cap.eml"; cap=$T/cap.eml; }
	done
	[ -n "$cap" ]
}
is_encrypted() { fields "$1" Content-Type | grep -qi 'application/pkcs7-mime'; }
outbound alice@remote.test; tap_ok $? "$BOB writes to alice@remote.test (harvested)"
tap_check "it leaves encrypted (application/pkcs7-mime)" is_encrypted "$cap"
tap_check "alice decrypts it with her own key (openssl cms -decrypt)" eval 'openssl cms -decrypt -in "$cap" -recip "$T/alice.pem" -inkey "$T/alice.key" -out "$T/dec.txt" 2>/dev/null &&
	openssl cms -verify -in "$T/dec.txt" -CAfile "$MS_DIR/ca/root.pem" -purpose any -out "$T/dec-content.txt" 2>/dev/null &&
	grep -q "The answer to your signed mail" "$T/dec-content.txt"'
outbound mallory@remote.test
tap_check "nothing harvested from an untrusted chain: mail to mallory is signed, not encrypted" eval '[ -n "$cap" ] && ! is_encrypted "$cap"'
outbound eve@remote.test
tap_check "nothing harvested from a revoked signer: mail to eve is not encrypted" eval '[ -n "$cap" ] && ! is_encrypted "$cap"'
tap_check "the harvest wrote an audit record" eval 'ms_ctl audit show 2>/dev/null | grep "recipient-store" | grep -q "alice@remote.test"'

# 6. an imported certificate (autosmimectl recipients) drives encryption until removed
if ms_ctl recipients list >/dev/null 2>&1; then
	cp "$T/rita.pem" "$MS_DIR/rita.pem"; chmod 0644 "$MS_DIR/rita.pem"
	ms_ctl recipients import "$MS_DIR/rita.pem" > "$T/import.out" 2>&1
	tap_ok $? "autosmimectl recipients import"
	tap_check "recipients list shows it" eval 'ms_ctl recipients list | grep -q "rita@remote.test"'
	tap_check "recipients list shows the harvested one with its source" eval 'ms_ctl recipients list | grep "alice@remote.test" | grep -q harvest'
	tap_check "recipients show prints the certificate" eval 'ms_ctl recipients show rita@remote.test | grep -q "BEGIN CERTIFICATE"'
	outbound rita@remote.test
	tap_check "mail to the imported recipient leaves encrypted and rita decrypts it" eval 'is_encrypted "$cap" &&
		openssl cms -decrypt -in "$cap" -recip "$T/rita.pem" -inkey "$T/rita.key" -out /dev/null 2>/dev/null'
	ms_ctl recipients remove rita@remote.test > /dev/null 2>&1
	tap_ok $? "autosmimectl recipients remove"
	tap_check "recipients list no longer shows it" eval '! ms_ctl recipients list | grep -q "rita@remote.test"'
	outbound rita@remote.test
	tap_check "after remove, mail to rita is no longer encrypted" eval '[ -n "$cap" ] && ! is_encrypted "$cap"'
else
	tap_skip "autosmimectl recipients" "not built"
fi

ms_stop
tap_check "one event=inbound log line per inbound message" eval '[ "$(grep -c "event=inbound result=" "$MS_LOG")" -ge 10 ]'
tap_check "the pass line names sender and signer" eval 'grep -q "event=inbound result=pass from=alice@remote.test signer=alice@remote.test" "$MS_LOG"'
tap_check "the milter's log has no sanitizer or valgrind error report" ms_sanitizer_clean
pf_stop
tap_done
