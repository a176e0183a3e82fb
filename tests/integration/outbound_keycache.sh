#!/bin/bash
# outbound_keycache: the daemon's key cache honours revocation and renewal at once. The milter
# keeps signers per sender for cert_cache_ttl (set to an hour here), but an entry is used only
# while the CA's generation counter is unchanged (milter/process/keycache.h): after `autosmimectl revoke
# SERIAL --reason keyCompromise` the very next mail is not signed with the revoked certificate
# (unsigned: there is no other), and after `autosmimectl renew` the next one is signed with the
# successor. Without a change the cached signer is reused (one load for two messages). The
# daemon runs under valgrind here (MS_VALGRIND) unless the build uses sanitizers or
# AUTOSMIME_NO_VALGRIND=1; its log must hold no valgrind or sanitizer error report.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/smime.sh"
. "$top_srcdir/tests/integration/outbound_lib.sh"

ALICE=alice@local.test
DAVE=dave@remote.test
ob_setup keycache "$ALICE" || { echo "1..0 # SKIP set-up failed"; exit 1; }
under=plain
if [ "${AUTOSMIME_NO_VALGRIND:-0}" != 1 ] && command -v valgrind >/dev/null 2>&1 &&
	! ldd "$MS_MILTER" 2>/dev/null | grep -Eq 'lib(asan|ubsan)'; then
	MS_WRAPPER=$MS_VALGRIND
	under=valgrind
fi
tap_diag "the milter runs $under"
ob_issue "$ALICE"
tap_ok $? "$ALICE is enrolled"
s1=$(ms_ctl list 2>/dev/null | grep " use=sign" | sed -n "s/.*serial=\([0-9a-fA-F]*\).*mailbox=$ALICE.*/\1/p" | head -n1 | tr 'A-F' 'a-f' | sed 's/^0*//')
tap_check "autosmimectl list shows its serial" test -n "$s1"
ms_conf "cert_cache_ttl 3600s"
ob_go
tap_ok $? "milter (cert_cache_ttl 3600s) and Postfix run"

signed_by() { # file -> serial of the signer, empty when unsigned or unverifiable
	smime_is_signed "$1" && ob_signer "$1" "$1.signer" && ob_serial "$1.signer"
}

# 1. Two messages: signed with S1, the second from the cache.
mark=$(ob_mark)
ob_msg "$ALICE" "<$DAVE>" "before revocation 1"
ob_submit "$ALICE" "$DAVE" "$m"
tap_is "$(signed_by "$ob_got")" "$s1" "the first mail is signed with certificate $s1"
ob_msg "$ALICE" "<$DAVE>" "before revocation 2"
ob_submit "$ALICE" "$DAVE" "$m"
tap_is "$(signed_by "$ob_got")" "$s1" "the second too (the signer is now cached for an hour)"

# 2. Revocation takes effect at the next message, long before the TTL.
ms_ctl revoke "$s1" --reason keyCompromise > "$H_TMP/revoke.log" 2>&1
tap_ok $? "autosmimectl revoke $s1 --reason keyCompromise"
tap_check "autosmimectl show lists it revoked" eval 'ms_ctl show "$s1" 2>/dev/null | grep -qi "revoked"'
mark=$(ob_mark)
t0=$(date +%s)
ob_msg "$ALICE" "<$DAVE>" "after revocation"
ob_submit "$ALICE" "$DAVE" "$m"
tap_ok $? "the next mail is accepted and delivered"
got=$(signed_by "$ob_got")
tap_is "$got" "" "it is no longer signed with the revoked certificate (there is no other: unsigned)"
tap_check "its body is untouched" eval 'diff <(ob_body "$m") <(ob_body "$ob_got") >/dev/null'
tap_check "the milter logged reason=not-enrolled for it" eval 'ob_log_since $mark | grep -q "event=pass reason=not-enrolled from=$ALICE"'
tap_check "at once, not after cert_cache_ttl (within 30 s of the revocation)" test $(( $(date +%s) - t0 )) -lt 30

# 3. Renewal: the successor signs the next mail.
ms_ctl renew "$s1" > "$H_TMP/renew.log" 2>&1
tap_ok $? "autosmimectl renew $s1"
s2=$(ms_ctl list 2>/dev/null | grep " use=sign" | sed -n "s/.*serial=\([0-9a-fA-F]*\).*mailbox=$ALICE.*/\1/p" | tr 'A-F' 'a-f' | sed 's/^0*//' | grep -vx "$s1" | head -n1)
tap_check "a successor certificate exists" test -n "$s2"
ob_msg "$ALICE" "<$DAVE>" "after renewal"
ob_submit "$ALICE" "$DAVE" "$m"
got=$(signed_by "$ob_got")
tap_is "$got" "$s2" "the next mail is signed with the renewed certificate"
tap_check "which verifies over the original text" grep -q 'The original text, line two.' "$ob_got.signer.content"
tap_check "the audit log chain verifies" eval 'ms_ctl audit verify > "$H_TMP/audit.log" 2>&1'
tap_check "the audit log holds one sign record per signed message (3)" \
	eval '[ "$(ms_ctl audit show 2>/dev/null | grep -c " event=sign actor=milter ")" = 3 ]'

if [ "$under" = valgrind ]; then
	tap_check "valgrind really runs the daemon" eval 'readlink "/proc/$(ms_pid)/exe" | grep -q memcheck'
fi
ms_stop
tap_check "the milter ($under) stopped and its log has no valgrind or sanitizer error report" ms_sanitizer_clean
tap_done
