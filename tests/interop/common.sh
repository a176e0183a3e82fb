# common.sh: sourced by the interop tests, on top of tests/smime/common.sh (temp dir, TAP
# helpers, pki_cas and pki_leaf). PKI: EC P-256 root, EC P-256 issuing CA, and leaf
# certificates (subjectAltName email, extendedKeyUsage emailProtection) for the sender key sets
#   ec256  EC P-256 dual use (digitalSignature,keyAgreement)      alice-ec256@example.org
#   ec384  EC P-384 dual use (digitalSignature,keyAgreement)      alice-ec384@example.org
#   rsa    RSA-2048 dual use (digitalSignature,keyEncipherment)   alice-rsa@example.org
#   rsa3072, rsa4096  the same with RSA-3072 and RSA-4096 (the CA's other RSA key types)
#   split  EC P-256 signing only (critical digitalSignature) = split-sig, plus
#          RSA-2048 encryption only (critical keyEncipherment) = split-enc, alice-split@example.org
# and a second recipient bob (RSA-2048 dual use, bob@example.net).
# Per key set: $T/<set>.sig.{key,pem} signs, $T/<set>.enc.{key,pem} is the sender's own copy.
. "${top_srcdir:-../..}/tests/smime/common.sh"
KEYSETS="ec256 ec384 rsa rsa3072 rsa4096 split"
# run a command for at most $1 seconds (every reader call is bounded)
if command -v timeout >/dev/null; then tmo() { timeout -k 5 "$@"; }; else tmo() { shift; "$@"; }; fi

make_pki() {
	(
	cd "$T" && pki_cas || exit 1
	# name  key algorithm  extensions  CN  mailbox
	while read -r name alg ext cn mail; do
		pki_leaf "$name" "$alg" "$ext" "$cn" "$mail" || exit 1
	done <<'EOL'
ec256.sig p256 leaf_ec alice-ec256 alice-ec256@example.org
ec384.sig p384 leaf_ec alice-ec384 alice-ec384@example.org
rsa.sig rsa leaf_rsa alice-rsa alice-rsa@example.org
rsa3072.sig rsa3072 leaf_rsa alice-rsa3072 alice-rsa3072@example.org
rsa4096.sig rsa4096 leaf_rsa alice-rsa4096 alice-rsa4096@example.org
split.sig p256 leaf_sig alice-split-signing alice-split@example.org
split.enc rsa leaf_enc alice-split-encryption alice-split@example.org
bob rsa leaf_rsa bob bob@example.net
EOL
	for s in ec256 ec384 rsa rsa3072 rsa4096; do
		ln -s "$s.sig.key" "$s.enc.key" && ln -s "$s.sig.pem" "$s.enc.pem" || exit 1
	done
	cat int.pem root.pem > chain.pem
	) >"$T/pki.log" 2>&1
}

P7M="perl $top_srcdir/tests/interop/p7m.pl"
READERS="openssl"
have_nss=no have_gpgsm=no
command -v cmsutil >/dev/null && command -v certutil >/dev/null && command -v pk12util >/dev/null &&
    { have_nss=yes; READERS="$READERS nss"; }
command -v gpgsm >/dev/null && command -v gpgconf >/dev/null && { have_gpgsm=yes; READERS="$READERS gpgsm"; }

versions() {
	echo "# openssl: $(openssl version)"
	[ $have_nss = yes ] && echo "# nss: $(dpkg-query -W -f '${Version}' libnss3 2>/dev/null || echo '?') (cmsutil)"
	[ $have_gpgsm = yes ] && echo "# gpgsm: $(gpgsm --version | head -1), $(gpgsm --version | grep -i libksba)"
	return 0
}

# P12 FILE KEY CERT [compat]: PKCS#12 of key, certificate and issuing CA, password "test";
# OpenSSL 3's default (PBES2/AES-256-CBC, SHA-256 MAC) or the legacy 3DES/SHA-1 form.
p12() {
	if [ "${4:-}" = compat ]; then
		openssl pkcs12 -export -inkey "$2" -in "$3" -certfile "$T/int.pem" -out "$1" -passout pass:test \
		    -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1
	else
		openssl pkcs12 -export -inkey "$2" -in "$3" -certfile "$T/int.pem" -out "$1" -passout pass:test
	fi
}

# A mail reader of identity ID ("bob", or a key set's own copy "<set>.enc"): an NSS database
# $T/nss-ID and a GnuPG home $T/gpg-ID, each holding ID's key and trusting the root.
# NSS gets the PKCS#12 in OpenSSL's default form; gpgsm 2.2 needs the legacy form for RSA keys
# and cannot import an EC PKCS#12 at all (it crashes, see p12import.sh), so an EC key goes to
# its gpg-agent directly as a key file: the decryption outcome is then gpgsm's own, not the import's.
setup_reader() {
	_id=$1
	if [ $have_nss = yes ]; then
		_d="$T/nss-$_id"
		mkdir "$_d" && certutil -N --empty-password -d "sql:$_d" &&
		p12 "$T/$_id.p12" "$T/$_id.key" "$T/$_id.pem" &&
		tmo 60 pk12util -i "$T/$_id.p12" -d "sql:$_d" -W test &&
		certutil -A -n "interop root" -t "C,C,C" -i "$T/root.pem" -d "sql:$_d" || return 1
	fi
	if [ $have_gpgsm = yes ]; then
		_h="$T/gpg-$_id"
		mkdir -m 700 "$_h" "$_h/private-keys-v1.d" || return 1
		GPG_HOMES="$GPG_HOMES $_h"
		printf 'disable-crl-checks\ndisable-policy-checks\n' > "$_h/gpgsm.conf"
		# the minimum S2K count: the imported key is unprotected per use, by default ~0.4 s each
		printf 'allow-loopback-pinentry\ns2k-count 65536\n' > "$_h/gpg-agent.conf"
		echo "$(openssl x509 -in "$T/root.pem" -noout -fingerprint -sha1 | sed 's/.*=//') S relax" \
		    > "$_h/trustlist.txt"
		tmo 60 gpgsm --homedir "$_h" --batch --import "$T/root.pem" "$T/int.pem" "$T/$_id.pem" || return 1
		case $(openssl pkey -in "$T/$_id.key" -noout -text 2>/dev/null | sed -n 's/^ASN1 OID: //p') in
		prime256v1) _curve="NIST P-256" ;;
		secp384r1) _curve="NIST P-384" ;;
		*) _curve= ;;
		esac
		if [ -n "$_curve" ]; then
			_grip=$(gpgsm --homedir "$_h" --with-keygrip -k "0x$(openssl x509 -in "$T/$_id.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')" 2>/dev/null | awk '/keygrip:/ { print $2; exit }')
			[ -n "$_grip" ] && $P7M ecagent "$T/$_id.key" "$_curve" "$_h/private-keys-v1.d/$_grip.key" || return 1
		else
			p12 "$T/$_id.c.p12" "$T/$_id.key" "$T/$_id.pem" compat &&
			echo test | tmo 60 gpgsm --homedir "$_h" --batch --pinentry-mode loopback --passphrase-fd 0 \
			    --import "$T/$_id.c.p12" || return 1
		fi
		gpgsm --homedir "$_h" -K 2>/dev/null | grep -q "key type" || return 1
	fi
	return 0
}

# DECRYPT READER ID MSG OUT: decrypt MSG (the engine's .eml) as reader ID; OUT.err gets the
# reader's diagnostics. The readers other than openssl get the DER the way a mail client passes it.
decrypt() {
	_r=$1 _id=$2 _m=$3 _o=$4
	rm -f "$_o"
	case $_r in
	openssl)
		tmo 60 openssl cms -decrypt -in "$_m" -inkey "$T/$_id.key" -recip "$T/$_id.pem" -out "$_o" \
		    >"$_o.err" 2>&1 ;;
	nss)
		{ [ -f "$_m.der" ] || $P7M "$_m" "$_m.der"; } 2>"$_o.err" &&
		tmo 60 cmsutil -D -i "$_m.der" -d "sql:$T/nss-$_id" -o "$_o" >"$_o.err" 2>&1 ;;
	gpgsm)
		# gpgsm exits 2 when it cannot find the certificate of another recipient, also after a
		# good decryption: its status lines tell whether it decrypted
		{ [ -f "$_m.der" ] || $P7M "$_m" "$_m.der"; } 2>"$_o.err" &&
		echo test | tmo 60 gpgsm --homedir "$T/gpg-$_id" --batch --status-fd 1 --pinentry-mode loopback \
		    --passphrase-fd 0 --output "$_o" --decrypt "$_m.der" >"$_o.err" 2>&1
		grep -q '^\[GNUPG:\] DECRYPTION_OKAY' "$_o.err" && ! grep -q '^\[GNUPG:\] DECRYPTION_FAILED' "$_o.err" ;;
	esac
}

# VERIFY READER ID SIGNED: verify the multipart/signed entity SIGNED (a whole message or a
# decrypted entity) as reader ID, against the test root. Splits it into SIGNED.content and
# SIGNED.p7s for the readers that take detached content (as a mail client does).
verify() {
	_r=$1 _id=$2 _s=$3
	case $_r in
	openssl)
		tmo 60 openssl cms -verify -in "$_s" -CAfile "$T/root.pem" -purpose smimesign -out /dev/null \
		    >"$_s.verr" 2>&1 ;;
	nss)
		{ [ -f "$_s.p7s" ] || $CHECK split "$_s" "$_s.content" "$_s.p7s"; } 2>"$_s.verr" &&
		tmo 60 cmsutil -D -n -h 1 -i "$_s.p7s" -c "$_s.content" -d "sql:$T/nss-$_id" >"$_s.verr" 2>&1 &&
		grep -q 'nsigners=1;' "$_s.verr" && grep -q 'signer0.status=GoodSignature;' "$_s.verr" ;;
	gpgsm)
		{ [ -f "$_s.p7s" ] || $CHECK split "$_s" "$_s.content" "$_s.p7s"; } 2>"$_s.verr" &&
		# what a gpgme client shows is in the status lines; the exit code goes to $_s.vrc
		tmo 60 gpgsm --homedir "$T/gpg-$_id" --batch --status-fd 1 --verify "$_s.p7s" "$_s.content" \
		    >"$_s.verr" 2>&1
		echo $? > "$_s.vrc"
		grep -q '^\[GNUPG:\] GOODSIG' "$_s.verr" && grep -q '^\[GNUPG:\] VALIDSIG' "$_s.verr" &&
		grep -q '^\[GNUPG:\] TRUST_FULLY' "$_s.verr" && ! grep -Eq '^\[GNUPG:\] (BADSIG|ERRSIG)' "$_s.verr" ;;
	esac
}

# GPGSM_EXIT SIGNED: after a good verification gpgsm exits 0, for every key set, without a word
# about the hash. (gpgsm 2.2 refuses a hash shorter than an EC key: "a 256 bit hash is not valid
# for a 384 bit ECC key", exit 2; the engine signs with SHA-384 for P-384.)
gpgsm_exit() {
	[ "$(cat "$1.vrc")" = 0 ] && ! grep -q 'hash is not valid' "$1.verr"
}

# MICALG KEYSET: the micalg the engine writes for the key set's signer (the digest it signs with)
micalg() {
	case $1 in ec384) echo sha-384 ;; *) echo sha-256 ;; esac
}

# EXACT ORIGINAL SIGNED: the signed entity of SIGNED decodes to ORIGINAL's content and bytes
exact() {
	{ [ -f "$2.p7s" ] || $CHECK split "$2" "$2.content" "$2.p7s"; } 2>"$2.cmp" &&
	$CHECK compare "$1" "$2.content" 2>>"$2.cmp" && $CHECK exact "$1" "$2.content" 2>>"$2.cmp"
}

# the content cases: NAME FILE
content_cases() {
	for c in 01-plain 02-utf8-8bit 03-alternative 05-attachment 06-binary-attachment 08-long-lines \
	    15-fragile-lines 16-trailing-ws-single 10-cr-only; do
		echo "$c $CORPUS/$c.eml"
	done
	echo "00-empty $T/00-empty.eml"
}
make_empty() {
	printf 'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nSubject: empty\r\nDate: Tue, 2 Jan 2024 10:00:00 +0100\r\nMessage-ID: <empty@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n' \
	    > "$T/00-empty.eml"
}
# a 10 MB message: a short text part and a 7.5 MB binary attachment in base64
make_big() {
	openssl rand -out "$T/big.bin" 7864320 &&
	perl -MMIME::Base64 -e '
		open(my $h, "<:raw", $ARGV[0]) or die; local $/; my $d = <$h>;
		binmode STDOUT;
		print "From: Alice <alice\@example.org>\r\nTo: Bob <bob\@example.net>\r\nSubject: big\r\n",
		    "Date: Tue, 2 Jan 2024 10:00:00 +0100\r\nMessage-ID: <big\@example.org>\r\nMIME-Version: 1.0\r\n",
		    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n",
		    "Content-Type: text/plain; charset=us-ascii\r\n\r\nTen megabytes follow.\r\n\r\n--b1\r\n",
		    "Content-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n",
		    "Content-Disposition: attachment; filename=\"big.bin\"\r\n\r\n",
		    encode_base64($d, "") =~ s/(.{1,76})/$1\r\n/gr, "\r\n--b1--\r\n";' "$T/big.bin" > "$T/big.eml"
}
