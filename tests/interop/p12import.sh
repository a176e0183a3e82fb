#!/bin/sh
# p12import.sh: which PKCS#12 files do the mail readers' key stores import?
# By default the split set's two keys (EC P-256 signing, RSA-2048 encryption, with certificate
# and issuing CA) are exported by `openssl pkcs12 -export` in two forms: "default" (OpenSSL 3:
# PBES2/PBKDF2/AES-256-CBC with hmacWithSHA256, SHA-256 MAC) and "compat" (-keypbe
# PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1). P12_FILES="label:path:password ..." checks
# other files instead, e.g. from `autosmimectl export-p12` and `export-p12 --compat`.
# Each file is imported with `pk12util -i` (fresh NSS database), `gpgsm --import` (fresh GnuPG
# home) and `openssl pkcs12 -in`; the expected outcome follows from the file's form (read with
# `openssl pkcs12 -info`) and key type, as measured with NSS 3.87, gpgsm 2.2.40 and OpenSSL 3.0.
. "${top_srcdir:-../..}/tests/interop/common.sh"
make_pki || { echo "Bail out! cannot create the test PKI"; cat "$T/pki.log"; exit 1; }
versions

if [ -z "${P12_FILES:-}" ]; then
	for k in split.sig split.enc; do
		p12 "$T/$k-default.p12" "$T/$k.key" "$T/$k.pem" >>"$T/p12.log" 2>&1 &&
		p12 "$T/$k-compat.p12" "$T/$k.key" "$T/$k.pem" compat >>"$T/p12.log" 2>&1 ||
		    { echo "Bail out! openssl pkcs12 -export failed"; cat "$T/p12.log"; exit 1; }
	done
	P12_FILES="split-sig-default:$T/split.sig-default.p12:test split-sig-compat:$T/split.sig-compat.p12:test
	    split-enc-default:$T/split.enc-default.p12:test split-enc-compat:$T/split.enc-compat.p12:test"
fi

# FORM P12 PASSWORD: "pbes2-aes256" (all bags PBES2 with AES-256-CBC, SHA-256 MAC), "3des-sha1"
# (all bags pbeWithSHA1And3-KeyTripleDES-CBC, SHA-1 MAC) or "other"
form() {
	openssl pkcs12 -info -noout -in "$1" -passin "pass:$2" 2>&1 | awk '
		/^MAC:/ { mac = $2 }
		/^(PKCS7 Encrypted data|Shrouded Keybag):/ { sub(/^[^:]*: */, ""); n++
			if ($0 ~ /^PBES2, PBKDF2, AES-256-CBC/) aes++; else if ($0 ~ /^pbeWithSHA1And3-KeyTripleDES-CBC/) des++ }
		END { if (n && aes == n && mac == "sha256,") print "pbes2-aes256"
			else if (n && des == n && mac == "sha1,") print "3des-sha1"; else print "other" }'
}
# EXPECT IMPORTER FORM KEYTYPE: "ok" or "fail ERE" (ERE: in the importer's output)
expect() {
	case $1-$2 in
	pk12util-pbes2-aes256|pk12util-3des-sha1|openssl-pbes2-aes256|openssl-3des-sha1) echo ok ;;
	# gpgsm 2.2's PKCS#12 parser fails on the PBES2/AES-encrypted certificate bag
	gpgsm-pbes2-aes256) echo "fail error.at..bag.encryptedData" ;;
	# the legacy form imports RSA keys; with an EC key gpgsm crashes
	gpgsm-3des-sha1) [ "$3" = ec ] && echo "fail Segmentation.fault" || echo ok ;;
	*) echo unknown ;;
	esac
}
# IMPORT IMPORTER P12 PASSWORD DIR KEYTYPE: import, then the key (of KEYTYPE) and at least two
# certificates (the user's and its issuing CA) must be in the store
import() {
	case $1 in
	pk12util)
		mkdir "$4" && certutil -N --empty-password -d "sql:$4" &&
		tmo 60 pk12util -i "$2" -d "sql:$4" -W "$3" >"$4.log" 2>&1 &&
		certutil -K -d "sql:$4" 2>&1 | grep -Eq "^<[ 0-9]+> $5 " &&
		[ "$(certutil -L -d "sql:$4" | tail -n +5 | grep -c .)" -ge 2 ] ;;
	gpgsm)
		mkdir -m 700 "$4" && GPG_HOMES="$GPG_HOMES $4" &&
		printf 'allow-loopback-pinentry\ns2k-count 65536\n' > "$4/gpg-agent.conf" &&
		echo "$3" | tmo 60 gpgsm --homedir "$4" --batch --pinentry-mode loopback --passphrase-fd 0 \
		    --import "$2" >"$4.log" 2>&1 || return 1
		t=RSA; [ "$5" = ec ] && t=ECC
		gpgsm --homedir "$4" -K 2>/dev/null | grep -Eq "key type: [0-9]+ bit $t" &&
		[ "$(gpgsm --homedir "$4" --with-colons -k 2>/dev/null | grep -c '^crt')" -ge 2 ] ;;
	openssl)
		tmo 60 openssl pkcs12 -in "$2" -passin "pass:$3" -nodes -out "$4.pem" >"$4.log" 2>&1 &&
		openssl pkey -in "$4.pem" -pubout -out "$4.pub1" 2>>"$4.log" &&
		openssl x509 -in "$4.pem" -noout -pubkey > "$4.pub2" 2>>"$4.log" && cmp -s "$4.pub1" "$4.pub2" &&
		[ "$(grep -c 'BEGIN CERTIFICATE' "$4.pem")" -ge 2 ] ;;
	esac
}

importers="openssl"
[ $have_nss = yes ] && importers="$importers pk12util"
[ $have_gpgsm = yes ] && importers="$importers gpgsm"
i=0
for spec in $P12_FILES; do
	label=${spec%%:*}; rest=${spec#*:}; file=${rest%%:*}; pw=${rest#*:}
	i=$((i + 1))
	[ -r "$file" ]
	ok $? "$label: $file is readable"
	[ -r "$file" ] || continue
	fm=$(form "$file" "$pw")
	kt=$(openssl pkcs12 -in "$file" -passin "pass:$pw" -nodes -nocerts 2>/dev/null |
	    openssl pkey -noout -text 2>/dev/null | awk '/^ASN1 OID:/ { t = "ec" } /^modulus:/ { t = "rsa" }
	    END { print t ? t : "unknown" }')
	echo "# $label: form $fm, key $kt"
	for imp in $importers; do
		set -- $(expect $imp $fm "$kt")
		import $imp "$file" "$pw" "$T/imp-$i-$imp" "$kt"
		rc=$?
		res=imports; [ $rc = 0 ] || res=fails
		echo "$imp $label $fm $kt $res" >> "$T/tally"
		[ $rc = 0 ] && echo "$imp $file $pw" >> "$T/good"
		case $1 in
		ok) ok $rc "$label: $imp imports key, certificate and chain"
			[ $rc = 0 ] || sed 's/^/#   /' "$T/imp-$i-$imp.log" | head -5 ;;
		fail) [ $rc != 0 ] && grep -Eq "$2" "$T/imp-$i-$imp.log"
			ok $? "$label: $imp fails as expected for $fm/$kt"
			[ $rc = 0 ] && echo "#   $imp now imports $fm/$kt: update the expect table" ;;
		*) ok 1 "$label: no expectation for $imp with form $fm/$kt ($res): measure and extend the table" ;;
		esac
	done
done
# not vacuous: with the wrong password, a file that each importer imports gives nothing
for imp in $importers; do
	good=$(grep "^$imp " "$T/good" 2>/dev/null | head -1)
	if [ -z "$good" ]; then
		echo "ok $((n = n + 1)) - # SKIP $imp imported no file"
		continue
	fi
	set -- $good
	! import $imp "$2" "wrong-$3" "$T/neg-$imp" unknown
	ok $? "$imp: the wrong password imports nothing"
done
echo "# importer  file                 form          key  result"
awk '{ printf "# %-9s %-20s %-13s %-4s %s\n", $1, $2, $3, $4, $5 }' "$T/tally"
done_testing
