#!/bin/bash
# enrol_utf8: a mailbox whose local part is not ASCII (jürgen@local.test, raw UTF-8, RFC 6531)
# through a private Postfix and autosmime-milter:
#  - with smtputf8_enable = yes (Debian's default) his first mail passes unsigned, the challenge
#    reaches his Maildir, his reply through SMTP AUTH issues a certificate that names him as an
#    SmtpUTF8Mailbox (RFC 8398), and his next mail arrives signed and verifies;
#  - with smtputf8_enable = no Postfix hands the milter a login it has mangled: a second such
#    sender's mail is accepted and delivered unsigned (event=pass reason=unauthorised-from), with
#    no challenge and no 4xx, as README says.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/smime.sh"
. "$top_srcdir/tests/integration/outbound_lib.sh"

JUERGEN=$'j\xc3\xbcrgen@local.test'
JOERG=$'j\xc3\xb6rg@local.test'
ENROL=enrol@local.test
DAVE=dave@remote.test
ob_setup enrol_utf8 "$JUERGEN" "$JOERG" || { echo "1..0 # SKIP set-up failed"; exit 1; }
pf_add_mailbox "$ENROL"
pf_conf "smtputf8_enable = yes"
pf_start || { echo "1..0 # SKIP Postfix did not start"; exit 1; }
ms_conf "enrol_address $ENROL" "sendmail_command $PF_SMTP_SENDMAIL" "caa_check no"
ms_start && pf_milter "$MS_PF_SOCKET"
tap_ok $? "Postfix (smtputf8_enable = yes) and the milter run"


# 1. The first mail, and the challenge.
mark=$(ob_mark)
ob_msg "$JUERGEN" "$DAVE" "before enrolment"
ob_submit "$JUERGEN" "$DAVE" "$m"
tap_ok $? "$JUERGEN's first mail (SMTP AUTH as $JUERGEN) is accepted and delivered"
tap_check "it arrives unsigned (unenrolled_action pass)" eval '[ -s "$ob_got" ] && ! smime_is_signed "$ob_got"'
wait_maildir "$JUERGEN" 1
tap_ok $? "the challenge lands in his Maildir"
tap_check "the milter logged the challenge for the UTF-8 address as written" \
	eval 'ob_log_since $mark | grep -qF "event=enrol sender=$JUERGEN result=challenge-sent"'
chal=$(newest_mail "$JUERGEN")
subj=$(hdr "$chal" Subject)
cid=$(hdr "$chal" Message-ID)
printf 'From: <%s>\r\nTo: %s\r\nSubject: Re: %s\r\nIn-Reply-To: %s\r\nMessage-ID: <utf8-reply@local.test>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYes, please.\r\n' \
	"$JUERGEN" "$ENROL" "$subj" "$cid" "$(date -R)" > "$H_TMP/reply.eml"

# 2. His reply issues the certificate.
pf_send "$JUERGEN" "$ENROL" "$H_TMP/reply.eml" "$JUERGEN" "pw-${JUERGEN%@*}"
tap_ok $? "his reply through SMTP AUTH is accepted"
tap_check "one certificate is issued for $JUERGEN" h_wait 10 eval '[ "$(certs_of "$JUERGEN")" = 1 ]'
wait_maildir "$JUERGEN" 2
tap_ok $? "the confirmation lands in his Maildir"
openssl x509 -in "$(newest_mail "$JUERGEN")" -out "$H_TMP/juergen.pem" 2>/dev/null
# OpenSSL prints an SmtpUTF8Mailbox otherName with its UTF-8 value.
tap_check "the certificate names him as an SmtpUTF8Mailbox (RFC 8398), not as an rfc822Name" \
	eval 'openssl x509 -in "$H_TMP/juergen.pem" -noout -ext subjectAltName -nameopt utf8 > "$H_TMP/san.txt" &&
		grep -qi "SmtpUTF8Mailbox" "$H_TMP/san.txt" && grep -qF "${JUERGEN%@*}" "$H_TMP/san.txt" && ! grep -q "email:" "$H_TMP/san.txt"'

# 3. His next mail is signed.
ob_msg "$JUERGEN" "$DAVE" "after enrolment"
ob_submit "$JUERGEN" "$DAVE" "$m"
tap_ok $? "his next mail is accepted and delivered"
tap_check "it arrives signed and openssl cms -verify accepts it against our root" \
	eval 'smime_is_signed "$ob_got" && ob_signer "$ob_got" "$H_TMP/signer.pem"'
tap_is "$(ob_serial "$H_TMP/signer.pem" 2>/dev/null)" "$(ob_serial "$H_TMP/juergen.pem" 2>/dev/null)" \
	"the signer is the certificate of the confirmation"

# 4. smtputf8_enable = no: a mangled login, so unsigned and no challenge, never a 4xx.
pf_conf "smtputf8_enable = no"
mark=$(ob_mark)
before=$(maildir_count "$JOERG")
ob_msg "$JOERG" "$DAVE" "without SMTPUTF8"
ob_submit "$JOERG" "$DAVE" "$m"
tap_ok $? "with smtputf8_enable = no, $JOERG's mail is accepted and delivered (no 4xx)"
tap_check "it arrives unsigned" eval '[ -s "$ob_got" ] && ! smime_is_signed "$ob_got"'
tap_check "the milter logs why: event=pass reason=unauthorised-from" \
	h_wait 10 eval 'ob_log_since $mark | grep -q "event=pass reason=unauthorised-from"'
sleep 1
tap_check "and no challenge is sent" \
	eval '[ "$(maildir_count "$JOERG")" = "$before" ] && ! ob_log_since $mark | grep -q "result=challenge-sent"'
tap_check "no sanitizer or valgrind report in the milter log" ms_sanitizer_clean
tap_done
