# opendkim.sh: a private OpenDKIM signing milter (bash, sourced; root, drops to $DK_USER).
#
# Owns $DK_DIR (under /run, or $DK_BASE: OpenDKIM refuses paths below /tmp): opendkim.conf, the signing key (opendkim-genkey), run directory and log.
# Used to check the milter plumbing of the harness with a second, independent milter, and by
# the tests that chain autosmime before OpenDKIM (S/MIME first, DKIM last).
#   dk_init DOMAIN [SELECTOR [unix|inet]]   write config and key; DK_TXT is the public key TXT record data
#                               (publish it with dns_add_rr ZONE "SELECTOR._domainkey IN TXT ...")
#   dk_start / dk_stop / dk_kill9 / dk_pid
# Variables: DK_DIR DK_CONF DK_LOG DK_DOMAIN DK_SELECTOR DK_SOCKET (OpenDKIM syntax)
#   DK_PF_SOCKET (Postfix syntax) DK_TXT DK_USER (postfix)

_dk_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_dk_here/common.sh"
DK_USER=${DK_USER:-postfix}
_dk_pid=

dk_init() {
	DK_DOMAIN=$1
	DK_SELECTOR=${2:-test}
	[ -n "$H_TMP" ] || h_init opendkim
	# OpenDKIM refuses a configuration below a world-writable directory such as /tmp.
	DK_DIR=$(mktemp -d "${DK_BASE:-/run}/autosmime-dkim.XXXXXX") || return 1
	chmod 0755 "$DK_DIR"
	h_at_exit "rm -rf '$DK_DIR'"
	DK_CONF=$DK_DIR/opendkim.conf
	DK_LOG=$DK_DIR/opendkim.log
	if [ "${3:-unix}" = inet ]; then
		local port
		port=$(h_free_port) || return 1
		DK_SOCKET=inet:$port@127.0.0.1
		DK_PF_SOCKET=inet:127.0.0.1:$port
	else
		DK_SOCKET=local:$DK_DIR/run/opendkim.sock
		DK_PF_SOCKET=unix:$DK_DIR/run/opendkim.sock
	fi
	mkdir -p "$DK_DIR/keys" "$DK_DIR/run" || return 1
	opendkim-genkey -b 2048 -D "$DK_DIR/keys" -d "$DK_DOMAIN" -s "$DK_SELECTOR" || return 1
	chown -R "$DK_USER:" "$DK_DIR/keys" "$DK_DIR/run"
	chmod 0700 "$DK_DIR/keys"
	chmod 0600 "$DK_DIR/keys/$DK_SELECTOR.private"
	# The TXT data without the zone-file quoting and comments of opendkim-genkey.
	DK_TXT=$(sed -e 's/;.*$//' "$DK_DIR/keys/$DK_SELECTOR.txt" | grep -o '"[^"]*"' | tr -d '"\n')
	cat > "$DK_CONF" <<-CONF
	Syslog no
	LogWhy yes
	Mode sv
	Domain $DK_DOMAIN
	Selector $DK_SELECTOR
	KeyFile $DK_DIR/keys/$DK_SELECTOR.private
	Socket $DK_SOCKET
	UserID $DK_USER
	Background no
	PidFile $DK_DIR/run/opendkim.pid
	UMask 007
	InternalHosts 127.0.0.1
	Canonicalization relaxed/relaxed
	CONF
	export DK_DIR DK_CONF DK_DOMAIN DK_SELECTOR DK_SOCKET DK_PF_SOCKET DK_TXT
	h_at_exit dk_stop
}

dk_pid() { h_pid_alive "$_dk_pid" && echo "$_dk_pid"; return 0; }

_dk_up() {
	case "$DK_SOCKET" in
	local:*) [ -S "${DK_SOCKET#local:}" ] ;;
	inet:*) local p=${DK_SOCKET#inet:}; h_port_listening "${p%@*}" ;;
	esac
}

dk_start() {
	[ -n "$(dk_pid)" ] && return 0
	rm -f "$DK_DIR/run/opendkim.sock" "$DK_DIR/run/opendkim.pid"
	opendkim -f -x "$DK_CONF" >> "$DK_LOG" 2>&1 &
	_dk_pid=$!
	h_wait 10 _dk_up && h_pid_alive "$_dk_pid" && return 0
	h_die "opendkim did not start; see $DK_LOG"
	dk_stop
	return 1
}

dk_stop() {
	[ -n "$_dk_pid" ] || return 0
	h_kill_pid "$_dk_pid"
	wait "$_dk_pid" 2>/dev/null
	_dk_pid=
	return 0
}

dk_kill9() {
	[ -n "$_dk_pid" ] || return 0
	kill -KILL "$_dk_pid" 2>/dev/null
	wait "$_dk_pid" 2>/dev/null
	_dk_pid=
	return 0
}
