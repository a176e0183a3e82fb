#!/bin/sh
# daemon: the real autosmime-milter in the foreground on a unix socket and then an inet
# socket, driven by tests/tools/milter-send (the MTA side of the milter protocol): signing
# through the socket, privilege drop, pid file, SIGHUP reload, SIGTERM shutdown, SIGKILL in
# mid-session and a restart over the stale socket, and TCP_NODELAY on inet sockets (timed).
set -u
b="$top_builddir"
milter="$b/milter/autosmime-milter"
send="$b/tests/tools/milter-send"
# One message from an external client address (192.0.2.10) with queue id 4QTEST; the socket
# first, then milter-send options (-a login, -r rcpt, -o out, -p pause, -n count).
client() {
  spec=$1; shift
  "$send" -S "$spec" -f sender@example.org -c 192.0.2.10 -q 4QTEST "$@"
}
# milter-send reports "action=c|a|t|r|d|y changes=N" or "action=lost" on stderr.
modified() { grep -q "^action=[ca] changes=[1-9]" "$1"; }
untouched() { grep -q "^action=[ca] changes=0$" "$1"; }

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
check() { if eval "$2"; then ok "$1"; else fail "$1"; echo "# log:"; sed 's/^/#   /' "$tmp/log" | tail -5; fi; }

command -v openssl >/dev/null || { echo "1..0 # SKIP openssl not installed"; exit 0; }
[ -x "$send" ] || { echo "1..1"; echo "not ok 1 - $send is not built (make -C tests/tools check)"; exit 1; }
"$b/tests/milter/fixture" "$tmp" alice@example.org bob@example.net >/dev/null || {
  echo "1..1"; echo "not ok 1 - fixture"; exit 1; }
chmod 755 "$tmp"
if [ "$(id -u)" = 0 ]; then
  user=nobody
  chown -R nobody "$tmp"
else
  user=$(id -un)
fi
echo "user $user" >> "$tmp/autosmime.conf"
sock="$tmp/milter.sock"
cat > "$tmp/msg.eml" <<'MSG'
From: Alice <alice@example.org>
To: Bob <bob@example.net>
Subject: protocol test
Message-ID: <p1@example.org>

Hello over the milter protocol.
MSG
sed 's/$/\r/' "$tmp/msg.eml" > "$tmp/msg.crlf"

start() { # start [extra config]; waits for the socket (10 s at most)
  "$milter" -f -c "$tmp/autosmime.conf" 2>>"$tmp/log" &
  pid=$!
  i=0
  while [ $i -lt 100 ]; do
    case "$(grep -c 'event=start status=ok' "$tmp/log" 2>/dev/null)" in
      "$1") return 0 ;;
    esac
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
hup() { # SIGHUP and wait (10 s at most) for its event=reload line, ok or failed
  hn=$(grep -c 'event=reload status=' "$tmp/log" 2>/dev/null)
  kill -HUP "$pid"
  i=0
  while [ "$(grep -c 'event=reload status=' "$tmp/log" 2>/dev/null)" -le "$hn" ] && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
  done
}
stop() { # SIGTERM and wait at most 10 s
  kill -TERM "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -0 "$pid" 2>/dev/null && return 1
  wait "$pid"; rc=$?; pid=""
  return $rc
}

check "the daemon starts on a unix socket" 'start 1'
check "the socket exists with mode 0660" '[ "$(stat -c %a "$sock")" = 660 ]'
check "the pid file holds the daemon's pid" '[ "$(cat "$tmp/milter.pid")" = "$pid" ]'
if [ "$user" = nobody ]; then
  check "it runs as the configured user after creating the socket" \
    '[ "$(ps -o user= -p "$pid")" = nobody ] && [ "$(stat -c %U "$sock")" = nobody ]'
else
  check "not root: it keeps its user and says so" 'grep -q "event=privileges status=kept" "$tmp/log"'
fi

client "unix:$sock" -a alice -r someone@elsewhere.example -o "$tmp/out1.eml" "$tmp/msg.eml" 2>"$tmp/c1"
check "an authenticated session is answered continue with a new body" \
  'modified "$tmp/c1"'
check "the result verifies with openssl cms -verify" \
  'openssl cms -verify -in "$tmp/out1.eml" -CAfile "$tmp/root.pem" -purpose any -out "$tmp/c1.txt" 2>/dev/null &&
   grep -q "Hello over the milter protocol" "$tmp/c1.txt"'
check "one event=sign log line with the queue id, serial and hash" \
  'grep -q "4QTEST: event=sign sender=alice@example.org recipients=1 serial=[0-9a-fA-F]* sha256=[0-9a-f]\{64\}" "$tmp/log"'
client "unix:$sock" -a alice -r bob@example.net -o "$tmp/out2.eml" "$tmp/msg.eml" 2>"$tmp/c2"
check "to bob, whose certificate is known, the mail is encrypted" \
  'grep -qi "application/pkcs7-mime" "$tmp/out2.eml" &&
   openssl cms -decrypt -in "$tmp/out2.eml" -recip "$tmp/bob@example.net.pem" -inkey "$tmp/bob@example.net.key" -out /dev/null 2>/dev/null'
client "unix:$sock" -r someone@elsewhere.example -o "$tmp/out3.eml" "$tmp/msg.eml" 2>"$tmp/c3"
check "an unauthenticated external client gets no edits, the message is as sent" \
  'untouched "$tmp/c3" && cmp -s "$tmp/out3.eml" "$tmp/msg.crlf"'
client "unix:$sock" -a bob -r someone@elsewhere.example -o "$tmp/out4.eml" "$tmp/msg.eml" 2>"$tmp/c4"
check "a login using someone else's From: passes unsigned with a log line" \
  'untouched "$tmp/c4" && grep -q "reason=unauthorised-from" "$tmp/log"'

# SIGHUP: a new snapshot for new connections, an invalid file keeps the old one
cp "$tmp/autosmime.conf" "$tmp/good.conf"
sed -i 's/^local_domains .*/local_domains example.net/' "$tmp/autosmime.conf"
hup
client "unix:$sock" -a alice -r someone@elsewhere.example -o /dev/null "$tmp/msg.eml" 2>"$tmp/c5"
check "SIGHUP reloads: example.org is no longer local" \
  'grep -q "event=reload status=ok generation=2" "$tmp/log" && untouched "$tmp/c5"'
echo "bogus_option 1" >> "$tmp/autosmime.conf"
hup
check "a broken file on SIGHUP is refused, the daemon keeps running" \
  'grep -q "event=reload status=failed" "$tmp/log" && kill -0 "$pid"'
cp "$tmp/good.conf" "$tmp/autosmime.conf"
hup
client "unix:$sock" -a alice -r someone@elsewhere.example -o /dev/null "$tmp/msg.eml" 2>"$tmp/c6"
check "after fixing it, SIGHUP brings signing back" 'modified "$tmp/c6"'

# Milter protocol 6 no-reply steps: the daemon asks the MTA not to wait for replies at
# connect, HELO, MAIL FROM, RCPT, each header and each body chunk (0x8f080), but keeps the
# DATA and end-of-header replies (SMFIP_NR_DATA 0x10000, SMFIP_NR_EOH 0x40000).
proto() { sed -n 's/^negotiated actions=0x[0-9a-f]* protocol=\(0x[0-9a-f]*\)$/\1/p' "$1"; }
client "unix:$sock" -P -a alice -r someone@elsewhere.example -o "$tmp/out10.eml" "$tmp/msg.eml" 2>"$tmp/c10"
p10=$(proto "$tmp/c10")
echo "# negotiated: $(grep '^negotiated' "$tmp/c10")"
check "the daemon negotiates no reply for connect, HELO, MAIL FROM, RCPT, headers and body" \
  '[ -n "$p10" ] && [ $((p10 & 0x8f080)) -eq $((0x8f080)) ]'
check "but keeps the replies to DATA and end of header" \
  '[ -n "$p10" ] && [ $((p10 & 0x50000)) -eq 0 ]'
check "with no-reply steps the message still comes back signed" \
  'modified "$tmp/c10" && openssl cms -verify -in "$tmp/out10.eml" -CAfile "$tmp/root.pem" -purpose any -out /dev/null 2>/dev/null'
client "unix:$sock" -N -P -a alice -r someone@elsewhere.example -o "$tmp/out11.eml" "$tmp/msg.eml" 2>"$tmp/c11"
p11=$(proto "$tmp/c11")
check "an MTA offering no no-reply steps gets none asked for" \
  '[ -n "$p11" ] && [ $((p11 & 0xff080)) -eq 0 ]'
check "and is answered at every step (libmilter replies for us): signed" \
  'modified "$tmp/c11" && openssl cms -verify -in "$tmp/out11.eml" -CAfile "$tmp/root.pem" -purpose any -out /dev/null 2>/dev/null'
# an oversize message (two body chunks) is answered at end of message, logged once
{ sed -n '1,/^$/p' "$tmp/msg.eml"
  i=0; while [ $i -lt 1500 ]; do echo "0123456789012345678901234567890123456789012345678901234567890123456789"; i=$((i + 1)); done
} > "$tmp/big.eml"
echo "message_size_limit 16k" >> "$tmp/autosmime.conf"
hup
for nr in "" -N; do
  client "unix:$sock" $nr -P -a alice -r someone@elsewhere.example -o /dev/null "$tmp/big.eml" 2>"$tmp/c12$nr"
done
check "an oversize message gets 452 4.3.4 at end of message, not at a body chunk" \
  'grep -q "^action=y changes=0 reply=452 4.3.4 " "$tmp/c12" && grep -q "^answered-after=E$" "$tmp/c12"'
check "also when the MTA offers no no-reply steps" \
  'grep -q "^action=y changes=0 reply=452 4.3.4 " "$tmp/c12-N" && grep -q "^answered-after=E$" "$tmp/c12-N"'
check "event=oversize is logged once per message" \
  '[ "$(grep -c "event=oversize size=" "$tmp/log")" -eq 2 ]'
cp "$tmp/good.conf" "$tmp/autosmime.conf"
# with inbound processing off, external mail is decided at MAIL FROM (no reply there) and
# accepted at DATA, so the MTA sends neither headers nor body
printf 'inbound_verify no\ninbound_decrypt no\n' >> "$tmp/autosmime.conf"
hup
for nr in "" -N; do
  client "unix:$sock" $nr -P -r someone@elsewhere.example -o /dev/null "$tmp/msg.eml" 2>"$tmp/c14$nr"
done
check "inbound off: external mail is accepted at DATA, before its headers" \
  'grep -q "^action=a changes=0$" "$tmp/c14" && grep -q "^answered-after=T$" "$tmp/c14"'
check "also when the MTA offers no no-reply steps (MAIL FROM then answers continue)" \
  'grep -q "^action=a changes=0$" "$tmp/c14-N" && grep -q "^answered-after=T$" "$tmp/c14-N"'
cp "$tmp/good.conf" "$tmp/autosmime.conf"
hup

# SIGKILL in the middle of a session: the MTA side sees the milter go away
client "unix:$sock" -a alice -r someone@elsewhere.example -p 3 -o /dev/null "$tmp/msg.eml" 2>"$tmp/c7" &
cpid=$!
sleep 1
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=""
wait "$cpid"; crc=$?
check "SIGKILL mid-session: the client sees the connection lost (MTA tempfails)" \
  '[ $crc -eq 3 ] && grep -q "action=lost" "$tmp/c7"'
check "after SIGKILL a restart removes the stale socket and serves again" 'start 2'
client "unix:$sock" -a alice -r someone@elsewhere.example -o "$tmp/out8.eml" "$tmp/msg.eml" 2>"$tmp/c8"
check "the restarted daemon signs" 'modified "$tmp/c8"'
check "SIGTERM stops it cleanly with exit 0" 'stop'
check "and it logged event=stop" 'grep -q "event=stop status=ok" "$tmp/log"'
check "the pid file is removed at stop" '[ ! -e "$tmp/milter.pid" ]'

# a second instance refuses to start while the first runs
check "restart for the double-start check" 'start 3'
"$milter" -f -c "$tmp/autosmime.conf" 2>"$tmp/dup"; drc=$?
check "a second daemon with the same pid file refuses to start" \
  '[ $drc -eq 1 ] && grep -q "already running" "$tmp/dup"'
# a quick restart (stop, start at once, as systemctl restart does) is not refused
old=$pid
kill -TERM "$old"
check "a start right after SIGTERM waits for the old daemon and serves" 'start 4'
wait "$old" 2>/dev/null
check "the new daemon wrote its own pid" '[ "$(cat "$tmp/milter.pid")" = "$pid" ]'
# a stale pid file naming a live process that is not the milter does not block a start
check "stop" 'stop'
sleep 30 & spid=$!
echo "$spid" > "$tmp/milter.pid"
check "a stale pid file whose pid now belongs to another program is ignored" 'start 5'
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
check "stop again" 'stop'

# inet socket: the daemon sets TCP_NODELAY on its listener, so the edits it writes at end of
# message never wait for a delayed ACK. 50 messages on one connection must all be signed
# (speed itself is measured by bench/milter-bench.sh, not here; the time is printed).
port=$((20000 + $$ % 20000))
sed -i "s|^socket .*|socket inet:$port@127.0.0.1|" "$tmp/autosmime.conf"
check "the daemon starts on an inet socket" 'start 6'
t0=$(date +%s%N)
client "inet:$port@127.0.0.1" -a alice -r someone@elsewhere.example -n 50 -o "$tmp/out9.eml" "$tmp/msg.eml" >"$tmp/c9.out" 2>"$tmp/c9"
t1=$(date +%s%N)
echo "# 50 signed messages over one inet connection: $(( (t1 - t0) / 1000000 )) ms"
check "50 messages on one inet connection are all signed" \
  'grep -q "messages=50 .*failures=0" "$tmp/c9.out" && modified "$tmp/c9"'
check "the last one verifies" \
  'openssl cms -verify -in "$tmp/out9.eml" -CAfile "$tmp/root.pem" -purpose any -out /dev/null 2>/dev/null'
client "inet:$port@127.0.0.1" -P -a alice -r someone@elsewhere.example -o /dev/null "$tmp/msg.eml" 2>"$tmp/c13"
p13=$(proto "$tmp/c13")
check "an inet socket negotiates the same no-reply steps as a unix socket" \
  '[ -n "$p13" ] && [ "$p13" = "$p10" ] && modified "$tmp/c13"'
# 5,000 headers: beyond the bound, passed untouched with one key=value line saying so.
{ printf 'From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: many headers\n'
  i=0; while [ $i -lt 5000 ]; do printf 'X-Filler-%d: v\n' $i; i=$((i + 1)); done
  printf '\nbody\n'; } > "$tmp/many.eml"
client "inet:$port@127.0.0.1" -a alice -r someone@elsewhere.example -o /dev/null "$tmp/many.eml" 2>"$tmp/c14"
check "5,000 headers: passed untouched with one log line (reason=headers-too-large signed=no)" \
  'untouched "$tmp/c14" && [ "$(grep -c "event=pass reason=headers-too-large signed=no mail_from=sender@example.org limit_headers=1000" "$tmp/log")" = 1 ]'
check "stop (inet)" 'stop'
echo "1..$n"
