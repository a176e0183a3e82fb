#!/bin/sh
# valgrind.sh: smime-tool under valgrind (memcheck, definite leaks are errors) over a sample of
# the golden corpus and the whole hostile corpus, plus encrypt, verify and decrypt once.
# Skipped in the sanitizer build (ASan and valgrind do not mix) or without valgrind.
. "${top_srcdir:-../..}/tests/smime/common.sh"
command -v valgrind >/dev/null || skip_all "valgrind not installed"
is_sanitized && skip_all "sanitizer build (ASan covers it)"
make_pki || { echo "Bail out! cannot create the test PKI"; cat "$T/pki.log"; exit 1; }
VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
vg() { timeout 300 $VG "$TOOL" "$@" 2>"$T/vg.err"; r=$?; [ $r = 99 ] && sed 's/^/# /' "$T/vg.err"; return $r; }
for f in "$CORPUS"/02-utf8-8bit.eml "$CORPUS"/06-binary-attachment.eml "$CORPUS"/07-nested.eml \
    "$CORPUS"/10-cr-only.eml "$CORPUS"/14-digest.eml; do
	vg sign -H -m 4096 -d "$T" -k "$T/ec.key" -c "$T/ec.pem" -C "$T/int.pem" "$f" "$T/out.eml"
	ok $? "valgrind sign $(basename "$f")"
done
# P-384 signs with SHA-384 and a second digest context for the audit SHA-256
vg sign -k "$T/ec384.key" -c "$T/ec384.pem" -C "$T/int.pem" "$CORPUS/07-nested.eml" "$T/out384.eml"
ok $? "valgrind sign with a P-384 signer"
mkdir "$T/bad"
perl "$top_srcdir/tests/smime/gen-bad.pl" "$T/bad"
for f in "$T"/bad/*.eml; do
	vg sign -m 65536 -d "$T" -k "$T/rsa.key" -c "$T/rsa.pem" "$f" "$f.out"
	r=$?
	ok $([ $r = 0 ] || [ $r = 2 ]; echo $?) "valgrind sign $(basename "$f") (exit $r)"
done
vg encrypt -g -k "$T/ec.key" -c "$T/ec.pem" -C "$T/int.pem" -r "$T/rsa.pem" -r "$T/ec384.pem" "$CORPUS/07-nested.eml" "$T/enc.eml"
ok $? "valgrind encrypt (GCM, RSA + EC recipients)"
vg decrypt -k "$T/ec384.key" -c "$T/ec384.pem" "$T/enc.eml" "$T/dec.eml"
ok $? "valgrind decrypt"
vg verify -A "$T/root.pem" "$T/dec.eml" "$T/ver.out" >/dev/null
ok $? "valgrind verify"
done_testing
