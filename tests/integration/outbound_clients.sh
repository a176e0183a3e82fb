#!/bin/bash
# outbound_clients: the shipped default, end to end, read by the crypto stacks of the mail
# clients. Two users of our CA with the default certificates (an EC P-256 signing certificate
# and an RSA-2048 encryption certificate each; no cipher, encryption_key_type or
# sender_capabilities in the configuration) take their keys from `autosmimectl export-p12` as a
# user would: NSS (pk12util, as Evolution and Thunderbird) imports the default file, gpgsm
# (KMail, Kleopatra) the --compat --only encryption one, openssl the default. Mail from alice
# to bob through Postfix and the milter is then decrypted by bob and by alice (her own copy)
# with openssl cms, NSS cmsutil and gpgsm; the inner signature verifies in each, and the signed
# entity is the submitted content, byte for byte (as Postfix receives it), for plain UTF-8 8bit, alternative, an
# attachment and lines that a relay would change. Signed-only mail verifies in all three.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/smime.sh"
. "$top_srcdir/tests/integration/outbound_lib.sh"

ALICE=alice@local.test
BOB=bob@remote.test     # one of ours at another site: our CA issued his pair
ERIN=erin@remote.test   # no certificate anywhere
CORPUS=$top_srcdir/tests/smime/corpus
CHECK="perl $top_srcdir/tests/smime/mimecheck.pl"
P7M="perl $top_srcdir/tests/interop/p7m.pl"
h_need_cmd cmsutil certutil pk12util gpgsm gpgconf perl timeout
ob_setup clients "$ALICE" || { echo "1..0 # SKIP set-up failed"; exit 1; }

tap_check "the configuration sets none of cipher, encryption_key_type, sender_capabilities, key_type" \
	eval '! grep -Eq "^(cipher|encryption_key_type|sender_capabilities|key_type)[[:space:]]" "$MS_CONF"'
ob_issue "$ALICE" && ob_issue "$BOB"
tap_ok $? "$ALICE and $BOB are enrolled with the default certificates"
tap_check "each holds a signing and an encryption certificate" \
	eval '[ "$(certs_of $ALICE)" = 1 ] && [ "$(enc_certs_of $ALICE)" = 1 ] && [ "$(certs_of $BOB)" = 1 ] && [ "$(enc_certs_of $BOB)" = 1 ]'

# The users' key files, as autosmimectl writes them for a mail client.
( umask 077; echo "export-pass" > "$H_TMP/p12.pass" ) && chown "$MS_USER:" "$H_TMP/p12.pass"
mkdir -p "$H_TMP/p12" && chown "$MS_USER:" "$H_TMP/p12"
for u in alice bob; do
	a=$ALICE; [ $u = bob ] && a=$BOB
	ms_ctl export-p12 "$a" --out "$H_TMP/p12/$u.p12" --password-file "$H_TMP/p12.pass" > "$H_TMP/p12-$u.log" 2>&1 &&
		ms_ctl export-p12 "$a" --compat --only encryption --out "$H_TMP/p12/$u.compat.p12" \
		    --password-file "$H_TMP/p12.pass" >> "$H_TMP/p12-$u.log" 2>&1
	tap_ok $? "export-p12 writes $u's default and --compat --only encryption files"
done

# READER homes per user: $H_TMP/nss-USER (NSS database) and $H_TMP/gpg-USER (GnuPG home),
# each trusting our root. The keys come only from the exported files.
root_fpr=$(openssl x509 -in "$OB_ROOT" -noout -fingerprint -sha1 | sed 's/.*=//')
for u in alice bob; do
	d=$H_TMP/nss-$u
	mkdir "$d" && certutil -N --empty-password -d "sql:$d" > "$H_TMP/nss-$u.log" 2>&1 &&
		timeout 60 pk12util -i "$H_TMP/p12/$u.p12" -d "sql:$d" -W export-pass >> "$H_TMP/nss-$u.log" 2>&1 &&
		certutil -A -n "autosmime root" -t "C,C,C" -i "$OB_ROOT" -d "sql:$d" >> "$H_TMP/nss-$u.log" 2>&1
	tap_ok $? "NSS (pk12util) imports $u's default export-p12 file"
	tap_check "NSS holds both of $u's keys" eval '[ "$(certutil -K -d "sql:$d" 2>/dev/null | grep -c "^<")" = 2 ]'
	g=$H_TMP/gpg-$u
	mkdir -m 700 "$g" && h_at_exit "GNUPGHOME='$g' timeout 20 gpgconf --kill all"
	printf 'disable-crl-checks\ndisable-policy-checks\n' > "$g/gpgsm.conf"
	printf 'allow-loopback-pinentry\n' > "$g/gpg-agent.conf"
	echo "$root_fpr S relax" > "$g/trustlist.txt"
	GNUPGHOME=$g timeout 60 gpgsm --batch --disable-dirmngr --import "$OB_CHAIN" > "$H_TMP/gpg-$u.log" 2>&1 &&
		echo export-pass | GNUPGHOME=$g timeout 60 gpgsm --batch --disable-dirmngr --pinentry-mode loopback \
		    --passphrase-fd 0 --import "$H_TMP/p12/$u.compat.p12" >> "$H_TMP/gpg-$u.log" 2>&1 &&
		GNUPGHOME=$g gpgsm -K 2>/dev/null | grep -q "key type"
	tap_ok $? "gpgsm imports $u's export-p12 --compat --only encryption file"
done
tap_check "openssl reads the default file (both keys and certificates)" \
	eval 'openssl pkcs12 -in "$H_TMP/p12/bob.p12" -passin pass:export-pass -nodes 2>/dev/null | grep -c "BEGIN PRIVATE KEY" | grep -qx 2'
ob_p12_keys "$H_TMP/p12/alice.p12" export-pass "$H_TMP/alice" &&
	ob_p12_keys "$H_TMP/p12/bob.p12" export-pass "$H_TMP/bob"
tap_ok $? "openssl: the keys and certificates of both users from their files"
# Postfix 3.7.10 and later replace a stray CR in the content with a space (an SMTP smuggling
# defence) before any milter sees it: off here, so the lone CR of 15-fragile-lines reaches the
# gateway and the test shows it reaches the reader too.
pf_conf "cleanup_replace_stray_cr_lf = no"
ob_go
tap_ok $? "milter and Postfix run"

# Readers. DECRYPT READER USER MSG OUT: the signed entity of the delivered MSG into OUT;
# the NSS and gpgsm readers get the DER the way a mail client hands it over (p7m.pl).
decrypt() {
	local r=$1 u=$2 m=$3 o=$4
	rm -f "$o"
	case $r in
	openssl) timeout 60 openssl cms -decrypt -in "$m" -inform SMIME -recip "$H_TMP/$u.crt" \
	    -inkey "$H_TMP/$u.key" -out "$o" > "$o.err" 2>&1 ;;
	nss) { [ -f "$m.der" ] || $P7M "$m" "$m.der"; } 2> "$o.err" &&
		timeout 60 cmsutil -D -i "$m.der" -d "sql:$H_TMP/nss-$u" -o "$o" > "$o.err" 2>&1 ;;
	gpgsm) { [ -f "$m.der" ] || $P7M "$m" "$m.der"; } 2> "$o.err" &&
		# gpgsm exits 2 when it lacks the certificate of another recipient, also after a good
		# decryption: the status lines say whether it decrypted
		echo export-pass | GNUPGHOME=$H_TMP/gpg-$u timeout 60 gpgsm --batch --disable-dirmngr \
		    --status-fd 1 --pinentry-mode loopback --passphrase-fd 0 --output "$o" --decrypt "$m.der" \
		    > "$o.err" 2>&1
		grep -q '^\[GNUPG:\] DECRYPTION_OKAY' "$o.err" && ! grep -q '^\[GNUPG:\] DECRYPTION_FAILED' "$o.err" ;;
	esac
}
# VERIFY READER USER SIGNED: the multipart/signed SIGNED verifies as alice's, in reader's terms.
verify() {
	local r=$1 u=$2 s=$3
	{ [ -f "$s.p7s" ] || $CHECK split "$s" "$s.content" "$s.p7s"; } 2> "$s.verr" || return 1
	case $r in
	openssl) timeout 60 openssl cms -verify -in "$s" -inform SMIME -CAfile "$OB_ROOT" -purpose smimesign \
	    -signer "$s.signer" -out /dev/null > "$s.verr" 2>&1 &&
		[ "$(ob_serial "$s.signer")" = "$(ob_serial "$H_TMP/alice.sign.crt")" ] ;;
	nss) timeout 60 cmsutil -D -n -h 1 -i "$s.p7s" -c "$s.content" -d "sql:$H_TMP/nss-$u" > "$s.verr" 2>&1 &&
		grep -q 'nsigners=1;' "$s.verr" && grep -q 'signer0.status=GoodSignature;' "$s.verr" &&
		grep -q "signer0.id=.*$ALICE" "$s.verr" ;;
	gpgsm) GNUPGHOME=$H_TMP/gpg-$u timeout 60 gpgsm --batch --disable-dirmngr --status-fd 1 \
	    --verify "$s.p7s" "$s.content" > "$s.verr" 2>&1 &&
		grep -q '^\[GNUPG:\] GOODSIG' "$s.verr" && grep -q '^\[GNUPG:\] VALIDSIG' "$s.verr" &&
		grep -q '^\[GNUPG:\] TRUST_FULLY' "$s.verr" && ! grep -Eq '^\[GNUPG:\] (BADSIG|ERRSIG)' "$s.verr" ;;
	esac
}
# A corpus message as alice's submission to TO: her From, the To, a Message-ID of ours; no Cc.
retarget() {
	ob_n=$((ob_n + 1))
	m=$H_TMP/ob$ob_n.eml
	perl -e 'binmode STDIN; binmode STDOUT; my ($h, $skip) = (1, 0);
		while (<STDIN>) {
			if ($h) {
				if (/^\r?\n$/) { $h = 0 }
				elsif (/^[ \t]/) { next if $skip }
				elsif (/^(From|To|Cc|Message-ID):/i) { $skip = 1; next }
				else { $skip = 0 }
			}
			print }' < "$1" > "$m.body"
	{ printf 'From: <%s>\r\nTo: <%s>\r\nMessage-ID: <ob-%d@local.test>\r\n' "$ALICE" "$2" "$ob_n"; cat "$m.body"; } > "$m"
}
# What Postfix hands the milter: its SMTP server removes a CR right before the CRLF line end
# (smtp_get, RFC 5321 forbids a bare CR); any other byte arrives as sent.
as_received() { perl -pe 'BEGIN { binmode STDIN; binmode STDOUT } s/\r+\r\n\z/\r\n/' < "$1" > "$1.received"; }

top_ct() { awk '/^\r?$/ { exit } /^[^ \t]/ { on = tolower($0) ~ /^content-type:/ } on' "$1" | tr -d '\r\n'; }
n_case=0
for c in ob-utf8 02-utf8-8bit 03-alternative 05-attachment 15-fragile-lines; do
	if [ $c = ob-utf8 ]; then ob_msg "$ALICE" "<$BOB>" "default, utf-8"; else retarget "$CORPUS/$c.eml" "$BOB"; fi
	as_received "$m"
	orig=$m.received
	ob_submit "$ALICE" "$BOB" "$m"
	tap_ok $? "$c: alice to bob, accepted and delivered"
	f=$ob_got
	openssl cms -cmsout -print -in "$f" -inform SMIME > "$f.print" 2>&1
	tap_check "$c: enveloped-data with aes-256-cbc, two key transport (RSA) recipients and no ECDH" \
		eval 'top_ct "$f" | grep -Eiq "smime-type=\"?enveloped-data" && grep -q "algorithm: aes-256-cbc" "$f.print" && [ "$(grep -c "d.ktri:" "$f.print")" = 2 ] && ! grep -q "d.kari:" "$f.print"'
	for r in openssl nss gpgsm; do
		for u in bob alice; do
			d=$H_TMP/dec-$c-$r-$u.eml
			decrypt $r $u "$f" "$d"
			tap_ok $? "$c: $r decrypts as $u"
			verify $r $u "$d"
			tap_ok $? "$c: $r verifies alice's inner signature ($u)"
			$CHECK exact "$orig" "$d.content" > "$d.cmp" 2>&1
			tap_ok $? "$c: $r ($u): the signed entity is the submitted content, byte for byte"
		done
	done
	n_case=$((n_case + 1))
done
tap_check "the milter logged event=sign ... encrypted=yes for each" \
	eval '[ "$(grep -c "event=sign sender=$ALICE recipients=1 .*encrypted=yes" "$MS_LOG")" = $n_case ]'

# Signed only (erin has no certificate): the clear signature verifies in each reader.
ob_msg "$ALICE" "<$ERIN>" "default, signed only"
ob_submit "$ALICE" "$ERIN" "$m"
tap_ok $? "to a recipient without a certificate: accepted and delivered"
f=$ob_got
tap_check "it arrives multipart/signed" smime_is_signed "$f"
smime_split "$f" "$H_TMP/signed" && cp "$H_TMP/signed/content" "$f.content" && cp "$H_TMP/signed/sig.der" "$f.p7s"
tap_ok $? "its signed part and signature, as the reader sees them"
for r in openssl nss gpgsm; do
	verify $r bob "$f"
	tap_ok $? "signed only: $r verifies alice's signature"
done
tap_check "signed only: the signed entity is the submitted content" eval '$CHECK exact "$m" "$f.content"'

ms_stop
tap_check "the milter's log has no sanitizer report" ms_sanitizer_clean
tap_done
