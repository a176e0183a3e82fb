#!/bin/sh
# chaincrl.sh: revocation of the CAs in a chain. A partner PKI (root -> intermediates ->
# leaves, made with openssl ca) whose intermediates name the root's CRL (an ARL with
# onlyContainsCACerts, served by crl-server on loopback) as their distribution point:
# mail signed under an intermediate passes; once the intermediate is revoked in the root's
# CRL the same mail gets smime=fail reason "issuer revoked"; a root CRL that cannot be had
# gives temperror as a leaf's CRL does, and a chain whose CRLs all hang waits one crl_wait in
# all. Then the gateway (offline milter): a harvested recipient under the revoked
# intermediate is not encrypted to (signed only, logged), one under a good intermediate is;
# nor is one under the gateway's own issuing CA once autosmimectl ca revoke-issuer ran.
. "${top_srcdir:-../..}/tests/inbound/common.sh"
MILTER="$top_builddir/milter/autosmime-milter"
[ -x "$CTL" ] && [ -x "$MILTER" ] || skip_all "autosmimectl or autosmime-milter not built"
start_server ok || { echo "Bail out! crl-server did not start"; exit 1; }
start_server slow || { echo "Bail out! slow crl-server did not start"; exit 1; }
U="http://127.0.0.1:$PORT_ok"
S="http://127.0.0.1:$PORT_slow"
P="$T/partner"

make_partner() {
	mkdir -p "$P"
	{ ca_section proot "$P/proot" "$P/proot.pem" "$P/proot.key"
	  echo "crl_extensions = arl_ext"
	  ca_section pbad "$P/pbad" "$P/pbad.pem" "$P/pbad.key"
	  ca_section pgood "$P/pgood" "$P/pgood.pem" "$P/pgood.key"
	  ca_section pslow "$P/pslow" "$P/pslow.pem" "$P/pslow.key"
	  cat <<EOC
[pol]
commonName = supplied
[arl_ext]
authorityKeyIdentifier = keyid
issuingDistributionPoint = critical,onlyCA:TRUE
[int]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:\$ENV::DP
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = emailProtection
subjectAltName = email:\$ENV::LEAF_MAIL
crlDistributionPoints = URI:\$ENV::DP
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOC
	} > "$P/ca.cnf"
	(
	cd "$P" || exit 1
	export LEAF_MAIL=none DP=none
	ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout proot.key \
	    -out proot.pem -subj "/CN=partner root" -days 30 \
	    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" || exit 1
	inter() { # NAME ROOT-CRL-URL
		ec "$1.key" && openssl req -new -key "$1.key" -subj "/CN=partner $1 CA" -out "$1.csr" &&
		DP=$2 openssl ca -batch -notext -config ca.cnf -name proot -extensions int \
		    -in "$1.csr" -out "$1.pem"
	}
	leaf() { # NAME MAIL CA CRL-URL
		ec "$1.key" && openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" &&
		LEAF_MAIL=$2 DP=$4 openssl ca -batch -notext -config ca.cnf -name "$3" -extensions leaf \
		    -in "$1.csr" -out "$1.pem"
	}
	crl() { # CA OUT
		openssl ca -config ca.cnf -name "$1" -gencrl -out "$1.crl.pem" &&
		openssl crl -in "$1.crl.pem" -outform DER -out "$2"
	}
	inter pbad "$U/proot.crl" && inter pgood "$U/proot.crl" && inter pslow "$S/proot.crl" &&
	leaf pat pat@remote.test pbad "$U/pbad.crl" &&
	leaf gus gus@remote.test pgood "$U/pgood.crl" &&
	leaf sam sam@remote.test pslow "$S/pslow.crl" &&
	crl proot "$T/www/proot.crl" && crl pbad "$T/www/pbad.crl" && crl pgood "$T/www/pgood.crl"
	) > "$P/pki.log" 2>&1
}
make_partner || { echo "Bail out! partner PKI"; sed 's/^/# /' "$P/pki.log"; exit 1; }
cp "$P/proot.pem" "$T/anchors.pem"

# psign NAME MAIL CA OUT: signed by NAME with openssl cms, the intermediate CA included.
psign() {
	content > "$T/content.txt"
	{ headers "$2" bob@local.test "signed by $1"
	  openssl cms -sign -in "$T/content.txt" -signer "$P/$1.pem" -inkey "$P/$1.key" \
	      -certfile "$P/$3.pem" 2>>"$T/cms.log"; } > "$4"
}
run() { # FROM MESSAGE OUT [more tool options]
	local from=$1 msg=$2 out=$3; shift 3
	timeout 300 $TOOL_RUN "$TOOL" -a gw.example -t "$T/anchors.pem" -F "$from" -r bob@local.test "$@" \
	    "$msg" > "$out" 2>"$T/tool.err"
}
reason() { tr -d '\r' < "$1" | awk '/^$/{exit} {print}' | awk '/^[^ \t]/{if (h) print h; h=$0; next} {h=h " " $0} END{print h}' | grep -i "^Authentication-Results: gw.example;"; }

psign pat pat@remote.test pbad "$T/pat.eml"
psign gus gus@remote.test pgood "$T/gus.eml"
psign sam sam@remote.test pslow "$T/sam.eml"
openssl crl -inform DER -in "$T/www/proot.crl" -noout -text | grep -A1 "Issuing Distribution Point: critical" | grep -q "Only CA Certificates"
ok $? "the partner root's CRL is an ARL (issuingDistributionPoint onlyContainsCACerts)"

run pat@remote.test "$T/pat.eml" "$T/o1.eml" -C - -W 5000
has_result "$T/o1.eml" pass; ok $? "leaf under an intermediate, every CRL of the chain served: smime=pass"
run gus@remote.test "$T/gus.eml" "$T/o2.eml" -C - -W 5000
has_result "$T/o2.eml" pass; ok $? "leaf under the other intermediate: smime=pass"

# The gateway harvests both while they are good; the offline milter encrypts to both.
make_gateway || { echo "Bail out! gateway CA"; sed 's/^/# /' "$T/gw.log"; exit 1; }
cat >> "$T/gw/conf" <<EOC
trust_anchor_file $T/anchors.pem
crl_cache_dir $T/gw/crlcache
crl_wait 5s
EOC
ctl() { "$CTL" -c "$T/gw/conf" "$@"; }  # TOOL_RUN is for inbound-tool (valgrind.sh)
gwin() { # FROM MESSAGE OUT: inbound through the gateway's store and CRL cache
	timeout 300 $TOOL_RUN "$TOOL" -c "$T/gw/conf" -a gw.example -t "$T/anchors.pem" -F "$1" \
	    -r bob@local.test -C "$T/gw/crlcache" -W 5000 "$2" > "$3" 2>"$T/tool.err"
}
send() { # RCPT OUT: bob's mail to RCPT through offline mode
	printf 'From: <bob@local.test>\nTo: <%s>\nSubject: to a partner\nMessage-ID: <c%s@local.test>\nContent-Type: text/plain\n\nSecret numbers.\n' \
	    "$1" "$(date +%N)" > "$T/in.eml"
	"$MILTER" -c "$T/gw/conf" -t "$T/in.eml" -s bob@local.test -r "$1" > "$2" 2>"$T/milter.err"
}
encrypted() { awk '/^\r?$/{exit} {print}' "$1" | grep -qi 'application/pkcs7-mime'; }
signed_only() { awk '/^\r?$/{exit} {print}' "$1" | grep -qi 'multipart/signed'; }

gwin pat@remote.test "$T/pat.eml" "$T/g1.eml" && gwin gus@remote.test "$T/gus.eml" "$T/g2.eml"
has_result "$T/g1.eml" pass && has_result "$T/g2.eml" pass &&
    ctl recipients list | grep -q "^mailbox=pat@remote.test source=harvest" &&
    ctl recipients list | grep -q "^mailbox=gus@remote.test source=harvest"
ok $? "the gateway verifies both and harvests their certificates"
[ "$(ls "$T/gw/crlcache/issuers" 2>/dev/null | grep -c '\.crt$')" -ge 2 ]
ok $? "the CA certificates of the verified chains are kept beside the CRL cache"
send pat@remote.test "$T/e1.eml" && encrypted "$T/e1.eml"
ok $? "while the intermediate is good, mail to pat@remote.test is encrypted"

# The partner revokes the intermediate pbad in its root's CRL.
( cd "$P" && export DP=none LEAF_MAIL=none && openssl ca -config ca.cnf -name proot -revoke pbad.pem -crl_reason keyCompromise &&
  openssl ca -config ca.cnf -name proot -gencrl -out proot.crl.pem &&
  openssl crl -in proot.crl.pem -outform DER -out "$T/www/proot.crl" ) >> "$P/pki.log" 2>&1
ok $? "the partner root revokes the intermediate (keyCompromise)"
run pat@remote.test "$T/pat.eml" "$T/o3.eml" -C - -W 5000
has_result "$T/o3.eml" fail && reason "$T/o3.eml" | grep -q 'reason="issuer revoked'
ok $? "the same mail now: smime=fail, reason=\"issuer revoked\""
reason "$T/o3.eml" | sed 's/^/# /'
run pat@remote.test "$T/pat.eml" "$T/o4.eml"
has_result "$T/o4.eml" pass; ok $? "with CRL checks off it passes (the root's CRL made the difference)"
run gus@remote.test "$T/gus.eml" "$T/o5.eml" -C - -W 5000
has_result "$T/o5.eml" pass; ok $? "the leaf under the good intermediate still passes"

# The root's CRL cannot be had: as for a leaf's CRL today, temperror.
mv "$T/www/proot.crl" "$T/proot.crl.saved"
run gus@remote.test "$T/gus.eml" "$T/o6.eml" -C - -W 1500
has_result "$T/o6.eml" temperror && reason "$T/o6.eml" | grep -q 'revocation status unknown: issuer CRL'
ok $? "the intermediate's CRL not obtainable: smime=temperror, revocation status unknown"
mv "$T/www/pgood.crl" "$T/pgood.crl.saved"
run gus@remote.test "$T/gus.eml" "$T/o7.eml" -C - -W 1500
has_result "$T/o7.eml" temperror && reason "$T/o7.eml" | grep -q 'revocation status unknown'
ok $? "the leaf's CRL not obtainable either: the same temperror (unchanged leaf policy)"
mv "$T/proot.crl.saved" "$T/www/proot.crl"; mv "$T/pgood.crl.saved" "$T/www/pgood.crl"

# Both CRLs of sam's chain hang: one crl_wait for the whole chain, not one per CA.
run sam@remote.test "$T/sam.eml" "$T/o8.eml" -C - -W 1500 -E
ms=$(sed -n 's/^elapsed_ms=//p' "$T/tool.err")
has_result "$T/o8.eml" temperror; ok $? "every CRL of the chain hanging: smime=temperror"
[ -n "$ms" ] && [ "$ms" -ge 1400 ] && [ "$ms" -lt 2900 ]
ok $? "the message waited one crl_wait for the chain (${ms:-?} ms, crl_wait 1500 ms)"

# The gateway learns the new root CRL (its cached one refreshed): pat is no longer encrypted to.
rm -f "$T/gw/crlcache"/*.crl
gwin pat@remote.test "$T/pat.eml" "$T/g3.eml"
has_result "$T/g3.eml" fail && reason "$T/g3.eml" | grep -q "issuer revoked"
ok $? "the gateway's inbound check also says issuer revoked"
send pat@remote.test "$T/e2.eml"; rc=$?
[ $rc = 0 ] && ! encrypted "$T/e2.eml" && signed_only "$T/e2.eml"
ok $? "mail to pat@remote.test (under the revoked intermediate) is signed only, not encrypted"
grep "event=recipient-unusable" "$T/milter.err" | grep 'rcpt=pat@remote.test' |
    grep 'reason="issuer revoked"' | grep 'depth=1' | grep -q 'action=sign-only'
ok $? "the log says which recipient, why (issuer revoked, depth 1) and what was done"
grep "event=recipient-unusable" "$T/milter.err" | sed 's/^/# /'
send gus@remote.test "$T/e3.eml" && encrypted "$T/e3.eml" && ! grep -q "event=recipient-unusable" "$T/milter.err"
ok $? "mail to gus@remote.test (under the good intermediate) is encrypted"
openssl cms -decrypt -in "$T/e3.eml" -recip "$P/gus.pem" -inkey "$P/gus.key" -out "$T/d3" 2>/dev/null &&
    grep -q "Secret numbers" "$T/d3"
ok $? "gus decrypts it"
# The gateway's own CA: a certificate it issued, held as a recipient, is no longer encrypted to
# once its issuing CA is revoked (ca rotate, ca revoke-issuer): the store says so at once, the
# root's CRL at ca_base_url is not even reachable here.
ctl issue olga@elsewhere.test --key-type ec-p256 --dual-use --out "$T/olga.pem" > "$T/olga.log" 2>&1 &&
    ctl recipients import "$T/olga.pem" >> "$T/olga.log" 2>&1
ok $? "the gateway issues olga@elsewhere.test a certificate and holds it as a recipient"
send olga@elsewhere.test "$T/e4.eml" && encrypted "$T/e4.eml"
ok $? "mail to her is encrypted"
old=$(ctl ca show | sed -n 's/^ca_id=\([0-9a-f]*\) active=yes.*/\1/p')
{ ctl ca rotate --root-cert "$T/gw/ca/root.pem" --root-key "$T/gw/ca/root.key" &&
  ctl ca revoke-issuer "$old" --root-cert "$T/gw/ca/root.pem" --root-key "$T/gw/ca/root.key" \
      --reason keyCompromise &&
  ctl issue bob@local.test --key-type rsa-2048; } >> "$T/olga.log" 2>&1
ok $? "ca rotate, ca revoke-issuer of the CA that issued it, and bob gets a new certificate"
send olga@elsewhere.test "$T/e5.eml"; rc=$?
[ $rc = 0 ] && ! encrypted "$T/e5.eml" && signed_only "$T/e5.eml"
ok $? "mail to olga@elsewhere.test is now signed only"
grep "event=recipient-unusable" "$T/milter.err" | grep 'rcpt=olga@elsewhere.test' |
    grep 'reason="issuer revoked"' | grep -q 'depth=1'
ok $? "and the log says her issuer is revoked"
done_testing
