#!/bin/bash
# systemd_unit: the unit as `make install` installs it. Staged into a scratch root with
# DESTDIR, it must name the staged programs, pass `systemd-analyze verify`, keep its exposure
# (`systemd-analyze security --offline`) at or below 2.0, and its own command line must run:
# as the unit's User= and Group=, with NoNewPrivileges, in a runtime directory of the unit's
# mode, the daemon tells the $NOTIFY_SOCKET listener READY=1, RELOADING=1 on SIGHUP and
# STOPPING=1 on SIGTERM, signs through a socket the postfix user (in the service group, as
# the README says) can reach, starts over a stale socket, and a start that fails leaves no
# socket or pid file behind. The CLI's timers (hourly CRLs, daily audit checkpoints) are
# installed beside it: each timer and its service pass verify, the services' exposure is 2.0
# or lower, and each service's command, run as its User= with no new privileges, does its
# job on the test store (a due CRL written, a checkpoint file that verifies). The service
# user is created for the test when missing and the changes to /etc/passwd and /etc/group
# are undone at exit.
set -u
b=$top_builddir
send=$b/tests/tools/milter-send
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; [ -f "$tmp/log" ] && tail -5 "$tmp/log" | sed 's/^/#   /'; fi; }

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (service user, privilege checks)"; exit 0; }
# The host's service user is shared by tests/milter/systemd_unit.sh (which creates it when
# missing) and tests/integration/debian_package.sh (whose package creates it): under a parallel
# make check the two would see each other's user, so one of them at a time holds this lock.
exec 9> /tmp/autosmime-test-service-user.lock
flock -w 900 9 || { echo "1..1"; echo "not ok 1 - the service user lock was not free within 900 s"; exit 1; }
for c in systemd-analyze setpriv perl openssl useradd gpasswd; do
	command -v "$c" >/dev/null || { echo "1..0 # SKIP $c is not installed"; exit 0; }
done
[ -x "$send" ] || { echo "1..1"; echo "not ok 1 - $send is not built"; exit 1; }

tmp=$(mktemp -d /tmp/autosmime-unit.XXXXXX) || exit 1
chmod 0755 "$tmp"
pid= listener= made_user= added_postfix=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$listener" ] && kill "$listener" 2>/dev/null && wait "$listener" 2>/dev/null
	sh "$top_srcdir/tests/tools/store-ipc-clean.sh" "$tmp/store" 2>/dev/null
	[ -n "$added_postfix" ] && gpasswd -d postfix "$svc_group" >/dev/null 2>&1
	[ -n "$made_user" ] && userdel "$made_user" >/dev/null 2>&1
	[ -n "$made_user" ] && groupdel "$made_user" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- the unit as installed
make -s -C "$b" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1
check "make install DESTDIR= succeeds" '[ $? = 0 ] || { tail -5 "$tmp/install.log"; false; }'
unit=$(find "$tmp/root" -name autosmime-milter.service -path '*/systemd/system/*' | head -n 1)
check "make install installs the unit into a systemd unit directory" '[ -f "$unit" ]'
[ -f "$unit" ] || { echo "1..$n"; exit 1; }
key() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
exec_start=$(key ExecStart)
prog=${exec_start%% *}
check "ExecStart names the installed daemon ($prog)" '[ -x "$tmp/root$prog" ]'
check "ExecStartPre checks the configuration with the same program" \
	'[ "$(key ExecStartPre)" = "$prog -n -c $(key ExecStart | sed "s/.* -c //")" ]'
check "the man pages and the example configuration are installed" \
	'[ -n "$(find "$tmp/root" -name autosmime-milter.8)" ] && [ -n "$(find "$tmp/root" -name autosmime.conf.5)" ] &&
	 [ -n "$(find "$tmp/root" -path "*/autosmime/autosmime.conf.example")" ]'
check "Type=notify, with User= and Group=" \
	'[ "$(key Type)" = notify ] && [ -n "$(key User)" ] && [ -n "$(key Group)" ]'
# verify wants the programs where the unit names them: a copy pointing into the staging root
mkdir -p "$tmp/verify.d"
sed "s|=$prog |=$tmp/root$prog |" "$unit" > "$tmp/verify.d/autosmime-milter.service"
systemd-analyze verify --man=no "$tmp/verify.d/autosmime-milter.service" >"$tmp/verify" 2>&1
check "systemd-analyze verify finds nothing to say" '[ ! -s "$tmp/verify" ] || { sed "s/^/#   /" "$tmp/verify"; false; }'
exposure=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "# systemd-analyze security --offline: exposure $exposure"
check "exposure ($exposure) is 2.0 or lower" '[ -n "$exposure" ] && awk -v e="$exposure" "BEGIN { exit !(e <= 2.0) }"'

# --- the service user, as the package creates it
svc_user=$(key User)
svc_group=$(key Group)
if ! id "$svc_user" >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$svc_user" && made_user=$svc_user
fi
check "the service user $svc_user exists" 'id "$svc_user" >/dev/null 2>&1'
if id postfix >/dev/null 2>&1 && ! id -nG postfix | tr ' ' '\n' | grep -qx "$svc_group"; then
	gpasswd -a postfix "$svc_group" >/dev/null && added_postfix=1
fi

# --- a store and configuration for the daemon, owned by the service user
mkdir -p "$tmp/store"
"$b/tests/milter/fixture" "$tmp/store" alice@example.org >/dev/null ||
	{ echo "1..$((n + 1))"; echo "not ok $((n + 1)) - fixture"; exit 1; }
conf=$tmp/store/autosmime.conf
run=$tmp/run    # stands for RuntimeDirectory=, with the unit's owner and mode
mkdir -p "$run"
chown "$svc_user:$svc_group" "$run"
chmod "$(key RuntimeDirectoryMode)" "$run"
sed -i "s|^socket .*|socket unix:$run/milter.sock|; s|^pid_file .*|pid_file $run/milter.pid|" "$conf"
chmod 0755 "$tmp/store"
chown -R "$svc_user:$svc_group" "$tmp/store"
sock=$run/milter.sock

# The notification listener: each datagram systemd would get goes into $tmp/notify.log.
notify=$tmp/notify.sock
perl -MIO::Socket::UNIX -MSocket -e '
	my ($path, $log) = @ARGV;
	my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path) or die "bind: $!";
	chmod 0777, $path;
	$SIG{ALRM} = sub { exit 0 }; alarm 300;
	open(my $out, ">>", $log) or die; select($out); $| = 1;
	while (defined $s->recv(my $d, 4096)) { $d =~ s/\n/ /g; print "$d\n"; }' "$notify" "$tmp/notify.log" &
listener=$!
for i in $(seq 50); do [ -S "$notify" ] && break; sleep 0.1; done

# The unit's command line: the staged program, our configuration in place of /etc's.
args=$(printf '%s\n' "$exec_start" | sed "s|^$prog ||; s| -c [^ ]*| -c $conf|")
as_unit() { # the unit's identity: User=, Group= with its supplementary groups, no new privileges
	setpriv --reuid="$svc_user" --regid="$svc_group" --init-groups --no-new-privs \
		env -u JOURNAL_STREAM NOTIFY_SOCKET="$notify" "$@"
}
notified() { grep -c "$1" "$tmp/notify.log" 2>/dev/null || true; }
wait_notified() { # PATTERN COUNT: up to 20 s
	for i in $(seq 200); do [ "$(notified "$1")" -ge "$2" ] && return 0; sleep 0.1; done
	return 1
}
start() { # exec, so that $pid is the daemon itself, as systemd's MAINPID is
	# shellcheck disable=SC2086
	( exec setpriv --reuid="$svc_user" --regid="$svc_group" --init-groups --no-new-privs \
		env -u JOURNAL_STREAM NOTIFY_SOCKET="$notify" "$tmp/root$prog" $args ) 2>>"$tmp/log" &
	pid=$!
}
reap() { # wait up to 20 s for the daemon to end, then SIGKILL it; its status in rc
	for i in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && { echo "# pid $pid did not stop: SIGKILL"; kill -9 "$pid"; }
	wait "$pid"; rc=$?; pid=
}
stop() { kill -TERM "$pid"; reap; return $rc; }

# shellcheck disable=SC2086
check "ExecStartPre (-n) passes as the service user" \
	'as_unit "$tmp/root$prog" -n -c "$conf" >/dev/null 2>>"$tmp/log"'
start
check "the daemon tells the manager READY=1 once it serves" 'wait_notified READY=1 1'
check "with STATUS=serving" 'grep -q "READY=1 STATUS=serving" "$tmp/notify.log"'
check "it runs as $svc_user" '[ "$(ps -o user= -p "$pid")" = "$svc_user" ]'
check "the socket belongs to $svc_user:$svc_group with mode 0660" \
	'[ "$(stat -c "%U:%G %a" "$sock")" = "$svc_user:$svc_group 660" ]'
if id postfix >/dev/null 2>&1; then
	check "the postfix user, in group $svc_group, reaches the socket" \
		'runuser -u postfix -- perl -MIO::Socket::UNIX -e "IO::Socket::UNIX->new(Peer => \$ARGV[0]) or exit 1" "$sock"'
fi
printf 'From: Alice <alice@example.org>\r\nTo: <x@elsewhere.example>\r\nSubject: unit\r\n\r\nsigned under the unit\r\n' > "$tmp/msg.eml"
"$send" -S "unix:$sock" -f alice@example.org -c 192.0.2.10 -a alice -r x@elsewhere.example \
	-o "$tmp/out.eml" "$tmp/msg.eml" 2>"$tmp/c1"
check "mail is signed through the unit's daemon and verifies" \
	'openssl cms -verify -in "$tmp/out.eml" -CAfile "$tmp/store/root.pem" -purpose any -out /dev/null 2>/dev/null'
kill -HUP "$pid"
check "SIGHUP (ExecReload): RELOADING=1, then READY=1 again" \
	'wait_notified RELOADING=1 1 && wait_notified READY=1 2 && grep -q "RELOADING=1 MONOTONIC_USEC=[0-9]" "$tmp/notify.log"'
stop
check "SIGTERM: STOPPING=1 and exit status 0" '[ $rc = 0 ] && [ "$(notified STOPPING=1)" -ge 1 ]'
check "after the stop neither socket nor pid file is left" '[ ! -e "$sock" ] && [ ! -e "$run/milter.pid" ]'

# A stale socket (a daemon killed with SIGKILL leaves it) does not stop the next start.
start
wait_notified READY=1 3
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=
check "SIGKILL leaves the socket behind" '[ -S "$sock" ]'
start
check "the next start takes over the stale socket and is ready" 'wait_notified READY=1 4 && [ -S "$sock" ]'
stop

# A start that fails: the store belongs to someone else.
chown -R root:root "$tmp/store/store" 2>/dev/null || chown root:root "$tmp/store"
start
reap
check "a start that cannot open the store fails (status $rc)" '[ $rc != 0 ]'
check "and says so without READY=1" '[ "$(notified READY=1)" = 4 ] && grep -q "event=start status=failed" "$tmp/log"'
check "it leaves no socket and no pid file" '[ ! -e "$sock" ] && [ ! -e "$run/milter.pid" ]'

# --- the CLI's timers and their services
for name in autosmime-crl autosmime-audit-checkpoint; do
	svc=$(find "$tmp/root" -name "$name.service" -path '*/systemd/system/*' | head -n 1)
	tmr=$(find "$tmp/root" -name "$name.timer" -path '*/systemd/system/*' | head -n 1)
	check "$name.service and $name.timer are installed" '[ -f "$svc" ] && [ -f "$tmr" ]'
	[ -f "$svc" ] && [ -f "$tmr" ] || continue
	uval() { sed -n "s/^$1=//p" "$2" | tail -n 1; }
	cmd=$(uval ExecStart "$svc")
	cprog=${cmd%% *}
	check "$name.service runs the installed $(basename "$cprog") as $svc_user, oneshot" \
		'[ -x "$tmp/root$cprog" ] && [ "$(uval User "$svc")" = "$svc_user" ] && [ "$(uval Type "$svc")" = oneshot ]'
	check "$name.timer is persistent and wanted by timers.target" \
		'[ "$(uval Persistent "$tmr")" = true ] && [ "$(uval WantedBy "$tmr")" = timers.target ] && [ -n "$(uval OnCalendar "$tmr")" ]'
	rm -rf "$tmp/verify.d"; mkdir -p "$tmp/verify.d"
	sed "s|=$cprog |=$tmp/root$cprog |" "$svc" > "$tmp/verify.d/$name.service"
	cp "$tmr" "$tmp/verify.d/$name.timer"
	systemd-analyze verify --man=no "$tmp/verify.d/$name.timer" "$tmp/verify.d/$name.service" >"$tmp/verify" 2>&1
	check "systemd-analyze verify finds nothing to say about $name" \
		'[ ! -s "$tmp/verify" ] || { sed "s/^/#   /" "$tmp/verify"; false; }'
	exposure=$(systemd-analyze security --offline=yes "$svc" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	echo "# $name.service exposure $exposure"
	check "$name.service exposure ($exposure) is 2.0 or lower" \
		'[ -n "$exposure" ] && awk -v e="$exposure" "BEGIN { exit !(e <= 2.0) }"'
done
# Their commands, on the test store: the configuration and the checkpoint directory are ours.
chown -R "$svc_user:$svc_group" "$tmp/store"
crl_cmd=$(sed -n 's/^ExecStart=//p' "$(find "$tmp/root" -name autosmime-crl.service -path '*/systemd/system/*' | head -n 1)" | sed "s| -c [^ ]*| -c $conf|")
rm -f "$tmp/store/"*.crl
read -r -a crl_argv <<< "$tmp/root$crl_cmd"
as_unit "${crl_argv[@]}" > "$tmp/crl.out" 2>>"$tmp/log"
check "the CRL service's command signs the due CRL as $svc_user ($(cat "$tmp/crl.out"))" \
	'grep -q "^ca_id=[0-9a-f]* number=[0-9]* entries=0 file=" "$tmp/crl.out" && openssl crl -in "$(sed -n "s/.* file=//p" "$tmp/crl.out" | head -n 1)" -noout 2>/dev/null'
as_unit "${crl_argv[@]}" > "$tmp/crl2.out" 2>>"$tmp/log"
check "run again within the hour it signs nothing" '[ $? = 0 ] && [ ! -s "$tmp/crl2.out" ]'
cp_cmd=$(sed -n 's/^ExecStart=//p' "$(find "$tmp/root" -name autosmime-audit-checkpoint.service -path '*/systemd/system/*' | head -n 1)" |
	sed "s| -c [^ ]*| -c $conf|; s|--out-dir [^ ]*|--out-dir $tmp/store/checkpoints|")
read -r -a cp_argv <<< "$tmp/root$cp_cmd"
as_unit "${cp_argv[@]}" > "$tmp/cp.out" 2>>"$tmp/log"
cpf=$(sed -n 's/.* out=//p' "$tmp/cp.out")
check "the checkpoint service's command writes a checkpoint file as $svc_user" \
	'[ -f "$cpf" ] && [ "$(stat -c %U "$cpf")" = "$svc_user" ]'
check "and it verifies against the log with the pinned signer" \
	'as_unit "${cp_argv[0]}" -c "$conf" audit verify --checkpoint "$cpf" --signer "$tmp/store/store/ca/audit-checkpoint.pem" 2>>"$tmp/log" | grep -q "^audit=ok .*checkpoint=ok"'
echo "1..$n"
