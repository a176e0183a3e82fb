# outbound_lib.sh: shared set-up of the outbound integration tests (bash, sourced by
# outbound_*.sh after the harness files). Owns nothing of its own beyond the helpers below;
# every process it starts belongs to the harness (postfix.sh, milter.sh), whose EXIT trap
# stops it.
#
#   ob_setup NAME USER...    h_init NAME, the SASL users (password "pw-LOCALPART"), the milter
#                            configuration, ca init, the CA chain in $OB_CHAIN (root: $OB_ROOT),
#                            gpgsm trust; Postfix is not started yet (tests add settings first)
#   ob_issue ADDR            issue a certificate; prints nothing, status of autosmimectl
#   ob_go                    start the milter and Postfix and point Postfix at the milter
#   ob_msg FROM TO SUBJECT   write a plain message to $m (Message-ID <ob-N@local.test>, N in $ob_n)
#   ob_submit FROM TO FILE   submission with AUTH as FROM; waits for one more delivery; the
#                            captured message (smtp-sink) of FILE's Message-ID in $ob_got
#   ob_relay FROM TO FILE    the same through the inbound port from $PF_SEND_IP, no AUTH
#   ob_captured MSGID OUT    the newest smtp-sink capture with that Message-ID, as sent, to OUT
#   ob_body FILE             the body of FILE (after the first empty line), LF line ends
#   ob_signer FILE OUT       verify FILE (multipart/signed or opaque) against $OB_ROOT and write
#                            the signer certificate to OUT; status of openssl
#   ob_serial CERT           the serial of CERT in lower-case hex without leading zeros
#   ob_log_since MARK        the milter log after byte offset MARK (ob_mark prints the offset)

ob_n=0
ob_got=

ob_setup() {
	local name=$1 u
	shift
	h_need_root
	h_need_cmd postfix swaks smtp-sink saslpasswd2 openssl runuser
	h_init "$name"
	ms_need_complete
	for u in "$@"; do
		local lp=${u%@*}
		pf_add_user "$u" "pw-$lp" || return 1
	done
	ms_init unix || return 1
	ms_ca_init > "$H_TMP/ca-init.log" 2>&1 || { h_die "ca init failed"; cat "$H_TMP/ca-init.log" >&2; return 1; }
	OB_CHAIN=$H_TMP/chain.pem
	OB_ROOT=$MS_DIR/ca/root.pem
	ms_ca_chain "$OB_CHAIN" || return 1
}

ob_issue() { ms_issue "$1" >> "$H_TMP/issue.log" 2>&1; }

ob_go() {
	ms_start || return 1
	pf_start || return 1
	pf_milter "$MS_PF_SOCKET"
}

ob_msg() {
	ob_n=$((ob_n + 1))
	m=$H_TMP/ob$ob_n.eml
	printf 'From: <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <ob-%d@local.test>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\303\274\303\237e aus Nachricht %d.\r\nThe original text, line two.\r\n' \
		"$1" "$2" "$3" "$ob_n" "$(date -R)" "$ob_n" > "$m"
}

ob_msgid() { sed -n 's/^Message-ID: <\(.*\)>\r\{0,1\}$/\1/Ip' "$1" | head -n1; }

ob_captured() {
	local f
	for f in $(pf_sink_files | tac); do
		grep -q "^Message-ID: <$1>" "$f" && { pf_sink_message "$f" > "$2"; return 0; }
	done
	return 1
}

_ob_deliver() { # kind from to file [user pass]
	local kind=$1 from=$2 to=$3 file=$4 before id
	before=$(pf_delivered_count)
	ob_got=$H_TMP/got.$(basename "$file")
	rm -f "$ob_got"
	if [ "$kind" = submit ]; then
		pf_send "$from" "$to" "$file" "$from" "pw-${from%@*}" || { h_die "submission refused: $(grep '^<\*\*' "$PF_SEND_LOG" | head -n1)"; return 1; }
	else
		pf_send "$from" "$to" "$file" || { h_die "relay refused: $(grep '^<\*\*' "$PF_SEND_LOG" | head -n1)"; return 1; }
	fi
	pf_wait_delivered $((before + 1)) 20 || return 1
	id=$(ob_msgid "$file")
	ob_captured "$id" "$ob_got"
}

ob_submit() { _ob_deliver submit "$@"; }
ob_relay() { _ob_deliver relay "$@"; }

ob_body() { sed -n '/^\r\{0,1\}$/,$p' "$1" | sed 1d | tr -d '\r'; }

ob_signer() {
	openssl cms -verify -in "$1" -inform SMIME -CAfile "$OB_ROOT" -purpose smimesign \
		-signer "$2" -out "$2.content" 2> "$2.err"
}

# The keys of an export-p12 file as a mail client holds them: P12 PASS PREFIX writes
# PREFIX.crt/.key (the certificate mail is encrypted to, with its key) and PREFIX.sign.crt/.key
# (the signing one; the same pair for a dual-use certificate); see p12keys.pl.
ob_p12_keys() {
	openssl pkcs12 -in "$1" -passin "pass:$2" -nodes 2>/dev/null |
		perl "$top_srcdir/tests/integration/p12keys.pl" "$3"
}

ob_serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/^0*//'; }

ob_mark() { stat -c %s "$MS_LOG" 2>/dev/null || echo 0; }
ob_log_since() { tail -c "+$(($1 + 1))" "$MS_LOG" 2>/dev/null; }

# A self-made recipient certificate (not from our CA) for ADDR: KEYTYPE rsa or ec;
# $H_TMP/ADDR.crt and .key, readable by the milter user for autosmimectl import.
ob_recipient_cert() {
	local addr=$1 kt=$2 key
	case "$kt" in
	ec) key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	*) key=(-newkey rsa:2048) ;;
	esac
	openssl req -x509 "${key[@]}" -nodes -days 30 -subj "/CN=$addr" \
		-addext "subjectAltName=email:$addr" -addext "extendedKeyUsage=emailProtection" \
		-addext "keyUsage=critical,digitalSignature,keyEncipherment,keyAgreement" \
		-keyout "$H_TMP/$addr.key" -out "$H_TMP/$addr.crt" > "$H_TMP/req.log" 2>&1 &&
		chmod 0644 "$H_TMP/$addr.crt"
}

# Enrolment tests: a mailbox's delivered mail, a header of a delivered file, certificates held.
maildir_count() { pf_maildir_files "$1" | wc -l; }
wait_maildir() { h_wait 30 eval "[ \"\$(maildir_count \"$1\")\" -ge $2 ]"; }
newest_mail() { pf_maildir_files "$1" | tail -n 1; }
hdr() { awk -v n="$2" 'BEGIN { IGNORECASE = 1 } /^\r?$/ { exit } tolower($0) ~ "^" tolower(n) ":" { sub(/^[^:]*: */, ""); sub(/\r$/, ""); print; exit }' "$1"; }
# signing certificates of a mailbox (signing-only or dual-use), and encryption-only ones
certs_of() { ms_ctl list --mailbox "$1" 2>/dev/null | grep -c ' use=\(sign\|dual\)'; }
enc_certs_of() { ms_ctl list --mailbox "$1" 2>/dev/null | grep -c ' use=encrypt'; }
