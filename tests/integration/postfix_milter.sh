#!/bin/bash
# postfix_milter: the harness's milter plumbing, checked with an independent real milter
# (OpenDKIM) on a unix and on an inet socket: pf_milter attaches it to smtpd and non-smtpd mail,
# it sees the mail, and when it is SIGKILLed Postfix fails closed: SMTP clients get 4xx, mail
# from sendmail(1) stays queued, and after a restart that mail goes out through the milter.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/opendkim.sh"
h_need_root
h_need_cmd postfix swaks smtp-sink saslpasswd2 opendkim opendkim-genkey
h_init pfmilter

pf_add_user alice@local.test 'pw-alice'
pf_start
tap_ok $? "Postfix starts"
msg=$H_TMP/m.eml
printf 'From: <alice@local.test>\r\nTo: <x@remote.test>\r\nSubject: plumbing\r\n\r\nbody\r\n' > "$msg"
dkim_in_last() { grep -q '^DKIM-Signature: .*d=local.test' "$(pf_sink_files | tail -n1)"; }

for kind in unix inet; do
	dk_init local.test "s$kind" "$kind"
	dk_start
	tap_ok $? "[$kind] OpenDKIM listens on $DK_SOCKET"
	pf_milter "$DK_PF_SOCKET"
	tap_check "[$kind] smtpd_milters is set" eval '[ "$(postconf -c "$PF_ETC" -h smtpd_milters)" = "$DK_PF_SOCKET" ]'
	tap_check "[$kind] non_smtpd_milters is set" eval '[ "$(postconf -c "$PF_ETC" -h non_smtpd_milters)" = "$DK_PF_SOCKET" ]'
	before=$(pf_delivered_count)
	pf_send alice@local.test x@remote.test "$msg" alice@local.test 'pw-alice'
	tap_ok $? "[$kind] submission through the milter is accepted"
	pf_wait_delivered $((before + 1)) 20
	tap_check "[$kind] the milter changed the message (DKIM-Signature added)" dkim_in_last

	dk_kill9
	pf_send alice@local.test x@remote.test "$msg" alice@local.test 'pw-alice'
	tap_ok $(( $? == 0 )) "[$kind] milter SIGKILLed: submission is not accepted"
	tap_check "[$kind] the answer is a temporary failure (4xx)" grep -q '^<\*\* 4[0-9][0-9]' "$PF_SEND_LOG"
	pf_sendmail alice@local.test x@remote.test < "$msg"
	tap_ok $? "[$kind] sendmail(1) takes a message meanwhile"
	sleep 2
	tap_is "$(pf_delivered_count)" "$((before + 1))" "[$kind] nothing is delivered while the milter is down"
	tap_check "[$kind] the message waits in the queue" eval '[ "$(pf_queue_count)" -ge 1 ]'
	tap_check "[$kind] Postfix logs the tempfail" pf_wait_log 'milter-reject: .*4\.7\.1'
	dk_start
	tap_ok $? "[$kind] OpenDKIM restarted"
	pf_flush
	pf_wait_delivered $((before + 2)) 20
	tap_ok $? "[$kind] the queued message is delivered after the restart"
	tap_check "[$kind] through the milter (DKIM-Signature)" dkim_in_last
	tap_check "[$kind] queue is empty" pf_wait_queue_empty 10
	dk_kill9   # a clean stop costs libmilter's 5 s poll; the next round starts a new instance
done
pf_stop
tap_done
