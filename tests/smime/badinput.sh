#!/bin/sh
# badinput.sh: the hostile-MIME corpus (gen-bad.pl). Every message is either signed, and then
# verifies with openssl and has a 7bit-clean entity, or skipped with a reason (exit 2). A crash,
# a sanitizer report, an internal error or a hang (timeout) fails.
. "${top_srcdir:-../..}/tests/smime/common.sh"
make_pki || { echo "Bail out! cannot create the test PKI"; cat "$T/pki.log"; exit 1; }
mkdir "$T/bad"
perl "$top_srcdir/tests/smime/gen-bad.pl" "$T/bad" || { echo "Bail out! generator failed"; exit 1; }
for f in "$T"/bad/*.eml; do
	name=$(basename "$f" .eml)
	timeout 60 "$TOOL" sign -m 65536 -d "$T" -k "$T/ec.key" -c "$T/ec.pem" -C "$T/int.pem" "$f" "$f.out" 2>"$f.err"
	rc=$?
	if [ $rc = 0 ]; then
		openssl cms -verify -in "$f.out" -CAfile "$T/root.pem" -purpose smimesign -out /dev/null >/dev/null 2>&1 &&
		    $CHECK split "$f.out" "$f.content" "$f.p7s" && $CHECK clean "$f.content"
		ok $? "$name: signed, verifies, entity 7bit-clean"
	elif [ $rc = 2 ] && grep -q '^skip: ..' "$f.err"; then
		ok 0 "$name: skipped ($(head -1 "$f.err" | cut -c7-))"
	else
		ok 1 "$name: exit $rc: $(head -3 "$f.err" | tr '\n' ' ')"
	fi
done
# the outcome for a few must be a skip (not silently signed in a changed form)
for s in nesting-1000-8bit base64-with-8bit qp-with-8bit unknown-cte-8bit unterminated-part \
    header-100k-content-type broken-boundary-8bit many-parts; do
	grep -q '^skip: ' "$T/bad/$s.eml.err"
	ok $? "$s is skipped"
done
# no temporary file is left behind by the spool
[ -z "$(find "$T" -name 'autosmime.*' -print)" ]
ok $? "no spool file left in the spool directory"
done_testing
