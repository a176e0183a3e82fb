#!/bin/sh
# store_faults: the running daemon keeps signing, by itself, through what an operator and a
# machine do to its store:
#   - 50 autosmimectl issue|revoke|renew|ca rotate killed with SIGKILL at random points while
#     mail flows (tests/tools/milter-send in a loop): after each the daemon signs again within
#     HEAL_MS (15 s), and at the end no serial was issued twice, every issuance a command reported is
#     listed, and the audit chain verifies;
#   - a backup taken under that load, restored into a fresh directory and verified;
#   - db5.3_recover run by hand under the running daemon;
#   - (as root) the store on a small tmpfs filled up during signing and issuance: no crash,
#     4xx while full, no partial issuance, signing again by itself once space is freed.
# The daemon is never restarted by the test; it must heal alone.
set -u
b="$top_builddir"
ctl="$b/cli/autosmimectl"
milter="$b/milter/autosmime-milter"
send="$b/tests/tools/milter-send"
KILLS=${STORE_FAULTS_KILLS:-50}
# How long healing may take: alone it is well under a second (figures in the ok lines); the
# bound leaves room for a loaded CI machine, where other test programs run under valgrind.
HEAL_MS=${STORE_FAULTS_HEAL_MS:-15000}

tmp=$(mktemp -d /tmp/store-faults-XXXXXX) || exit 1
pid="" load="" mnt=""
cleanup() {
	touch "$tmp/stop"
	[ -n "$load" ] && kill "$load" 2>/dev/null && wait "$load" 2>/dev/null
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	sh "$top_srcdir/tests/tools/store-ipc-clean.sh" "$tmp"
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; }
check() {
	if eval "$2"; then ok "$1"; else
		fail "$1"; grep -E "event=(store|error|stop)" "$tmp/log" | tail -5 | sed 's/^/#   /'
	fi
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
rand() { echo $(($(od -An -N2 -tu2 /dev/urandom) % $1)); }

command -v openssl >/dev/null || { echo "1..0 # SKIP openssl not installed"; exit 0; }
[ -x "$send" ] || { echo "1..1"; echo "not ok 1 - $send is not built"; exit 1; }

# The store lives on its own tmpfs when we may mount one, so that it can be filled up.
store_parent="$tmp"
if [ "$(id -u)" = 0 ] && mkdir "$tmp/mnt" && mount -t tmpfs -o size=48m,mode=0700 tmpfs "$tmp/mnt"; then
	mnt="$tmp/mnt"
	store_parent="$mnt"
fi
mkdir -p "$tmp/spool" "$tmp/crl"
cat > "$tmp/conf" <<EOC
store_dir $store_parent/store
key_encryption_key_file $tmp/kek
ca_passphrase_file $tmp/pass
crl_dir $tmp/crl
ca_base_url http://ca.example.org/pub
organization_name Example Org
organization_identifier NTRGB-12345678
organization_country GB
local_domains example.org
spool_dir $tmp/spool
socket unix:$tmp/milter.sock
pid_file $tmp/milter.pid
user $(id -un)
log_level info
EOC
C() { "$ctl" -c "$tmp/conf" "$@"; }
C ca init --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" >/dev/null 2>"$tmp/init.err" &&
	C issue alice@example.org > "$tmp/alice.out" 2>&1 || {
	echo "1..1"; echo "not ok 1 - ca init and issue: $(cat "$tmp/init.err" "$tmp/alice.out")"; exit 1; }
alice=$(sed -n 's/^serial=\([0-9a-f]*\) .*/\1/p' "$tmp/alice.out")
printf 'From: Alice <alice@example.org>\nTo: x@elsewhere.example\nSubject: faults\n\nsigned?\n' \
	> "$tmp/msg.eml"

"$milter" -f -c "$tmp/conf" 2>>"$tmp/log" &
pid=$!
i=0
until grep -q "event=start status=ok" "$tmp/log" 2>/dev/null || [ $i -ge 100 ]; do
	sleep 0.1; i=$((i + 1))
done
check "the daemon starts" 'grep -q "event=start status=ok" "$tmp/log"'

# probe: one message from alice's login; 0 when it came back signed.
probe() {
	"$send" -S "unix:$tmp/milter.sock" -f alice@example.org -c 192.0.2.10 -a alice \
		-r x@elsewhere.example -t 10 -o /dev/null "$tmp/msg.eml" 2>"$tmp/probe.err" &&
		grep -q "^action=[ca] changes=[1-9]" "$tmp/probe.err"
}
# signs_within MS: probe every 50 ms until a message is signed; prints the wait in ms.
signs_within() {
	t0=$(now_ms)
	while :; do
		probe && { echo $(($(now_ms) - t0)); return 0; }
		[ $(($(now_ms) - t0)) -ge "$1" ] && { echo $(($(now_ms) - t0)); return 1; }
		sleep 0.05
	done
}
check "a first message is signed" 'probe'

# Mail load: one message after another until told to stop (bounded).
(
	j=0
	while [ ! -e "$tmp/stop" ] && [ $j -lt 100000 ]; do
		"$send" -S "unix:$tmp/milter.sock" -f alice@example.org -c 192.0.2.10 -a alice \
			-r x@elsewhere.example -t 10 -o /dev/null "$tmp/msg.eml" 2>/dev/null
		echo $? >> "$tmp/load.rc"
		j=$((j + 1))
	done
) &
load=$!

# Part 1: commands killed at random points.
worst=0 late=0
: > "$tmp/reported"
for it in $(seq 1 "$KILLS"); do
	victim=$(C list --status valid 2>/dev/null | sed -n 's/^serial=\([0-9a-f]*\) .*/\1/p' |
		grep -v "^$alice$" | head -n $(($(rand 5) + 1)) | tail -n 1)
	case $((it % 4)) in
	1) C issue "k$it@example.org" > "$tmp/cmd.out" 2>&1 & ;;
	2) if [ -n "$victim" ]; then C revoke "$victim" --reason superseded > "$tmp/cmd.out" 2>&1 &
	   else C issue "k$it@example.org" > "$tmp/cmd.out" 2>&1 &
	   fi ;;
	3) if [ -n "$victim" ]; then C renew "$victim" > "$tmp/cmd.out" 2>&1 &
	   else C issue "k$it@example.org" > "$tmp/cmd.out" 2>&1 &
	   fi ;;
	0) C ca rotate --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" > "$tmp/cmd.out" 2>&1 & ;;
	esac
	cpid=$!
	sleep "$(printf '0.%03d' "$(rand 400)")"
	kill -9 "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	# what the command said it issued before it died
	sed -n 's/^serial=\([0-9a-f]*\) \(mailbox\|renews\)=.*/\1/p' "$tmp/cmd.out" >> "$tmp/reported"
	ms=$(signs_within "$HEAL_MS") || late=$((late + 1))
	[ "$ms" -gt "$worst" ] && worst=$ms
done
check "after each of $KILLS killed commands the daemon signed again within $((HEAL_MS / 1000)) s (worst ${worst} ms)" \
	'[ $late -eq 0 ]'
check "the daemon was never restarted (same process)" 'kill -0 "$pid" && [ "$(cat "$tmp/milter.pid")" = "$pid" ]'

C list > "$tmp/list" 2>"$tmp/list.err"
sed -n 's/^serial=\([0-9a-f]*\) .*/\1/p' "$tmp/list" | sort > "$tmp/serials"
check "list works after the kills ($(wc -l < "$tmp/serials") certificates)" '[ -s "$tmp/serials" ]'
check "no serial appears twice" '[ -z "$(uniq -d "$tmp/serials")" ]'
missing=$(sort -u "$tmp/reported" | comm -23 - "$tmp/serials" | wc -l)
check "every one of the $(sort -u "$tmp/reported" | wc -l) issuances a command reported is listed" \
	'[ "$missing" -eq 0 ]'
C audit verify > "$tmp/verify" 2>&1
check "audit verify passes: $(head -c 200 "$tmp/verify")" 'grep -q "^audit=ok" "$tmp/verify"'
echo "# store events: $(grep -c 'event=store status=reopened' "$tmp/log") reopens; load results: $(sort "$tmp/load.rc" | uniq -c | tr -s ' \n' ' ')"

# A backup while the daemon signs, restored into a fresh directory, verified there.
C backup "$tmp/bk" > "$tmp/bk.out" 2>&1; brc=$?
echo "# $(cat "$tmp/bk.out")"
check "backup while the daemon signs under load" '[ $brc -eq 0 ] && grep -q "^backup=ok" "$tmp/bk.out"'
sed "s|^store_dir .*|store_dir $tmp/restored|" "$tmp/conf" > "$tmp/conf.r"
check "restored into a fresh directory, it verifies and lists what the backup held" \
	'"$ctl" -c "$tmp/conf.r" restore "$tmp/bk" > "$tmp/rs.out" 2>&1 &&
	 "$ctl" -c "$tmp/conf.r" audit verify | grep -q "^audit=ok" &&
	 [ "$("$ctl" -c "$tmp/conf.r" list | wc -l)" -eq "$(sed -n "s/.* certificates=\([0-9]*\).*/\1/p" "$tmp/bk.out")" ]'

# Part 2: recovery by hand under the running daemon.
if command -v db5.3_recover >/dev/null; then
	reopens=$(grep -c 'event=store status=reopened' "$tmp/log")
	db5.3_recover -h "$store_parent/store" 2>"$tmp/recover.err"; rrc=$?
	check "db5.3_recover ran under the daemon $(head -c 120 "$tmp/recover.err")" '[ $rrc -eq 0 ]'
	ms=$(signs_within "$HEAL_MS")
	check "after db5.3_recover the daemon signs again within $((HEAL_MS / 1000)) s by itself (${ms} ms)" '[ "$ms" -lt "$HEAL_MS" ]'
	check "and says it reopened the store" \
		'[ "$(grep -c "event=store status=reopened" "$tmp/log")" -gt "$reopens" ]'
else
	ok "# SKIP db5.3_recover not installed (db5.3-util)"
fi

touch "$tmp/stop"
wait "$load" 2>/dev/null
load=""

# burst N: N messages over 2 connections; sets failures and unmod (all N when no answer).
burst() {
	"$send" -S "unix:$tmp/milter.sock" -f alice@example.org -c 192.0.2.10 -a alice \
		-r x@elsewhere.example -t 10 -n "$1" -j 2 "$tmp/msg.eml" > "$tmp/burst" 2>/dev/null
	failures=$(sed -n 's/.* failures=\([0-9]*\).*/\1/p' "$tmp/burst")
	unmod=$(sed -n 's/.* unmodified=\([0-9]*\).*/\1/p' "$tmp/burst")
	failures=${failures:-$1} unmod=${unmod:-$1}
}

# Part 3: a full disk under signing and issuance.
if [ -n "$mnt" ]; then
	before=$(C list | wc -l)
	dd if=/dev/zero of="$mnt/fill" bs=64k 2>/dev/null
	dd if=/dev/zero of="$mnt/fill2" bs=4k 2>/dev/null   # the last pages too
	# Berkeley DB zero-fills the rest of the current log file when it recovers, so what fits
	# there is still signed durably; the next log file needs space the disk cannot give, and
	# from then on messages wait in the MTA. Bursts until that happens (bounded).
	k=0 failures=0 unmodified=0
	while [ $k -lt 40 ] && [ "$failures" -eq 0 ]; do
		burst 1000
		unmodified=$((unmodified + unmod))
		k=$((k + 1))
	done
	echo "# full disk: $((k * 1000 - failures)) messages signed before the log ran out of room, then $failures of the last 1000 refused"
	tempfail=0
	for k in 1 2 3; do probe; [ $? -ne 0 ] && grep -q "reply=4" "$tmp/probe.err" && tempfail=$((tempfail + 1)); done
	check "on the full disk messages end up tempfailed (4xx), none passed unsigned" \
		'[ $tempfail -eq 3 ] && [ $unmodified -eq 0 ]'
	check "the daemon is still running (no SIGBUS)" 'kill -0 "$pid"'
	C issue full@example.org > "$tmp/full.out" 2>&1
	check "issuance on the full disk fails with an error: $(head -c 160 "$tmp/full.out")" \
		'! grep -q "^serial=" "$tmp/full.out"'
	errs=$(grep -c "event=error" "$tmp/log")
	for k in 1 2 3 4 5 6 7 8 9 10; do probe; done
	check "the cause is logged once a minute, not per message ($(($(grep -c "event=error" "$tmp/log") - errs)) lines for 10 messages)" \
		'[ $(($(grep -c "event=error" "$tmp/log") - errs)) -le 1 ]'
	rm -f "$mnt/fill" "$mnt/fill2"
	ms=$(signs_within "$HEAL_MS")
	check "space freed: signing again by itself within $((HEAL_MS / 1000)) s (${ms} ms)" '[ "$ms" -lt "$HEAL_MS" ]'
	check "the refused issuance left nothing behind" \
		'[ "$(C list | wc -l)" -eq "$before" ] && ! C list --mailbox full@example.org | grep -q serial='
	check "issuance works again" 'C issue full@example.org | grep -q "^serial="'
	check "audit verify passes after the full disk" 'C audit verify | grep -q "^audit=ok"'
	check "the daemon is the one started at the beginning" 'kill -0 "$pid" && [ "$(cat "$tmp/milter.pid")" = "$pid" ]'
else
	ok "# SKIP full-disk part needs root (mount -t tmpfs)"
fi

# stop_daemon: SIGTERM, bounded wait; 0 when it exited.
stop_daemon() {
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	wait "$pid" 2>/dev/null
	! kill -0 "$pid" 2>/dev/null
}

check "SIGTERM stops it cleanly" 'stop_daemon'
pid=""
echo "1..$n"
