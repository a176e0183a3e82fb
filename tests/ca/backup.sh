#!/bin/sh
# backup: autosmimectl backup while two threads keep issuing; the copy recovers and verifies
# on its own; restore puts it in place of another store (kept aside), refuses while a process
# has that store open, and refuses a backup whose log was cut short.
set -u
. "$top_srcdir/tests/ca/setup.sh"
ca_init || { echo "1..0 # SKIP ca init failed: $(cat "$tmp/init.err")"; exit 0; }
C issue first@example.org >/dev/null

"$stress" issue "$tmp" 300 2 load > "$tmp/load.out" 2>&1 &
spid=$!
pids="$pids $spid"
sleep 0.3
C backup "$tmp/bk" > "$tmp/bk.out" 2>&1; brc=$?
wait "$spid"; src=$?
echo "# $(cat "$tmp/bk.out")"
check "backup during issuance succeeds and says what it holds" \
	'[ $brc -eq 0 ] && grep -q "^backup=ok .*certificates=[0-9]* audit_records=[0-9]*" "$tmp/bk.out"'
check "the issuance beside it was not disturbed" '[ $src -eq 0 ]'
check "the backup directory is 0700 and its files 0600" \
	'[ "$(stat -c %a "$tmp/bk")" = 700 ] && [ -z "$(find "$tmp/bk" -type f ! -perm 0600)" ]'
check "the backup holds the CA key files" '[ -n "$(ls "$tmp/bk/ca/" 2>/dev/null)" ]'
check "the backup holds no lock or region files" \
	'[ -z "$(ls "$tmp/bk" | grep -E "^(store\.|__db\.)")" ]'
bcerts=$(sed -n 's/.* certificates=\([0-9]*\).*/\1/p' "$tmp/bk.out")
brecs=$(sed -n 's/.* audit_records=\([0-9]*\).*/\1/p' "$tmp/bk.out")
check "the copy holds a consistent moment: one audit record per certificate beyond ca init" \
	'[ "${bcerts:-0}" -ge 1 ] && [ "$brecs" -eq $((bcerts + 2)) ]'
check "backup refuses a directory that is not empty" '! C backup "$tmp/bk" >/dev/null 2>&1'
check "backup refuses a directory inside store_dir, and leaves nothing there" \
	'! C backup "$tmp/store/bk" >/dev/null 2>&1 && [ ! -e "$tmp/store/bk" ]'

# A second CA directory to restore into.
mkdir -p "$tmp/r"
cp "$tmp/kek" "$tmp/pass" "$tmp/r/"
sed "s|^store_dir .*|store_dir $tmp/r/store|" "$tmp/conf" > "$tmp/r/conf"
R() { "$ctl" -c "$tmp/r/conf" "$@"; }
check "restore into a directory with no store" 'R restore "$tmp/bk" > "$tmp/r1.out" 2>&1'
check "the restored store verifies" 'R audit verify | grep -q "^audit=ok records=$brecs$"'
check "and lists the certificates the backup held" '[ "$(R list | wc -l)" -eq "$bcerts" ]'
s1=$(R list | sed -n 's/^serial=\([0-9a-f]*\) .*/\1/p' | head -n 1)
check "a restored certificate shows in PEM" 'R show "$s1" --format pem | grep -q "BEGIN CERTIFICATE"'
printf 'secret-p12\n' > "$tmp/p12pass"; chmod 600 "$tmp/p12pass"
check "a restored key exports (its key file decrypts)" \
	'R export-p12 first@example.org --out "$tmp/first.p12" --password-file "$tmp/p12pass" >/dev/null 2>&1 &&
	 openssl pkcs12 -in "$tmp/first.p12" -passin file:"$tmp/p12pass" -nodes 2>/dev/null | grep -q "PRIVATE KEY"'
check "the restored store issues" 'R issue after@example.org | grep -q "^serial="'

"$stress" issue "$tmp/r" 100000 1 busy > /dev/null 2>&1 &
busy=$!
pids="$pids $busy"
sleep 0.3
R restore "$tmp/bk" > "$tmp/r2.out" 2>&1; rrc=$?
kill -9 "$busy" 2>/dev/null; wait "$busy" 2>/dev/null
check "restore refuses while another process has the store open (exit 4): $(head -c 150 "$tmp/r2.out")" \
	'[ $rrc -eq 4 ] && grep -q "open in another process" "$tmp/r2.out"'
check "and left that store in place" '[ -z "$(ls -d "$tmp"/r/store.old-* 2>/dev/null)" ]'

check "restore over an existing store keeps the old one aside" \
	'R restore "$tmp/bk" > "$tmp/r3.out" 2>&1 && old=$(sed -n "s/.* previous=\([^ ]*\) .*/\1/p" "$tmp/r3.out") &&
	 [ -d "$old" ] && [ "$(R list | wc -l)" -eq "$bcerts" ]'

cp -a "$tmp/bk" "$tmp/bad"
for f in "$tmp"/bad/log.*; do truncate -s 4096 "$f"; done
R restore "$tmp/bad" > "$tmp/r4.out" 2>&1; rrc=$?
check "a backup whose log was cut short is refused (exit 4)" '[ $rrc -eq 4 ]'
check "and the store in place is untouched" 'R audit verify | grep -q "^audit=ok records=$brecs$"'
echo "1..$n"
