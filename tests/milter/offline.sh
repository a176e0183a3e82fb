#!/bin/sh
# offline: `autosmime-milter -t FILE -s SENDER [-r RCPT]` runs the daemon's decision and
# transformation on one file; the printed message verifies with openssl cms, encrypted output
# decrypts, and the pass/tempfail cases answer as documented.
set -u
b="$top_builddir"
milter="$b/milter/autosmime-milter"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else fail "$1"; sed 's/^/#   /' "$tmp/err" | tail -5; fi; }

command -v openssl >/dev/null || { echo "1..0 # SKIP openssl not installed"; exit 0; }
"$b/tests/milter/fixture" "$tmp" alice@example.org bob@example.net >/dev/null || {
  echo "1..1"; echo "not ok 1 - fixture"; exit 1; }
conf="$tmp/autosmime.conf"
printf 'From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: offline\nMessage-ID: <o1@example.org>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\303\274\303\237e aus dem Offline-Modus.\nZweite Zeile.\n' > "$tmp/in.eml"

"$milter" -c "$conf" -t "$tmp/in.eml" -s alice@example.org > "$tmp/out.eml" 2>"$tmp/err"; rc=$?
check "offline mode signs and exits 0" '[ $rc -eq 0 ] && grep -qi "^Content-Type: multipart/signed" "$tmp/out.eml"'
check "openssl cms -verify accepts the printed message" \
  'openssl cms -verify -in "$tmp/out.eml" -CAfile "$tmp/root.pem" -purpose any -out "$tmp/content" 2>>"$tmp/err"'
check "the verified content carries the text" 'grep -q "Offline-Modus" "$tmp/content"'
check "Subject and From stay outside the signature, once" \
  '[ "$(grep -c "^Subject: offline" "$tmp/out.eml")" = 1 ] && [ "$(grep -c "^From:" "$tmp/out.eml")" = 1 ]'
check "the log line says event=sign" 'grep -q "event=sign sender=alice@example.org" "$tmp/err"'

"$milter" -c "$conf" -t "$tmp/in.eml" -s alice@example.org -r bob@example.net > "$tmp/enc.eml" 2>"$tmp/err"; rc=$?
check "with -r bob (certificate known) the output is encrypted" \
  '[ $rc -eq 0 ] && grep -qi "application/pkcs7-mime" "$tmp/enc.eml"'
check "bob decrypts it and the signature inside verifies" \
  'openssl cms -decrypt -in "$tmp/enc.eml" -recip "$tmp/bob@example.net.pem" -inkey "$tmp/bob@example.net.key" -out "$tmp/inner" 2>>"$tmp/err" &&
   openssl cms -verify -in "$tmp/inner" -CAfile "$tmp/root.pem" -purpose any -out /dev/null 2>>"$tmp/err"'

"$milter" -c "$conf" -t "$tmp/in.eml" -s bob@example.net > "$tmp/pass.eml" 2>"$tmp/err"; rc=$?
check "a sender who may not use the From: gets the message back unchanged" \
  '[ $rc -eq 0 ] && ! grep -qi "multipart/signed" "$tmp/pass.eml" && grep -q "reason=unauthorised-from" "$tmp/err"'
"$milter" -c "$conf" -t "$tmp/out.eml" -s alice@example.org > "$tmp/twice.eml" 2>"$tmp/err"; rc=$?
check "an already signed message is not wrapped again" \
  '[ $rc -eq 0 ] && cmp -s "$tmp/out.eml" "$tmp/twice.eml"'
# A display name of 2,100 characters: the mailbox is still found and the message signed.
{ printf 'From: "%s" <alice@example.org>\n' "$(head -c 2100 /dev/zero | tr '\0' n)"
  printf 'To: bob@example.net\nSubject: long name\n\nbody\n'; } > "$tmp/longname.eml"
"$milter" -c "$conf" -t "$tmp/longname.eml" -s alice@example.org > "$tmp/longname.out" 2>"$tmp/err"; rc=$?
check "a 2,100-character display name: signed, and verifies" \
  '[ $rc -eq 0 ] && openssl cms -verify -in "$tmp/longname.out" -CAfile "$tmp/root.pem" -purpose any -out /dev/null 2>>"$tmp/err"'
printf 'From: carol@example.org\nSubject: x\n\nbody\n' > "$tmp/carol.eml"
printf 'unenrolled_action tempfail\n' >> "$conf"
"$milter" -c "$conf" -t "$tmp/carol.eml" -s carol@example.org > /dev/null 2>"$tmp/err"; rc=$?
check "unenrolled sender with unenrolled_action tempfail: exit 75 and the 451 reply" \
  '[ $rc -eq 75 ] && grep -q "451 4.7.0" "$tmp/err"'
"$milter" -c "$conf" -t "$tmp/in.eml" > /dev/null 2>&1; rc=$?
check "-t without -s is a usage error (exit 2)" '[ $rc -eq 2 ]'
"$milter" -c "$conf" -t "$tmp/missing.eml" -s alice@example.org > /dev/null 2>&1; rc=$?
check "a missing input file exits 1" '[ $rc -eq 1 ]'
echo "1..$n"
