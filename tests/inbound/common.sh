# common.sh: sourced by the inbound tests. A private temp dir (removed on exit, every process
# started here killed), a loopback CRL server (crl-server, our own), a test PKI made with
# `openssl ca` (EC root, EC issuing CA with an HTTP CRL distribution point on the loopback
# server; RSA and EC senders, an expired and a revoked sender, an untrusted root with its own
# sender), message builders with openssl cms and gpgsm, and TAP helpers.
set -u
: "${top_builddir:=../..}" "${top_srcdir:=../..}"
TOOL="$top_builddir/tests/inbound/inbound-tool"
SERVER="$top_builddir/tests/inbound/crl-server"
TOOL_RUN=${TOOL_RUN:-}   # a wrapper such as valgrind (valgrind.sh)
n=0; failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
done_testing() { echo "1..$n"; [ "$failed" = 0 ]; exit $?; }
command -v openssl >/dev/null || skip_all "openssl not installed"
[ -x "$TOOL" ] && [ -x "$SERVER" ] || skip_all "test tools not built"
T=$(mktemp -d /tmp/inbound-test.XXXXXX)
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	[ -n "${GNUPGHOME:-}" ] && gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
# gpgsm_home ROOT...: a private GNUPGHOME trusting these roots, whose pinentry answers "test".
# Its agent is started and must answer before gpgsm runs (bounded): on a loaded machine
# gpgsm's own autostart of the agent can give up, and a key import then fails.
gpgsm_home() {
	export GNUPGHOME="$T/gnupg"
	mkdir -p "$GNUPGHOME" && chmod 0700 "$GNUPGHOME" || return 1
	printf '#!/bin/sh\necho "OK ready"\nwhile read -r c r; do case "$c" in GETPIN) echo "D test"; echo OK;; BYE) echo OK; exit 0;; *) echo OK;; esac; done\n' > "$T/pinentry.sh"
	chmod +x "$T/pinentry.sh"
	echo "pinentry-program $T/pinentry.sh" > "$GNUPGHOME/gpg-agent.conf"
	printf 'disable-crl-checks\ndisable-trusted-cert-crl-check\n' > "$GNUPGHOME/gpgsm.conf"
	: > "$GNUPGHOME/trustlist.txt"
	for _g in "$@"; do
		echo "$(openssl x509 -in "$_g" -noout -fingerprint -sha1 | sed 's/.*=//') S" >> "$GNUPGHOME/trustlist.txt"
	done
	gpgconf --launch gpg-agent >/dev/null 2>&1
	_g=0
	while [ $_g -lt 300 ]; do
		gpg-connect-agent --no-autostart /bye >/dev/null 2>&1 && return 0
		sleep 0.1; _g=$((_g + 1))
	done
	echo "# gpg-agent did not answer within 30 s"
	return 1
}

# gpgsm_import P12: import into GNUPGHOME, up to 3 tries: on a loaded machine the agent's
# pinentry round trip sometimes fails and gpgsm then reports the file as undecryptable.
gpgsm_import() {
	for _try in 1 2 3; do
		timeout 60 gpgsm --batch --disable-dirmngr --import "$1" >> "$T/gpgsm.log" 2>&1 && return 0
		echo "# gpgsm import try $_try failed" >> "$T/gpgsm.log"
		sleep 1
	done
	return 1
}

# gpgsm_sign SIGNER KEY CERT CHAIN CONTENT OUT: import the signer as PKCS#12 into GNUPGHOME and
# write a detached base64 signature carrying every certificate; on failure gpgsm's log is
# printed as TAP diagnostics.
gpgsm_sign() {
	openssl pkcs12 -export -inkey "$2" -in "$3" -certfile "$4" -passout pass:test \
	    -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -out "$T/signer.p12" &&
	gpgsm_import "$T/signer.p12" &&
	timeout 60 gpgsm --batch --disable-dirmngr --include-certs -1 --detach-sign --base64 \
	    -u "$1" -o "$6" "$5" >> "$T/gpgsm.log" 2>&1 && return 0
	sed 's/^/# gpgsm: /' "$T/gpgsm.log"
	return 1
}

is_sanitized() { nm "$TOOL" 2>/dev/null | grep -q __asan_init; }

# start_server MODE: serves $T/www; sets PORT_<MODE>. Waits at most 5 s for the port file.
start_server() {
	local mode=$1 i=0
	mkdir -p "$T/www"
	rm -f "$T/port.$mode"
	"$SERVER" "$T/www" "$T/port.$mode" "$mode" &
	PIDS="$PIDS $!"
	while [ ! -s "$T/port.$mode" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$T/port.$mode" ] || return 1
	eval "PORT_$mode=$(cat "$T/port.$mode")"
}

# ca_section NAME DIR CERT KEY: an openssl ca section over DIR (made here, serials from 1000).
ca_section() {
	mkdir -p "$2/new"
	: > "$2/index.txt"
	echo 1000 > "$2/serial"
	echo 01 > "$2/crlnumber"
	cat <<EOC
[$1]
dir = $2
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $3
private_key = $4
default_md = sha256
default_days = 30
default_crl_days = 7
policy = pol
unique_subject = no
email_in_dn = no
EOC
}

# make_pki CRL_URL: root.pem, int.pem (+ keys), senders alice (RSA), carol (EC), dave (RSA,
# expired), eve (EC, revoked in int.crl), rita (RSA, for gpgsm), and an untrusted root
# evilroot.pem with mallory (EC). Leaves carry CRL_URL as their distribution point.
make_pki() {
	local url=$1
	mkdir -p "$T/www"
	{ printf '[ca]\ndefault_ca = int\n'; ca_section int "$T/ca" "$T/int.pem" "$T/int.key"; } > "$T/ca.cnf"
	cat >> "$T/ca.cnf" <<EOC
[pol]
commonName = supplied
[v3int]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_rsa]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:\$ENV::LEAF_MAIL
crlDistributionPoints = URI:$url
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_ec]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = emailProtection
subjectAltName = email:\$ENV::LEAF_MAIL
crlDistributionPoints = URI:$url
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOC
	(
	cd "$T" || exit 1
	export LEAF_MAIL=none
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key \
	    -out root.pem -subj "/CN=inbound test root" -days 30 \
	    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key \
	    -out int.csr -subj "/CN=inbound test issuing CA" &&
	openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -set_serial 2 -days 30 \
	    -extfile ca.cnf -extensions v3int -out int.pem &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evilroot.key \
	    -out evilroot.pem -subj "/CN=untrusted root" -days 30 \
	    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
	leaf() { # name kind mail [ca options]
		local name=$1 kind=$2 mail=$3; shift 3
		if [ "$kind" = rsa ]; then
			openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key"
		else
			openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$name.key"
		fi &&
		openssl req -new -key "$name.key" -subj "/CN=$mail" -out "$name.csr" &&
		LEAF_MAIL=$mail openssl ca -batch -notext -config ca.cnf -extensions "leaf_$kind" \
		    -in "$name.csr" -out "$name.pem" "$@"
	}
	leaf alice rsa alice@remote.test &&
	leaf carol ec carol@remote.test &&
	leaf rita rsa rita@remote.test &&
	leaf eve ec eve@remote.test &&
	leaf dave rsa dave@remote.test -startdate 20200101000000Z -enddate 20210101000000Z &&
	openssl ca -config ca.cnf -revoke eve.pem -crl_reason keyCompromise &&
	openssl ca -config ca.cnf -gencrl -out int.crl.pem &&
	openssl crl -in int.crl.pem -outform DER -out www/int.crl &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out mallory.key &&
	openssl req -x509 -key mallory.key -out mallory.pem -subj "/CN=mallory@remote.test" \
	    -days 30 -CA evilroot.pem -CAkey evilroot.key \
	    -addext "subjectAltName=email:mallory@remote.test" \
	    -addext "extendedKeyUsage=emailProtection" \
	    -addext "keyUsage=critical,digitalSignature" -addext "basicConstraints=critical,CA:FALSE"
	) > "$T/pki.log" 2>&1
}

# The inner entity every test message carries (CRLF).
content() {
	printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello from the inbound tests.\r\nSecond line.\r\n'
}

# headers FROM TO SUBJECT: the outer header fields (without Content-*).
headers() {
	printf 'From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: Thu, 1 Jan 2026 10:00:00 +0000\r\nMessage-ID: <%s.%s@remote.test>\r\n' \
	    "$1" "$2" "$3" "$$" "$(date +%N)"
}

# cms_sign NAME FROM OUT [-nodetach]: signed by NAME's key with openssl cms (chain included).
cms_sign() {
	local name=$1 from=$2 out=$3; shift 3
	content > "$T/content.txt"
	{ headers "$from" bob@local.test "signed by $name"
	  openssl cms -sign -in "$T/content.txt" -signer "$T/$name.pem" -inkey "$T/$name.key" \
	      -certfile "$T/int.pem" "$@" 2>>"$T/cms.log"; } > "$out"
}

# check FILE RESULT: the output has our Authentication-Results with smime=RESULT.
has_result() {
	tr -d '\r' < "$1" | awk 'BEGIN{IGNORECASE=1} /^$/{exit} {print}' |
	    awk '/^[^ \t]/{if (h) print h; h=$0; next} {h=h $0} END{print h}' |
	    grep -i "^Authentication-Results: gw.example;" | grep -q "smime=$2"
}

# make_gateway: a CA store like the daemon's in $T/gw (autosmimectl ca init) with local
# users bob (RSA) and erin (EC); their certificates in $T/bob.crt and $T/erin.crt.
CTL="$top_builddir/cli/autosmimectl"
make_gateway() {
	mkdir -p "$T/gw/store" "$T/gw/crl" "$T/gw/ca"
	( umask 077; openssl rand -hex 32 > "$T/gw/kek"; openssl rand -hex 32 > "$T/gw/pass" )
	cat > "$T/gw/conf" <<EOC
store_dir $T/gw/store
key_encryption_key_file $T/gw/kek
ca_passphrase_file $T/gw/pass
crl_dir $T/gw/crl
ca_base_url http://127.0.0.1/autosmime
local_domains local.test
organization_name autosmime test
organization_country DE
EOC
	{ "$CTL" -c "$T/gw/conf" ca init --root-cert "$T/gw/ca/root.pem" --root-key "$T/gw/ca/root.key" &&
	  "$CTL" -c "$T/gw/conf" issue bob@local.test --key-type rsa-2048 &&
	  "$CTL" -c "$T/gw/conf" issue erin@local.test --key-type ec-p256 &&
	  "$CTL" -c "$T/gw/conf" show bob@local.test --format pem > "$T/bob.crt" &&
	  "$CTL" -c "$T/gw/conf" show erin@local.test --format pem > "$T/erin.crt" &&
	  "$CTL" -c "$T/gw/conf" ca show --pem > "$T/gw/chain.pem"; } > "$T/gw.log" 2>&1
}
