#!/bin/sh
# milter-bench: messages/s and milter CPU ms/message, with no MTA: milter-send plays Postfix
# over a unix and an inet socket at 1 and 10 concurrent connections, for an enrolled sender
# (signing) and for mail that passes untouched. Prints a table and appends to bench/results.tsv.
#   usage: bench/milter-bench.sh [BUILD_DIR] [MESSAGES]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${top_builddir:-$top/_build}}
messages=${2:-2000}
milter="$build/milter/autosmime-milter"
ctl="$build/cli/autosmimectl"
send="$build/tests/tools/milter-send"
for f in "$milter" "$ctl"; do [ -x "$f" ] || { echo "milter-bench: build first ($f missing)" >&2; exit 1; }; done
[ -x "$send" ] || make -C "$build/tests/tools" milter-send >/dev/null

tmp=$(mktemp -d /tmp/autosmime-bench.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

head -c 32 /dev/urandom > "$tmp/kek"; chmod 600 "$tmp/kek"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tmp/ca.pass"; chmod 600 "$tmp/ca.pass"
port=$((20000 + $$ % 20000))
write_conf() { # $1 = socket
	cat > "$tmp/autosmime.conf" <<CONF
socket $1
pid_file $tmp/milter.pid
user root
store_dir $tmp/store
key_encryption_key_file $tmp/kek
ca_passphrase_file $tmp/ca.pass
crl_dir $tmp/crl
ca_base_url http://pki.bench.test/
organization_name "Bench Org"
organization_country DE
local_domains bench.test
spool_dir $tmp
log_level warning
CONF
}
write_conf "unix:$tmp/milter.sock"
"$ctl" -c "$tmp/autosmime.conf" ca init --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" >/dev/null
"$ctl" -c "$tmp/autosmime.conf" issue alice@bench.test --key-type ec-p256 >/dev/null
"$ctl" -c "$tmp/autosmime.conf" issue rob@bench.test --key-type rsa-2048 >/dev/null

# a 2 KB message: headers plus text
{
	printf 'From: SENDER\r\nTo: bob@remote.test\r\nSubject: benchmark message\r\n'
	printf 'Date: Fri, 20 Nov 2026 12:00:00 +0000\r\nMessage-ID: <bench@bench.test>\r\n\r\n'
	i=0; while [ $i -lt 30 ]; do printf 'This line of the benchmark body is sixty-four characters long.\r\n'; i=$((i+1)); done
} > "$tmp/msg.tmpl"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

start_milter() {
	write_conf "$1"
	"$milter" -f -c "$tmp/autosmime.conf" 2>>"$tmp/milter.log" &
	pid=$!
	i=0
	while [ $i -lt 100 ]; do
		case "$1" in
		unix:*) [ -S "$tmp/milter.sock" ] && return 0 ;;
		inet:*) "$send" -S "$1" -f x@remote.test -r y@remote.test -o /dev/null "$tmp/msg.tmpl" >/dev/null 2>&1 && return 0 ;;
		esac
		sleep 0.1; i=$((i+1))
	done
	echo "milter-bench: the milter did not start" >&2; cat "$tmp/milter.log" >&2; exit 1
}
stop_milter() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; rm -f "$tmp/milter.sock"; }

results="$top/bench/results.tsv"
[ -f "$results" ] || printf 'date\thost\topenssl\tbench\tsocket\tcase\tconnections\tmessages\tmsgs_per_s\tp50_ms\tp99_ms\tmilter_cpu_ms_per_msg\n' > "$results"
ossl=$(openssl version | cut -d' ' -f2)
printf '%-6s %-22s %5s %10s %9s %9s %14s\n' socket case conns msgs/s p50_ms p99_ms cpu_ms/msg
for sock in "unix:$tmp/milter.sock" "inet:$port@127.0.0.1"; do
	start_milter "$sock"
	for case in sign-p256 sign-rsa2048 pass; do
		case $case in
		sign-p256) from=alice@bench.test; auth=alice@bench.test ;;
		sign-rsa2048) from=rob@bench.test; auth=rob@bench.test ;;
		pass) from=carol@remote.test; auth="" ;;
		esac
		sed "s/SENDER/$from/" "$tmp/msg.tmpl" > "$tmp/msg.eml"
		for conns in 1 10; do
			t0=$(cpu_ticks "$pid")
			if [ -n "$auth" ]; then
				line=$("$send" -S "$sock" -f "$from" -r bob@remote.test -a "$auth" -n "$messages" -j "$conns" "$tmp/msg.eml")
			else
				line=$("$send" -S "$sock" -f "$from" -r bob@remote.test -c 192.0.2.7 -n "$messages" -j "$conns" "$tmp/msg.eml")
			fi
			t1=$(cpu_ticks "$pid")
			rate=$(echo "$line" | sed -n 's/.*msgs_per_s=\([0-9.]*\).*/\1/p')
			p50=$(echo "$line" | sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p')
			p99=$(echo "$line" | sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p')
			cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v n="$messages" 'BEGIN { printf "%.3f", (b - a) * 1000 / hz / n }')
			printf '%-6s %-22s %5s %10s %9s %9s %14s\n' "${sock%%:*}" "$case" "$conns" "$rate" "$p50" "$p99" "$cpu"
			printf '%s\t%s\t%s\tmilter\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" \
			    "$(uname -n)" "$ossl" "${sock%%:*}" "$case" "$conns" "$messages" "$rate" "$p50" "$p99" "$cpu" >> "$results"
		done
	done
	stop_milter
done
