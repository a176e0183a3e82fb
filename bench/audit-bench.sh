#!/bin/sh
# audit-bench: how checking and reading the audit log grow with it. Grows one store's log step
# by step (store_fill -a: durable ca_audit appends, the daemon's group commit) and at each size
# takes a checkpoint, appends 1,000 more records (a day's mail at a small site), then times
# `audit verify` (the whole chain), `audit verify --checkpoint --incremental` (what came after
# the checkpoint) and `audit export --since` (the last 1,000 records). Each figure is printed
# beside the smallest size's, so the ratio shows the growth. Records every figure (lib.sh).
#   usage: bench/audit-bench.sh [BUILD_DIR] [SIZES]
#   SIZES default "10000 100000"; "10000 1000000 10000000" is the large case (the fill runs
#   at about 10,000 records/s on 2 cores: 10^7 takes some 20 minutes).
# Owns a scratch directory (mktemp); it goes on every exit path.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:-${top_builddir:-$here/../_build}}
build=$(cd "$build" && pwd)
sizes=${2:-10000 100000}
ctl="$build/cli/autosmimectl"
fill="$build/bench/store_fill"
[ -x "$ctl" ] || { echo "audit-bench: build first ($ctl missing)" >&2; exit 1; }
[ -x "$fill" ] || make -C "$build/bench" store_fill >/dev/null

bench_scratch autosmime-audit
bench_ca_dir "$tmp"
bench_ca_conf "$tmp" "unix:$tmp/milter.sock"
C() { "$ctl" -c "$tmp/autosmime.conf" "$@"; }
C ca init --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" >/dev/null
ms_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
timed() { # NAME COMMAND...: the command's wall time in ms into $NAME; it must succeed
	name=$1; shift
	t0=$(date +%s.%N)
	"$@" > "$tmp/out" 2>&1 || { echo "audit-bench: $* failed: $(tail -n 2 "$tmp/out")" >&2; exit 1; }
	eval "$name=\$(ms_since \$t0)"
}

printf '%10s %10s %9s %10s %15s %10s\n' records fill/s log_MB verify_ms incremental_ms export_ms
have=0
first=""
for size in $sizes; do
	[ "$size" -gt "$have" ] || { echo "audit-bench: sizes must grow ($size after $have)" >&2; exit 2; }
	line=$("$fill" -c "$tmp/autosmime.conf" -a $((size - have - 1000 > 0 ? size - have - 1000 : 0)) -j 16)
	rate=$(echo "$line" | sed -n 's/.*rate=\([0-9.]*\).*/\1/p')
	C audit checkpoint --out "$tmp/cp.pem" > /dev/null
	since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	sleep 1
	"$fill" -c "$tmp/autosmime.conf" -a 1000 -j 16 > /dev/null
	have=$(C audit verify | sed -n 's/^audit=ok records=//p')
	log_mb=$(stat -c %s "$tmp/store/audit.db" | awk '{ printf "%.1f", $1 / 1048576 }')
	timed verify_ms C audit verify
	timed inc_ms C audit verify --checkpoint "$tmp/cp.pem" --incremental
	grep -q 'verified=since-checkpoint' "$tmp/out" || { echo "audit-bench: incremental verify did not say so" >&2; exit 1; }
	timed export_ms C audit export --format csv --since "$since"
	rows=$(wc -l < "$tmp/out")
	[ "$rows" -ge 1000 ] || { echo "audit-bench: export --since gave $rows rows" >&2; exit 1; }
	printf '%10s %10s %9s %10s %15s %10s\n' "$have" "$rate" "$log_mb" "$verify_ms" "$inc_ms" "$export_ms"
	[ -n "$first" ] || first="$verify_ms $inc_ms $export_ms"
	for m in "fill-rate $rate records/s" "log-size $log_mb MB" "verify $verify_ms ms" \
	    "verify-incremental $inc_ms ms" "export-since $export_ms ms"; do
		# shellcheck disable=SC2086
		set -- $m
		bench_record audit "records-$size" "$1" "$2" "$3"
	done
done
set -- $first
echo "(smallest size: verify $1 ms, incremental $2 ms, export --since $3 ms)"
