#!/bin/sh
# encrypt.sh: smime_encrypt golden tests. Sign-then-encrypt and encrypt-only, AES-256-CBC
# (enveloped-data) and AES-256-GCM (authEnveloped-data, RFC 5083), to RSA-2048 (KTRI) and
# EC P-256/P-384 (KARI) recipients. Decrypts with `openssl cms -decrypt` for every recipient
# key and with smime_decrypt; gpgsm --decrypt for RSA and CBC (gpgsm 2.2 has no
# AuthEnvelopedData, and its PKCS#12 import of EC keys is unreliable, so those are not tried).
# The signed entity inside names the signer's digest: micalg=sha-256 for P-256, sha-384 for
# a P-384 signer (signed with SHA-384).
. "${top_srcdir:-../..}/tests/smime/common.sh"
make_pki || { echo "Bail out! cannot create the test PKI"; cat "$T/pki.log"; exit 1; }
have_gpgsm=no
if command -v gpgsm >/dev/null; then
	export GNUPGHOME="$T/gnupg"
	mkdir -m 700 "$GNUPGHOME"
	printf 'disable-crl-checks\ndisable-policy-checks\n' > "$GNUPGHOME/gpgsm.conf"
	echo allow-loopback-pinentry > "$GNUPGHOME/gpg-agent.conf"
	openssl pkcs12 -export -inkey "$T/rsa.key" -in "$T/rsa.pem" -out "$T/rsa.p12" -passout pass:test \
	    -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 2>/dev/null &&
	gpgsm --batch --import "$T/root.pem" "$T/int.pem" >/dev/null 2>&1 &&
	echo test | gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 --import "$T/rsa.p12" \
	    >/dev/null 2>&1 && have_gpgsm=yes
	echo "$(openssl x509 -in "$T/root.pem" -noout -fingerprint -sha1 | sed 's/.*=//') S relax" \
	    > "$GNUPGHOME/trustlist.txt"
fi

for f in "$CORPUS/02-utf8-8bit.eml" "$CORPUS/06-binary-attachment.eml" "$CORPUS/07-nested.eml"; do
	name=$(basename "$f" .eml)
	for cipher in cbc gcm; do
		g=""; type=enveloped-data
		[ $cipher = gcm ] && { g="-g"; type=authEnveloped-data; }
		o="$T/$name-$cipher"
		"$TOOL" encrypt $g -k "$T/ec.key" -c "$T/ec.pem" -C "$T/int.pem" -r "$T/rsa.pem" \
		    -r "$T/ec.pem" -r "$T/ec384.pem" "$f" "$o.eml" 2>"$o.err"
		ok $? "$name $cipher: signed and encrypted"
		grep -q "^Content-Type: application/pkcs7-mime; smime-type=$type; name=\"smime.p7m\"" "$o.eml"
		ok $? "$name $cipher: Content-Type smime-type=$type"
		for k in rsa ec ec384; do
			openssl cms -decrypt -in "$o.eml" -inkey "$T/$k.key" -recip "$T/$k.pem" -out "$o.$k" 2>/dev/null
			ok $? "$name $cipher: openssl cms -decrypt with the $k key"
		done
		openssl cms -verify -in "$o.rsa" -CAfile "$T/root.pem" -purpose smimesign -out /dev/null 2>/dev/null
		ok $? "$name $cipher: decrypted content is a valid signed message"
		grep -q '^Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;' "$o.rsa"
		ok $? "$name $cipher: P-256 signer: micalg=sha-256"
		$CHECK split "$o.rsa" "$o.content" "$o.p7s" && $CHECK compare "$f" "$o.content"
		ok $? "$name $cipher: content equals the original"
		"$TOOL" decrypt -k "$T/ec384.key" -c "$T/ec384.pem" "$o.eml" "$o.own" 2>/dev/null && cmp -s "$o.own" "$o.ec384"
		ok $? "$name $cipher: smime_decrypt (P-384 key) gives the same content"
		if [ $have_gpgsm = yes ] && [ $cipher = cbc ]; then
			openssl cms -cmsout -in "$o.eml" -outform DER -out "$o.der" 2>/dev/null
			echo test | gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 --decrypt "$o.der" \
			    > "$o.gpgsm" 2>"$o.gpgsm.err" && cmp -s "$o.gpgsm" "$o.rsa"
			ok $? "$name $cipher: gpgsm --decrypt (RSA key)"
		fi
	done
done

# sign then encrypt with a P-384 signer: SHA-384, and the micalg of the wrapped entity says so
for cipher in cbc gcm; do
	g=""; [ $cipher = gcm ] && g="-g"
	o="$T/p384-$cipher"
	"$TOOL" encrypt $g -k "$T/ec384.key" -c "$T/ec384.pem" -C "$T/int.pem" -r "$T/rsa.pem" \
	    -r "$T/ec384.pem" "$CORPUS/07-nested.eml" "$o.eml" 2>"$o.err" &&
	    openssl cms -decrypt -in "$o.eml" -inkey "$T/rsa.key" -recip "$T/rsa.pem" -out "$o.rsa" 2>/dev/null
	ok $? "P-384 signer $cipher: signed, encrypted and decrypted"
	grep -q '^Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-384;' "$o.rsa"
	ok $? "P-384 signer $cipher: micalg=sha-384"
	openssl cms -verify -in "$o.rsa" -CAfile "$T/root.pem" -purpose smimesign -out /dev/null 2>/dev/null
	ok $? "P-384 signer $cipher: openssl cms -verify"
	openssl cms -cmsout -print -noout -in "$o.rsa" > "$o.txt" 2>&1 &&
	    grep -q "algorithm: sha384 " "$o.txt" && grep -q "algorithm: ecdsa-with-SHA384 " "$o.txt" &&
	    ! grep -q "algorithm: sha256 " "$o.txt"
	ok $? "P-384 signer $cipher: sha384 and ecdsa-with-SHA384"
	"$TOOL" verify -A "$T/root.pem" "$o.rsa" "$o.content" >/dev/null 2>&1 &&
	    $CHECK compare "$CORPUS/07-nested.eml" "$o.content"
	ok $? "P-384 signer $cipher: smime_verify accepts it, content equals the original"
done

# encrypt-only (no signer)
"$TOOL" encrypt -r "$T/ec.pem" "$CORPUS/05-attachment.eml" "$T/eo.eml" 2>/dev/null &&
    openssl cms -decrypt -in "$T/eo.eml" -inkey "$T/ec.key" -recip "$T/ec.pem" -out "$T/eo.out" 2>/dev/null &&
    $CHECK compare "$CORPUS/05-attachment.eml" "$T/eo.out"
ok $? "encrypt-only: decrypts to the original content"
"$TOOL" decrypt -k "$T/rsa.key" -c "$T/rsa.pem" "$T/eo.eml" "$T/eo2.out" 2>/dev/null
ok $([ $? = 3 ]; echo $?) "smime_decrypt fails for a key that is not a recipient"
done_testing
