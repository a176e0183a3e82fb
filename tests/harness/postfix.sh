# postfix.sh: a private Postfix instance on loopback for integration tests (bash, sourced; root).
#
# Owns everything under $PF_DIR: its config_directory ($PF_ETC, main.cf/master.cf written from
# main.cf.in/master.cf.in), queue and data directories, the maillog ($PF_LOG, via postlogd since
# there is no syslog), the Maildirs of the local test domains ($PF_MAIL) and an smtp-sink capture
# ($PF_SINK) that receives every other domain (relayhost). SASL on the submission port uses
# Cyrus SASL with a private sasldb (package sasl2-bin for saslpasswd2).
#
# Functions (all waits are bounded; non-zero status on failure, with a "# " diagnostic):
#   pf_init                       write the instance (called by pf_start when needed)
#   pf_add_user ADDR PASS         SASL login ADDR (local@domain) with PASS, and a Maildir for ADDR
#   pf_add_mailbox ADDR           a Maildir for ADDR (ADDR's domain must be in PF_LOCAL_DOMAINS)
#   pf_conf 'name = value' ...    change main.cf (postconf -e); reloads a running instance
#   pf_milter SOCKET              smtpd_milters + non_smtpd_milters = SOCKET (unix:/path or
#                                 inet:127.0.0.1:port), milter_default_action = tempfail
#   pf_start / pf_stop            start (smtp-sink + Postfix, ports checked, retried on a port
#                                 clash) / stop and kill every process of this instance
#   pf_reload                     SIGHUP to master, wait until the old children are gone
#   pf_running_pids               identities (h_proc_id) of every process of this instance
#   pf_send FROM TO FILE [USER PASS] [PORT]   one message with swaks (TO may be "a,b");
#                                 with USER it uses the submission port and AUTH PLAIN.
#                                 Returns swaks' status (0 = accepted). Transcript: $PF_SEND_LOG.
#                                 PF_SEND_IP (default 127.0.0.1) is the client address: use
#                                 $PF_OUTSIDE_IP for a client outside mynetworks.
#   pf_sendmail FROM TO... < FILE through sendmail(1) -C $PF_ETC (the non_smtpd_milters path)
#   pf_smtp_source N [TO] [PORT]  N messages with smtp-source (one connection per message)
#   pf_delivered_count            number of "status=sent" deliveries logged so far
#   pf_wait_delivered N [SECS]    until N deliveries logged (default 20 s)
#   pf_queue_count / pf_queue_empty / pf_wait_queue_empty [SECS]
#   pf_flush                      postqueue -f and wake pickup (deferred and maildrop mail)
#   pf_sink_files                 the smtp-sink dump files, oldest first, one per line
#   pf_sink_message FILE          a dump without smtp-sink's envelope lines (the message as sent)
#   pf_maildir_files ADDR         the delivered files of ADDR's Maildir, oldest first
#   pf_log_grep REGEX             grep -E the maillog
#   pf_wait_log REGEX [SECS]      wait (10 s) until the maillog has a line matching REGEX
#
# Variables (set by pf_init/pf_start; the first group may be preset by the test):
#   PF_CHROOT=1: the services run chrooted in $PF_QUEUE as Debian 12's master.cf has them (smtpd,
#   pickup, cleanup, trivial-rewrite, bounce, smtp, ...; not qmgr, local, virtual, proxymap,
#   postlogd), with the files Debian's postfix start copies into the jail; the sasldb then
#   lives inside it ($PF_QUEUE/etc/sasldb2), since smtpd opens it after chroot(2).
#   PF_LOCAL_DOMAINS (default "local.test"), PF_MYHOSTNAME (gw.autosmime.test),
#   PF_MYNETWORKS (127.0.0.1/32), PF_OUTSIDE_IP (127.0.0.2: outside mynetworks)
#   PF_DIR PF_ETC PF_QUEUE PF_LOG (the maillog file) PF_MAIL PF_SINK PF_SASLDB
#   PF_SMTP_PORT (inbound smtpd, {daemon_name}=mx) PF_SUBMISSION_PORT (SASL, {daemon_name}=ORIGINATING)
#   PF_SINK_PORT (smtp-sink) PF_SENDMAIL ("/usr/sbin/sendmail -C $PF_ETC": as root only; postdrop
#   refuses a private config directory to other users) PF_SEND_LOG
#   PF_SMTP_SENDMAIL: a sendmail-compatible command for any user ("smtp-sendmail -S 127.0.0.1:PORT
#   -i -t", submits over SMTP to the inbound port; use it as the milter's sendmail_command).
#   Note: pf_start may pick new ports on a clash, so read PF_* port variables after pf_start.

_pf_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_pf_here/common.sh"

PF_LOCAL_DOMAINS=${PF_LOCAL_DOMAINS:-local.test}
PF_MYHOSTNAME=${PF_MYHOSTNAME:-gw.autosmime.test}
PF_MYNETWORKS=${PF_MYNETWORKS:-127.0.0.1/32}
PF_OUTSIDE_IP=${PF_OUTSIDE_IP:-127.0.0.2}
PF_CHROOT=${PF_CHROOT:-0}
PF_SEND_IP=${PF_SEND_IP:-127.0.0.1}
PF_DIR=
PF_SINK_PID=
_pf_running=0
_pf_sends=0

_pf_subst() {
	sed -e "s|@ETC@|$PF_ETC|g" -e "s|@QUEUE@|$PF_QUEUE|g" -e "s|@DATA@|$PF_DIR/data|g" \
	    -e "s|@LOG@|$PF_DIR/log|g" -e "s|@TMPROOT@|$H_TMP|g" -e "s|@MAIL@|$PF_MAIL|g" \
	    -e "s|@MYHOSTNAME@|$PF_MYHOSTNAME|g" -e "s|@MYDOMAIN@|${PF_MYHOSTNAME#*.}|g" \
	    -e "s|@MYNETWORKS@|$PF_MYNETWORKS|g" -e "s|@LOCAL_DOMAINS@|$PF_LOCAL_DOMAINS|g" \
	    -e "s|@VUID@|$(id -u nobody)|g" -e "s|@VGID@|$(id -g nobody)|g" \
	    -e "s|@SMTP_PORT@|$PF_SMTP_PORT|g" -e "s|@SUBMISSION_PORT@|$PF_SUBMISSION_PORT|g" \
	    -e "s|@SINK_PORT@|$PF_SINK_PORT|g" "$1"
}

_pf_pick_ports() {
	PF_SMTP_PORT=$(h_free_port) && PF_SUBMISSION_PORT=$(h_free_port) && PF_SINK_PORT=$(h_free_port) &&
		_pf_set_smtp_sendmail
}

_pf_set_smtp_sendmail() {
	# A copy in the test's own 0755 directory: the source tree may sit where an unprivileged
	# user (the milter after it drops privileges) cannot reach it, such as under /root.
	cp "$_pf_here/smtp-sendmail" "$H_TMP/smtp-sendmail" && chmod 0755 "$H_TMP/smtp-sendmail" ||
		return 1
	PF_SMTP_SENDMAIL="$H_TMP/smtp-sendmail -S 127.0.0.1:$PF_SMTP_PORT -i -t"
	export PF_SMTP_PORT PF_SUBMISSION_PORT PF_SINK_PORT PF_SMTP_SENDMAIL
}

# (Re)write main.cf and master.cf for the current ports, keeping changes made with pf_conf.
_pf_write_cf() {
	local saved="$PF_DIR/conf.extra"
	_pf_subst "$_pf_here/main.cf.in" > "$PF_ETC/main.cf" || return 1
	_pf_subst "$_pf_here/master.cf.in" > "$PF_ETC/master.cf" || return 1
	if [ "$PF_CHROOT" = 1 ]; then
		# column 5 as Debian ships it
		awk 'BEGIN { split("smtpd pickup cleanup trivial-rewrite bounce verify flush smtp showq error discard anvil scache tlsmgr", l, " "); for (i in l) jail[l[i]] = 1 }
		     /^[^# \t]/ && ($8 in jail) { $5 = "y" } { print }' \
			"$PF_ETC/master.cf" > "$PF_ETC/master.cf.new" && mv "$PF_ETC/master.cf.new" "$PF_ETC/master.cf" ||
			return 1
	fi
	if [ -s "$saved" ]; then
		local -a extra=()
		mapfile -t extra < "$saved"
		postconf -c "$PF_ETC" -e "${extra[@]}" || return 1
	fi
}

# What Debian's postfix start script copies into the jail, so that chrooted services resolve
# names and know the time zone.
_pf_fill_jail() {
	local f
	mkdir -p "$PF_QUEUE/etc" || return 1
	for f in localtime services resolv.conf hosts host.conf nsswitch.conf; do
		[ -e "/etc/$f" ] && cp -L "/etc/$f" "$PF_QUEUE/etc/$f"
	done
	return 0
}

pf_init() {
	[ -n "$PF_DIR" ] && return 0
	[ -n "$H_TMP" ] || h_init postfix
	PF_DIR=$H_TMP/postfix
	PF_ETC=$PF_DIR/etc
	PF_QUEUE=$PF_DIR/queue
	PF_LOG=$PF_DIR/log/maillog
	PF_MAIL=$PF_DIR/mail
	PF_SINK=$PF_DIR/sink
	PF_SASLDB=$PF_ETC/sasldb2
	[ "$PF_CHROOT" = 1 ] && PF_SASLDB=$PF_QUEUE/etc/sasldb2
	PF_SENDMAIL="/usr/sbin/sendmail -C $PF_ETC"
	PF_SMTP_SENDMAIL=
	PF_SEND_LOG=
	export PF_DIR PF_ETC PF_QUEUE PF_LOG PF_MAIL PF_SINK PF_SASLDB PF_SENDMAIL
	mkdir -p "$PF_ETC/sasl" "$PF_QUEUE" "$PF_DIR/data" "$PF_DIR/log" "$PF_MAIL" "$PF_SINK" || return 1
	chmod 0755 "$PF_DIR" "$PF_ETC" "$PF_QUEUE" "$PF_DIR/log"
	chown postfix:postfix "$PF_DIR/data"
	chown nobody:nogroup "$PF_MAIL" "$PF_SINK"
	: > "$PF_DIR/conf.extra"
	: > "$PF_ETC/vmailbox"
	postmap "hash:$PF_ETC/vmailbox" || return 1
	local sasldb_path=$PF_SASLDB
	if [ "$PF_CHROOT" = 1 ]; then
		_pf_fill_jail || return 1
		sasldb_path=/etc/sasldb2   # as smtpd sees it, inside the jail
	fi
	cat > "$PF_ETC/sasl/smtpd.conf" <<-SASL
	pwcheck_method: auxprop
	auxprop_plugin: sasldb
	mech_list: PLAIN LOGIN
	sasldb_path: $sasldb_path
	SASL
	_pf_pick_ports || return 1
	_pf_write_cf || return 1
	_pf_set_smtp_sendmail
	h_at_exit pf_stop
}

pf_conf() {
	pf_init || return 1
	printf '%s\n' "$@" >> "$PF_DIR/conf.extra"
	postconf -c "$PF_ETC" -e "$@" || return 1
	[ "$_pf_running" = 1 ] && pf_reload
	return 0
}

pf_milter() {
	pf_conf "smtpd_milters = $1" "non_smtpd_milters = $1" "milter_default_action = tempfail"
}

pf_add_mailbox() {
	local addr=$1 local=${1%@*} dom=${1##*@}
	pf_init || return 1
	printf '%s %s/%s/\n' "$addr" "$dom" "$local" >> "$PF_ETC/vmailbox"
	postmap "hash:$PF_ETC/vmailbox"
}

pf_add_user() {
	local addr=$1 pass=$2
	pf_init || return 1
	printf '%s' "$pass" | saslpasswd2 -p -c -f "$PF_SASLDB" -u "${addr##*@}" "${addr%@*}" || return 1
	chown root:postfix "$PF_SASLDB" && chmod 0640 "$PF_SASLDB"
	pf_add_mailbox "$addr"
}

# Every process of this instance: Postfix children inherit MAIL_CONFIG=$PF_ETC from master.
_pf_pids() {
	local e pid
	for e in /proc/[0-9]*/environ; do
		pid=${e#/proc/}; pid=${pid%/environ}
		[ "$pid" = "$$" ] && continue
		tr '\0' '\n' 2>/dev/null < "$e" | grep -qxF "MAIL_CONFIG=$PF_ETC" && echo "$pid"
	done
	return 0
}

_pf_master_pid() {
	local p
	p=$(head -n1 "$PF_QUEUE/pid/master.pid" 2>/dev/null | tr -d ' ')
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

_pf_listening() { h_port_listening "$PF_SMTP_PORT" && h_port_listening "$PF_SUBMISSION_PORT"; }

_pf_start_sink() {
	# -u: smtp-sink refuses to run as root; -d: one file per transaction; -c: per-session counters.
	( cd "$PF_SINK" && exec smtp-sink -u nobody -h sink.test -d "$PF_SINK/%Y%m%d%H%M%S." \
		"127.0.0.1:$PF_SINK_PORT" 64 ) >> "$PF_DIR/log/smtp-sink.log" 2>&1 &
	PF_SINK_PID=$!
	h_wait 5 h_port_listening "$PF_SINK_PORT" && h_pid_alive "$PF_SINK_PID"
}

pf_start() {
	local try
	[ "$_pf_running" = 1 ] && return 0
	pf_init || return 1
	for try in 1 2 3; do
		if _pf_start_sink && postfix -c "$PF_ETC" check >> "$PF_DIR/log/start.log" 2>&1 &&
		   postfix -c "$PF_ETC" start >> "$PF_DIR/log/start.log" 2>&1 &&
		   h_wait 15 _pf_listening; then
			_pf_running=1
			h_log "postfix up: smtp $PF_SMTP_PORT submission $PF_SUBMISSION_PORT sink $PF_SINK_PORT"
			return 0
		fi
		# A port was taken between the check and the bind: stop, pick new ports, retry.
		_pf_running=1
		pf_stop
		_pf_pick_ports || return 1
		_pf_write_cf || return 1
	done
	h_die "postfix did not start; see $PF_DIR/log/start.log and $PF_LOG"
	tail -n 20 "$PF_DIR/log/start.log" "$PF_LOG" 2>/dev/null | sed 's/^/# /' >&2
	return 1
}

_pf_all_gone() {
	local id
	for id in "$@"; do h_proc_alive_id "$id" && return 1; done
	return 0
}

pf_reload() {
	local m
	m=$(_pf_master_pid)
	[ -n "$m" ] || { h_die "pf_reload: master is not running"; return 1; }
	# What "postfix reload" does after its (slow) sanity checks: SIGHUP to master, which re-reads
	# main.cf/master.cf and tells idle children to exit; wait until that happened.
	local ids="" p
	for p in $(_pf_pids); do [ "$p" = "$m" ] || ids="$ids $(h_proc_id "$p")"; done
	kill -HUP "$m" || return 1
	# Every child exits within moments of the HUP; a connection that reached an old smtpd
	# would still use the old milter settings.
	h_wait 10 _pf_all_gone $ids ||
		{ h_die "pf_reload: old Postfix processes did not exit"; return 1; }
	h_wait 10 _pf_listening
}

pf_stop() {
	local m pid
	[ -n "$PF_DIR" ] || return 0
	if [ "$_pf_running" = 1 ]; then
		m=$(_pf_master_pid)
		if [ -n "$m" ]; then
			postfix -c "$PF_ETC" stop >> "$PF_DIR/log/start.log" 2>&1
			h_wait 10 eval "! h_pid_alive $m" || kill -KILL "$m" 2>/dev/null
		fi
		for pid in $(_pf_pids); do h_kill_pid "$pid"; done
	fi
	if [ -n "$PF_SINK_PID" ]; then
		h_kill_pid "$PF_SINK_PID"
		wait "$PF_SINK_PID" 2>/dev/null
		PF_SINK_PID=
	fi
	_pf_running=0
	return 0
}

# pf_running_pids: process identities (h_proc_id) of this instance, for tests that check that
# nothing is left (h_proc_alive_id).
pf_running_pids() {
	local p
	[ -n "$PF_DIR" ] || return 0
	for p in $(_pf_pids); do h_proc_id "$p"; done
	[ -n "$PF_SINK_PID" ] && h_pid_alive "$PF_SINK_PID" && h_proc_id "$PF_SINK_PID"
	return 0
}

pf_send() {
	local from=$1 to=$2 file=$3 user=${4:-} pass=${5:-} port=${6:-} rc
	# swaks ends DATA with CRLF "." CRLF after the data, so a file that ends in a line break
	# would arrive with one extra empty line: send it without its last line break.
	local data=$PF_DIR/log/send.$((_pf_sends + 1)).data end
	end=$(tail -c 2 "$file" | od -An -c | tr -d ' ')
	case "$end" in
	*'\r\n') head -c -2 "$file" > "$data" ;;
	*'\n') head -c -1 "$file" > "$data" ;;
	*) cp "$file" "$data" ;;
	esac
	local -a args=(--server 127.0.0.1 --from "$from" --to "$to" --data "@$data"
		--local-interface "$PF_SEND_IP" --helo client.test --timeout 30)
	if [ -n "$user" ]; then
		args+=(--auth PLAIN --auth-user "$user" --auth-password "$pass")
		port=${port:-$PF_SUBMISSION_PORT}
	fi
	port=${port:-$PF_SMTP_PORT}
	_pf_sends=$((_pf_sends + 1))
	PF_SEND_LOG=$PF_DIR/log/swaks.$_pf_sends.log
	swaks "${args[@]}" --port "$port" ${PF_SEND_OPTS:-} > "$PF_SEND_LOG" 2>&1
	rc=$?
	h_log "pf_send $from -> $to port $port: status $rc"
	return $rc
}

pf_sendmail() {
	local from=$1
	shift
	/usr/sbin/sendmail -C "$PF_ETC" -f "$from" -- "$@"
}

pf_smtp_source() {
	local n=$1 to=${2:-rcpt@remote.test} port=${3:-$PF_SMTP_PORT}
	timeout 60 smtp-source -s 1 -m "$n" -f sender@remote.test -t "$to" -S "smtp-source test" \
		"127.0.0.1:$port" >> "$PF_DIR/log/smtp-source.log" 2>&1
}

pf_delivered_count() {
	local n
	n=$(grep -cE ' status=sent ' "$PF_LOG" 2>/dev/null)
	echo "${n:-0}"
}

pf_wait_delivered() {
	local n=$1 secs=${2:-20}
	h_wait "$secs" eval '[ "$(pf_delivered_count)" -ge '"$n"' ]' && return 0
	h_die "pf_wait_delivered: $(pf_delivered_count) of $n deliveries after ${secs}s"
}

pf_queue_count() {
	find "$PF_QUEUE/maildrop" "$PF_QUEUE/incoming" "$PF_QUEUE/active" "$PF_QUEUE/deferred" \
		"$PF_QUEUE/hold" -type f 2>/dev/null | wc -l
}

pf_queue_empty() { [ "$(pf_queue_count)" -eq 0 ]; }

pf_wait_queue_empty() { h_wait "${1:-20}" pf_queue_empty; }

pf_flush() {
	postqueue -c "$PF_ETC" -f 2>/dev/null
	postkick -c "$PF_ETC" public pickup W 2>/dev/null
	return 0
}

pf_sink_files() {
	find "$PF_SINK" -type f -printf '%T@ %p\n' 2>/dev/null | sort -n | cut -d' ' -f2-
}

# smtp-sink writes the envelope as X-Client-*/X-Helo-Args/X-Mail-Args/X-Rcpt-Args lines, then its
# own Received: header, then the message, then one empty line that ends the record.
pf_sink_message() {
	awk '
	st == 0 && /^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args): / { next }
	st == 0 && /^Received: .*/ { st = 1; next }
	st == 1 && /^[ \t]/ { next }
	{ st = 2; if (held) print last; last = $0; held = 1 }
	END { if (held && last != "") print last }' "$1"
}

pf_maildir_files() {
	local addr=$1
	find "$PF_MAIL/${addr##*@}/${addr%@*}/new" "$PF_MAIL/${addr##*@}/${addr%@*}/cur" -type f \
		-printf '%T@ %p\n' 2>/dev/null | sort -n | cut -d' ' -f2-
}

pf_log_grep() { grep -E "$1" "$PF_LOG" 2>/dev/null; }

# postlogd writes after the client already has its reply: wait for the line, do not race it.
pf_wait_log() { local want=$1; h_wait "${2:-10}" eval 'pf_log_grep "$want" >/dev/null'; }
