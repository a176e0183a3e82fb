#!/bin/bash
# sendmail_milter: the milter behind a real Sendmail 8.17 (Debian's sendmail-bin), built with
# contrib/sendmail/autosmime.mc as shipped (only the socket named for the test). Debian's
# sendmail conflicts with postfix, so it runs in a Debian 12 root made by debootstrap in the
# test's scratch directory (same network: everything stays on 127.0.0.1). Cases: mail from an
# attributed sender (network_sender_map_file vouches for 127.0.0.1) leaves signed and
# verifies; with the milter down Sendmail tempfails (F=T) and nothing is lost, and after the
# restart the retried message leaves signed; inbound mail from outside internal_networks
# signed by a trusted sender gets Authentication-Results smime=pass, and a forged result with
# our authserv-id is removed. SENDMAIL_ROOT=DIR reuses a root made before (faster reruns).
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/inbound/common.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/postfix.sh"   # pf_sink_message only: no Postfix here
. "$top_srcdir/tests/integration/outbound_lib.sh"   # ob_msg, ob_msgid
. "$top_srcdir/tests/harness/smime.sh"
h_need_root
h_need_cmd debootstrap chroot swaks smtp-sink openssl runuser m4
h_init sendmail
h_at_exit cleanup          # common.sh's: the CRL server, $T
chmod 0755 "$T"
ms_need_complete

root=${SENDMAIL_ROOT:-$H_TMP/root}
sm_pid= sink_pid=
sm_cleanup() {
	[ -n "$sm_pid" ] && kill "$sm_pid" 2>/dev/null
	[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
	# every process still running inside the root
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	[ -z "${SENDMAIL_ROOT:-}" ] && rm -rf "$H_TMP/root"
}
h_at_exit sm_cleanup

mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}
if ! chroot "$root" test -x /usr/sbin/sendmail 2>/dev/null; then
	debootstrap --variant=minbase --include=sendmail-bin,sendmail-cf,m4 bookworm "$root" "$mirror" \
		> "$H_TMP/debootstrap.log" 2>&1
	tap_ok $? "debootstrap: a Debian 12 root with sendmail-bin ($mirror)" ||
		{ tail -n 5 "$H_TMP/debootstrap.log" | sed 's/^/# /'; tap_done; exit 1; }
else
	tap_ok 0 "a Debian 12 root with sendmail-bin is there ($root)"
fi
tap_check "it is Sendmail 8.17" eval 'chroot "$root" /usr/sbin/sendmail -d0.1 -bt < /dev/null 2>&1 | grep -q "^Version 8\.17"'

# --- the test PKI for inbound mail, the milter, a sink for everything Sendmail relays
start_server ok || { echo "Bail out! crl-server did not start"; exit 1; }
make_pki "http://127.0.0.1:$PORT_ok/int.crl" || { echo "Bail out! cannot create the test PKI"; exit 1; }
ALICE=alice@local.test
BOB=bob@local.test
MS_LOCAL_DOMAINS=local.test
ms_init inet
printf '127.0.0.1/32 %s\n' "$ALICE" > "$MS_DIR/netmap"
cp "$T/root.pem" "$MS_DIR/anchors.pem"
chmod 0644 "$MS_DIR/netmap" "$MS_DIR/anchors.pem"
mkdir -p "$MS_DIR/crlcache" && chown "$MS_USER:" "$MS_DIR/crlcache"
ms_conf "network_sender_map_file $MS_DIR/netmap" "trust_anchor_file $MS_DIR/anchors.pem" \
	"crl_cache_dir $MS_DIR/crlcache" "crl_wait 5s" "crl_fetch_timeout 5s"
{ ms_ca_init && ms_issue "$ALICE"; } > "$H_TMP/ca.log" 2>&1
tap_ok $? "the CA is made and $ALICE has a certificate"
ms_start
tap_ok $? "the milter listens on $MS_SOCKET"
milter_port=${MS_SOCKET#inet:}; milter_port=${milter_port%@*}

sm_port=$(h_free_port) sink_port=$(h_free_port)
mkdir -p "$H_TMP/sink" && chown nobody "$H_TMP/sink"
( cd "$H_TMP/sink" && exec smtp-sink -u nobody -h sink.test -d "$H_TMP/sink/%Y%m%d%H%M%S." \
	"127.0.0.1:$sink_port" 64 ) > "$H_TMP/sink.log" 2>&1 &
sink_pid=$!

# --- sendmail.cf: Debian's m4 files, the shipped snippet, relaying to the sink
snippet=$(sed "s|S=unix:/run/autosmime/autosmime.sock|S=inet:$milter_port@127.0.0.1|" \
	"$top_srcdir/contrib/sendmail/autosmime.mc")
cat > "$root/etc/mail/autosmime-test.mc" <<MC
include(\`/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(\`autosmime test')dnl
OSTYPE(\`debian')dnl
define(\`confDOMAIN_NAME', \`gw.autosmime.test')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confSERVICE_SWITCH_FILE', \`/etc/mail/autosmime-test.switch')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confTO_CONNECT', \`10s')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $sink_port')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $sink_port')dnl
define(\`SMTP_MAILER_ARGS', \`TCP \$h $sink_port')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
RELAY_DOMAIN(\`local.test')dnl
RELAY_DOMAIN(\`remote.test')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=$sm_port, Addr=127.0.0.1')dnl
$snippet
MAILER(\`smtp')dnl
MC
printf 'hosts files\naliases files\n' > "$root/etc/mail/autosmime-test.switch"
printf '127.0.0.1 localhost gw.autosmime.test gw\n' > "$root/etc/hosts"
echo gw.autosmime.test > "$root/etc/mailname"
chroot "$root" sh -c 'm4 /etc/mail/autosmime-test.mc > /etc/mail/autosmime-test.cf' 2> "$H_TMP/m4.log"
tap_check "m4 builds sendmail.cf with the shipped snippet" \
	eval 'grep -q "^Xautosmime, S=inet:$milter_port@127.0.0.1, F=T" "$root/etc/mail/autosmime-test.cf"'
mkdir -p "$root/var/spool/mqueue" "$root/var/spool/mqueue-client" "$root/run/sendmail/mta"
# Debian leaves the queue to smmta, the user its own configuration runs the MTA as; this
# sendmail.cf runs it as root, which writes only to a queue of its own
chroot "$root" sh -c "chown root:root /var/spool/mqueue && chmod 0700 /var/spool/mqueue"
chroot "$root" /usr/sbin/sendmail -bd -q5s -C/etc/mail/autosmime-test.cf \
	-OPidFile=/run/sendmail/mta/test.pid > "$H_TMP/sendmail.out" 2>&1
h_wait 15 h_port_listening "$sm_port"
tap_ok $? "Sendmail listens on 127.0.0.1:$sm_port"
sm_pid=$(head -n 1 "$root/run/sendmail/mta/test.pid" 2>/dev/null)

send() { # FROM TO FILE [CLIENT-IP]: swaks' status; transcript in $H_TMP/swaks.log
	swaks --server 127.0.0.1 --port "$sm_port" --local-interface "${4:-127.0.0.1}" \
		--from "$1" --to "$2" --data "@$3" --timeout 30 > "$H_TMP/swaks.log" 2>&1
}
captured() { # MESSAGE-ID [SECS]: the sink's capture, as the message, in $got
	local f i last=
	got=$H_TMP/got.eml
	rm -f "$got"
	for i in $(seq $((${2:-20} * 5))); do
		f=$(grep -l "^Message-ID: <$1>" "$H_TMP"/sink/* 2>/dev/null | tail -n 1)
		# smtp-sink writes as the data arrives: complete once its size stays put
		if [ -n "$f" ] && [ "$(stat -c %s "$f")" = "${last:-}" ]; then
			pf_sink_message "$f" > "$got"
			return 0
		fi
		last=$([ -n "$f" ] && stat -c %s "$f")
		sleep 0.2
	done
	return 1
}
ours() { # our Authentication-Results of FILE, unfolded
	tr -d '\r' < "$1" | awk '/^$/ { exit } /^[ \t]/ { sub(/^[ \t]+/, " "); h = h $0; next }
		{ if (h != "") print h; h = $0 } END { if (h != "") print h }' |
		grep -i "^Authentication-Results: *$MS_AUTHSERV_ID;"
}

ob_msg "$ALICE" dave@remote.test "through sendmail"
send "$ALICE" dave@remote.test "$m"
tap_ok $? "Sendmail accepts alice's mail from 127.0.0.1"
captured "$(ob_msgid "$m")"
tap_check "it leaves signed" smime_is_signed "$got"
smime_verify_openssl "$got" "$MS_DIR/ca/root.pem" "$H_TMP/verified.txt"
tap_ok $? "and openssl cms -verify accepts it"

ms_stop
ob_msg "$ALICE" dave@remote.test "through sendmail"
send "$ALICE" dave@remote.test "$m"
rc=$?
tap_check "with the milter down Sendmail answers 4xx (F=T), not 250" \
	eval '[ $rc != 0 ] && grep -q "^<\*\* *4[0-9][0-9]" "$H_TMP/swaks.log"'
tap_check "and nothing reached the sink" eval '! captured "$(ob_msgid "$m")" 1'
ms_start
send "$ALICE" dave@remote.test "$m"
tap_ok $? "after the restart the retried message is accepted"
captured "$(ob_msgid "$m")"
tap_check "and leaves signed" smime_is_signed "$got"

cms_sign alice alice@remote.test "$H_TMP/in1.eml"
send alice@remote.test "$BOB" "$H_TMP/in1.eml" 127.0.0.2
tap_ok $? "inbound signed mail from 127.0.0.2 (outside internal_networks) is accepted"
captured "$(ob_msgid "$H_TMP/in1.eml")"
tap_check "it carries Authentication-Results smime=pass" eval 'ours "$got" | grep -q "smime=pass"'
{ printf 'Authentication-Results: %s; smime=pass body.smime-identifier=alice@remote.test\r\n' "$MS_AUTHSERV_ID"
  headers mallory@remote.test "$BOB" "forged result"; content; } > "$H_TMP/in2.eml"
send mallory@remote.test "$BOB" "$H_TMP/in2.eml" 127.0.0.2
captured "$(ob_msgid "$H_TMP/in2.eml")"
tap_check "a forged result with our authserv-id is removed (none says pass)" \
	eval '[ -s "$got" ] && ! ours "$got" | grep -q "smime=pass"'
ms_stop
tap_check "the milter's log has no sanitizer or valgrind error report" ms_sanitizer_clean
tap_done
