#!/bin/bash
# postfix_chroot: the milter behind Postfix as Debian ships it, with smtpd, pickup and cleanup
# chrooted in the queue directory (master.cf column 5 "y"), where /run cannot be seen. The
# socket lives in the queue directory (autosmime/) and Postfix names it relative to it, as
# autosmime-milter(8) SYSTEMD says: a SASL-authenticated submission arrives signed and
# verifies, a message through sendmail(1) (pickup and cleanup, chrooted) reaches the milter,
# and with the socket under /run instead the chrooted smtpd cannot reach it and the mail is
# tempfailed, not passed unsigned.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/smime.sh"
. "$top_srcdir/tests/integration/outbound_lib.sh"
h_need_root
h_need_cmd postfix swaks smtp-sink saslpasswd2 openssl runuser
h_init chroot
ms_need_complete

PF_CHROOT=1
ALICE=alice@local.test
pf_add_user "$ALICE" 'pw-alice'
chroots=$(postconf -c "$PF_ETC" -F '*/*/chroot' | awk '$NF == "y" { split($1, s, "/"); print s[1] }' | sort -u | tr '\n' ' ')
tap_check "master.cf chroots smtpd, pickup and cleanup ($chroots)" \
	eval 'postconf -c "$PF_ETC" -F "*/*/chroot" | grep -Eq "^127\.0\.0\.1:$PF_SUBMISSION_PORT/inet/chroot = y" &&
	      postconf -c "$PF_ETC" -F "pickup/unix/chroot" "cleanup/unix/chroot" | grep -c "= y" | grep -qx 2'

ms_init unix
ms_conf "local_submission_attribution envelope"
# The documented place: a directory in the queue directory, named relative to it.
install -d -o "$MS_USER" -g "$MS_USER" -m 0750 "$PF_QUEUE/autosmime"
ms_conf_set socket "unix:$PF_QUEUE/autosmime/milter.sock"
MS_SOCKET=unix:$PF_QUEUE/autosmime/milter.sock
{ ms_ca_init && ms_issue "$ALICE"; } > "$H_TMP/ca.log" 2>&1
tap_ok $? "the CA is made and $ALICE has a certificate"
root=$MS_DIR/ca/root.pem
ms_start
tap_ok $? "the milter listens in the queue directory ($MS_SOCKET)"
pf_milter "unix:autosmime/milter.sock"
pf_start
tap_ok $? "the chrooted Postfix starts"

captured() { ob_captured "$(ob_msgid "$m")" "$H_TMP/cap.eml" && echo "$H_TMP/cap.eml"; }

ob_msg "$ALICE" dave@remote.test "chroot"
before=$(pf_delivered_count)
pf_send "$ALICE" dave@remote.test "$m" "$ALICE" 'pw-alice'
tap_ok $? "a SASL submission through the chrooted smtpd is accepted"
jailed=0
for p in $(pgrep -x smtpd); do
	tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qxF "MAIL_CONFIG=$PF_ETC" || continue
	[ "$(readlink "/proc/$p/root")" = "$PF_QUEUE" ] && jailed=$((jailed + 1))
done
tap_check "the smtpd that took it runs chrooted in the queue directory ($jailed)" test "$jailed" -ge 1
pf_wait_delivered $((before + 1)) 20
f=$(captured)
tap_check "it arrives multipart/signed" smime_is_signed "${f:-/dev/null}"
smime_verify_openssl "${f:-/dev/null}" "$root" "$H_TMP/verified.txt"
tap_ok $? "and openssl cms -verify accepts it"

ob_msg "$ALICE" dave@remote.test "chroot"
before=$(pf_delivered_count)
tr -d '\r' < "$m" | pf_sendmail "$ALICE" dave@remote.test
pf_wait_delivered $((before + 1)) 30
f=$(captured)
tap_check "sendmail(1) through the chrooted pickup and cleanup: signed too" smime_is_signed "${f:-/dev/null}"

# The socket where the chroot cannot see it: Postfix says so and the mail waits.
ms_stop
outside=$MS_DIR/run   # under /run in a real deployment
ms_conf_set socket "unix:$outside/milter.sock"
MS_SOCKET=unix:$outside/milter.sock
ms_start
pf_milter "$MS_SOCKET"
ob_msg "$ALICE" dave@remote.test "chroot"
pf_send "$ALICE" dave@remote.test "$m" "$ALICE" 'pw-alice'
rc=$?
tap_check "with the socket outside the chroot the submission is refused for now (4xx)" \
	eval '[ $rc != 0 ] && grep -q "^<\*\* 4[0-9][0-9]" "$PF_SEND_LOG"'
tap_check "and Postfix logs that it cannot reach the milter" \
	pf_wait_log "connect to Milter service unix:$outside/milter.sock: No such file"
ms_stop
tap_check "the milter's log has no sanitizer or valgrind error report" ms_sanitizer_clean
tap_done
