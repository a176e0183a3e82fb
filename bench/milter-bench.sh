#!/bin/sh
# milter-bench: messages/s and milter CPU ms/message with no MTA: milter-send plays Postfix
# over a unix and an inet socket at 1 and 10 concurrent connections, for enrolled senders with
# ECDSA P-256 and RSA-2048 keys (signing) and for inbound mail that passes untouched. Before each
# timed run one message goes through and its result is checked (signed / untouched), so a
# milter that stopped signing cannot post a fast figure. Prints a table and records every figure
# (bench/lib.sh: bench/results.tsv, and $BENCH_RUN_TSV for run-all.sh).
#   usage: bench/milter-bench.sh [BUILD_DIR] [MESSAGES]     (root: the daemon's user is root here)
# Owns a scratch directory (mktemp) and the daemon it starts; both go on every exit path.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:-${top_builddir:-$here/../_build}}
build=$(cd "$build" && pwd)
messages=${2:-2000}
milter="$build/milter/autosmime-milter"
ctl="$build/cli/autosmimectl"
send="$build/tests/tools/milter-send"
for f in "$milter" "$ctl"; do [ -x "$f" ] || { echo "milter-bench: build first ($f missing)" >&2; exit 1; }; done
[ -x "$send" ] || make -C "$build/tests/tools" milter-send >/dev/null
RUN_TIMEOUT=${RUN_TIMEOUT:-300}   # seconds for one timed run

tmp=$(mktemp -d /tmp/autosmime-bench.XXXXXX)
pid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_ca_dir "$tmp"
port=$((20000 + $$ % 20000))
write_conf() { bench_ca_conf "$tmp" "$1"; }
write_conf "unix:$tmp/milter.sock"
"$ctl" -c "$tmp/autosmime.conf" ca init --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" >/dev/null
"$ctl" -c "$tmp/autosmime.conf" issue alice@bench.test --key-type ec-p256 >/dev/null
"$ctl" -c "$tmp/autosmime.conf" issue rob@bench.test --key-type rsa-2048 >/dev/null

# a 2 KB message: headers plus 30 lines of text
{
	printf 'From: SENDER\r\nTo: bob@remote.test\r\nSubject: benchmark message\r\n'
	printf 'Date: Fri, 20 Nov 2026 12:00:00 +0000\r\nMessage-ID: <bench@bench.test>\r\n\r\n'
	i=0; while [ $i -lt 30 ]; do printf 'This line of the benchmark body is sixty-four characters long.\r\n'; i=$((i+1)); done
} > "$tmp/msg.tmpl"

hz=$(bench_hz)

# The daemon answers on its socket once it is ready: probe with one (untimed) pass message.
start_milter() {
	write_conf "$1"
	rm -f "$tmp/milter.sock"
	"$milter" -f -c "$tmp/autosmime.conf" 2>>"$tmp/milter.log" &
	pid=$!
	i=0
	while [ $i -lt 100 ]; do
		if timeout 10 "$send" -S "$1" -f x@remote.test -r y@remote.test -c 192.0.2.7 -o /dev/null \
		    "$tmp/msg.tmpl" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1; i=$((i+1))
	done
	echo "milter-bench: the milter did not start on $1" >&2; tail -n 5 "$tmp/milter.log" >&2; exit 1
}
stop_milter() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

# one message through the milter; check the outcome the case expects (also warms the key cache)
check_case() { # $1 socket $2 case $3 auth
	set -- "$1" "$2" "${3:-}"
	if [ -n "$3" ]; then
		timeout 30 "$send" -S "$1" -f "$from" -r bob@remote.test -a "$3" -o "$tmp/out.eml" "$tmp/msg.eml" 2>/dev/null || return 1
		grep -q 'application/pkcs7-signature' "$tmp/out.eml"
	else
		timeout 30 "$send" -S "$1" -f "$from" -r bob@remote.test -c 192.0.2.7 -o "$tmp/out.eml" "$tmp/msg.eml" 2>/dev/null || return 1
		! grep -q 'pkcs7' "$tmp/out.eml"
	fi
}

field() { echo "$2" | sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

printf '%-6s %-14s %5s %7s %10s %9s %9s %12s\n' socket case conns msgs msgs/s p50_ms p99_ms cpu_ms/msg
for sock in "unix:$tmp/milter.sock" "inet:$port@127.0.0.1"; do
	kind=${sock%%:*}
	start_milter "$sock"
	for case in sign-p256 sign-rsa2048 pass; do
		case $case in
		sign-p256) from=alice@bench.test; auth=alice@bench.test ;;
		sign-rsa2048) from=rob@bench.test; auth=rob@bench.test ;;
		pass) from=carol@remote.test; auth="" ;;
		esac
		sed "s/SENDER/$from/" "$tmp/msg.tmpl" > "$tmp/msg.eml"
		if ! check_case "$sock" "$case" "$auth"; then
			echo "milter-bench: $kind $case: the probe message was not handled as expected" >&2
			tail -n 5 "$tmp/milter.log" >&2
			exit 1
		fi
		for conns in 1 10; do
			t0=$(bench_cpu_ticks "$pid")
			if [ -n "$auth" ]; then
				line=$(timeout "$RUN_TIMEOUT" "$send" -S "$sock" -f "$from" -r bob@remote.test -a "$auth" -n "$messages" -j "$conns" "$tmp/msg.eml") || line="failed"
			else
				line=$(timeout "$RUN_TIMEOUT" "$send" -S "$sock" -f "$from" -r bob@remote.test -c 192.0.2.7 -n "$messages" -j "$conns" "$tmp/msg.eml") || line="failed"
			fi
			t1=$(bench_cpu_ticks "$pid")
			case $line in
			*failures=0*) ;;
			*) echo "milter-bench: $kind $case $conns: $line" >&2; exit 1 ;;
			esac
			n=$(field messages "$line")
			rate=$(field msgs_per_s "$line")
			p50=$(field p50_ms "$line")
			p99=$(field p99_ms "$line")
			cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v n="$n" 'BEGIN { printf "%.3f", (b - a) * 1000 / hz / n }')
			printf '%-6s %-14s %5s %7s %10s %9s %9s %12s\n' "$kind" "$case" "$conns" "$n" "$rate" "$p50" "$p99" "$cpu"
			c="$kind-$case-2KB-c$conns"
			bench_record milter "$c" rate "$rate" msg/s
			bench_record milter "$c" p50 "$p50" ms
			bench_record milter "$c" p99 "$p99" ms
			bench_record milter "$c" milter-cpu "$cpu" ms/msg
		done
	done
	stop_milter
done
