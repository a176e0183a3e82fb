#!/bin/sh
# run-all: every autosmime benchmark in one go (what `make bench` runs). Prints one table per
# benchmark, appends every figure to bench/results.tsv (bench/lib.sh: date, host, CPU model,
# OpenSSL and Postfix versions, benchmark, case, metric, value, unit), then the performance
# targets of issue 7 with the measured value, its ratio to the target, and PASS or MISS.
#   usage: bench/run-all.sh [BUILD_DIR]
#   environment: ENGINE_SECONDS (CPU s per engine case, 1.5), MILTER_MESSAGES (2000),
#     E2E_MESSAGES (2000), ENROL_P256 (200) ENROL_RSA (40), ROUNDS (e2e repeats, best kept; 1),
#     SOCK_ROUNDS (ABBA rounds of the e2e inet/unix comparison; 3),
#     SKIP (words among: engine milter e2e enrol), BENCH_RESULTS (results file)
# Owns a scratch file for this run's figures; each benchmark owns and cleans up its own.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=$(cd "${1:-${top_builddir:-$here/../_build}}" && pwd) || exit 1
SKIP=${SKIP:-}
bench_env
BENCH_RUN_TSV=$(mktemp /tmp/autosmime-bench-run.XXXXXX)
export BENCH_RUN_TSV
trap 'rm -f "$BENCH_RUN_TSV" "$BENCH_RUN_TSV.c"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

skipped() { case " $SKIP " in *" $1 "*) return 0 ;; esac; return 1; }
section() { printf '\n==== %s\n' "$*"; }
status=0

echo "autosmime benchmarks on $BENCH_HOST: $BENCH_CPU, OpenSSL $BENCH_OPENSSL, Postfix $BENCH_POSTFIX"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
bench_record env load-average-1min value "$(cut -d' ' -f1 /proc/loadavg)" load

# The C benchmarks: built by bench/Makefile (EXTRA_PROGRAMS) when it knows them.
for p in bench_engine enrol_bench; do
	[ -x "$build/bench/$p" ] || make -C "$build/bench" "$p" >/dev/null 2>&1 ||
		echo "run-all: cannot build $build/bench/$p" >&2
done

if ! skipped engine; then
	section "S/MIME engine (in process, CPU time)"
	: > "$BENCH_RUN_TSV.c"
	if "$build/bench/bench_engine" -t "${ENGINE_SECONDS:-1.5}" -o "$BENCH_RUN_TSV.c"; then :; else status=1; fi
	bench_import "$BENCH_RUN_TSV.c"
fi
if ! skipped milter; then
	section "milter protocol, no MTA (milter-send)"
	sh "$here/milter-bench.sh" "$build" "${MILTER_MESSAGES:-2000}" || status=1
fi
if ! skipped e2e; then
	section "end to end through Postfix (smtp-source -> Postfix -> smtp-sink)"
	if [ "$(id -u)" = 0 ]; then
		bash "$here/e2e-bench.sh" "$build" "${E2E_MESSAGES:-2000}" || status=1
	else
		echo "skipped: needs root (private Postfix instance)"
	fi
fi
if ! skipped enrol; then
	section "enrolment latency"
	: > "$BENCH_RUN_TSV.c"
	if "$build/bench/enrol_bench" -n "${ENROL_P256:-200}" -r "${ENROL_RSA:-40}" -o "$BENCH_RUN_TSV.c"; then :; else status=1; fi
	bench_import "$BENCH_RUN_TSV.c"
fi

# ------------------------------------------------------------------ targets (issue 7)
get() { awk -F'\t' -v b="$1" -v c="$2" -v m="$3" '$1 == b && $2 == c && $3 == m { v = $4 } END { print v }' "$BENCH_RUN_TSV"; }
# target DESCRIPTION VALUE OP LIMIT UNIT: ">=" higher is better, "<=" lower is better
target() {
	if [ -z "$2" ]; then
		printf '%-58s %12s %10s %7s  %s\n' "$1" "n/a" "$4 $3" "-" "NOT MEASURED"
		return
	fi
	awk -v d="$1" -v v="$2" -v op="$3" -v t="$4" -v u="$5" 'BEGIN {
		ok = (op == ">=") ? (v >= t) : (v <= t)
		r = (op == ">=") ? v / t : (v > 0 ? t / v : 0)
		printf "%-58s %12s %10s %6.2fx  %s\n", d, v " " u, op " " t, r, ok ? "PASS" : "MISS"
	}'
}
section "targets (issue 7, 2-core machine); ratio: measured/target, >= 1 is good"
printf '%-58s %12s %10s %7s  %s\n' target measured limit ratio verdict
target "e2e 10 sess 2KB: P-256 msg/s vs OpenDKIM (x)" "$(get e2e p256/opendkim-2KB-s10 ratio)" ">=" 1.2 x
target "e2e 10 sess 2KB: RSA-2048 msg/s vs OpenDKIM (x)" "$(get e2e rsa2048/opendkim-2KB-s10 ratio)" ">=" 1.0 x
target "e2e 10 sess 2KB: milter CPU, P-256 (ms/msg)" "$(get e2e autosmime-p256-2KB-s10 milter-cpu)" "<=" 0.5 ms
target "e2e 10 sess 2KB: milter CPU, RSA-2048 (ms/msg)" "$(get e2e autosmime-rsa2048-2KB-s10 milter-cpu)" "<=" 0.5 ms
target "e2e 10 sess 2KB: inet vs unix socket msg/s (x)" "$(get e2e inet/unix-p256-2KB-s10 ratio)" ">=" 0.9 x
target "e2e  1 sess 2KB: inet vs unix socket msg/s (x)" "$(get e2e inet/unix-p256-2KB-s1 ratio)" ">=" 0.9 x
mu=$(get milter unix-sign-p256-2KB-c10 rate); mi=$(get milter inet-sign-p256-2KB-c10 rate)
[ -n "$mu" ] && [ -n "$mi" ] && mr=$(awk -v a="$mi" -v b="$mu" 'BEGIN { printf "%.2f", a / b }') || mr=""
target "milter-send 10 conn: inet vs unix socket msg/s (x)" "$mr" ">=" 0.9 x
target "milter-send 10 conn: milter CPU, P-256 unix (ms/msg)" "$(get milter unix-sign-p256-2KB-c10 milter-cpu)" "<=" 0.5 ms
target "engine: 2 KB P-256 signing (msg/s per core)" "$(get engine sign-p256-2KB rate)" ">=" 10000 msg/s
target "engine: 10 MB signing, P-256 (MB/s)" "$(get engine sign-p256-10MB throughput)" ">=" 300 MB/s
target "engine: 10 MB signing, RSA-2048 (MB/s)" "$(get engine sign-rsa2048-10MB throughput)" ">=" 300 MB/s
target "engine: RSS growth, 100 MB message signed (KB)" "$(get engine sign-p256-100MB rss-growth)" "<=" 32768 KB
target "engine: RSS growth, 100 MB signed+encrypted (KB)" "$(get engine sign+encrypt-p256-100MB rss-growth)" "<=" 32768 KB
target "enrolment P-256: reply->certificate p50 (ms)" "$(get enrol enrol-reply-p256 p50)" "<=" 50 ms
target "enrolment P-256: reply->certificate p99 (ms)" "$(get enrol enrol-reply-p256 p99)" "<=" 50 ms
target "enrolment RSA-2048: no stall, p50 (ms; as P-256)" "$(get enrol enrol-reply-rsa2048 p50)" "<=" 50 ms
echo
echo "limits beside them: OpenSSL P-256 sign $(get engine openssl-sign-p256 rate) sig/s," \
    "RSA-2048 $(get engine openssl-sign-rsa2048 rate) sig/s, SHA-256 $(get engine openssl-sha256 rate) MB/s"
echo "every figure: $BENCH_RESULTS"
exit $status
