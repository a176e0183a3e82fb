#!/bin/bash
# run-demo.sh: the README's first command. A throw-away Postfix on loopback with autosmime-milter
# shows the in-band enrolment: a sender without a certificate sends, her mail leaves unsigned
# and a challenge reaches her mailbox; she replies as a mail client would; the CA issues her
# certificate and mails it to her; her next message leaves signed and verifies. Every step is
# printed and checked: the demo stops with status 1 at the first step that fails.
#
# Builds nothing: run it after the build (the README's command does both). Needs root (Postfix
# and the milter's privilege drop) and the test tools: postfix, swaks, sasl2-bin, openssl.
# Everything lives in one temporary directory and every process it starts is stopped at exit.
#   usage: contrib/demo/run-demo.sh [BUILDDIR]    (default: the source tree itself)
# The harness is bash; started with sh (as contrib/demo.sh does), re-run under bash first.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)
top_builddir=$(cd "${1:-${top_builddir:-$top_srcdir}}" && pwd) || exit 2
export top_srcdir top_builddir
. "$top_srcdir/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/smime.sh"
. "$top_srcdir/tests/integration/outbound_lib.sh"

say() { printf '\n==> %s\n' "$*"; }
fail() { printf 'run-demo: %s\n' "$*" >&2; exit 1; }

[ -x "$MS_MILTER" ] || fail "no $MS_MILTER: build first (./configure && make), or pass the build directory"
say "version"
"$MS_MILTER" -V || fail "autosmime-milter -V failed"
[ "$(id -u)" = 0 ] || fail "run as root: the demo starts a private Postfix and the milter drops privileges"
for c in postfix swaks smtp-sink saslpasswd2 openssl runuser; do
	command -v "$c" >/dev/null 2>&1 || fail "$c is missing (Debian: postfix swaks sasl2-bin openssl util-linux)"
done

SENDER=alice@local.test
ENROL=enrol@local.test
FRIEND=bob@example.org
h_init demo
ms_init unix
pf_add_user "$SENDER" pw-alice
pf_add_mailbox "$ENROL"
# No DNS in the demo: the CAA check (on by default) would need a DNSSEC-signed zone.
ms_conf "enrol_address $ENROL" "sendmail_command $PF_SMTP_SENDMAIL" "caa_check no"
say "configuration check ($MS_CONF)"
"$MS_MILTER" -c "$MS_CONF" -n || fail "the generated configuration does not pass -n"

missing=$(ms_missing)
if [ -n "$missing" ]; then
	say "not ready yet"
	printf '%s\n' "$missing"
	echo "The demo stops here; the parts above are missing in this build."
	exit 3
fi

say "creating the CA (nobody has a certificate yet)"
ms_ca_init || fail "autosmimectl ca init failed"
ms_ca_chain "$H_TMP/chain.pem" || fail "cannot export the CA chain"
OB_ROOT=$MS_DIR/ca/root.pem

say "starting a private Postfix on 127.0.0.1 and autosmime-milter (enrol_address $ENROL)"
pf_start || fail "Postfix did not start"
ms_start || fail "the milter did not start; its log: $MS_LOG"
pf_milter "$MS_PF_SOCKET" || fail "cannot attach the milter"
echo "milter $MS_SOCKET (pid $(ms_pid)); Postfix submission port $PF_SUBMISSION_PORT"

hdr() { awk -v n="$2" 'BEGIN { IGNORECASE = 1 } /^\r?$/ { exit } tolower($0) ~ "^" tolower(n) ":" { sub(/^[^:]*: */, ""); sub(/\r$/, ""); print; exit }' "$1"; }
wait_mail() { # ADDR COUNT: up to 30 s for the COUNTth message in ADDR's Maildir
	h_wait 30 eval "[ \"\$(pf_maildir_files $1 | wc -l)\" -ge $2 ]"
}
message() { # SUBJECT TEXT -> $msg
	msg=$H_TMP/$(echo "$1" | tr -c 'a-z0-9\n' '-').eml
	printf 'From: Alice <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@local.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n' \
		"$SENDER" "$FRIEND" "$1" "$(date -R)" "$(echo "$1" | tr -c 'a-z0-9\n' '-')" "$2" > "$msg"
}
deliver() { # FILE: submit as alice, the message as delivered in $out
	local n
	n=$(pf_delivered_count)
	pf_send "$SENDER" "$FRIEND" "$1" "$SENDER" pw-alice || fail "Postfix refused it: $(grep '^<\*\*' "$PF_SEND_LOG")"
	pf_wait_delivered $((n + 1)) 30 || fail "not delivered within 30 s (see $PF_LOG)"
	out=$H_TMP/delivered-$(basename "$1")
	ob_captured "$(ob_msgid "$1")" "$out" || fail "the delivered message was not captured"
}

say "1. $SENDER, who has no certificate, sends a message (SMTP AUTH submission)"
message "first message" "Hello Bob, this is my first message through the gateway."
deliver "$msg"
smime_is_signed "$out" && fail "it was signed, but alice has no certificate yet"
echo "delivered to $FRIEND unsigned (Content-Type: $(hdr "$out" Content-Type))"

say "2. the challenge arrives in her mailbox"
wait_mail "$SENDER" 1 || fail "no challenge within 30 s (milter log: $MS_LOG)"
chal=$(pf_maildir_files "$SENDER" | tail -n 1)
for h in From To Subject Auto-Submitted; do printf '%s: %s\n' "$h" "$(hdr "$chal" "$h")"; done
tok=$(hdr "$chal" Subject | sed -n 's/.*ACME: *\([A-Za-z0-9_-]*\).*/\1/p')
[ ${#tok} -ge 22 ] || fail "the challenge's subject carries no token"
ob_signer "$chal" "$H_TMP/gw.pem" || fail "the challenge is not signed by the gateway"
echo "signed by the gateway's certificate for $ENROL; token of ${#tok} characters in the subject"

say "3. she answers it, as her mail client's Reply does"
reply=$H_TMP/reply.eml
{
	printf 'From: Alice <%s>\r\nTo: %s\r\nSubject: Re: %s\r\nIn-Reply-To: %s\r\n' \
		"$SENDER" "$ENROL" "$(hdr "$chal" Subject)" "$(hdr "$chal" Message-ID)"
	printf 'Date: %s\r\nMessage-ID: <reply@local.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYes, that was me.\r\n\r\n' "$(date -R)"
	sed -n '/^\r\{0,1\}$/,$p' "$chal" | sed 1d | tr -d '\r' | sed 's/^/> /; s/$/\r/'
} > "$reply"
pf_send "$SENDER" "$ENROL" "$reply" "$SENDER" pw-alice || fail "the reply was refused: $(grep '^<\*\*' "$PF_SEND_LOG")"
h_wait 15 eval 'grep -q "event=enrol_reply status=issued from=$SENDER" "$MS_LOG"' ||
	fail "no certificate issued (milter log: $MS_LOG)"
grep "event=enrol_reply status=issued from=$SENDER" "$MS_LOG" | tail -n 1 | sed 's/^.*\(event=\)/\1/'

say "4. the CA mails her the certificate"
wait_mail "$SENDER" 2 || fail "no confirmation within 30 s"
conf=$(pf_maildir_files "$SENDER" | tail -n 1)
printf 'Subject: %s\n' "$(hdr "$conf" Subject)"
openssl x509 -in "$conf" -noout -subject -serial -enddate -ext subjectAltName 2>/dev/null ||
	fail "the confirmation carries no certificate"

say "5. her next message leaves signed"
message "second message" "Hello Bob, from now on my mail is signed."
deliver "$msg"
smime_is_signed "$out" || fail "the second message was not signed"
sed '/^\r\{0,1\}$/q' "$out" | grep -Ei '^(from|to|subject|content-type|mime-version):'

say "6. openssl cms -verify, as the recipient's client would"
if smime_verify_openssl "$out" "$H_TMP/chain.pem" "$H_TMP/content.txt"; then
	echo "Verification successful; signed content:"
	sed 's/\r$//' "$H_TMP/content.txt"
	rc=0
else
	cat "$H_TMP/openssl-verify.err"
	echo "Verification FAILED"
	rc=1
fi
say "stopping everything"
exit $rc
