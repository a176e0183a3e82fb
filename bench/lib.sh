# bench/lib.sh: helpers shared by the benchmark scripts (POSIX sh, sourced).
#
# Owns the format of bench/results.tsv and of the per-run figure file that run-all.sh reads.
#   bench_env                      set BENCH_HOST BENCH_CPU BENCH_OPENSSL BENCH_POSTFIX
#   bench_record BENCH CASE METRIC VALUE UNIT
#                                  append one figure to $BENCH_RESULTS (default bench/results.tsv
#                                  in the source tree) and, when set, to $BENCH_RUN_TSV
#   bench_import FILE              bench_record every "BENCH CASE METRIC VALUE UNIT" line of FILE
#                                  (what the C benchmarks write with -o)
#   bench_cpu_ticks PID...         utime+stime+cutime+cstime of these processes, in clock ticks
#   bench_hz                       clock ticks per second
#   bench_ca_dir DIR               secrets (kek, ca.pass, 0600) and store/crl/spool dirs in DIR
#   bench_ca_conf DIR SOCKET       DIR/autosmime.conf for a daemon on SOCKET over DIR's store
#   bench_scratch NAME             $tmp = a new /tmp/NAME.XXXXXX; on every exit the daemon in
#                                  $pid (when set) is stopped and $tmp removed
# results.tsv columns: date host cpu openssl postfix benchmark case metric value unit
# (one line per figure; "metric" names the figure, e.g. rate, cpu, rss-growth).

bench_env() {
	BENCH_HOST=$(uname -n)
	BENCH_CPU=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n1 | tr '\t' ' ')
	BENCH_CPU="$BENCH_CPU x$(getconf _NPROCESSORS_ONLN)"
	BENCH_OPENSSL=$(openssl version 2>/dev/null | cut -d' ' -f2)
	BENCH_POSTFIX=$(postconf -dh mail_version 2>/dev/null || echo none)
	: "${BENCH_RESULTS:=$(cd "$(dirname "$0")" && pwd)/results.tsv}"
	export BENCH_HOST BENCH_CPU BENCH_OPENSSL BENCH_POSTFIX BENCH_RESULTS
}

bench_record() {
	[ -n "${BENCH_HOST:-}" ] || bench_env
	_b_line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$(date -u +%FT%TZ)" "$BENCH_HOST" \
	    "$BENCH_CPU" "$BENCH_OPENSSL" "$BENCH_POSTFIX" "$1" "$2" "$3" "$4" "$5")
	if [ ! -s "$BENCH_RESULTS" ]; then
		printf 'date\thost\tcpu\topenssl\tpostfix\tbenchmark\tcase\tmetric\tvalue\tunit\n' \
		    > "$BENCH_RESULTS"
	fi
	printf '%s\n' "$_b_line" >> "$BENCH_RESULTS"
	if [ -n "${BENCH_RUN_TSV:-}" ]; then
		printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >> "$BENCH_RUN_TSV"
	fi
}

bench_import() {
	while IFS='	' read -r _b1 _b2 _b3 _b4 _b5; do
		[ -n "$_b5" ] && bench_record "$_b1" "$_b2" "$_b3" "$_b4" "$_b5"
	done < "$1"
}

# Dead children of a live process count through its cutime/cstime once reaped (Postfix's
# master reaps its daemons), so the sum over master and the live children stays monotone.
bench_cpu_ticks() {
	for _b_p in "$@"; do
		cat "/proc/$_b_p/stat" 2>/dev/null
	done | sed 's/^.*) //' | awk '{ s += $12 + $13 + $14 + $15 } END { printf "%d\n", s }'
}

bench_hz() { getconf CLK_TCK; }

bench_ca_dir() {
	( umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$1/kek"
	  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$1/ca.pass" )
	mkdir -m 0700 "$1/store" "$1/crl" "$1/spool"
}

bench_ca_conf() {
	cat > "$1/autosmime.conf" <<CONF
socket $2
pid_file $1/milter.pid
user root
store_dir $1/store
key_encryption_key_file $1/kek
ca_passphrase_file $1/ca.pass
crl_dir $1/crl
ca_base_url http://pki.bench.test/
organization_name "Bench Org"
organization_country DE
local_domains bench.test
spool_dir $1/spool
log_level warning
CONF
}

bench_scratch() {
	tmp=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
	pid=""
	trap _bench_scratch_clean EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

_bench_scratch_clean() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
