#!/bin/bash
# milter_e2e: Postfix + autosmime-milter end to end, on a unix socket and then on an inet socket.
# An enrolled sender's mail arrives signed and verifies with openssl cms and gpgsm; an unenrolled
# sender's and inbound mail arrive untouched; SIGKILL of the milter in the middle of a stream of
# sessions makes Postfix answer 4xx (client-submitted) or keep the mail queued (sendmail), nothing
# accepted is lost, and after a restart the deferred mail goes out signed.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/smime.sh"
h_need_root
h_need_cmd postfix swaks smtp-sink saslpasswd2 openssl gpgsm runuser
h_init e2e
ms_need_complete

ALICE=alice@local.test   # enrolled
CAROL=carol@local.test   # SASL user, not enrolled
BOB=bob@local.test       # local recipient of inbound mail
pf_add_user "$ALICE" 'pw-alice'
pf_add_user "$CAROL" 'pw-carol'
pf_add_mailbox "$BOB"
ms_init unix
# The queued message below is posted with sendmail(1) as root, whom Postfix's default
# local_login_sender_maps lets use any envelope sender: From: = envelope sender is attributed
# only when configured so.
ms_conf "local_submission_attribution envelope"
ms_ca_init > "$H_TMP/ca-init.log" 2>&1
tap_ok $? "autosmimectl ca init"
ms_issue "$ALICE" > "$H_TMP/issue.log" 2>&1
tap_ok $? "autosmimectl issue $ALICE"
ms_ca_chain "$H_TMP/chain.pem"
tap_ok $? "the CA chain is exported"
root=$MS_DIR/ca/root.pem
smime_gpgsm_trust "$H_TMP/chain.pem"
tap_ok $? "gpgsm trusts the test root"
pf_start
tap_ok $? "Postfix starts"

n=0
mkmsg() { # from to subject -> $m (not in $(...): $n must advance in this shell)
	n=$((n + 1))
	m=$H_TMP/m$n.eml
	printf 'From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <e2e-%d@local.test>\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHallo Welt, grüße aus dem Test %d.\r\nA second line.\r\n' \
		"$1" "$2" "$3" "$n" "$(date -R)" "$n" > "$m"
}
# The newest sink capture whose Message-ID is the given one, as the message itself.
captured() {
	local f
	for f in $(pf_sink_files); do
		grep -q "^Message-ID: <$1>" "$f" && { pf_sink_message "$f" > "$H_TMP/cap.eml"; echo "$H_TMP/cap.eml"; return 0; }
	done
	return 1
}
check_signed() { # file label
	local f=$1
	rm -f "$H_TMP/verified.txt"
	tap_check "$2: arrives multipart/signed" smime_is_signed "$f"
	smime_verify_openssl "$f" "$root" "$H_TMP/verified.txt"
	tap_ok $? "$2: openssl cms -verify accepts it"
	tap_check "$2: the verified content is the original text" grep -q 'A second line' "$H_TMP/verified.txt"
	smime_verify_gpgsm "$f"
	tap_ok $? "$2: gpgsm --verify accepts it"
}

run() { # unix|inet
	local kind=$1 m f before i acc tf sent=0 retried
	ms_stop
	ms_set_socket "$kind"
	ms_start
	tap_ok $? "[$kind] milter listens on $MS_SOCKET"
	pf_milter "$MS_PF_SOCKET"

	mkmsg "$ALICE" dave@remote.test "signed $kind"
	before=$(pf_delivered_count)
	pf_send "$ALICE" dave@remote.test "$m" "$ALICE" 'pw-alice'
	tap_ok $? "[$kind] enrolled sender's mail is accepted"
	pf_wait_delivered $((before + 1)) 20
	f=$(captured "e2e-$n@local.test")
	tap_ok $? "[$kind] and captured by the sink"
	check_signed "${f:-/dev/null}" "[$kind] enrolled sender"

	mkmsg "$CAROL" dave@remote.test "unenrolled $kind"
	before=$(pf_delivered_count)
	pf_send "$CAROL" dave@remote.test "$m" "$CAROL" 'pw-carol'
	tap_ok $? "[$kind] unenrolled sender's mail is accepted"
	pf_wait_delivered $((before + 1)) 20
	f=$(captured "e2e-$n@local.test")
	tap_check "[$kind] unenrolled: not signed" eval '! smime_is_signed "${f:-/dev/null}"'
	tap_check "[$kind] unenrolled: body untouched" eval 'diff <(sed -n "/^\r\?$/,\$p" "$m" | tr -d "\r") <(sed -n "/^$/,\$p" "$f") >/dev/null'

	mkmsg external@remote.test "$BOB" "inbound $kind"
	before=$(pf_delivered_count)
	PF_SEND_IP=$PF_OUTSIDE_IP pf_send external@remote.test "$BOB" "$m"
	tap_ok $? "[$kind] inbound mail is accepted"
	pf_wait_delivered $((before + 1)) 20
	f=$(grep -l "^Message-ID: <e2e-$n@local.test>" $(pf_maildir_files "$BOB") 2>/dev/null | head -n1)
	tap_check "[$kind] inbound: delivered to the Maildir unsigned" eval '[ -n "$f" ] && ! smime_is_signed "$f"'

	# SIGKILL in the middle of a stream of sessions.
	before=$(pf_delivered_count)
	rm -rf "$H_TMP/stream"; mkdir "$H_TMP/stream"
	(
		for i in $(seq 1 20); do
			printf 'From: <%s>\r\nTo: <dave@remote.test>\r\nSubject: stream %s\r\nMessage-ID: <stream-%s-%s@local.test>\r\n\r\nA second line.\r\n' \
				"$ALICE" "$i" "$kind" "$i" > "$H_TMP/stream/$i.eml"
			swaks --server 127.0.0.1 --port "$PF_SUBMISSION_PORT" --from "$ALICE" --to dave@remote.test \
				--auth PLAIN --auth-user "$ALICE" --auth-password pw-alice --data "@$H_TMP/stream/$i.eml" \
				--timeout 30 > "$H_TMP/stream/$i.log" 2>&1
			echo $? > "$H_TMP/stream/$i.rc"
		done
	) &
	local loop=$!
	h_wait 20 eval '[ $(ls "$H_TMP"/stream/*.rc 2>/dev/null | wc -l) -ge 5 ]'
	ms_kill9
	tap_ok 0 "[$kind] milter killed with SIGKILL after $(ls "$H_TMP"/stream/*.rc | wc -l) sessions"
	printf 'From: <%s>\nTo: <dave@remote.test>\nSubject: queued %s\nMessage-ID: <queued-%s@local.test>\n\nA second line.\n' \
		"$ALICE" "$kind" "$kind" | pf_sendmail "$ALICE" dave@remote.test
	sleep 2
	tap_check "[$kind] while it is down, the sendmail message stays queued" eval '[ "$(pf_queue_count)" -ge 1 ]'
	ms_start
	tap_ok $? "[$kind] milter restarted"
	wait "$loop"
	acc=0; tf=0
	for i in $(seq 1 20); do
		if [ "$(cat "$H_TMP/stream/$i.rc")" = 0 ]; then acc=$((acc + 1))
		elif grep -q '^<\*\* 4[0-9][0-9]' "$H_TMP/stream/$i.log"; then tf=$((tf + 1)); fi
	done
	tap_is "$((acc + tf))" 20 "[$kind] every session was accepted ($acc) or answered 4xx ($tf), none refused for good"
	tap_check "[$kind] the kill hit at least one session (4xx)" test "$tf" -ge 1
	# The client retries what got 4xx, as an MTA would.
	retried=0
	for i in $(seq 1 20); do
		[ "$(cat "$H_TMP/stream/$i.rc")" = 0 ] && continue
		pf_send "$ALICE" dave@remote.test "$H_TMP/stream/$i.eml" "$ALICE" pw-alice && retried=$((retried + 1))
	done
	tap_is "$retried" "$tf" "[$kind] every 4xx message is accepted on retry"
	pf_flush
	pf_wait_delivered $((before + 21)) 30
	tap_ok $? "[$kind] all 20 stream messages and the queued one are delivered"
	tap_check "[$kind] queue is empty" pf_wait_queue_empty 10
	local bad=0
	for i in $(seq 1 20); do
		[ "$(grep -l "^Message-ID: <stream-$kind-$i@local.test>" $(pf_sink_files) | wc -l)" = 1 ] &&
			f=$(captured "stream-$kind-$i@local.test") && smime_verify_openssl "$f" "$root" || bad=$((bad + 1))
	done
	tap_is "$bad" 0 "[$kind] each of the 20 arrived once, signed and verifiable"
	f=$(captured "queued-$kind@local.test")
	check_signed "${f:-/dev/null}" "[$kind] mail deferred while the milter was down"
}

run unix
run inet
ms_stop
tap_check "the milter's log has no sanitizer or valgrind error report" ms_sanitizer_clean
tap_check "the milter logged one line per signed message" eval '[ "$(grep -c "event=sign" "$MS_LOG")" -ge 44 ]'
pf_stop
tap_done
