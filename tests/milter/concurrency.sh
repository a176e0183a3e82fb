#!/bin/sh
# concurrency: the real daemon under 250 MTA connections at once (tests/tools/milter-send -j),
# started with a soft descriptor limit of 256, fewer than it needs (as 1024 is for 1,000
# SMTP sessions): it must raise the limit to the hard one, and every one of 750 messages must
# come back signed, none refused, lost or tempfailed; the daemon still serves afterwards.
# Bounded: each wait and milter-send run has a timeout.
set -u
b="$top_builddir"
milter="$b/milter/autosmime-milter"
send="$b/tests/tools/milter-send"
CONNS=${CONCURRENCY_CONNS:-250}   # e.g. 1000 by hand: what fails first
MSGS=$((CONNS * 3))

tmp=$(mktemp -d) || exit 1
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  sh "$top_srcdir/tests/tools/store-ipc-clean.sh" "$tmp"
  rm -rf "$tmp"
}
trap cleanup EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else fail "$1"; echo "# log:"; tail -5 "$tmp/log" | sed 's/^/#   /'; fi; }

command -v openssl >/dev/null || { echo "1..0 # SKIP openssl not installed"; exit 0; }
[ -x "$send" ] || { echo "1..1"; echo "not ok 1 - $send is not built"; exit 1; }
"$b/tests/milter/fixture" "$tmp" alice@example.org bob@example.net >/dev/null || {
  echo "1..1"; echo "not ok 1 - fixture"; exit 1; }
chmod 755 "$tmp"
if [ "$(id -u)" = 0 ]; then
  chown -R nobody "$tmp"
  echo "user nobody" >> "$tmp/autosmime.conf"
else
  echo "user $(id -un)" >> "$tmp/autosmime.conf"
fi
sock="$tmp/milter.sock"
printf 'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nSubject: load\r\nMessage-ID: <c1@example.org>\r\n\r\nMany sessions at once.\r\n' > "$tmp/msg.eml"

# a soft limit below what the connections need, whatever this shell has
hard=$(ulimit -Hn)
command -v prlimit >/dev/null || { echo "1..0 # SKIP prlimit (util-linux) not installed"; exit 0; }
[ "$hard" = unlimited ] || [ "$hard" -ge $((CONNS * 2 + 100)) ] ||
  { echo "1..0 # SKIP hard descriptor limit $hard is too low"; exit 0; }
wrap="prlimit --nofile=256:$hard --"
echo "1..5"
$wrap "$milter" -f -c "$tmp/autosmime.conf" 2>>"$tmp/log" &
pid=$!
i=0
while [ $i -lt 150 ] && ! grep -q 'event=start status=ok' "$tmp/log" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1; i=$((i + 1))
done
check "the daemon starts" "grep -q 'event=start status=ok' '$tmp/log'"
check "it raised its soft descriptor limit from 256" \
  "grep -q 'event=fdlimit status=ok soft=[0-9]* was=256' '$tmp/log'"

out=$(timeout 60 "$send" -S "unix:$sock" -f alice@example.org -r bob@example.net -a alice \
  -n "$MSGS" -j "$CONNS" -t 50 "$tmp/msg.eml" 2>"$tmp/send.err")
echo "# $out"
check "$CONNS connections at once: $MSGS messages, no failure" \
  "echo '$out' | grep -q 'messages=$MSGS .*failures=0 unmodified=0'"
check "the daemon logged $MSGS signatures" "[ \$(grep -c 'event=sign ' '$tmp/log') -eq $MSGS ]"
timeout 20 "$send" -S "unix:$sock" -f alice@example.org -r bob@example.net -a alice \
  -o "$tmp/after.eml" "$tmp/msg.eml" 2>/dev/null
check "the daemon still serves afterwards" "kill -0 $pid && grep -q 'application/pkcs7-mime' '$tmp/after.eml'"
