#!/bin/sh
# signed.sh: signed-only mail (multipart/signed) from every sender key set, for every content
# case, verified by each reader (openssl cms, NSS cmsutil, gpgsm; as bob, with the test root
# trusted); the signed entity must be the input bytes. The same message after a relay strips
# trailing white space from every line must still verify and decode identically in each reader.
# micalg names the signer's digest (sha-384 for the P-384 signer, else sha-256), and gpgsm exits 0
# for every key set. Negative controls: a modified entity fails in each reader.
. "${top_srcdir:-../..}/tests/interop/common.sh"
make_pki || { echo "Bail out! cannot create the test PKI"; cat "$T/pki.log"; exit 1; }
make_empty
setup_reader bob >>"$T/setup.log" 2>&1 || { echo "Bail out! cannot set up the readers"; cat "$T/setup.log"; exit 1; }
versions

# CHECK_READERS KEYSET ORIGINAL SIGNED LABEL
check_readers() {
	ks=$1 f=$2 s=$3 t=$4
	for r in $READERS; do
		cp "$s" "$s.$r"
		verify $r bob "$s.$r"
		ok $? "$t: $r verifies"
		if [ $r = gpgsm ]; then
			gpgsm_exit "$s.$r"
			ok $? "$t: gpgsm exits 0 (exit code $(cat "$s.$r.vrc"))"
		fi
		exact "$f" "$s.$r"
		rc=$?
		ok $rc "$t: $r sees the input bytes"
		[ $rc = 0 ] || { echo "#   BUG: $t ($r)"; sed 's/^/#   /' "$s.$r.cmp" | head -6; }
	done
}

# TRAILING_WS FILE: some line ends in a space or tab
trailing_ws() { perl -ne '$f = 1 if /[ \t]\r?$/; END { exit !$f }' "$1"; }
# the corpus exercises the relay: lines ending in white space
for c in 15-fragile-lines 16-trailing-ws-single; do
	trailing_ws "$CORPUS/$c.eml"
	ok $? "corpus $c has lines ending in white space"
done
for ks in $KEYSETS; do
	content_cases | while read -r name f; do
		o="$T/s-$ks-$name"
		"$TOOL" sign -k "$T/$ks.sig.key" -c "$T/$ks.sig.pem" -C "$T/int.pem" "$f" "$o.eml" 2>"$o.err"
		ok $? "$ks $name: engine signs"
		grep -q "^Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=$(micalg $ks); boundary=" "$o.eml"
		ok $? "$ks $name: micalg=$(micalg $ks)"
		check_readers $ks "$f" "$o.eml" "$ks $name"
		# the relay finds nothing to strip: the engine leaves no line with trailing white space
		! trailing_ws "$o.eml"
		ok $? "$ks $name: no line of the signed message ends in white space"
		perl -pe 's/[ \t]+(\r?\n)\z/$1/' "$o.eml" > "$o.relay"
		check_readers $ks "$f" "$o.relay" "$ks $name after a relay strips trailing white space"
		echo "n=$n failed=$failed" > "$T/count"
	done
	. "$T/count"
done

# not vacuous: one changed byte in the signed entity fails in every reader
sed 's/this is a plain message/this is a plain massage/' "$T/s-split-01-plain.eml" > "$T/tampered.eml"
! cmp -s "$T/tampered.eml" "$T/s-split-01-plain.eml"
ok $? "tampered copy differs"
for r in $READERS; do
	cp "$T/tampered.eml" "$T/tampered.$r"
	! verify $r bob "$T/tampered.$r"
	ok $? "$r: a modified signed entity does not verify"
done
done_testing
