#!/bin/bash
# outbound_identity: Postfix + autosmime-milter, who may sign as whom. A SASL login whose From:
# is an address it may not use passes unsigned (even when that address is enrolled) and the
# milter logs reason=unauthorised-from; an address the login gets from sender_map_file is signed
# with that address's certificate; relayed mail from a client outside internal_networks
# ($PF_OUTSIDE_IP, which Postfix relays for here) passes untouched, whatever its From: says;
# mail the user's client already signed or encrypted passes untouched (never wrapped twice).
set -u
# Postfix relays for the outside address too; the milter's internal_networks stays 127.0.0.1.
PF_MYNETWORKS="127.0.0.1/32 127.0.0.2/32"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/smime.sh"
. "$top_srcdir/tests/integration/outbound_lib.sh"

ALICE=alice@local.test   # enrolled; may also send as SALES (sender map)
CAROL=carol@local.test   # enrolled; may use only her own address
SALES=sales@local.test   # enrolled shared address, no login of its own
OTHER=other@local.test   # enrolled, no login, in nobody's map
DAVE=dave@remote.test
ob_setup identity "$ALICE" "$CAROL" || { echo "1..0 # SKIP set-up failed"; exit 1; }
for a in "$ALICE" "$CAROL" "$SALES" "$OTHER"; do ob_issue "$a" || break; done
tap_ok $? "four addresses enrolled"
printf '# logins and the extra addresses they may use\n%s %s\n' "$ALICE" "$SALES" > "$MS_DIR/sender-map"
chmod 0644 "$MS_DIR/sender-map"
ms_conf "sender_map_file $MS_DIR/sender-map"
ob_go
tap_ok $? "milter (with sender_map_file) and Postfix run"
body_same() { diff <(ob_body "$1") <(ob_body "$2") > /dev/null; }
signer_is() { # file address
	ob_signer "$1" "$1.signer" && openssl x509 -in "$1.signer" -noout -ext subjectAltName 2>/dev/null | grep -q "email:$2"
}
logged() { ob_log_since "$mark" | grep -q "$1"; }

# 1. A login using someone else's (enrolled) address.
mark=$(ob_mark)
ob_msg "$ALICE" "<$DAVE>" "carol pretends to be alice"
ob_submit "$CAROL" "$DAVE" "$m"
tap_ok $? "carol's submission with From: alice is accepted"
tap_check "it arrives unsigned" eval '! smime_is_signed "$ob_got" && ! grep -qi "pkcs7" "$ob_got"'
tap_check "its body is untouched" body_same "$m" "$ob_got"
tap_check "the milter logs why: reason=unauthorised-from from=alice login=carol" \
	logged "event=pass reason=unauthorised-from from=$ALICE login=$CAROL"
# Postfix assigns the queue id after RCPT; the line must carry it, not NOQUEUE.
tap_check "that line starts with the Postfix queue id" \
	eval 'grep "event=pass reason=unauthorised-from from=$ALICE login=$CAROL" "$MS_LOG" | grep -Eq "(^|: )[0-9A-F]{6,}: event=pass"'
tap_check "and no event=sign for it" eval '! logged "event=sign"'

# 2. An address from the sender map.
mark=$(ob_mark)
ob_msg "$SALES" "<$DAVE>" "alice as sales"
ob_submit "$ALICE" "$DAVE" "$m"
tap_ok $? "alice's submission with From: sales is accepted"
tap_check "it arrives signed" smime_is_signed "$ob_got"
tap_check "signed with the certificate of sales (not alice's)" signer_is "$ob_got" "$SALES"
tap_check "the signature covers the original text" grep -q 'The original text, line two.' "$ob_got.signer.content"
tap_check "the milter logged event=sign sender=sales" logged "event=sign sender=$SALES "

# 3. ... but not an address outside the map, even though it is enrolled.
mark=$(ob_mark)
ob_msg "$OTHER" "<$DAVE>" "alice as other"
ob_submit "$ALICE" "$DAVE" "$m"
tap_check "From: an enrolled address not in alice's map: unsigned" eval '! smime_is_signed "$ob_got" && body_same "$m" "$ob_got"'
tap_check "logged reason=unauthorised-from login=alice" logged "reason=unauthorised-from from=$OTHER login=$ALICE"
# carol is not in the map: the sales address is alice's alone.
mark=$(ob_mark)
ob_msg "$SALES" "<$DAVE>" "carol as sales"
ob_submit "$CAROL" "$DAVE" "$m"
tap_check "carol with From: sales (someone else's map entry): unsigned" eval '! smime_is_signed "$ob_got" && logged "reason=unauthorised-from from=$SALES login=$CAROL"'

# 4. Relayed mail from outside internal_networks: untouched, whatever the From: says.
mark=$(ob_mark)
ob_msg "someone@foreign.example" "<$DAVE>" "relayed foreign"
PF_SEND_IP=$PF_OUTSIDE_IP ob_relay "someone@foreign.example" "$DAVE" "$m"
tap_ok $? "relayed mail from $PF_OUTSIDE_IP to a foreign domain is accepted and delivered"
tap_check "it arrives unsigned with its body untouched" eval '! smime_is_signed "$ob_got" && body_same "$m" "$ob_got"'
tap_check "its header is untouched (no MIME rewrite)" \
	eval 'grep -q "^Content-Transfer-Encoding: 8bit" "$ob_got" && grep -q "^Content-Type: text/plain; charset=utf-8" "$ob_got"'
ob_msg "$ALICE" "<$DAVE>" "relayed with a local From"
PF_SEND_IP=$PF_OUTSIDE_IP ob_relay "$ALICE" "$DAVE" "$m"
tap_check "relayed mail forging an enrolled local From: is not signed either" eval '! smime_is_signed "$ob_got" && body_same "$m" "$ob_got"'
tap_check "the milter logged reason=not-outbound for relayed mail" logged "event=pass reason=not-outbound"
tap_check "and signed none of it" eval '! logged "event=sign"'

# 5. Mail the user's client already signed: passes as sent, one signature layer.
ob_n=$((ob_n + 1))
printf 'Signed by the client itself.\r\nThe original text, line two.\r\n' > "$H_TMP/inner.txt"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=$ALICE" \
	-addext "subjectAltName=email:$ALICE" -addext "extendedKeyUsage=emailProtection" \
	-keyout "$H_TMP/client.key" -out "$H_TMP/client.crt" > "$H_TMP/req.log" 2>&1
{
	printf 'Message-ID: <ob-%d@local.test>\r\nDate: %s\r\n' "$ob_n" "$(date -R)"
	openssl cms -sign -in "$H_TMP/inner.txt" -signer "$H_TMP/client.crt" -inkey "$H_TMP/client.key" \
		-text -from "$ALICE" -to "$DAVE" -subject "signed by the client" 2>/dev/null | sed 's/\r\{0,1\}$/\r/'
} > "$H_TMP/client-signed.eml"
tap_check "a client-signed message is made (openssl cms -sign)" smime_is_signed "$H_TMP/client-signed.eml"
mark=$(ob_mark)
ob_submit "$ALICE" "$DAVE" "$H_TMP/client-signed.eml"
tap_ok $? "alice submits it"
f=$ob_got
tap_check "it arrives with exactly one signature (not wrapped again)" \
	eval '[ "$(grep -ci "^Content-Type: application/pkcs7-signature" "$f")" = 1 ] && [ "$(grep -ci "^Content-Type: multipart/signed" "$f")" = 1 ]'
tap_check "its body is byte for byte what the client sent" body_same "$H_TMP/client-signed.eml" "$f"
openssl cms -verify -in "$f" -inform SMIME -CAfile "$H_TMP/client.crt" -purpose any -out "$H_TMP/client.out" 2>/dev/null
tap_ok $? "the client's own signature still verifies"
tap_check "the milter logged reason=already-smime" logged "event=pass reason=already-smime"

# 6. ... and already encrypted mail likewise.
ob_n=$((ob_n + 1))
{
	printf 'Message-ID: <ob-%d@local.test>\r\nDate: %s\r\n' "$ob_n" "$(date -R)"
	openssl cms -encrypt -aes256 -in "$H_TMP/inner.txt" -from "$ALICE" -to "$DAVE" \
		-subject "encrypted by the client" "$H_TMP/client.crt" 2>/dev/null | sed 's/\r\{0,1\}$/\r/'
} > "$H_TMP/client-enc.eml"
mark=$(ob_mark)
ob_submit "$ALICE" "$DAVE" "$H_TMP/client-enc.eml"
tap_check "client-encrypted mail arrives as sent, not signed around" \
	eval '! smime_is_signed "$ob_got" && body_same "$H_TMP/client-enc.eml" "$ob_got" && logged "reason=already-smime"'

ms_stop
tap_check "the milter's log has no sanitizer report" ms_sanitizer_clean
tap_done
