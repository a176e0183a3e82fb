#!/bin/bash
# enrol_flow: in-band enrolment end to end through a private Postfix (SASL submission, Maildirs)
# and autosmime-milter, whose sendmail_command submits over SMTP to the same Postfix:
#  - a new user's mail passes unsigned and the challenge lands in her Maildir, untouched by the
#    milter and signed by the gateway's certificate for the enrolment address (as is the
#    confirmation);
#  - replies to the enrolment address from an unauthenticated outside client, from 127.0.0.1
#    without AUTH (unattributed) and from another user's login are refused (550) with nothing
#    issued and nothing delivered;
#  - the user's own reply, built from the challenge like a mail client does (Re: subject,
#    In-Reply-To, quoted text), is discarded, the certificate is issued and the confirmation
#    with the certificate lands in the Maildir; her next mail arrives signed and verifies with
#    openssl cms -verify; the same reply again is refused;
#  - after a SIGHUP to unenrolled_action tempfail, a new user's mail stays queued (451 4.7.0
#    for the submitting client) and arrives signed after enrolment (pf_flush);
#  - after a SIGHUP to a renew_before longer than the current certificates' remaining time, the next mail is signed with
#    the current certificate while the renewal (validation reused) issues the successor, which
#    signs the mail after that.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/smime.sh"
. "$top_srcdir/tests/integration/outbound_lib.sh"

ALICE=alice@local.test
BOB=bob@local.test
CAROL=carol@local.test
ENROL=enrol@local.test
DAVE=dave@remote.test
ob_setup enrol "$ALICE" "$BOB" "$CAROL" || { echo "1..0 # SKIP set-up failed"; exit 1; }
# A mailbox for the enrolment address, so Postfix accepts RCPT TO and every reply reaches the
# milter: nothing may ever arrive there.
pf_add_mailbox "$ENROL"
pf_start || { echo "1..0 # SKIP Postfix did not start"; exit 1; }
ms_conf "enrol_address $ENROL" "challenge_subject_prefix Certificate request" \
	"sendmail_command $PF_SMTP_SENDMAIL" "caa_check no" "cert_validity 100d"
# carol posts with sendmail(1) as root, whom local_login_sender_maps (default static:*) lets use any
# envelope sender: the milter attributes From: = envelope sender only when told to.
ms_conf "local_submission_attribution envelope"
ms_start && pf_milter "$MS_PF_SOCKET"
tap_ok $? "Postfix, milter (enrol_address $ENROL, sendmail_command over SMTP) run"

n_reply=0
# A reply as a mail client writes it: Re: subject, In-Reply-To/References, the text quoted.
make_reply() { # CHALLENGE FROM OUT
	local subj id
	subj=$(hdr "$1" Subject)
	id=$(hdr "$1" Message-ID)
	n_reply=$((n_reply + 1))
	{
		printf 'From: <%s>\r\nTo: %s\r\nSubject: Re: %s\r\nIn-Reply-To: %s\r\nReferences: %s\r\n' \
			"$2" "$ENROL" "$subj" "$id" "$id"
		printf 'Message-ID: <reply-%d@local.test>\r\nDate: %s\r\nMIME-Version: 1.0\r\n' "$n_reply" "$(date -R)"
		printf 'Content-Type: text/plain; charset=utf-8\r\n\r\nYes, please.\r\n\r\nOn %s, %s wrote:\r\n' \
			"$(hdr "$1" Date)" "$ENROL"
		sed -n '/^\r\{0,1\}$/,$p' "$1" | sed 1d | tr -d '\r' | sed 's/^/> /; s/$/\r/'
	} > "$3"
}
token_of() { hdr "$1" Subject | sed -n 's/.*ACME: *\([A-Za-z0-9_-]*\).*/\1/p'; }
enrol_untouched() { [ "$(maildir_count "$ENROL")" = 0 ] && ! grep -ql "^X-Rcpt-Args: <$ENROL>" $(pf_sink_files) /dev/null; }

# 1. A new user: mail passes unsigned, the challenge arrives.
mark=$(ob_mark)
ob_msg "$ALICE" "$DAVE" "before enrolment"
ob_submit "$ALICE" "$DAVE" "$m"
tap_ok $? "$ALICE's first mail is accepted and delivered"
tap_check "it arrives unsigned (unenrolled_action pass)" eval '[ -s "$ob_got" ] && ! smime_is_signed "$ob_got"'
wait_maildir "$ALICE" 1
tap_ok $? "the challenge lands in $ALICE's Maildir"
chal=$(newest_mail "$ALICE")
tok=$(token_of "$chal")
tap_check "the challenge: From the enrolment address, Auto-Submitted, ACME token in the subject" \
	eval '[ "$(hdr "$chal" From)" = "$ENROL" ] && hdr "$chal" Auto-Submitted | grep -q "^auto-generated; type=acme" && [ ${#tok} -ge 22 ]'
# (sent over SMTP from 127.0.0.1 without AUTH, it may pass as unattributed before the enrolment-mail check)
tap_check "the challenge passed the milter untouched (no enrolment for it)" \
	eval 'ob_log_since $mark | grep -Eq "event=pass reason=(enrolment-mail|unattributed)" && ! ob_log_since $mark | grep -q "event=enrol sender=$ENROL"'
tap_check "the delivered challenge is signed by the gateway: openssl cms -verify against our root, signer $ENROL, the token in the signed text" \
	eval 'smime_is_signed "$chal" && ob_signer "$chal" "$H_TMP/gw-signer.pem" && openssl x509 -in "$H_TMP/gw-signer.pem" -noout -ext subjectAltName | grep -q "email:$ENROL" && grep -qF -- "$tok" "$H_TMP/gw-signer.pem.content"'
tap_check "the milter logged the challenge for $ALICE" \
	eval 'ob_log_since $mark | grep -q "event=enrol sender=$ALICE result=challenge-sent challenge=[0-9a-f]* serial=- action=pass"'
make_reply "$chal" "$ALICE" "$H_TMP/reply-alice.eml"

# 2. Attacks: each refused (550), nothing issued, nothing delivered.
PF_SEND_IP=$PF_OUTSIDE_IP pf_send "$ALICE" "$ENROL" "$H_TMP/reply-alice.eml"
rc=$?
tap_ok $([ $rc != 0 ] && grep -q '^<\*\* *550 5.7.1' "$PF_SEND_LOG"; echo $?) \
	"a reply from an unauthenticated outside client ($PF_OUTSIDE_IP) is refused with 550 5.7.1"
tap_ok $([ "$(certs_of "$ALICE")" = 0 ]; echo $?) "  ... and nothing is issued"
# 127.0.0.1 is in internal_networks, but without AUTH (and no network_sender_map_file entry)
# nobody can tell who sent it: the same rule as signing
pf_send "$ALICE" "$ENROL" "$H_TMP/reply-alice.eml"
rc=$?
tap_ok $([ $rc != 0 ] && grep -q '^<\*\* *550 5.7.1' "$PF_SEND_LOG"; echo $?) \
	"a reply over SMTP from 127.0.0.1 without AUTH (unattributed) is refused with 550 5.7.1"
tap_ok $([ "$(certs_of "$ALICE")" = 0 ]; echo $?) "  ... and nothing is issued"
pf_send "$ALICE" "$ENROL" "$H_TMP/reply-alice.eml" "$BOB" "pw-bob"
rc=$?
tap_ok $([ $rc != 0 ] && grep -q '^<\*\* *550 5.7.1 Your reply could not be accepted' "$PF_SEND_LOG"; echo $?) \
	"the same reply authenticated as $BOB is refused with the what-to-do answer"
tap_ok $([ "$(certs_of "$ALICE")" = 0 ] && [ "$(certs_of "$BOB")" = 0 ]; echo $?) "  ... and nothing is issued"
ms_ctl audit show --event enrol-reply > "$H_TMP/audit1" 2>/dev/null
tap_check "both refusals are audited (unauthenticated, login may not use the mailbox)" \
	eval 'grep -q "result=refused reason=unauthenticated" "$H_TMP/audit1" && grep -q "result=refused reason=login-may-not-use-mailbox login=$BOB" "$H_TMP/audit1"'

# 3. The user's own reply.
mark=$(ob_mark)
pf_send "$ALICE" "$ENROL" "$H_TMP/reply-alice.eml" "$ALICE" "pw-alice"
tap_ok $? "$ALICE's reply through SMTP AUTH is accepted"
tap_check "the milter discarded it and logged status=issued" \
	eval 'h_wait 10 eval "ob_log_since $mark | grep -q \"event=enrol_reply status=issued from=$ALICE login=$ALICE\"" && pf_wait_log milter-discard'
tap_is "$(certs_of "$ALICE")" 1 "one certificate is issued for $ALICE"
tap_is "$(enc_certs_of "$ALICE")" 1 "with its encryption partner (the default pair)"
wait_maildir "$ALICE" 2
tap_ok $? "the confirmation lands in $ALICE's Maildir"
conf=$(newest_mail "$ALICE")
openssl x509 -in "$conf" -out "$H_TMP/alice-conf.pem" 2>/dev/null
tap_check "it carries the certificate (certs-only and PEM), valid for $ALICE under our root" \
	eval 'grep -q "smime-type=certs-only" "$conf" && openssl verify -CAfile "$OB_CHAIN" -purpose smimesign "$H_TMP/alice-conf.pem" >/dev/null 2>&1 && openssl x509 -in "$H_TMP/alice-conf.pem" -noout -ext subjectAltName | grep -q "email:$ALICE"'
tap_check "the confirmation is signed by the gateway certificate too" \
	eval 'ob_signer "$conf" "$H_TMP/gw-signer2.pem" && [ "$(ob_serial "$H_TMP/gw-signer2.pem")" = "$(ob_serial "$H_TMP/gw-signer.pem")" ]'
tap_check "the reply was delivered nowhere" enrol_untouched

# 4. Her next mail is signed with that certificate.
ob_msg "$ALICE" "$DAVE" "after enrolment"
ob_submit "$ALICE" "$DAVE" "$m"
tap_ok $? "$ALICE's next mail is accepted and delivered"
tap_check "it arrives signed and verifies (openssl cms -verify, our root)" \
	eval 'smime_is_signed "$ob_got" && ob_signer "$ob_got" "$H_TMP/alice-signer.pem"'
tap_is "$(ob_serial "$H_TMP/alice-signer.pem" 2>/dev/null)" "$(ob_serial "$H_TMP/alice-conf.pem" 2>/dev/null)" \
	"the signer is the certificate of the confirmation"
pf_send "$ALICE" "$ENROL" "$H_TMP/reply-alice.eml" "$ALICE" "pw-alice"
rc=$?
tap_ok $([ $rc != 0 ] && [ "$(certs_of "$ALICE")" = 1 ]; echo $?) "the same reply again (used token) is refused, nothing issued"

# 5. unenrolled_action tempfail, after a SIGHUP (the enrolment context is rebuilt).
mark=$(ob_mark)
sed -i '/^unenrolled_action /d' "$MS_CONF" && ms_conf "unenrolled_action tempfail"
kill -HUP "$(ms_pid)"
tap_check "SIGHUP reloads the configuration and reopens enrolment" \
	h_wait 15 eval 'ob_log_since $mark | grep -q "event=enrol-setup status=ok .*unenrolled_action=tempfail"'
ob_msg "$CAROL" "$DAVE" "queued until enrolled"
carol_id=$(ob_msgid "$m")
tr -d '\r' < "$m" | pf_sendmail "$CAROL" "$DAVE"
tap_check "$CAROL's first mail (sendmail) is deferred: it stays queued, nothing delivered" \
	eval 'h_wait 15 eval "ob_log_since $mark | grep -q \"event=enrol sender=$CAROL result=challenge-sent.*action=tempfail\"" && sleep 1 && [ "$(pf_queue_count)" -ge 1 ] && ! ob_captured "$carol_id" "$H_TMP/carol-early.eml"'
wait_maildir "$CAROL" 1
tap_ok $? "the challenge lands in $CAROL's Maildir"
ob_msg "$CAROL" "$DAVE" "submitted while unenrolled"
pf_send "$CAROL" "$DAVE" "$m" "$CAROL" "pw-carol"
rc=$?
tap_ok $([ $rc != 0 ] && grep -q '^<\*\* *451 4.7.0 no S/MIME certificate yet: check your mailbox' "$PF_SEND_LOG"; echo $?) \
	"a submission meanwhile gets 451 4.7.0 with what to do"
chal=$(pf_maildir_files "$CAROL" | head -n 1)
make_reply "$chal" "$CAROL" "$H_TMP/reply-carol.eml"
pf_send "$CAROL" "$ENROL" "$H_TMP/reply-carol.eml" "$CAROL" "pw-carol"
tap_ok $([ $? = 0 ] && h_wait 10 eval '[ "$(certs_of "$CAROL")" = 1 ]'; echo $?) "$CAROL's reply issues her certificate"
pf_flush
got=$H_TMP/carol-deferred.eml
h_wait 30 eval 'pf_flush; ob_captured "$carol_id" "$got"'
tap_ok $? "after pf_flush the deferred mail is delivered"
tap_check "it arrives signed by $CAROL and verifies" \
	eval 'smime_is_signed "$got" && ob_signer "$got" "$H_TMP/carol-signer.pem" && openssl x509 -in "$H_TMP/carol-signer.pem" -noout -ext subjectAltName | grep -q "email:$CAROL"'
tap_check "no reply was ever delivered" enrol_untouched
# 6. Renewal.
mark=$(ob_mark)
# New certificates last 365 days, so the 100-day ones are due and their successors are not.
ms_conf_set cert_validity 365d
ms_conf_set renew_before 200d
kill -HUP "$(ms_pid)"
h_wait 15 eval 'ob_log_since $mark | grep -q "event=enrol-setup status=ok"'
tap_ok $? "SIGHUP with renew_before 200d and cert_validity 365d (current certificates last 100d)"
ob_msg "$ALICE" "$DAVE" "renewal due"
ob_submit "$ALICE" "$DAVE" "$m"
tap_ok $([ $? = 0 ] && ob_signer "$ob_got" "$H_TMP/alice-signer2.pem" &&
	[ "$(ob_serial "$H_TMP/alice-signer2.pem")" = "$(ob_serial "$H_TMP/alice-conf.pem")" ]; echo $?) \
	"the mail that finds the renewal due is signed with the current certificate"
tap_check "the renewal issued a successor at once (validation reused) and mailed it" \
	eval 'ob_log_since $mark | grep -q "event=enrol-renew sender=$ALICE result=issued" && [ "$(certs_of "$ALICE")" = 2 ] && wait_maildir "$ALICE" 3'
openssl x509 -in "$(newest_mail "$ALICE")" -out "$H_TMP/alice-conf2.pem" 2>/dev/null
ob_msg "$ALICE" "$DAVE" "after renewal"
ob_submit "$ALICE" "$DAVE" "$m"
tap_ok $([ $? = 0 ] && ob_signer "$ob_got" "$H_TMP/alice-signer3.pem" &&
	[ "$(ob_serial "$H_TMP/alice-signer3.pem")" = "$(ob_serial "$H_TMP/alice-conf2.pem")" ] &&
	[ "$(ob_serial "$H_TMP/alice-conf2.pem")" != "$(ob_serial "$H_TMP/alice-conf.pem")" ]; echo $?) \
	"the next mail is signed with the successor"
tap_check "the successor is not renewed again (one renewal, two certificates)" \
	eval '[ "$(certs_of "$ALICE")" = 2 ] && [ "$(ob_log_since $mark | grep -c "event=enrol-renew sender=$ALICE result=issued")" = 1 ]'
leak=0
for t in "$tok" "$(token_of "$chal")"; do
	[ -n "$t" ] && grep -qF -- "$t" "$MS_LOG" "$PF_LOG" && leak=1
done
tap_ok $leak "no token in the milter log or the maillog"
tap_check "no sanitizer or valgrind report in the milter log" ms_sanitizer_clean
tap_done
