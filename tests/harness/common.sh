# common.sh: shared helpers of the integration harness (bash, sourced).
#
# Owns: the per-test scratch directory ($H_TMP), free loopback port selection, bounded waits,
# process clean-up registration and TAP output for shell tests. postfix.sh, dns.sh and
# milter.sh source this file; tests source those.
#
#   h_init NAME           create $H_TMP (mktemp -d) and install the EXIT trap (h_cleanup)
#   h_at_exit CMD         run CMD (a string, eval'd) at clean-up time, last registered first
#   h_free_port           print a TCP/UDP port on 127.0.0.1 that nobody uses (random, checked)
#   h_port_listening PORT true when something listens on 127.0.0.1:PORT (TCP)
#   h_wait SECS CMD...    run CMD every 0.1 s until it succeeds; false after SECS seconds
#   h_kill_pid PID        TERM, wait up to 10 s, then KILL; only the given pid
#   h_proc_id PID / h_proc_alive_id ID   a process identity (pid + start time) that survives
#                         pid reuse, and whether that very process still runs
#   h_need_root / h_need_cmd CMD...   print "1..0 # SKIP why" and exit 0 when unmet
#   tap_ok COND_STATUS DESC, tap_check DESC CMD..., tap_is GOT WANT DESC, tap_diag TEXT,
#   tap_skip DESC WHY, tap_done (prints the plan; exit status 1 when a test failed)
#
# Variables: H_TMP (scratch dir), H_KEEP=1 keeps it after the test for debugging,
# H_VERBOSE=1 prints harness progress as TAP diagnostics.

[ -n "${H_COMMON_LOADED:-}" ] && return 0
H_COMMON_LOADED=1

H_TMP=${H_TMP:-}
H_KEEP=${H_KEEP:-0}
H_VERBOSE=${H_VERBOSE:-0}
_h_exit_cmds=()
_h_ports_given=" "
_tap_n=0
_tap_failed=0

h_log() { [ "$H_VERBOSE" = 1 ] && printf '# %s\n' "$*" >&2; return 0; }
h_die() { printf '# harness error: %s\n' "$*" >&2; return 1; }

h_at_exit() { _h_exit_cmds+=("$1"); }

h_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	for ((i = ${#_h_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_h_exit_cmds[$i]}" >/dev/null 2>&1 || :
	done
	_h_exit_cmds=()
	if [ -n "$H_TMP" ] && [ -d "$H_TMP" ]; then
		if [ "$H_KEEP" = 1 ]; then
			printf '# kept %s\n' "$H_TMP" >&2
		else
			sh "$(dirname "${BASH_SOURCE[0]}")/../tools/store-ipc-clean.sh" "$H_TMP"
			rm -rf "$H_TMP"
		fi
	fi
	return $rc
}

h_init() {
	local name=${1:-test}
	if [ -z "$H_TMP" ]; then
		# /tmp, not the build tree: the path must stay short (unix socket names) and be
		# reachable by the unprivileged postfix and milter users.
		H_TMP=$(mktemp -d "/tmp/autosmime-$name.XXXXXX") || { h_die "mktemp failed"; exit 1; }
		chmod 0755 "$H_TMP"
	fi
	export H_TMP
	trap 'h_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# Local ports in use (any state, TCP and UDP, v4 and v6), one decimal number per line.
_h_ports_in_use() {
	local f
	for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
		[ -r "$f" ] && awk 'NR > 1 { split($2, a, ":"); print a[length(a)] }' "$f"
	done | while read -r hex; do printf '%d\n' "0x$hex"; done
}

h_free_port() {
	local used try port
	used=" $(_h_ports_in_use | tr '\n' ' ') "
	for try in $(seq 1 200); do
		port=$(( 20000 + ( (RANDOM << 15 | RANDOM) % 40000 ) ))
		case "$used$_h_ports_given" in *" $port "*) continue ;; esac
		_h_ports_given="$_h_ports_given$port "
		echo "$port"
		return 0
	done
	h_die "no free port found"
}

h_port_listening() {
	local hex f
	hex=$(printf '%04X' "$1")
	for f in /proc/net/tcp /proc/net/tcp6; do
		# state 0A is LISTEN
		[ -r "$f" ] && awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' "$f" && return 0
	done
	return 1
}

# h_udp_bound PORT: true when a UDP socket is bound to PORT.
h_udp_bound() {
	local hex f
	hex=$(printf '%04X' "$1")
	for f in /proc/net/udp /proc/net/udp6; do
		[ -r "$f" ] && awk -v p=":$hex" 'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' "$f" && return 0
	done
	return 1
}

h_wait() {
	local secs=$1 end
	shift
	end=$(( $(date +%s%N) / 1000000 + secs * 1000 ))
	while :; do
		"$@" && return 0
		[ $(( $(date +%s%N) / 1000000 )) -ge "$end" ] && return 1
		sleep 0.1
	done
}

# A process that exited but was not yet reaped (zombie) counts as gone.
h_pid_alive() {
	local st
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

# Process identity that survives pid reuse (pid_max may be small): "PID:START_TIME".
h_proc_id() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }')
	[ -n "$st" ] && echo "$1:$st"
}

# True while the process with this identity exists and is not a zombie.
h_proc_alive_id() {
	local pid=${1%%:*}
	[ "$(h_proc_id "$pid")" = "$1" ] && h_pid_alive "$pid"
}

h_kill_pid() {
	local pid=$1
	h_pid_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	h_wait 10 eval "! h_pid_alive $pid" && return 0
	kill -KILL "$pid" 2>/dev/null
	h_wait 2 eval "! h_pid_alive $pid"
}

h_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "1..0 # SKIP needs root (private Postfix instance, milter privilege drop)"
		exit 0
	fi
}

h_need_cmd() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1 && [ ! -x "$c" ]; then
			echo "1..0 # SKIP $c not installed"
			exit 0
		fi
	done
}

# ---------------------------------------------------------------- TAP
tap_ok() {
	local st=$1
	shift
	_tap_n=$((_tap_n + 1))
	if [ "$st" = 0 ]; then
		echo "ok $_tap_n - $*"
	else
		echo "not ok $_tap_n - $*"
		_tap_failed=$((_tap_failed + 1))
	fi
}
tap_check() {
	local desc=$1
	shift
	"$@"
	tap_ok $? "$desc"
}
tap_is() {
	[ "$1" = "$2" ]
	local st=$?
	tap_ok $st "$3"
	[ $st = 0 ] || printf '#   got: %s\n#  want: %s\n' "$1" "$2"
	return $st
}
tap_diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
tap_skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}
tap_done() {
	echo "1..$_tap_n"
	[ "$_tap_failed" = 0 ]
}
