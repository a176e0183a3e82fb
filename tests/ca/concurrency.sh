#!/bin/sh
# concurrency: three processes with three threads each issue at once; afterwards the count is
# exact (no lost or duplicated records), every certificate has its key and one audit record,
# and the audit chain verifies (no interleaved records). Then batched audit appends from three
# processes at once, alongside issuance.
set -u
. "$top_srcdir/tests/ca/setup.sh"
ca_init || { echo "1..0 # SKIP ca init failed: $(cat "$tmp/init.err")"; exit 0; }
for p in 1 2 3; do
  "$stress" issue "$tmp" 12 3 "p$p" > "$tmp/out.$p" 2>&1 &
  pids="$pids $!"
done
rcs=0
for p in $pids; do wait "$p" || rcs=1; done
pids=""
check "every issuing process succeeded" '[ $rcs -eq 0 ]'
check "108 issuances reported" '[ "$(cat "$tmp"/out.* | grep -c "^issued ")" -eq 108 ]'
check "108 distinct serials" '[ "$(cat "$tmp"/out.* | grep "^issued " | sort -u | wc -l)" -eq 108 ]'
check "store holds exactly 108 with keys and one audit record each" '"$stress" check "$tmp" 108 >/dev/null'
check "audit chain verifies with ca-init, its root CRL + 108 records" 'C audit verify | grep -q "^audit=ok records=110$"'
# Group commit across processes: three processes of four threads each append audit records
# (batched within each process) while a fourth issues; Berkeley DB locks order the batches.
for p in 1 2 3; do
  "$stress" audit "$tmp" 50 4 "a$p" > "$tmp/aud.$p" 2>&1 &
  pids="$pids $!"
done
"$stress" issue "$tmp" 10 2 "q" > "$tmp/out.q" 2>&1 &
pids="$pids $!"
rcs=0
for p in $pids; do wait "$p" || rcs=1; done
pids=""
check "every appending and issuing process succeeded" '[ $rcs -eq 0 ]'
check "store holds 128 certificates with keys and one audit record each" '"$stress" check "$tmp" 128 >/dev/null'
check "audit chain verifies with 110 + 600 appended + 20 issued records" 'C audit verify | grep -q "^audit=ok records=730$"'
echo "1..$n"
