#!/bin/bash
# outbound_local: mail without SMTP AUTH is signed only for a sender the gateway can attribute.
# By default: SMTP from 127.0.0.1 (inside internal_networks), an unprivileged Unix user's
# sendmail(1) and root's sendmail(1) all pass unsigned with reason=unattributed, even with the
# From: of an enrolled sender. Then with the opt-ins: network_sender_map_file signs from
# 127.0.0.1 only the address listed for it; local_submission_attribution envelope signs a
# sendmail(1) post whose From: is its envelope sender, with Postfix's local_login_sender_maps
# refusing an envelope sender the Unix user may not use, and never one whose From: differs.
# The unprivileged user (nobody) runs the real sendmail(1)/postdrop(1) of the private
# instance: postdrop accepts a private config directory only when the default main.cf lists
# it in alternate_config_directories, so that main.cf gets the line in a private mount
# namespace of the test's (unshare -m), never on the machine itself.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/smime.sh"
. "$top_srcdir/tests/integration/outbound_lib.sh"
h_need_cmd unshare mount
[ -f /etc/postfix/main.cf ] || { echo "1..0 # SKIP no /etc/postfix/main.cf"; exit 0; }

ALICE=alice@local.test   # enrolled, with a SASL login
CAROL=carol@local.test   # enrolled, vouched for 127.0.0.1 later
DAVE=dave@remote.test
ob_setup local "$ALICE" || { echo "1..0 # SKIP set-up failed"; exit 1; }
ob_issue "$ALICE" && ob_issue "$CAROL"
tap_ok $? "alice and carol enrolled"
ob_go
tap_ok $? "milter (default attribution) and Postfix run"
{ cat /etc/postfix/main.cf; echo "alternate_config_directories = $PF_ETC"; } > "$H_TMP/default-main.cf"

signed_as() { # FILE ADDR: signed, and by ADDR's certificate
	smime_is_signed "$1" && ob_signer "$1" "$H_TMP/signer.pem" &&
		openssl x509 -in "$H_TMP/signer.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "email:$2"
}
unsigned() { ! smime_is_signed "$1" && ! grep -qi pkcs7 "$1"; }
# sendmail(1) as USER with envelope sender ENV; the capture in $ob_got. Status: sendmail's.
local_post() { # USER ENV FILE
	local user=$1 env=$2 file=$3 before rc
	before=$(pf_delivered_count)
	ob_got=$H_TMP/got.$(basename "$file")
	rm -f "$ob_got"
	tr -d '\r' < "$file" > "$file.lf"
	chmod 0644 "$file.lf"
	unshare -m sh -c 'mount --bind "$1" /etc/postfix/main.cf && exec runuser -u "$2" -- \
		/usr/sbin/sendmail -C "$3" -f "$4" -i -t < "$5"' sh \
		"$H_TMP/default-main.cf" "$user" "$PF_ETC" "$env" "$file.lf" > "$H_TMP/sendmail.out" 2>&1
	rc=$?
	[ $rc = 0 ] || return $rc
	pf_wait_delivered $((before + 1)) 30 && ob_captured "$(ob_msgid "$file")" "$ob_got"
}
logged() { ob_log_since "$mark" | grep -q -- "$1"; }

# --- by default: nothing without SMTP AUTH is signed
mark=$(ob_mark)
ob_msg "$ALICE" "$DAVE" "loopback, no AUTH"
ob_relay "$ALICE" "$DAVE" "$m"
tap_ok $? "SMTP from 127.0.0.1 without AUTH, From: alice, is accepted"
tap_check "it arrives unsigned" unsigned "$ob_got"
tap_check "the milter logs event=pass reason=unattributed" logged "event=pass reason=unattributed"

mark=$(ob_mark)
ob_msg "$ALICE" "$DAVE" "nobody's sendmail"
local_post nobody nobody@local.test "$m"
tap_ok $? "the unprivileged user nobody posts From: alice with sendmail(1)"
tap_check "it arrives unsigned" unsigned "$ob_got"
tap_check "logged reason=unattributed" logged "reason=unattributed"

ob_msg "$ALICE" "$DAVE" "root's sendmail"
local_post root "$ALICE" "$m"
tap_ok $? "root posts From: alice, envelope alice, with sendmail(1)"
tap_check "unsigned as well (local_submission_attribution none)" unsigned "$ob_got"
tap_check "and no event=sign at all so far" eval '! ob_log_since 0 | grep -q "event=sign"'

# --- the opt-ins
printf '# network  addresses its unauthenticated mail may be signed as\n127.0.0.1/32 %s\n' "$CAROL" > "$MS_DIR/netmap"
chmod 0644 "$MS_DIR/netmap"
ms_stop
ms_conf "network_sender_map_file $MS_DIR/netmap"
ms_conf "local_submission_attribution envelope"
ms_start
tap_ok $? "the milter restarts with network_sender_map_file and local_submission_attribution envelope"
pf_conf "local_login_sender_maps = inline:{ { root = * }, { nobody = nobody@local.test } }"

mark=$(ob_mark)
ob_msg "$CAROL" "$DAVE" "vouched network"
ob_relay "$CAROL" "$DAVE" "$m"
tap_check "From: carol from 127.0.0.1 (listed for it) arrives signed by carol" signed_as "$ob_got" "$CAROL"
ob_msg "$ALICE" "$DAVE" "vouched network, other address"
ob_relay "$ALICE" "$DAVE" "$m"
tap_check "From: alice from 127.0.0.1 (not listed) still arrives unsigned" unsigned "$ob_got"

ob_msg "$ALICE" "$DAVE" "root envelope"
local_post root "$ALICE" "$m"
tap_check "root's sendmail(1) with From: = envelope alice: signed by alice" signed_as "$ob_got" "$ALICE"
ob_msg "$ALICE" "$DAVE" "nobody forging the envelope"
local_post nobody "$ALICE" "$m"
rc=$?
tap_check "nobody's sendmail -f alice is refused by Postfix (local_login_sender_maps)" \
	eval '[ $rc != 0 ] && grep -qi "not authorized" "$H_TMP/sendmail.out"'
ob_msg "$ALICE" "$DAVE" "nobody with another From"
mark=$(ob_mark)
local_post nobody nobody@local.test "$m"
tap_ok $? "nobody's sendmail with its own envelope and From: alice is accepted"
tap_check "it arrives unsigned (From: is not the envelope sender)" unsigned "$ob_got"
tap_check "and the milter says why (event=pass)" logged "event=pass"
tap_check "the milter's log has no sanitizer report" ms_sanitizer_clean
tap_done
