#!/bin/sh
# cmdline: -V, -n and -d of both programs, and file:line errors with a non-zero exit.
set -u
milter="$top_builddir/milter/autosmime-milter"
ctl="$top_builddir/cli/autosmimectl"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }

check "milter -V prints the version" '"$milter" -V | grep -q "^autosmime [0-9.]* (OpenSSL 3"'
check "autosmimectl -V prints the version" '"$ctl" -V | grep -q "^autosmime "'

printf 'local_domains example.org\nlog_level debug\n' > "$tmp/good.conf"
check "milter -n accepts a good file" '"$milter" -c "$tmp/good.conf" -n | grep -q "configuration ok"'
check "autosmimectl -n accepts a good file" '"$ctl" -c "$tmp/good.conf" -n >/dev/null'

printf 'log_level debug\nbogus_key 1\n' > "$tmp/bad.conf"
out=$("$milter" -c "$tmp/bad.conf" -n 2>&1); rc=$?
check "milter -n rejects an unknown key with file:line and exit 1" \
  '[ $rc -eq 1 ] && echo "$out" | grep -q "bad.conf:2: unknown option"'
out=$("$ctl" -c "$tmp/bad.conf" -n 2>&1); rc=$?
check "autosmimectl -n rejects it the same way" '[ $rc -eq 1 ] && echo "$out" | grep -q "bad.conf:2:"'

"$milter" -c "$tmp/good.conf" -d > "$tmp/dump.conf"
check "-d shows the effective values" 'grep -q "^log_level debug$" "$tmp/dump.conf" && grep -q "^local_domains example.org$" "$tmp/dump.conf"'
check "-d output is a valid configuration file" '"$milter" -c "$tmp/dump.conf" -n >/dev/null'

out=$("$milter" -c "$tmp/missing.conf" -n 2>&1); rc=$?
check "a missing file named with -c is an error" '[ $rc -eq 1 ] && echo "$out" | grep -q "cannot open"'
"$milter" -x >/dev/null 2>&1; rc=$?
check "an unknown flag exits 2 with usage" '[ $rc -eq 2 ]'
echo "1..$n"
