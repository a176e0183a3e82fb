#!/bin/sh
# tamper: edit one bit of a record, remove a record, swap two records, drop the newest record,
# add a record after the newest without the head: audit verify must fail each time (exit 1);
# an untouched copy still verifies.
set -u
. "$top_srcdir/tests/ca/setup.sh"
ca_init || { echo "1..0 # SKIP ca init failed: $(cat "$tmp/init.err")"; exit 0; }
for i in 1 2 3 4 5; do C issue "t$i@example.org" >/dev/null; done
check "untouched log verifies (ca-init, its root CRL, 5 issued pairs)" 'C audit verify | grep -q "^audit=ok records=12$"'
cp -a "$tmp/store" "$tmp/pristine"
for how in edit remove reorder; do
  rm -rf "$tmp/store"; cp -a "$tmp/pristine" "$tmp/store"
  check "tamper $how applied" '"$stress" tamper "$tmp" $how'
  out=$(C audit verify 2>&1); rc=$?
  check "audit verify detects $how (exit $rc)" '[ $rc -eq 1 ] && echo "$out" | grep -q "audit=broken"'
done
# Truncation: remove the newest record; the head hash kept in meta.db shows it.
rm -rf "$tmp/store"; cp -a "$tmp/pristine" "$tmp/store"
check "tamper remove-last applied" '"$stress" tamper "$tmp" remove-last'
out=$(C audit verify 2>&1); rc=$?
check "audit verify detects a dropped newest record (exit $rc)" '[ $rc -eq 1 ] && echo "$out" | grep -q "were written"'
# A record slipped in after the newest, the head and count left as they were.
rm -rf "$tmp/store"; cp -a "$tmp/pristine" "$tmp/store"
check "tamper append applied" '"$stress" tamper "$tmp" append'
out=$(C audit verify 2>&1); rc=$?
check "audit verify detects a record after the head (exit $rc)" '[ $rc -eq 1 ] && echo "$out" | grep -q "records after record 12"'
echo "1..$n"
