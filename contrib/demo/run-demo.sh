#!/bin/bash
# run-demo.sh: the README's first command. A throw-away Postfix on loopback with autosmime-milter
# takes one message in unsigned and delivers it signed, and shows the verification.
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

say() { printf '\n==> %s\n' "$*"; }
fail() { printf 'run-demo: %s\n' "$*" >&2; exit 1; }

[ -x "$MS_MILTER" ] || fail "no $MS_MILTER: build first (./configure && make), or pass the build directory"
say "version"
"$MS_MILTER" -V || fail "autosmime-milter -V failed"
[ "$(id -u)" = 0 ] || fail "run as root: the demo starts a private Postfix and the milter drops privileges"
for c in postfix swaks smtp-sink saslpasswd2 openssl runuser; do
	command -v "$c" >/dev/null 2>&1 || fail "$c is missing (Debian: postfix swaks sasl2-bin openssl util-linux)"
done

h_init demo
ms_init unix
say "configuration check ($MS_CONF)"
"$MS_MILTER" -c "$MS_CONF" -n || fail "the generated configuration does not pass -n"

missing=$(ms_missing)
if [ -n "$missing" ]; then
	say "not ready yet"
	printf '%s\n' "$missing"
	echo "The demo stops here; the parts above are missing in this build."
	exit 3
fi

SENDER=alice@local.test
say "creating a CA and enrolling $SENDER"
ms_ca_init || fail "autosmimectl ca init failed"
ms_issue "$SENDER" || fail "autosmimectl issue $SENDER failed"
ms_ca_chain "$H_TMP/chain.pem" || fail "cannot export the CA chain"

say "starting autosmime-milter and a private Postfix on 127.0.0.1"
pf_add_user "$SENDER" demo-password
ms_start || fail "the milter did not start; its log: $MS_LOG"
pf_start || fail "Postfix did not start"
pf_milter "$MS_PF_SOCKET" || fail "cannot attach the milter"
echo "milter $MS_SOCKET (pid $(ms_pid)); Postfix submission port $PF_SUBMISSION_PORT"

msg=$H_TMP/demo.eml
printf 'From: Alice <%s>\r\nTo: <bob@example.org>\r\nSubject: autosmime demo\r\nDate: %s\r\nMessage-ID: <demo@local.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Bob, this message left the client unsigned.\r\n' \
	"$SENDER" "$(date -R)" > "$msg"
say "sending one unsigned message through SMTP AUTH submission"
sed 's/\r$//' "$msg"
pf_send "$SENDER" bob@example.org "$msg" "$SENDER" demo-password || fail "Postfix refused it: $(grep '^<\*\*' "$PF_SEND_LOG")"
pf_wait_delivered 1 30 || fail "not delivered within 30 s (see $PF_LOG)"
out=$H_TMP/delivered.eml
pf_sink_message "$(pf_sink_files | tail -n1)" > "$out"

say "headers of the delivered message"
sed '/^$/q' "$out"
say "openssl cms -verify"
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
