#!/bin/bash
# milter_kill: 1,000 messages from an enrolled sender through the private Postfix (SASL
# submission, four clients at once) while the milter is killed with SIGKILL three times and
# started again. Postfix answers 4xx while the milter is gone (milter_default_action
# tempfail) and the clients send again what got a 4xx, as an MUA or MTA does. In the end every
# message Postfix accepted is delivered exactly once, signed, and none is missing.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/smime.sh"
h_need_root
h_need_cmd postfix swaks smtp-sink saslpasswd2 openssl runuser
h_init kill
ms_need_complete
TOTAL=${MILTER_KILL_MESSAGES:-1000}
CLIENTS=4
KILLS=3

ALICE=alice@local.test
pf_add_user "$ALICE" 'pw-alice'
ms_init unix
ms_ca_init > "$H_TMP/ca-init.log" 2>&1
tap_ok $? "autosmimectl ca init"
ms_issue "$ALICE" > "$H_TMP/issue.log" 2>&1
tap_ok $? "autosmimectl issue $ALICE"
root=$MS_DIR/ca/root.pem
pf_start
tap_ok $? "Postfix starts"
ms_start
tap_ok $? "milter listens on $MS_SOCKET"
pf_milter "$MS_PF_SOCKET"
before=$(pf_delivered_count)

# client K sends messages K, K+CLIENTS, ...; each until Postfix answers 250 (20 tries).
client() {
	local k=$1 i try rc
	for ((i = k; i <= TOTAL; i += CLIENTS)); do
		printf 'From: <%s>\r\nTo: <dave@remote.test>\r\nSubject: kill %d\r\nMessage-ID: <kill-%d@local.test>\r\n\r\nMessage %d.\r\nA second line.\r\n' \
			"$ALICE" "$i" "$i" "$i" > "$H_TMP/out/$i.eml"
		for ((try = 1; try <= 20; try++)); do
			swaks --server 127.0.0.1 --port "$PF_SUBMISSION_PORT" --from "$ALICE" \
				--to dave@remote.test --auth PLAIN --auth-user "$ALICE" --auth-password pw-alice \
				--data "@$H_TMP/out/$i.eml" --timeout 30 > "$H_TMP/out/$i.log" 2>&1
			rc=$?
			[ $rc -eq 0 ] && break
			if grep -q '^<\*\* 4[0-9][0-9]' "$H_TMP/out/$i.log"; then
				echo "$i" >> "$H_TMP/out/retries.$k"
			else
				echo "$i rc=$rc" >> "$H_TMP/out/errors.$k"
			fi
			sleep 0.2
		done
		[ $rc -eq 0 ] && echo "$i" >> "$H_TMP/out/accepted.$k"
	done
}
mkdir "$H_TMP/out"
t0=$(date +%s)
pids=()
for ((k = 1; k <= CLIENTS; k++)); do
	client "$k" &
	pids+=($!)
done
sent() { cat "$H_TMP"/out/accepted.* 2>/dev/null | wc -l; }
# Kill when a third, a half and two thirds of the load went through.
kills=0
for at in $((TOTAL / 3)) $((TOTAL / 2)) $((TOTAL * 2 / 3)); do
	h_wait 120 eval '[ "$(sent)" -ge '"$at"' ]' || break
	sleep "0.$((RANDOM % 10))"
	ms_kill9
	kills=$((kills + 1))
	sleep 0.7
	ms_start || break
done
tap_is "$kills" "$KILLS" "the milter was killed with SIGKILL $KILLS times during the load and started again"
for p in "${pids[@]}"; do wait "$p"; done
accepted=$(sent)
retries=$(cat "$H_TMP"/out/retries.* 2>/dev/null | wc -l)
errors=$(cat "$H_TMP"/out/errors.* 2>/dev/null | wc -l)
tap_is "$accepted" "$TOTAL" "Postfix accepted all $TOTAL messages in the end"
tap_check "the kills were felt: $retries answers were 4xx and sent again" test "$retries" -ge 1
tap_is "$errors" 0 "no answer other than 250 or 4xx"
pf_flush
pf_wait_delivered $((before + accepted)) 120
tap_check "the queue empties" pf_wait_queue_empty 60
# Message-IDs as the sink got them
for f in $(pf_sink_files); do sed -n 's/^Message-ID: <\(kill-[0-9]*\)@local.test>.*/\1/p' "$f"; done |
	tr -d '\r' | sort > "$H_TMP/got"
sort -u "$H_TMP/got" > "$H_TMP/got.u"
seq 1 "$TOTAL" | sed 's/^/kill-/' | sort > "$H_TMP/want"
dups=$(uniq -d "$H_TMP/got" | wc -l)
miss=$(comm -23 "$H_TMP/want" "$H_TMP/got.u" | wc -l)
echo "# sent=$accepted retries_4xx=$retries delivered=$(wc -l < "$H_TMP/got") duplicates=$dups missing=$miss seconds=$(($(date +%s) - t0))"
tap_is "$dups" 0 "no message was delivered twice"
tap_is "$miss" 0 "no message is missing"
unsigned=0
for f in $(pf_sink_files); do
	grep -q '^Message-ID: <kill-' "$f" && ! grep -qi '^Content-Type: multipart/signed' "$f" && unsigned=$((unsigned + 1))
done
tap_is "$unsigned" 0 "every delivered message is multipart/signed"
bad=0 checked=0
for f in $(pf_sink_files | shuf -n 100); do
	pf_sink_message "$f" > "$H_TMP/one.eml"
	smime_verify_openssl "$H_TMP/one.eml" "$root" "$H_TMP/one.txt" || bad=$((bad + 1))
	checked=$((checked + 1))
done
tap_is "$bad" 0 "a random $checked of them verify with openssl cms -verify"
ms_stop
tap_check "the milter's log has no sanitizer or valgrind error report" ms_sanitizer_clean
pf_stop
tap_done
