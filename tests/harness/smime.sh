# smime.sh: checks on delivered S/MIME messages with the real tools (bash, sourced).
#
# Owns a private GnuPG home ($H_TMP/gnupg, its gpg-agent is killed at clean-up).
#   smime_is_signed FILE            true when the top-level Content-Type is multipart/signed
#                                   with protocol application/pkcs7-signature
#   smime_split FILE DIR            writes DIR/content (the signed part, CRLF canonical form,
#                                   exactly the bytes the signature covers) and DIR/sig.der
#   smime_verify_openssl FILE CAFILE [OUT]   openssl cms -verify (S/MIME input), content to OUT
#   smime_gpgsm_trust CAFILE...     import CA certificates into the GnuPG home and trust them
#                                   (trustlist.txt), CRL checks off (the tests serve no CRL)
#   smime_verify_gpgsm FILE         gpgsm --verify of the detached signature over the content
# Messages may come LF-only (smtp-sink dumps, Maildir files); smime_split restores CRLF.

_sm_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_sm_here/common.sh"
SM_GNUPGHOME=

smime_is_signed() {
	awk 'BEGIN { IGNORECASE = 1 }
	/^$/ || /^\r$/ { exit }
	/^[^ \t]/ { inct = tolower($0) ~ /^content-type:/ }
	inct { ct = ct $0 }
	END { ct = tolower(ct); exit !(ct ~ /multipart\/signed/ && ct ~ /application\/(x-)?pkcs7-signature/) }' "$1"
}

# The top-level boundary parameter (the Content-Type header may be folded and quoted).
_sm_boundary() {
	awk '/^\r?$/ { exit }
	/^[^ \t]/ { inct = tolower($0) ~ /^content-type:/ }
	inct { sub(/\r$/, ""); ct = ct " " $0 }
	END {
		if (match(ct, /[bB][oO][uU][nN][dD][aA][rR][yY]="[^"]*"/)) print substr(ct, RSTART + 10, RLENGTH - 11)
		else if (match(ct, /[bB][oO][uU][nN][dD][aA][rR][yY]=[^ ;]*/)) print substr(ct, RSTART + 9, RLENGTH - 9)
	}' "$1"
}

smime_split() {
	local f=$1 d=$2 b
	b=$(_sm_boundary "$f")
	[ -n "$b" ] || { h_die "smime_split: no boundary in $f"; return 1; }
	mkdir -p "$d"
	awk -v b="$b" -v content="$d/content" -v sig="$d/sig.b64" '
	{ sub(/\r$/, "") }
	$0 == "--" b || $0 == "--" b "--" { part++; first = 1; inbody = 0; next }
	part == 1 { if (!first) printf "\r\n" > content; printf "%s", $0 > content; first = 0 }
	part == 2 && inbody { print > sig }
	part == 2 && $0 == "" { inbody = 1 }' "$f" || return 1
	[ -s "$d/content" ] && [ -s "$d/sig.b64" ] || { h_die "smime_split: parts missing in $f"; return 1; }
	openssl base64 -d -in "$d/sig.b64" -out "$d/sig.der"
}

smime_verify_openssl() {
	local f=$1 ca=$2 out=${3:-/dev/null}
	openssl cms -verify -in "$f" -inform SMIME -CAfile "$ca" -purpose smimesign -out "$out" 2>"$H_TMP/openssl-verify.err"
}

_sm_gnupg() {
	[ -n "$SM_GNUPGHOME" ] && return 0
	SM_GNUPGHOME=$H_TMP/gnupg
	mkdir -p "$SM_GNUPGHOME" && chmod 0700 "$SM_GNUPGHOME"
	printf 'disable-crl-checks\ndisable-trusted-cert-crl-check\n' > "$SM_GNUPGHOME/gpgsm.conf"
	h_at_exit 'GNUPGHOME="$SM_GNUPGHOME" gpgconf --kill all'
}

smime_gpgsm_trust() {
	local ca one fpr k=0
	_sm_gnupg
	for ca in "$@"; do
		GNUPGHOME=$SM_GNUPGHOME gpgsm --batch --disable-dirmngr --import "$ca" >/dev/null 2>&1 || return 1
		# Every certificate of the file; only self-signed roots go into trustlist.txt.
		k=$((k + 1))
		awk -v p="$SM_GNUPGHOME/ca.$k." '/-BEGIN CERT/ { n++; on = 1 } on { print > (p n ".pem") } /-END CERT/ { on = 0 }' "$ca"
	done
	for one in "$SM_GNUPGHOME"/ca.*.pem; do
		[ -f "$one" ] || continue
		if [ "$(openssl x509 -in "$one" -noout -subject | sed 's/^subject=//')" = \
		     "$(openssl x509 -in "$one" -noout -issuer | sed 's/^issuer=//')" ]; then
			fpr=$(openssl x509 -in "$one" -noout -fingerprint -sha1 | sed 's/.*=//')
			grep -q "^$fpr" "$SM_GNUPGHOME/trustlist.txt" 2>/dev/null || echo "$fpr S" >> "$SM_GNUPGHOME/trustlist.txt"
		fi
		rm -f "$one"
	done
	GNUPGHOME=$SM_GNUPGHOME gpgconf --reload gpg-agent >/dev/null 2>&1
	return 0
}

smime_verify_gpgsm() {
	local f=$1 d
	_sm_gnupg
	d=$(mktemp -d "$H_TMP/split.XXXXXX") || return 1
	smime_split "$f" "$d" || return 1
	GNUPGHOME=$SM_GNUPGHOME gpgsm --batch --disable-dirmngr --status-fd 1 --verify "$d/sig.der" "$d/content" \
		> "$d/gpgsm.status" 2> "$d/gpgsm.err" || return 1
	grep -q '^\[GNUPG:\] GOODSIG' "$d/gpgsm.status" && grep -q '^\[GNUPG:\] TRUST_FULLY' "$d/gpgsm.status"
}
