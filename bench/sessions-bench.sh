#!/bin/bash
# sessions-bench: concurrent SMTP sessions through the private Postfix (tests/harness, chroot
# off) with autosmime-milter attached: smtp-source -s S sends M 2 KB messages from an enrolled
# P-256 sender, Postfix relays them to a discarding smtp-sink. Postfix's limits are raised for
# the run (process limit above S, no per-client limits, no inflow delay). The daemon starts with
# a soft descriptor limit of 1024 (MILTER_NOFILE; what systemd gives a service), as in
# production. Per S: msg/s (until all M delivered), smtp-source errors, messages Postfix
# deferred or bounced for the milter, event=sign lines, and the daemon's peak threads, open
# descriptors and RSS (sampled every 0.2 s).
# msg/s is bounded by the pauses (sessions / second at most): the figures that matter are the
# errors and the daemon's resources at that concurrency.
#   usage: bench/sessions-bench.sh [BUILD_DIR] ["SESSIONS..."] [MESSAGES_PER_SESSION]
#          default sessions "10 100 1000", 3 messages per session
# Owns its scratch directory and every process it starts (harness clean-up on every exit).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=$(cd "${1:-${top_builddir:-$top/_build}}" && pwd) || exit 1
SESSIONS=${2:-10 100 1000}
PER=${3:-3}
MILTER_NOFILE=${MILTER_NOFILE:-1024}
export top_builddir=$build MS_BUILDDIR=$build
. "$top/tests/harness/postfix.sh"
. "$top/tests/harness/milter.sh"
. "$here/lib.sh"

die() { echo "sessions-bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (private Postfix, milter privilege drop)"
for c in postfix smtp-source smtp-sink prlimit; do
	command -v "$c" >/dev/null 2>&1 || die "$c is not installed"
done
[ -x "$MS_MILTER" ] && [ -x "$MS_CTL" ] || die "build first ($MS_MILTER, $MS_CTL)"
max=0; for s in $SESSIONS; do [ "$s" -gt "$max" ] && max=$s; done
# smtp-source and smtp-sink hold a descriptor per session
[ "$(ulimit -Hn)" -gt $((max * 2 + 100)) ] && ulimit -Sn $((max * 2 + 100))

h_init sessions-bench
bench_env
RCPT=rcpt@remote.test
FROM=p256@local.test

pf_init || die "postfix init"
pf_conf "default_process_limit = $((max + 100))" "smtpd_client_connection_count_limit = 0" \
	"smtpd_client_connection_rate_limit = 0" "smtpd_client_message_rate_limit = 0" \
	"in_flow_delay = 0" "default_destination_concurrency_limit = 100" \
	"smtpd_timeout = 120s" "milter_connect_timeout = 60s" || die "pf_conf"
pf_start || die "postfix did not start"
# a discarding sink with room for the relay's connections
h_kill_pid "$PF_SINK_PID"; wait "$PF_SINK_PID" 2>/dev/null
( cd "$PF_SINK" && exec smtp-sink -u nobody -h sink.test "127.0.0.1:$PF_SINK_PORT" 1024 ) \
	>> "$PF_DIR/log/smtp-sink.log" 2>&1 &
PF_SINK_PID=$!
h_wait 5 h_port_listening "$PF_SINK_PORT" || die "smtp-sink did not start"

ms_init unix || die "milter init"
ms_conf_set log_level info
ms_ca_init >/dev/null 2>&1 || die "autosmimectl ca init failed"
ms_ctl issue "$FROM" --key-type ec-p256 >/dev/null || die "issue $FROM"
# the unauthenticated loopback client may be signed as $FROM
printf '127.0.0.1/32 %s\n' "$FROM" > "$MS_DIR/netsenders" && chown "$MS_USER:" "$MS_DIR/netsenders"
ms_conf_set network_sender_map_file "$MS_DIR/netsenders"
MS_WRAPPER="prlimit --nofile=$MILTER_NOFILE:$(ulimit -Hn) --"
ms_start || die "autosmime-milter did not start"
pf_milter "$MS_PF_SOCKET" || die "cannot attach the milter"

log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }
count_since() { tail -c "+$(( $2 + 1 ))" "$1" 2>/dev/null | grep -c -e "$3"; }
now() { date +%s.%N; }

# peak threads, descriptors and RSS (KB) of the daemon while $1 (a pid) runs -> $samples
sample() {
	local p=$1 pid=$2 th=0 fd=0 rss=0 t f r
	while kill -0 "$p" 2>/dev/null; do
		t=$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
		r=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
		f=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
		[ "${t:-0}" -gt "$th" ] && th=$t
		[ "${f:-0}" -gt "$fd" ] && fd=$f
		[ "${r:-0}" -gt "$rss" ] && rss=$r
		sleep 0.2
	done
	echo "$th $fd $rss" > "$H_TMP/samples"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); milter soft descriptor limit $MILTER_NOFILE"
printf '%8s %6s %9s %7s %9s %6s %7s %8s %8s %9s\n' sessions msgs msg/s src_err deferred signed \
	threads fds rss_MB delivered
fails=0
for s in $SESSIONS; do
	m=$((s * PER))
	mpid=$(ms_pid)
	[ -n "$mpid" ] || die "the daemon is gone; see $MS_LOG"
	l0=$(log_size "$PF_LOG"); s0=$(log_size "$MS_LOG")
	: > "$H_TMP/src.err"
	t0=$(now)
	# -d -w 1: each session stays open and sends its messages a second apart, so that s
	# sessions (and s milter connections) are open at once
	timeout $((PER * 2 + m / 20 + 120)) smtp-source -d -w 1 -s "$s" -m "$m" -l 2048 -f "$FROM" -t "$RCPT" \
		"127.0.0.1:$PF_SMTP_PORT" > /dev/null 2> "$H_TMP/src.err" &
	src=$!
	sample "$src" "$mpid" &
	smp=$!
	wait "$src"; src_rc=$?
	h_wait $((m / 5 + 60)) eval '[ "$(count_since "$PF_LOG" '"$l0"' " status=sent ")" -ge '"$m"' ]'
	t1=$(now)
	wait "$smp"
	read -r th fd rss < "$H_TMP/samples"
	sent=$(count_since "$PF_LOG" "$l0" " status=sent ")
	deferred=$(count_since "$PF_LOG" "$l0" "milter-reject\|4\.7\.1\|status=deferred\|status=bounced")
	signed=$(count_since "$MS_LOG" "$s0" "event=sign ")
	errs=$(grep -c . "$H_TMP/src.err"); [ "$src_rc" = 0 ] || errs=$((errs + 1))
	rate=$(awk -v n="$sent" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
	printf '%8s %6s %9s %7s %9s %6s %7s %8s %8s %9s\n' "$s" "$m" "$rate" "$errs" "$deferred" \
		"$signed" "$th" "$fd" "$((rss / 1024))" "$sent"
	if [ "$errs" -gt 0 ] || [ "$deferred" -gt 0 ] || [ "$signed" -ne "$m" ] || [ "$sent" -ne "$m" ]; then
		fails=$((fails + 1))
		head -n 3 "$H_TMP/src.err" | sed 's/^/  smtp-source: /'
		tail -c "+$(( l0 + 1 ))" "$PF_LOG" | grep -i 'milter\|warning\|status=deferred\|status=bounced' |
			sed 's/^.*\]: [0-9A-F]*:* *//; s/[0-9]\{2,\}/N/g' | sort | uniq -c | sort -rn | head -n 4 |
			sed 's/^/  postfix: /'
		tail -c "+$(( s0 + 1 ))" "$MS_LOG" | grep -v 'event=sign ' | tail -n 3 | sed 's/^/  milter: /'
	fi
	c="2KB-s$s"
	bench_record sessions "$c" rate "$rate" msg/s
	bench_record sessions "$c" errors "$((errs + deferred))" count
	bench_record sessions "$c" milter-threads "$th" count
	bench_record sessions "$c" milter-fds "$fd" count
	bench_record sessions "$c" milter-rss "$rss" KB
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $((fails > 0))
