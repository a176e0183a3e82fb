#!/bin/sh
# recipients.sh: `autosmimectl recipients import|list|show|remove` on a gateway store, and
# their effect on the daemon's encryption decision (offline mode, the same callbacks and
# process code as the running daemon): import -> list/show -> mail to that recipient is
# encrypted and decrypts with the recipient's key -> remove -> signed only. Bad input refused.
. "${top_srcdir:-../..}/tests/inbound/common.sh"
MILTER="$top_builddir/milter/autosmime-milter"
[ -x "$CTL" ] && [ -x "$MILTER" ] || skip_all "autosmimectl or autosmime-milter not built"
make_pki "http://127.0.0.1:9/int.crl" || { echo "Bail out! test PKI"; sed 's/^/# /' "$T/pki.log"; exit 1; }
make_gateway || { echo "Bail out! gateway CA"; sed 's/^/# /' "$T/gw.log"; exit 1; }
ctl() { $TOOL_RUN "$CTL" -c "$T/gw/conf" "$@"; }
send() { # RCPT OUT: bob's mail to RCPT through offline mode
	printf 'From: <bob@local.test>\nTo: <%s>\nSubject: to a recipient\nMessage-ID: <r%s@local.test>\nContent-Type: text/plain\n\nSecret numbers.\n' \
	    "$1" "$(date +%N)" > "$T/in.eml"
	"$MILTER" -c "$T/gw/conf" -t "$T/in.eml" -s bob@local.test -r "$1" > "$2" 2>>"$T/milter.err"
}
encrypted() { awk '/^\r?$/{exit} {print}' "$1" | grep -qi 'application/pkcs7-mime'; }

ctl recipients list > "$T/l0" 2>&1
ok $? "recipients list on an empty store succeeds"
[ ! -s "$T/l0" ]; ok $? "and prints nothing"
send alice@remote.test "$T/o0.eml" && ! encrypted "$T/o0.eml"
ok $? "before the import, mail to alice@remote.test is signed only"

ctl recipients import "$T/alice.pem" > "$T/i1" 2>&1
ok $? "recipients import CERT (mailbox from the certificate)"
grep -q "mailbox=alice@remote.test imported=yes" "$T/i1"; ok $? "it says which mailbox"
ctl recipients import "$T/carol.pem" --mailbox carol@remote.test > /dev/null 2>&1
ok $? "recipients import CERT --mailbox M"
ctl recipients list > "$T/l1" 2>&1
grep -q "^mailbox=alice@remote.test source=import .*sha256=[0-9a-f]\{64\}" "$T/l1" && grep -q "^mailbox=carol@remote.test" "$T/l1"
ok $? "recipients list shows both with source and fingerprint"
[ "$(ctl recipients list --mailbox carol@remote.test | wc -l)" = 1 ]; ok $? "list --mailbox M shows one"
ctl recipients show alice@remote.test > "$T/s1" 2>&1
openssl x509 -in "$T/s1" -noout -fingerprint -sha256 > "$T/fp1" 2>/dev/null &&
    openssl x509 -in "$T/alice.pem" -noout -fingerprint -sha256 | cmp -s - "$T/fp1"
ok $? "recipients show prints the stored certificate"

send alice@remote.test "$T/o1.eml" && encrypted "$T/o1.eml"
ok $? "after the import, the daemon encrypts mail to alice@remote.test"
openssl cms -decrypt -in "$T/o1.eml" -recip "$T/alice.pem" -inkey "$T/alice.key" -out "$T/d1" 2>/dev/null &&
    openssl cms -verify -in "$T/d1" -CAfile "$T/gw/ca/root.pem" -purpose any -out "$T/c1" 2>/dev/null &&
    grep -q "Secret numbers" "$T/c1"
ok $? "alice decrypts it with her key and the inner signature verifies"

ctl recipients remove alice@remote.test > "$T/r1" 2>&1
ok $? "recipients remove"
! ctl recipients list | grep -q "alice@remote.test"; ok $? "list no longer shows it"
ctl recipients show alice@remote.test > /dev/null 2>&1; [ $? = 3 ]; ok $? "show of a removed mailbox exits 3 (not found)"
ctl recipients remove alice@remote.test > /dev/null 2>&1; [ $? = 3 ]; ok $? "removing it again exits 3"
send alice@remote.test "$T/o2.eml" && ! encrypted "$T/o2.eml"
ok $? "after the remove, mail to alice@remote.test is no longer encrypted"
ctl audit show 2>/dev/null | grep "recipient-remove" | grep -q "alice@remote.test"
ok $? "the remove is in the audit log"

ctl recipients import "$T/dave.pem" > /dev/null 2>&1; [ $? = 4 ]; ok $? "an expired certificate is refused (exit 4)"
ctl recipients import "$T/alice.pem" --mailbox carol@remote.test > /dev/null 2>&1; [ $? = 4 ]
ok $? "a certificate that does not name --mailbox is refused"
printf 'not a certificate\n' > "$T/junk.pem"
ctl recipients import "$T/junk.pem" > /dev/null 2>&1; [ $? = 4 ]; ok $? "a file without a certificate is refused"
ctl recipients frobnicate > /dev/null 2>&1; [ $? = 2 ]; ok $? "an unknown subcommand is a usage error"
done_testing
