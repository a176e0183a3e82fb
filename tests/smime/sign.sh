#!/bin/sh
# sign.sh: engine golden tests. Signs every corpus message (EC P-256 and RSA-2048 signers,
# with and without header protection); every output must verify with `openssl cms -verify
# -purpose smimesign` and with `gpgsm --verify`, its signed entity must be 7bit-clean CRLF with
# lines <= 998, decode to the original content, and keep routing/identity headers outside.
# The digest follows the signer's key: SHA-384 for P-384, SHA-512 for P-521, else SHA-256
# (micalg, digestAlgorithm, signatureAlgorithm). Already signed or encrypted mail is never
# wrapped again. Also a CPU budget for 2 KB.
. "${top_srcdir:-../..}/tests/smime/common.sh"
make_pki || { echo "Bail out! cannot create the test PKI"; cat "$T/pki.log"; exit 1; }
have_gpgsm=no
if command -v gpgsm >/dev/null; then
	have_gpgsm=yes
	export GNUPGHOME="$T/gnupg"
	mkdir -m 700 "$GNUPGHOME"
	printf 'disable-crl-checks\ndisable-policy-checks\n' > "$GNUPGHOME/gpgsm.conf"
	gpgsm --batch --import "$T/root.pem" "$T/int.pem" >/dev/null 2>&1
	echo "$(openssl x509 -in "$T/root.pem" -noout -fingerprint -sha1 | sed 's/.*=//') S relax" \
	    > "$GNUPGHOME/trustlist.txt"
fi

for signer in ec rsa; do
	for f in "$CORPUS"/*.eml; do
		name=$(basename "$f" .eml)
		hp=""; [ "$signer" = rsa ] && hp="-H"
		o="$T/$signer-$name"
		"$TOOL" sign $hp -k "$T/$signer.key" -c "$T/$signer.pem" -C "$T/int.pem" "$f" "$o.eml" 2>"$o.err"
		ok $? "$signer $name: signed"
		openssl cms -verify -in "$o.eml" -CAfile "$T/root.pem" -purpose smimesign -out "$o.ossl" >/dev/null 2>&1
		ok $? "$signer $name: openssl cms -verify"
		$CHECK split "$o.eml" "$o.content" "$o.p7s"
		ok $? "$signer $name: multipart/signed with two parts"
		$CHECK clean "$o.content"
		ok $? "$signer $name: signed entity is 7bit, CRLF, lines <= 998"
		$CHECK compare "$f" "$o.content" 2>"$o.cmp"
		ok $? "$signer $name: signed entity decodes to the original content"
		$CHECK exact "$f" "$o.content" 2>"$o.cmp"
		ok $? "$signer $name: and to the original bytes (a lone CR stays a CR)"
		# what relays and mailboxes do to lines (RFC 8551 3.1.1): the signature survives
		perl -pe 's/[ \t]+(\r?\n)\z/$1/' "$o.eml" > "$o.stripped"
		openssl cms -verify -in "$o.stripped" -CAfile "$T/root.pem" -purpose smimesign -out /dev/null >/dev/null 2>&1
		ok $? "$signer $name: still verifies after a relay strips trailing white space"
		sed 's/^From />From /' "$o.eml" > "$o.mbox"
		openssl cms -verify -in "$o.mbox" -CAfile "$T/root.pem" -purpose smimesign -out /dev/null >/dev/null 2>&1
		ok $? "$signer $name: still verifies after mbox delivery quotes lines starting From"
		if [ $have_gpgsm = yes ]; then
			gpgsm --batch --verify "$o.p7s" "$o.content" >/dev/null 2>"$o.gpgsm"
			ok $? "$signer $name: gpgsm --verify"
		fi
		# header placement: identity headers outside unchanged, one MIME-Version, no Content-* besides ours
		hdr() { perl -0777 -pe 's/\r\n?/\n/g' "$1" | sed -n '1,/^$/p'; }
		r=0
		for h in From To Subject Date Message-ID Received DKIM-Signature; do
			[ "$(hdr "$f" | grep -i "^$h:")" = "$(hdr "$o.eml" | grep -i "^$h:")" ] || r=1
		done
		[ "$(hdr "$o.eml" | grep -ci '^MIME-Version:')" = 1 ] || r=1
		[ "$(hdr "$o.eml" | grep -ci '^Content-')" = 1 ] || r=1
		hdr "$o.eml" | grep -qi '^Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary=' || r=1
		ok $r "$signer $name: outer header edits"
	done
done

# header protection puts From/Subject inside the signed entity
grep -q '^Subject: plain' "$T/rsa-01-plain.content"
ok $? "header protection copies Subject into the entity"
! grep -q '^Subject:' "$T/ec-01-plain.content"
ok $? "no header protection: entity has only Content-* fields"
# signed attributes
openssl cms -cmsout -print -noout -in "$T/ec-01-plain.eml" > "$T/attrs.txt" 2>&1
for a in contentType signingTime messageDigest "S/MIME Capabilities" id-smime-aa-encrypKeyPref aes-256-cbc aes-192-cbc aes-128-cbc; do
	grep -qi "$a" "$T/attrs.txt"
	ok $? "signed attributes include $a"
done
# by default only what every S/MIME 3.2 client reads is advertised (RFC 8551 2.7.1)
! grep -qi gcm "$T/attrs.txt"
ok $? "no GCM advertised by default"
for signer in ec rsa; do
	"$TOOL" sign -k "$T/$signer.key" -c "$T/$signer.pem" -C "$T/int.pem" -a aes256-gcm -a aes128-cbc \
	    "$CORPUS/01-plain.eml" "$T/caps-$signer.eml" 2>/dev/null &&
	    openssl cms -cmsout -print -noout -in "$T/caps-$signer.eml" > "$T/caps-$signer.txt" 2>&1 &&
	    grep -qi aes-256-gcm "$T/caps-$signer.txt" && grep -qi aes-128-cbc "$T/caps-$signer.txt" &&
	    ! grep -qi aes-256-cbc "$T/caps-$signer.txt"
	ok $? "$signer: the capabilities asked for, and only those, are advertised"
done
# the digest follows the signer's key (RFC 5753 7.2, RFC 6318, RFC 8551 2.1): SHA-384 for P-384,
# SHA-512 for P-521, SHA-256 for P-256 and RSA; micalg names it (RFC 8551 3.5.3.2)
# ALGS FILE: digestAlgorithms, the SignerInfo's digestAlgorithm and signatureAlgorithm (with their
# parameters) from `openssl cms -cmsout -print`; the certificates' own algorithms are left out
algs() {
	awk '/^ *(digestAlgorithms|digestAlgorithm|signatureAlgorithm):/ { getline; a = $2; getline
		printf "%s%s(%s)", n++ ? " " : "", a, $2 } END { print "" }' "$1"
}
while read -r signer md sigalg sigpar; do
	micalg="sha-${md#sha}"
	o="$T/md-$signer"
	"$TOOL" sign -k "$T/$signer.key" -c "$T/$signer.pem" -C "$T/int.pem" "$CORPUS/05-attachment.eml" \
	    "$o.eml" 2>"$o.err"
	ok $? "$signer: signed"
	hdr "$o.eml" | grep -q "^Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=$micalg; boundary="
	ok $? "$signer: micalg=$micalg"
	# which also checks the messageDigest with the digestAlgorithm the signature names
	openssl cms -verify -in "$o.eml" -CAfile "$T/root.pem" -purpose smimesign -out "$o.ossl" >/dev/null 2>&1 &&
	    $CHECK split "$o.eml" "$o.content" "$o.p7s" && cmp -s "$o.ossl" "$o.content"
	ok $? "$signer: openssl cms -verify"
	openssl cms -cmsout -print -noout -in "$o.eml" > "$o.txt" 2>&1
	got=$(algs "$o.txt")
	[ "$got" = "$md(<ABSENT>) $md(<ABSENT>) $sigalg($sigpar)" ]
	r=$?
	ok $r "$signer: digestAlgorithms and digestAlgorithm $md (parameters absent), signatureAlgorithm $sigalg"
	[ $r = 0 ] || echo "#   got: $got"
	# gpgsm 2.2 refuses a hash shorter than the curve ("a 256 bit hash is not valid for a 384
	# bit ECC key") and cannot check any P-521 signature ("DSA requires the hash length to be a
	# multiple of 8 bits"): P-521 is not asked of it
	if [ $have_gpgsm = yes ] && [ "$signer" != ec521 ]; then
		gpgsm --batch --verify "$o.p7s" "$o.content" >/dev/null 2>"$o.gpgsm" &&
		    ! grep -q "hash is not valid" "$o.gpgsm"
		ok $? "$signer: gpgsm --verify exits 0, no complaint about the hash"
	fi
done <<'EOL'
ec sha256 ecdsa-with-SHA256 <ABSENT>
ec384 sha384 ecdsa-with-SHA384 <ABSENT>
ec521 sha512 ecdsa-with-SHA512 <ABSENT>
rsa sha256 rsaEncryption NULL
EOL
# a signing-only certificate names its encryption partner: sent along, preferred for encryption
"$TOOL" sign -k "$T/ec.key" -c "$T/ec.pem" -C "$T/int.pem" -e "$T/rsa.pem" "$CORPUS/01-plain.eml" "$T/pair.eml" 2>/dev/null &&
    openssl cms -verify -in "$T/pair.eml" -CAfile "$T/root.pem" -purpose smimesign -out /dev/null 2>/dev/null
ok $? "signed with a named encryption certificate: verifies"
openssl cms -cmsout -print -noout -in "$T/pair.eml" > "$T/pair.txt" 2>&1
rsa_serial=$(openssl x509 -in "$T/rsa.pem" -noout -serial | cut -d= -f2)
openssl cms -verify -in "$T/pair.eml" -CAfile "$T/root.pem" -noverify -certsout "$T/pair-certs.pem" -out /dev/null 2>/dev/null
grep -c "BEGIN CERTIFICATE" "$T/pair-certs.pem" | grep -qx 3
ok $? "the message carries signer, encryption certificate and issuing CA"
grep -A9 "id-smime-aa-encrypKeyPref" "$T/pair.txt" | grep -q "INTEGER *:$rsa_serial$"
ok $? "SMIMEEncryptionKeyPreference names the encryption certificate"
grep -q "1.3.6.1.4.1.311.16.4" "$T/pair.txt"
ok $? "and so does Microsoft's attribute (Outlook)"
"$TOOL" verify -A "$T/root.pem" "$T/pair.eml" "$T/pair.out" 2>/dev/null
ok $? "smime_verify accepts it"
grep -q "CN=autosmime test issuing CA" "$T/attrs.txt"
ok $? "issuing CA certificate included"
# never wrap twice
"$TOOL" sign -k "$T/ec.key" -c "$T/ec.pem" "$T/ec-01-plain.eml" "$T/twice.eml" 2>"$T/twice.err"
[ $? = 2 ] && grep -q "already S/MIME" "$T/twice.err"
ok $? "already signed mail is skipped, not wrapped again"
"$TOOL" encrypt -r "$T/rsa.pem" "$T/ec-01-plain.eml" "$T/twice.eml" 2>/dev/null
ok $([ $? = 2 ]; echo $?) "already signed mail is not encrypted again"

# inbound verification through the engine
"$TOOL" verify -A "$T/root.pem" "$T/ec-07-nested.eml" "$T/in.content" >/dev/null 2>&1 &&
    cmp -s "$T/in.content" "$T/ec-07-nested.content"
ok $? "smime_verify returns the signed entity"
"$TOOL" verify -A "$T/int.pem" "$T/ec-07-nested.eml" "$T/in.content" >/dev/null 2>&1
ok $([ $? = 3 ]; echo $?) "smime_verify fails against the wrong trust anchor"
sed 's/plain ascii attachment/plain ascii attachmenX/' "$T/ec-07-nested.eml" > "$T/tampered.eml"
"$TOOL" verify -A "$T/root.pem" "$T/tampered.eml" "$T/in.content" >/dev/null 2>&1
ok $([ $? = 3 ]; echo $?) "smime_verify detects a modified body"

# CPU budget: 2 KB message, P-256 key, key parsed once
head -c 2048 "$CORPUS/04-inline-image.eml" > "$T/2k.eml"
if is_sanitized; then
	echo "ok $((n = n + 1)) - # SKIP CPU budget not measured in the sanitizer build"
else
	us=$("$TOOL" sign -n 2000 -k "$T/ec.key" -c "$T/ec.pem" -C "$T/int.pem" "$T/2k.eml" "$T/2k.out" | sed -n 's/cpu_us_per_message=//p')
	echo "# signing 2 KB with P-256: ${us:-?} us CPU per message"
	awk -v u="${us:-99999}" 'BEGIN { exit !(u < 500) }'
	ok $? "signing a 2 KB message costs under 0.5 ms CPU"
fi
done_testing
