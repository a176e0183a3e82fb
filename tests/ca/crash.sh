#!/bin/sh
# crash: SIGKILL a bulk issuance (2 threads) at random points, four times; after each kill a
# new process opens the store (alone beside regions a dead process left, it recovers), every
# indexed certificate has its key and exactly one audit record, and the audit chain verifies.
set -u
. "$top_srcdir/tests/ca/setup.sh"
ca_init || { echo "1..0 # SKIP ca init failed: $(cat "$tmp/init.err")"; exit 0; }
cp "$tmp/pass" "$tmp/pass.bak" 2>/dev/null
total=0
for round in 1 2 3 4; do
  "$stress" issue "$tmp" 400 2 "r$round" > "$tmp/out.$round" 2>&1 &
  pid=$!
  pids="$pids $pid"
  ms=$(( 150 + $(od -An -N1 -tu1 /dev/urandom) * 3 ))
  sleep "$(printf '0.%03d' $((ms % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  got=$(grep -c '^issued ' "$tmp/out.$round")
  out=$("$stress" check "$tmp" 2>&1); rc=$?
  certs=$(echo "$out" | sed -n 's/^certs=\([0-9]*\).*/\1/p')
  check "round $round: killed after $got issuances; store recovers, keys and audit complete ($out)" '[ $rc -eq 0 ]'
  check "round $round: no issuance reported to the caller was lost" '[ "${certs:-0}" -ge $((total + got)) ]'
  total=${certs:-0}
done
check "audit verify passes after the crashes" 'C audit verify | grep -q "^audit=ok"'
check "a new process can still issue (no wedged locks)" 'C issue after@example.org >/dev/null'
check "log files are bounded (DB_LOG_AUTO_REMOVE)" '[ "$(ls "$tmp"/store/log.* | wc -l)" -le 3 ]'
echo "1..$n"
