#!/bin/sh
# rcpts-bench: how the daemon's cost per message grows with recipients. For RSA-2048 and EC
# P-256 encryption certificates (encryption_key_type), issues 100 local recipients into a
# fresh store, then milter-send (no MTA, 1 connection) sends a 2 KB message from an enrolled
# P-256 sender to 1, 10 and 100 of them. Per recipient the daemon looks the certificate up in
# the store, checks its chain against the CRL cache and whether it reads AES-256-GCM, and the
# engine adds one RecipientInfo. Prints milter CPU ms/msg, ms per recipient and the added cost
# of each recipient beyond the first; a probe per count must come back encrypted.
#   usage: bench/rcpts-bench.sh [BUILD_DIR] [MESSAGES]     (root: the daemon's user is root)
# Owns a scratch directory (mktemp) and the daemon it starts; both go on every exit path.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:-${top_builddir:-$here/../_build}}
build=$(cd "$build" && pwd)
messages=${2:-300}
milter="$build/milter/autosmime-milter"
ctl="$build/cli/autosmimectl"
send="$build/tests/tools/milter-send"
for f in "$milter" "$ctl"; do [ -x "$f" ] || { echo "rcpts-bench: build first ($f missing)" >&2; exit 1; }; done
[ -x "$send" ] || make -C "$build/tests/tools" milter-send >/dev/null
RUN_TIMEOUT=${RUN_TIMEOUT:-600}

bench_scratch autosmime-rcpts

{
	printf 'From: alice@bench.test\r\nTo: r0@bench.test\r\nSubject: benchmark message\r\n'
	printf 'Date: Fri, 20 Nov 2026 12:00:00 +0000\r\nMessage-ID: <bench@bench.test>\r\n\r\n'
	i=0; while [ $i -lt 30 ]; do printf 'This line of the benchmark body is sixty-four characters long.\r\n'; i=$((i+1)); done
} > "$tmp/msg.eml"
hz=$(bench_hz)
field() { echo "$2" | sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
rcpt_args() { i=0; while [ $i -lt "$1" ]; do printf -- '-r r%d@bench.test ' $i; i=$((i+1)); done; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %5s %7s %12s %10s %10s %9s\n' enc rcpts msgs cpu_ms/msg ms/rcpt added msgs/s
for enc in rsa-2048 ec-p256; do
	d="$tmp/$enc"
	mkdir "$d"
	bench_ca_dir "$d"
	bench_ca_conf "$d" "unix:$d/milter.sock"
	echo "encryption_key_type $enc" >> "$d/autosmime.conf"
	"$ctl" -c "$d/autosmime.conf" ca init --root-cert "$d/root.pem" --root-key "$d/root.key" >/dev/null
	"$ctl" -c "$d/autosmime.conf" issue alice@bench.test >/dev/null
	i=0
	while [ $i -lt 100 ]; do
		"$ctl" -c "$d/autosmime.conf" issue "r$i@bench.test" >/dev/null
		i=$((i+1))
	done
	"$milter" -f -c "$d/autosmime.conf" 2>>"$d/milter.log" &
	pid=$!
	i=0
	until timeout 10 "$send" -S "unix:$d/milter.sock" -f alice@bench.test -r r0@bench.test \
	    -a alice@bench.test -o /dev/null "$tmp/msg.eml" >/dev/null 2>&1; do
		i=$((i+1))
		[ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null || { echo "rcpts-bench: no daemon" >&2; exit 1; }
		sleep 0.1
	done
	first=""
	for n in 1 10 100; do
		# shellcheck disable=SC2046
		timeout 60 "$send" -S "unix:$d/milter.sock" -f alice@bench.test $(rcpt_args "$n") \
		    -a alice@bench.test -o "$tmp/out.eml" "$tmp/msg.eml" >/dev/null 2>&1 || :
		grep -q 'enveloped-data' "$tmp/out.eml" ||
			{ echo "rcpts-bench: $enc $n: the probe was not encrypted" >&2; tail -n 5 "$d/milter.log" >&2; exit 1; }
		t0=$(bench_cpu_ticks "$pid")
		# shellcheck disable=SC2046
		line=$(timeout "$RUN_TIMEOUT" "$send" -S "unix:$d/milter.sock" -f alice@bench.test \
		    $(rcpt_args "$n") -a alice@bench.test -n "$messages" -j 1 "$tmp/msg.eml") || line=failed
		t1=$(bench_cpu_ticks "$pid")
		case $line in *failures=0*) ;; *) echo "rcpts-bench: $enc $n: $line" >&2; exit 1 ;; esac
		rate=$(field msgs_per_s "$line")
		cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v m="$messages" 'BEGIN { printf "%.3f", (b - a) * 1000 / hz / m }')
		per=$(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.3f", c / (n + 1) }')
		[ -n "$first" ] || first=$cpu
		added=$(awk -v c="$cpu" -v f="$first" -v n="$n" 'BEGIN { if (n > 1) printf "%.3f", (c - f) / (n - 1); else print "-" }')
		printf '%-8s %5s %7s %12s %10s %10s %9s\n' "$enc" "$n" "$messages" "$cpu" "$per" "$added" "$rate"
		c="$enc-2KB-${n}rcpt"
		bench_record milter-rcpts "$c" milter-cpu "$cpu" ms/msg
		bench_record milter-rcpts "$c" milter-cpu-per-rcpt "$per" ms/rcpt
		[ "$n" -gt 1 ] && bench_record milter-rcpts "$c" milter-cpu-added-rcpt "$added" ms/rcpt
		bench_record milter-rcpts "$c" rate "$rate" msg/s
	done
	kill "$pid"; wait "$pid" 2>/dev/null || :; pid=""
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
