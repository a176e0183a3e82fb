#!/bin/sh
# scale-bench: how the CA's costs grow with the store. Grows one store step by step
# (store_fill: real issuance through ca_issue, 5% revoked) and at each size measures: the issuance rate of the
# step, store size on disk, `autosmimectl list --expiring 30` and `crl` (time, CRL size), the
# daemon's start time (until it answers a message) and RSS, and milter CPU per signed 2 KB
# message (milter-send, 1 connection). Each figure is printed beside the smallest size's, so
# the ratio shows the growth. Records every figure (bench/lib.sh).
#   usage: bench/scale-bench.sh [BUILD_DIR] [SIZES] [MESSAGES]
#   SIZES default "1000 10000"; e.g. "1000 100000 1000000". Each step is filled fast
#   (store_fill -F: non-durable commits, one checkpoint; about 1,300/s on 2 cores, so 10^6
#   takes about 12 minutes) except its last REAL_ISSUES (200) certificates, issued with
#   durable commits as the daemon does: the issuance rate printed is theirs.
# Owns a scratch directory (mktemp) and the daemon it starts; both go on every exit path.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:-${top_builddir:-$here/../_build}}
build=$(cd "$build" && pwd)
sizes=${2:-1000 10000}
messages=${3:-1000}
real=${REAL_ISSUES:-200}
milter="$build/milter/autosmime-milter"
ctl="$build/cli/autosmimectl"
send="$build/tests/tools/milter-send"
fill="$build/bench/store_fill"
for f in "$milter" "$ctl"; do [ -x "$f" ] || { echo "scale-bench: build first ($f missing)" >&2; exit 1; }; done
[ -x "$send" ] || make -C "$build/tests/tools" milter-send >/dev/null
[ -x "$fill" ] || make -C "$build/bench" store_fill >/dev/null

bench_scratch autosmime-scale

bench_ca_dir "$tmp"
bench_ca_conf "$tmp" "unix:$tmp/milter.sock"
# A P-256 issuing CA: with the default P-384 one its arithmetic (sign + self-check, about
# 1.2 ms per certificate) would bound the fill, not the store. Messages are signed with the
# subscriber's P-256 key either way.
"$ctl" -c "$tmp/autosmime.conf" ca init --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" \
    --key-type ec-p256 >/dev/null
{
	printf 'From: fill0000000@bench.test\r\nTo: bob@remote.test\r\nSubject: scale\r\n'
	printf 'Date: Fri, 20 Nov 2026 12:00:00 +0000\r\nMessage-ID: <scale@bench.test>\r\n\r\n'
	i=0; while [ $i -lt 30 ]; do printf 'This line of the benchmark body is sixty-four characters long.\r\n'; i=$((i+1)); done
} > "$tmp/msg.eml"
hz=$(bench_hz)
ms_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

# Start the daemon and time it until a message to an enrolled sender comes back signed.
start_milter() {
	rm -f "$tmp/milter.sock"
	t0=$(date +%s.%N)
	"$milter" -f -c "$tmp/autosmime.conf" 2>>"$tmp/milter.log" &
	pid=$!
	i=0
	while [ $i -lt 600 ]; do
		if timeout 10 "$send" -S "unix:$tmp/milter.sock" -f fill0000000@bench.test \
		    -r bob@remote.test -a fill0000000@bench.test -o "$tmp/out.eml" "$tmp/msg.eml" \
		    >/dev/null 2>&1 && grep -q 'application/pkcs7-signature' "$tmp/out.eml"; then
			start_ms=$(ms_since "$t0")
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05; i=$((i+1))
	done
	echo "scale-bench: the milter did not start" >&2; tail -n 5 "$tmp/milter.log" >&2; exit 1
}
stop_milter() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

printf '%9s %10s %9s %11s %9s %9s %10s %9s %12s\n' certs issue/s store_MB expiring_ms crl_ms crl_KB start_ms rss_MB cpu_ms/msg
have=0
first=""
for size in $sizes; do
	[ "$size" -gt "$have" ] || { echo "scale-bench: sizes must grow ($size after $have)" >&2; exit 2; }
	# Fast fill (store_fill -F, non-durable commits, one checkpoint) up to the last $real,
	# which are issued the daemon's way (durable) and give the issuance rate at this size.
	nproc=$(getconf _NPROCESSORS_ONLN)
	mid=$((size - real)); [ "$mid" -ge "$have" ] || mid=$have
	if [ "$mid" -gt "$have" ]; then
		"$fill" -F -c "$tmp/autosmime.conf" -d bench.test -f "$have" -t "$mid" -j "$nproc" >"$tmp/fill.out"
		echo "scale-bench: fast fill to $mid: $(cat "$tmp/fill.out")" >&2
	fi
	line=$("$fill" -c "$tmp/autosmime.conf" -d bench.test -f "$mid" -t "$size" -j "$nproc")
	rate=$(echo "$line" | sed -n 's/.*rate=\([0-9.]*\).*/\1/p')
	have=$size
	store_mb=$(du -sk "$tmp/store" | awk '{ printf "%.1f", $1 / 1024 }')
	t0=$(date +%s.%N)
	"$ctl" -c "$tmp/autosmime.conf" list --expiring 30 >/dev/null
	exp_ms=$(ms_since "$t0")
	t0=$(date +%s.%N)
	"$ctl" -c "$tmp/autosmime.conf" crl >/dev/null
	crl_ms=$(ms_since "$t0")
	crl_kb=$(ls -S "$tmp/crl"/*.crl | head -n1 | xargs stat -c %s | awk '{ printf "%.1f", $1 / 1024 }')
	start_milter
	c0=$(bench_cpu_ticks "$pid")
	out=$(timeout 600 "$send" -S "unix:$tmp/milter.sock" -f fill0000000@bench.test -r bob@remote.test \
	    -a fill0000000@bench.test -n "$messages" -j 1 "$tmp/msg.eml") || out=failed
	case $out in *failures=0*) ;; *) echo "scale-bench: $size: $out" >&2; exit 1 ;; esac
	c1=$(bench_cpu_ticks "$pid")
	rss_mb=$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
	stop_milter
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v n="$messages" 'BEGIN { printf "%.3f", (b - a) * 1000 / hz / n }')
	printf '%9s %10s %9s %11s %9s %9s %10s %9s %12s\n' "$size" "$rate" "$store_mb" "$exp_ms" \
	    "$crl_ms" "$crl_kb" "$start_ms" "$rss_mb" "$cpu"
	[ -n "$first" ] || first="$rate $exp_ms $crl_ms $start_ms $cpu"
	for m in "issue-rate $rate cert/s" "store-size $store_mb MB" "list-expiring $exp_ms ms" \
	    "crl-time $crl_ms ms" "crl-size $crl_kb KB" "start $start_ms ms" "rss $rss_mb MB" \
	    "sign-cpu $cpu ms/msg"; do
		# shellcheck disable=SC2086
		set -- $m
		bench_record scale "certs-$size" "$1" "$2" "$3"
	done
done
set -- $first
echo "(smallest size: issue $1/s, list --expiring $2 ms, crl $3 ms, start $4 ms, sign $5 ms/msg)"
