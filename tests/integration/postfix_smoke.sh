#!/bin/bash
# postfix_smoke: the harness's private Postfix instance works: mail via swaks and smtp-source
# reaches the smtp-sink capture and a local Maildir, SASL submission works, unauthenticated
# submission and relaying from outside mynetworks are refused, and pf_stop leaves no process.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
h_need_root
h_need_cmd postfix swaks smtp-source smtp-sink saslpasswd2 postmap runuser
h_init smoke

pf_add_user alice@local.test 'pw-alice-1'
pf_add_mailbox bob@local.test
pf_start
tap_ok $? "private Postfix starts on loopback ports $PF_SMTP_PORT/$PF_SUBMISSION_PORT"
tap_check "main.cf is the private one (chroot off, own queue)" \
	eval '[ "$(postconf -c "$PF_ETC" -h queue_directory)" = "$PF_QUEUE" ]'

msg=$H_TMP/msg.eml
printf 'From: <alice@local.test>\r\nTo: <bob@local.test>\r\nSubject: smoke\r\nMessage-ID: <smoke-1@local.test>\r\n\r\nline one\r\n.leading dot\r\n' > "$msg"

pf_send alice@local.test bob@local.test "$msg"
tap_ok $? "swaks to a local domain is accepted"
pf_wait_delivered 1 20
tap_ok $? "and delivered"
f=$(pf_maildir_files bob@local.test | head -n1)
tap_check "the message is in bob's Maildir" test -n "$f"
tap_check "its body survived (dot-stuffing undone)" grep -q '^\.leading dot' "${f:-/dev/null}"

pf_send alice@local.test carol@remote.test "$msg" alice@local.test 'pw-alice-1'
tap_ok $? "SASL-authenticated submission relays to a remote domain"
pf_wait_delivered 2 20
s=$(pf_sink_files | tail -n1)
tap_check "smtp-sink captured it" test -n "$s"
tap_check "the capture holds the envelope recipient" grep -q '^X-Rcpt-Args: <carol@remote.test>' "${s:-/dev/null}"
tap_check "pf_sink_message strips the envelope and keeps the message" \
	eval 'pf_sink_message "$s" | grep -q "^Message-ID: <smoke-1@local.test>" && ! pf_sink_message "$s" | grep -q "^X-Rcpt-Args"'
tap_check "the SASL login is logged" pf_wait_log sasl_username=alice@local.test

pf_send alice@local.test carol@remote.test "$msg" '' '' "$PF_SUBMISSION_PORT"
tap_ok $(( $? == 0 )) "unauthenticated submission is refused"
tap_check "with 554 at RCPT" grep -q '^<\*\* 554' "$PF_SEND_LOG"
pf_send alice@local.test carol@remote.test "$msg" alice@local.test 'wrong'
tap_ok $(( $? == 0 )) "a wrong password is refused"
PF_SEND_IP=$PF_OUTSIDE_IP pf_send eve@remote.test carol@remote.test "$msg"
tap_ok $(( $? == 0 )) "relaying from outside mynetworks ($PF_OUTSIDE_IP) is refused"

before=$(pf_sink_files | wc -l)
pf_smtp_source 5 dave@remote.test
tap_ok $? "smtp-source sends 5 messages"
pf_wait_delivered 7 30
tap_ok $? "all 7 deliveries are logged"
tap_is "$(( $(pf_sink_files | wc -l) - before ))" 5 "5 new smtp-sink captures"

printf 'Subject: via sendmail\n\nbody\n' | pf_sendmail alice@local.test bob@local.test
tap_ok $? "sendmail -C (the non_smtpd path) takes a message"
pf_wait_delivered 8 20
tap_ok $? "and it is delivered"
printf 'From: <alice@local.test>\nTo: Bob <bob@local.test>\nSubject: via smtp-sendmail\nMessage-ID: <smoke-ss@local.test>\n\nbody\n' |
	runuser -u postfix -- $PF_SMTP_SENDMAIL -f alice@local.test
tap_ok $? "smtp-sendmail -t injects as an unprivileged user (PF_SMTP_SENDMAIL)"
pf_wait_delivered 9 20
tap_check "and bob receives it" eval 'grep -l "^Message-ID: <smoke-ss@local.test>" $(pf_maildir_files bob@local.test) >/dev/null'
tap_check "queue is empty" pf_wait_queue_empty 10

pids=$(pf_running_pids | tr '\n' ' ')
tap_check "the instance has processes while running" test -n "$pids"
pf_stop
left=""
for p in $pids; do h_proc_alive_id "$p" && left="$left $p"; done
tap_is "$left" "" "pf_stop leaves no process behind"
tap_is "$(pf_running_pids | wc -l)" 0 "no process carries this instance's MAIL_CONFIG"
tap_done
