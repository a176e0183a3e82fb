#!/bin/sh
# matrix.sh: can the mail readers' crypto stacks read what the engine encrypts?
# For every sender key set (ec256, ec384, rsa dual use; split = EC P-256 signing + RSA-2048
# encryption), cipher (cbc = AES-256-CBC enveloped-data, gcm = AES-256-GCM authEnveloped-data)
# and content case, the engine signs with the signing key and encrypts to bob and to the sender's
# own encryption certificate. Each reader (openssl cms, NSS cmsutil, gpgsm) then decrypts it with
# bob's key and with the sender's key, verifies the inner signature and the signed entity must be
# the input bytes. Where a reader is known not to support the message (the expect table below,
# measured with OpenSSL 3.0, NSS 3.87 and gpgsm 2.2.40), the test asserts that it fails and why.
# Prints the reader x keyset x cipher table as TAP comments at the end.
. "${top_srcdir:-../..}/tests/interop/common.sh"
make_pki || { echo "Bail out! cannot create the test PKI"; cat "$T/pki.log"; exit 1; }
make_empty
make_big || { echo "Bail out! cannot create the 10 MB message"; exit 1; }
for id in bob ec256.enc ec384.enc rsa.enc rsa3072.enc rsa4096.enc split.enc; do
	setup_reader $id >>"$T/setup.log" 2>&1 || { echo "Bail out! cannot set up the readers for $id"; cat "$T/setup.log"; exit 1; }
done
versions

# EXPECT READER KEYSET CIPHER WHO: "read", or "fail LABEL ERE" (ERE: the reader's diagnostic)
expect() {
	case $1 in
	nss)
		[ "$3" = gcm ] && { echo "fail no-AuthEnvelopedData SEC_ERROR_UNRECOGNIZED_OID"; return; }
		# NSS 3.87 cannot parse a KeyAgreeRecipientInfo: the whole message fails, for every reader
		case $2 in ec*) echo "fail KARI-present SEC_ERROR_BAD_DER"; return ;; esac ;;
	gpgsm)
		[ "$3" = gcm ] && { echo "fail no-AuthEnvelopedData error.getting.IV:.Buffer.too.short"; return; }
		# gpgsm 2.2 decrypts only key transport: an EC key with keyAgreement usage is refused
		case $2-$4 in ec*-self) echo "fail no-ECDH decrypt\\.keyusage"; return ;; esac ;;
	esac
	echo read
}

# CASE KEYSET CIPHER NAME FILE
run_case() {
	ks=$1 cipher=$2 name=$3 f=$4
	g=""; [ "$cipher" = gcm ] && g="-g"
	o="$T/m-$ks-$cipher-$name"
	"$TOOL" encrypt $g -k "$T/$ks.sig.key" -c "$T/$ks.sig.pem" -C "$T/int.pem" -r "$T/bob.pem" \
	    -r "$T/$ks.enc.pem" "$f" "$o.eml" 2>"$o.err"
	ok $? "$ks $cipher $name: engine signs and encrypts to bob and the sender"
	for r in $READERS; do
		for who in bob self; do
			id=bob; [ $who = self ] && id=$ks.enc
			d="$o.$r.$who"
			set -- $(expect $r $ks $cipher $who)
			if decrypt $r $id "$o.eml" "$d"; then got=read; else got=fail; fi
			echo "$r $ks $cipher $who $got ${2:-}" >> "$T/tally"
			t="$ks $cipher $name: $r ($who)"
			if [ "$1" = read ]; then
				[ $got = read ]
				ok $? "$t decrypts"
				[ $got = read ] || { sed 's/^/#   /' "$d.err" | head -5; continue; }
				verify $r $id "$d"
				ok $? "$t verifies the inner signature"
				if [ $r = gpgsm ]; then
					gpgsm_exit "$d"
					ok $? "$t: gpgsm exits 0 (exit code $(cat "$d.vrc"))"
				fi
				exact "$f" "$d" && { [ $r = openssl ] || cmp -s "$d" "$o.openssl.$who"; }
				r2=$?
				ok $r2 "$t: the signed entity is the input bytes"
				[ $r2 = 0 ] || { echo "#   BUG: $t"; sed 's/^/#   /' "$d.cmp" | head -6; echo "$r $ks $cipher $who $name" >> "$T/bugs"; }
			else
				[ $got = fail ] && grep -Eq "$3" "$d.err"
				ok $? "$t fails as expected ($2)"
				[ $got = read ] && echo "#   $r now reads $ks $cipher ($who): update the expect table"
			fi
		done
	done
}

# the shipped default (split key set, AES-256-CBC) must be read by every reader, for bob and
# for the sender's own copy: no expect entry may excuse it
for r in $READERS; do
	for who in bob self; do
		[ "$(expect $r split cbc $who)" = read ]
		ok $? "the shipped default split/cbc is required to read in $r ($who)"
	done
done

for ks in $KEYSETS; do
	for cipher in cbc gcm; do
		content_cases | while read -r name f; do
			run_case $ks $cipher $name "$f"
			echo "n=$n failed=$failed" > "$T/count"
		done
		. "$T/count"
	done
done
# 10 MB: the shipped default only
run_case split cbc 99-10mb "$T/big.eml"

# the checks are not vacuous: a key that is not a recipient decrypts nothing
for r in $READERS; do
	! decrypt $r ec384.enc "$T/m-split-cbc-01-plain.eml" "$T/neg.$r"
	ok $? "$r: the key of a non-recipient does not decrypt"
done

# gpgsm and ECDH beyond the key usage check: the same P-256 key in a certificate that also
# allows keyEncipherment still does not decrypt (gpgsm 2.2 has no ECDH key agreement)
if [ $have_gpgsm = yes ]; then
	printf '[leaf_ecx]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:copy\n' >> "$T/ext.cnf"
	openssl x509 -req -in "$T/ec256.sig.csr" -CA "$T/int.pem" -CAkey "$T/int.key" -set_serial 4242 \
	    -days 2 -extfile "$T/ext.cnf" -extensions leaf_ecx -out "$T/ecx.pem" >"$T/ecx.log" 2>&1 &&
	gpgsm --homedir "$T/gpg-ec256.enc" --batch --import "$T/ecx.pem" >>"$T/ecx.log" 2>&1 &&
	"$TOOL" encrypt -r "$T/ecx.pem" "$CORPUS/01-plain.eml" "$T/ecx.eml" 2>>"$T/ecx.log" &&
	openssl cms -decrypt -in "$T/ecx.eml" -inkey "$T/ec256.sig.key" -recip "$T/ecx.pem" -out /dev/null 2>>"$T/ecx.log"
	ok $? "ECDH probe: engine encrypts to a P-256 certificate with keyAgreement and keyEncipherment"
	! decrypt gpgsm ec256.enc "$T/ecx.eml" "$T/ecx.out" && grep -q 'Invalid session key' "$T/ecx.out.err" &&
	    ! grep -q 'decrypt.keyusage' "$T/ecx.out.err"
	ok $? "ECDH probe: gpgsm accepts the key usage but cannot decrypt (Invalid session key)"
fi

# the table: reader keyset cipher result (for bob and the sender's own copy, all content cases)
echo "# reader   keyset  cipher  result"
awk '{ k = $1 " " $2 " " $3; if (!(k in seen)) { seen[k] = 1; order[++m] = k }
	c[k, $4, $5]++; why[k, $4] = $6 }
	END { for (i = 1; i <= m; i++) { k = order[i]; split(k, a, " "); res = ""
		for (w = 1; w <= 2; w++) { who = w == 1 ? "bob" : "self"
			if (c[k, who, "fail"] == 0) s = "reads"
			else if (c[k, who, "read"] == 0) s = "FAILS(" why[k, who] ")"
			else s = "MIXED(" c[k, who, "read"] "/" c[k, who, "read"] + c[k, who, "fail"] ")"
			res = res (w == 2 ? " " : "") who "=" s }
		printf "# %-8s %-7s %-7s %s\n", a[1], a[2], a[3], res } }' "$T/tally"
[ -f "$T/bugs" ] && { echo "# engine output not read back as the input bytes:"; sed 's/^/#   /' "$T/bugs"; }
done_testing
