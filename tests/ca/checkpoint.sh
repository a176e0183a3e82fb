#!/bin/sh
# checkpoint: signed audit checkpoints catch what the hash chain alone cannot. A checkpoint
# taken with `audit checkpoint --out` verifies against the log it was taken from, and still
# after more records are appended; openssl cms verifies its signature with the pinned signer
# certificate; the signer key is 0600 and encrypted. A consistent rewrite of the whole chain
# (record 2 edited, every later record and the head re-chained) passes plain `audit verify`
# but `audit verify --checkpoint` reports it (exit 1, audit=rewritten); so does a log cut
# below the checkpoint. A checkpoint changed by one byte, signed by another key, or not for
# the pinned signer is refused. --out-dir (what the shipped timer runs) names each file by its
# time and record count. --incremental walks only the records after the checkpoint and still
# reports a rewrite and an edit made after it.
set -u
. "$top_srcdir/tests/ca/setup.sh"
ca_init || { echo "1..0 # SKIP ca init failed: $(cat "$tmp/init.err")"; exit 0; }
for i in 1 2 3; do C issue "cp$i@example.org" >/dev/null; done
C audit checkpoint --out "$tmp/cp1.pem" > "$tmp/cp1.out" 2>&1
check "audit checkpoint --out writes a checkpoint ($(cat "$tmp/cp1.out"))" \
  'grep -q "^checkpoint records=[0-9]* head=[0-9a-f]\{64\} time=[0-9]* signer_sha256=[0-9a-f]\{64\} out=" "$tmp/cp1.out" && grep -q "BEGIN CMS" "$tmp/cp1.pem"'
recs=$(sed -n 's/.*checkpoint records=\([0-9]*\) .*/\1/p' "$tmp/cp1.out")
check "it commits to the whole log at that moment ($recs records)" \
  '[ "$recs" -gt 3 ] && C audit verify | grep -q "^audit=ok records=$((recs + 1))$"'
check "the checkpoint itself is an audit event" \
  'C audit show --event audit-checkpoint | grep -q "records=$recs "'
check "the signer key is a 0600 encrypted PKCS#8 file, its certificate beside it" \
  '[ "$(stat -c %a "$tmp/store/ca/audit-checkpoint.key")" = 600 ] && grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$tmp/store/ca/audit-checkpoint.key" && openssl x509 -in "$tmp/store/ca/audit-checkpoint.pem" -noout'
cp "$tmp/store/ca/audit-checkpoint.pem" "$tmp/signer.pem"   # what the auditor pins
check "openssl cms verifies it with the signer certificate and shows the statement" \
  'openssl cms -verify -in "$tmp/cp1.pem" -inform PEM -CAfile "$tmp/signer.pem" -purpose any -out "$tmp/cp1.txt" 2>/dev/null && head -1 "$tmp/cp1.txt" | grep -q "^autosmime audit checkpoint 1$" && grep -q "^records: $recs$" "$tmp/cp1.txt"'
check "the fingerprint printed is the signer certificate's" \
  '[ "$(openssl x509 -in "$tmp/signer.pem" -noout -fingerprint -sha256 | sed "s/.*=//; s/://g" | tr A-F a-f)" = "$(sed -n "s/.*signer_sha256=\([0-9a-f]*\).*/\1/p" "$tmp/cp1.out")" ]'
out=$(C audit verify --checkpoint "$tmp/cp1.pem" --signer "$tmp/signer.pem" 2>&1); rc=$?
check "verify --checkpoint: ok against the log it came from ($out)" \
  '[ $rc -eq 0 ] && echo "$out" | grep -q "^audit=ok records=$((recs + 1)) checkpoint=ok checkpoint_records=$recs "'
C issue cp4@example.org > /dev/null
C audit checkpoint > "$tmp/cp2.pem" 2> "$tmp/cp2.out"
check "without --out the PEM goes to stdout and the summary to stderr" \
  'grep -q "BEGIN CMS" "$tmp/cp2.pem" && grep -q "^checkpoint records=" "$tmp/cp2.out"'
out=$(C audit verify --checkpoint "$tmp/cp1.pem" 2>&1); rc=$?
check "the old checkpoint still verifies after more records (the store's signer by default)" \
  '[ $rc -eq 0 ] && echo "$out" | grep -q "checkpoint=ok checkpoint_records=$recs "'

C audit checkpoint --out-dir "$tmp/cps" > "$tmp/cpd1.out" 2>&1
C audit checkpoint --out-dir "$tmp/cps" > "$tmp/cpd2.out" 2>&1
check "--out-dir makes the directory and gives each checkpoint a file of its own ($(ls "$tmp/cps" 2>/dev/null | tr '\n' ' '))" \
  '[ "$(ls "$tmp/cps" | grep -c "^checkpoint-[0-9]\{8\}T[0-9]\{6\}Z-[0-9]*\.pem$")" = 2 ] && grep -q " out=$tmp/cps/checkpoint-" "$tmp/cpd2.out"'
last=$(ls "$tmp/cps" | sort -t- -k3 -n | tail -1)
check "the file is named by its record count and verifies" \
  '[ "$(C audit verify --checkpoint "$tmp/cps/$last" --signer "$tmp/signer.pem" | sed -n "s/.*checkpoint_records=\([0-9]*\).*/\1/p").pem" = "${last##*-}" ]'
before=$(C audit verify)
C audit checkpoint --out-dir "$tmp/cp1.pem" > "$tmp/cpd3.out" 2>&1; rc=$?
check "--out-dir onto a file is refused before anything is signed (exit $rc)" \
  '[ $rc -ne 0 ] && grep -q "is not a directory" "$tmp/cpd3.out" && [ "$(C audit verify)" = "$before" ]'
C audit checkpoint --out "$tmp/x.pem" --out-dir "$tmp/cps" > /dev/null 2>&1; rc=$?
check "--out and --out-dir together are a usage error (exit $rc)" '[ $rc -ne 0 ] && [ ! -e "$tmp/x.pem" ]'
out=$(C audit verify --checkpoint "$tmp/cp1.pem" --signer "$tmp/signer.pem" --incremental 2>&1); rc=$?
check "--incremental walks only what came after the checkpoint, and says so ($out)" \
  '[ $rc -eq 0 ] && echo "$out" | grep -q "^audit=ok records=[0-9]* checkpoint=ok checkpoint_records=$recs .* verified=since-checkpoint$"'
# Someone who holds the store rewrites the chain consistently.
cp -a "$tmp/store" "$tmp/pristine"
check "rewrite applied" '"$stress" tamper "$tmp" rewrite'
check "the rewritten chain passes plain audit verify (what the chain alone cannot see)" \
  'C audit verify | grep -q "^audit=ok"'
check "record 2 was really changed" \
  '! cmp -s "$tmp/store/audit.db" "$tmp/pristine/audit.db"'
out=$(C audit verify --checkpoint "$tmp/cp1.pem" --signer "$tmp/signer.pem" 2>&1); rc=$?
check "verify --checkpoint reports the rewrite (exit $rc: $(echo "$out" | tr '\n' ' '))" \
  '[ $rc -eq 1 ] && echo "$out" | grep -q "^audit=rewritten " && echo "$out" | grep -q "rewritten at or before"'
out=$(C audit verify --checkpoint "$tmp/cp1.pem" --signer "$tmp/signer.pem" --incremental 2>&1); rc=$?
check "--incremental reports the rewrite too: the checkpoint's record no longer hashes to its head (exit $rc)" \
  '[ $rc -eq 1 ] && echo "$out" | grep -q "^audit=rewritten "'
# An edit after the checkpoint, which the incremental walk does read.
rm -rf "$tmp/store"; cp -a "$tmp/pristine" "$tmp/store"
"$stress" tamper "$tmp" edit $((recs + 2))
out=$(C audit verify --checkpoint "$tmp/cp1.pem" --signer "$tmp/signer.pem" --incremental 2>&1); rc=$?
check "--incremental finds an edit of a record after the checkpoint (exit $rc)" \
  '[ $rc -eq 1 ] && echo "$out" | grep -q "^audit=broken " && echo "$out" | grep -q "broken at record $((recs + 3))"'
# Cut below the checkpoint: drop the newest records and fix the count and head.
rm -rf "$tmp/store"; cp -a "$tmp/pristine" "$tmp/store"
for k in 1 2 3 4 5 6 7 8; do "$stress" tamper "$tmp" remove-last || break; done
out=$(C audit verify --checkpoint "$tmp/cp2.pem" 2>&1); rc=$?
check "a log shorter than the checkpoint is refused (exit $rc)" '[ $rc -eq 1 ] && ! echo "$out" | grep -q "^audit=ok"'

# Forged or altered checkpoints.
rm -rf "$tmp/store"; cp -a "$tmp/pristine" "$tmp/store"
openssl cms -verify -in "$tmp/cp1.pem" -inform PEM -noverify -out "$tmp/text" 2>/dev/null
sed 's/^records: .*/records: 2/' "$tmp/text" > "$tmp/forged.txt"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/other.key" \
  -out "$tmp/other.pem" -subj "/CN=not the checkpoint signer" -days 2 >/dev/null 2>&1
openssl cms -sign -binary -nodetach -in "$tmp/forged.txt" -signer "$tmp/other.pem" -inkey "$tmp/other.key" \
  -outform PEM -out "$tmp/forged.pem" 2>/dev/null
out=$(C audit verify --checkpoint "$tmp/forged.pem" 2>&1); rc=$?
check "a checkpoint signed by another key is refused (exit $rc)" \
  '[ $rc -eq 1 ] && echo "$out" | grep -q "checkpoint=invalid"'
out=$(C audit verify --checkpoint "$tmp/cp1.pem" --signer "$tmp/other.pem" 2>&1); rc=$?
check "a checkpoint not by the pinned signer is refused (exit $rc)" \
  '[ $rc -eq 1 ] && echo "$out" | grep -q "checkpoint=invalid"'
openssl cms -cmsout -in "$tmp/cp1.pem" -inform PEM -outform DER -out "$tmp/cp1.der" 2>/dev/null
off=$(grep -abo "records: " "$tmp/cp1.der" | head -1 | cut -d: -f1)
cp "$tmp/cp1.der" "$tmp/bad.der"
printf '9' | dd of="$tmp/bad.der" bs=1 seek=$((off + 9)) conv=notrunc 2>/dev/null
openssl cms -cmsout -in "$tmp/bad.der" -inform DER -outform PEM -out "$tmp/bad.pem" 2>/dev/null
out=$(C audit verify --checkpoint "$tmp/bad.pem" 2>&1); rc=$?
check "a checkpoint with one changed byte in its statement is refused (exit $rc)" \
  '! cmp -s "$tmp/cp1.der" "$tmp/bad.der" && [ $rc -eq 1 ] && echo "$out" | grep -q "checkpoint=invalid"'
head -c 70000 /dev/zero | tr '\0' A > "$tmp/huge.pem"
out=$(C audit verify --checkpoint "$tmp/huge.pem" 2>&1); rc=$?
check "an oversized file is refused with a clear error (exit $rc)" '[ $rc -eq 1 ] && echo "$out" | grep -q "at most"'
check "audit verify without options is unchanged" 'C audit verify | grep -q "^audit=ok records="'
echo "1..$n"
