# milter.sh: run autosmime-milter and autosmimectl from the build tree for integration tests
# (bash, sourced; root, since the daemon creates its socket and then drops to $MS_USER).
#
# Owns $MS_DIR: the configuration ($MS_CONF), the store, key-encryption key and CA passphrase
# files (0600, owned by $MS_USER), spool, run directory (socket, pid file) and the daemon's
# stderr log ($MS_LOG; the daemon runs with -f).
#   ms_init [unix|inet]   write the configuration; the socket is unix:$MS_DIR/run/milter.sock or
#                         inet:PORT@127.0.0.1. MS_PF_SOCKET is the same socket in Postfix syntax.
#   ms_set_socket unix|inet   switch the configured socket (restart the daemon afterwards)
#   ms_conf 'key value'   append an option (later lines win only if the parser allows; set before ms_start)
#   ms_conf_set KEY VALUE set one option in $MS_CONF, replacing an earlier line for it
#   ms_ctl ARGS...        autosmimectl -c $MS_CONF ARGS, run as $MS_USER
#   ms_ca_init            ms_ctl ca init; the root certificate and its (encrypted) key go to
#                         $MS_DIR/ca/root.pem and root.key
#   ms_issue ADDR         ms_ctl issue ADDR (the CA generates the key)
#   ms_ca_chain FILE      the root and the issuing CA certificates (ca show --pem) as PEM into FILE
#   ms_start / ms_stop    start in the foreground (background job), wait for the socket / TERM then KILL
#   ms_kill9              SIGKILL the daemon (crash test); ms_start starts it again
#   ms_pid                the daemon's pid (empty when not running)
#   ms_sanitizer_clean    true when $MS_LOG has no AddressSanitizer/LeakSanitizer/UBSan/valgrind error report
#   ms_need_complete      print "1..0 # SKIP ..." and exit 0 when ms_missing says something is missing
#   ms_missing            prints what is not there yet (binaries, ca init, issue, libmilter service);
#                         prints nothing when the product is complete enough for end-to-end tests
# Variables: MS_WRAPPER (a command prefix for the daemon; $MS_VALGRIND is valgrind with the
#   Berkeley DB suppressions of tests/valgrind-bdb.supp) MS_BUILDDIR (default $top_builddir) MS_MILTER MS_CTL MS_USER (postfix) MS_DIR MS_CONF
#   MS_LOG MS_SOCKET MS_PF_SOCKET MS_LOCAL_DOMAINS (default $PF_LOCAL_DOMAINS or local.test)

_ms_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_ms_here/common.sh"

MS_BUILDDIR=${MS_BUILDDIR:-${top_builddir:-$_ms_here/../..}}
MS_MILTER=${MS_MILTER:-$MS_BUILDDIR/milter/autosmime-milter}
MS_CTL=${MS_CTL:-$MS_BUILDDIR/cli/autosmimectl}
MS_USER=${MS_USER:-postfix}
MS_AUTHSERV_ID=${MS_AUTHSERV_ID:-gw.autosmime.test}
# A ready-made MS_WRAPPER for valgrind runs: MS_WRAPPER=$MS_VALGRIND make check TESTS=milter_e2e.sh
MS_VALGRIND="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --suppressions=$_ms_here/../valgrind-bdb.supp"
MS_DIR=
_ms_ctl_run=
_ms_pid=
_ms_log_off=0

ms_init() {
	local kind=${1:-unix} port
	[ -n "$H_TMP" ] || h_init milter
	MS_DIR=$H_TMP/milter
	MS_CONF=$MS_DIR/autosmime.conf
	MS_LOG=$MS_DIR/milter.log
	MS_LOCAL_DOMAINS=${MS_LOCAL_DOMAINS:-${PF_LOCAL_DOMAINS:-local.test}}
	mkdir -p "$MS_DIR/store" "$MS_DIR/spool" "$MS_DIR/run" "$MS_DIR/crl" "$MS_DIR/ca" || return 1
	chmod 0755 "$MS_DIR"
	# autosmimectl runs as $MS_USER, who may not reach the build tree (a checkout under
	# /root): run a copy from the test's own directory. It links our libraries statically.
	mkdir -p "$H_TMP/bin" && chmod 0755 "$H_TMP/bin" && cp "$MS_CTL" "$H_TMP/bin/autosmimectl" &&
		chmod 0755 "$H_TMP/bin/autosmimectl" || return 1
	_ms_ctl_run=$H_TMP/bin/autosmimectl
	chown "$MS_USER:" "$MS_DIR/store" "$MS_DIR/spool" "$MS_DIR/run" "$MS_DIR/crl" "$MS_DIR/ca"
	chmod 0700 "$MS_DIR/store" "$MS_DIR/spool" "$MS_DIR/ca"
	if [ "$kind" = inet ]; then
		port=$(h_free_port) || return 1
		MS_SOCKET="inet:$port@127.0.0.1"
		MS_PF_SOCKET="inet:127.0.0.1:$port"
	else
		MS_SOCKET="unix:$MS_DIR/run/milter.sock"
		MS_PF_SOCKET=$MS_SOCKET
	fi
	# Random secrets, never logged; 0600 and owned by the daemon's user.
	( umask 077; openssl rand -hex 32 > "$MS_DIR/kek"; openssl rand -hex 32 > "$MS_DIR/ca-passphrase" )
	chown "$MS_USER:" "$MS_DIR/kek" "$MS_DIR/ca-passphrase"
	cat > "$MS_CONF" <<-CONF
	# autosmime test configuration written by tests/harness/milter.sh
	socket $MS_SOCKET
	user $MS_USER
	pid_file $MS_DIR/run/milter.pid
	socket_mode 0660
	log_level debug
	store_dir $MS_DIR/store
	key_encryption_key_file $MS_DIR/kek
	ca_passphrase_file $MS_DIR/ca-passphrase
	crl_dir $MS_DIR/crl
	ca_base_url http://127.0.0.1/autosmime
	local_domains $MS_LOCAL_DOMAINS
	internal_networks 127.0.0.1/32
	spool_dir $MS_DIR/spool
	organization_name autosmime test
	organization_country DE
	ca_domain ${DNS_CA_DOMAIN:-ca.autosmime.test}
	authserv_id $MS_AUTHSERV_ID
	CONF
	if [ -n "${DNS_RESOLVER:-}" ]; then
		printf 'dns_resolver %s\ndns_trust_anchor_file %s\n' "$DNS_RESOLVER" "$DNS_TRUST_ANCHOR" >> "$MS_CONF"
	fi
	export MS_DIR MS_CONF MS_LOG MS_SOCKET MS_PF_SOCKET
	h_at_exit ms_stop
}

# ms_set_socket unix|inet: move the (stopped) daemon to a new socket of that kind.
ms_set_socket() {
	local port
	if [ "$1" = inet ]; then
		port=$(h_free_port) || return 1
		MS_SOCKET="inet:$port@127.0.0.1"
		MS_PF_SOCKET="inet:127.0.0.1:$port"
	else
		MS_SOCKET="unix:$MS_DIR/run/milter.sock"
		MS_PF_SOCKET=$MS_SOCKET
	fi
	sed -i "s|^socket .*|socket $MS_SOCKET|" "$MS_CONF"
}

ms_conf() { printf '%s\n' "$@" >> "$MS_CONF"; }

# Set one option, replacing an earlier line for it (a repeated option is a config error).
ms_conf_set() {
	local key=$1
	shift
	sed -i "/^$key[[:space:]]/d" "$MS_CONF" && printf '%s %s\n' "$key" "$*" >> "$MS_CONF"
}

ms_ctl() { runuser -u "$MS_USER" -- "${_ms_ctl_run:-$MS_CTL}" -c "$MS_CONF" "$@"; }
ms_ca_init() { ms_ctl ca init --root-cert "$MS_DIR/ca/root.pem" --root-key "$MS_DIR/ca/root.key"; }
ms_issue() { ms_ctl issue "$1"; }

ms_ca_chain() {
	local out=$1
	{ cat "$MS_DIR/ca/root.pem" && ms_ctl ca show --pem; } > "$out" 2>/dev/null &&
		[ "$(grep -c 'BEGIN CERTIFICATE' "$out")" -ge 2 ]
}

ms_pid() { h_pid_alive "$_ms_pid" && echo "$_ms_pid"; return 0; }

_ms_socket_up() {
	case "$MS_SOCKET" in
	unix:*) [ -S "${MS_SOCKET#unix:}" ] ;;
	inet:*) local p=${MS_SOCKET#inet:}; h_port_listening "${p%@*}" ;;
	esac
}

_ms_started_ok() { tail -c "+$((_ms_log_off + 1))" "$MS_LOG" 2>/dev/null | grep -q 'event=start status=ok'; }

ms_start() {
	[ -n "$(ms_pid)" ] && return 0
	[ -x "$MS_MILTER" ] || { h_die "no $MS_MILTER (build first)"; return 1; }
	case "$MS_SOCKET" in unix:*) rm -f "${MS_SOCKET#unix:}" ;; esac
	rm -f "$MS_DIR/run/milter.pid"
	_ms_log_off=$(stat -c %s "$MS_LOG" 2>/dev/null || echo 0)
	${MS_WRAPPER:-} "$MS_MILTER" -f -c "$MS_CONF" >> "$MS_LOG" 2>&1 &
	_ms_pid=$!
	# The socket exists before the CA is opened: wait for the daemon's own start line too.
	if ! h_wait 30 _ms_socket_up || ! h_wait 30 _ms_started_ok || ! h_pid_alive "$_ms_pid"; then
		h_die "autosmime-milter did not start on $MS_SOCKET; see $MS_LOG"
		tail -n 5 "$MS_LOG" 2>/dev/null | sed 's/^/# /' >&2
		ms_stop
		return 1
	fi
	h_log "milter up: pid $_ms_pid socket $MS_SOCKET"
}

ms_stop() {
	[ -n "$_ms_pid" ] || return 0
	h_kill_pid "$_ms_pid"
	wait "$_ms_pid" 2>/dev/null
	_ms_pid=
	return 0
}

ms_kill9() {
	[ -n "$_ms_pid" ] || return 0
	kill -KILL "$_ms_pid" 2>/dev/null
	wait "$_ms_pid" 2>/dev/null
	_ms_pid=
	return 0
}

ms_sanitizer_clean() {
	! grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|[0-9,]+ bytes in [0-9,]+ blocks are definitely)' "$MS_LOG" 2>/dev/null
}

# What keeps the end-to-end tests from running; one line per missing part.
ms_missing() {
	local save_dir=${MS_DIR:-} sub
	[ -x "$MS_MILTER" ] || { echo "autosmime-milter is not built ($MS_MILTER)"; return 0; }
	[ -x "$MS_CTL" ] || { echo "autosmimectl is not built ($MS_CTL)"; return 0; }
	[ "$(id -u)" = 0 ] || { echo "not root (the daemon drops privileges to $MS_USER)"; return 0; }
	# A throw-away instance in its own sub-directory of $H_TMP.
	sub=$(mktemp -d "$H_TMP/probe.XXXXXX") || return 0
	chmod 0755 "$sub"
	(
		H_TMP=$sub
		_h_exit_cmds=()
		ms_init unix >/dev/null 2>&1
		if ! ms_ca_init >"$sub/ca-init.log" 2>&1; then
			echo "autosmimectl ca init does not work yet: $(head -n1 "$sub/ca-init.log")"
		elif ! ms_issue probe@local.test >"$sub/issue.log" 2>&1; then
			echo "autosmimectl issue does not work yet: $(head -n1 "$sub/issue.log")"
		elif ! ms_ca_chain "$sub/chain.pem"; then
			echo "autosmimectl ca show --pem does not print the CA chain yet"
		fi
		if ! ms_start 2>/dev/null; then
			echo "autosmime-milter does not serve libmilter on a unix socket yet: $(tail -n1 "$MS_LOG" 2>/dev/null)"
		fi
		ms_kill9   # a throw-away probe: no need to wait for libmilter's shutdown poll
	)
	rm -rf "$sub"
	MS_DIR=$save_dir
	return 0
}

ms_need_complete() {
	local missing
	missing=$(ms_missing)
	[ -z "$missing" ] && return 0
	echo "1..0 # SKIP $(echo "$missing" | head -n1)"
	exit 0
}
