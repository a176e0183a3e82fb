# common.sh: sourced by the engine tests (and tests/interop). Creates a private temp dir
# (removed on exit), a test PKI with the openssl CLI (EC P-256 root, EC P-256 issuing CA, EC P-256 and RSA-2048 signers,
# an EC P-384 recipient and signer, an EC P-521 signer) and TAP helpers. Needs: openssl, perl
# with MIME::Base64.
set -u
: "${top_builddir:=../..}" "${top_srcdir:=../..}"
TOOL="$top_builddir/tests/smime/smime-tool"
CHECK="perl $top_srcdir/tests/smime/mimecheck.pl"
CORPUS="$top_srcdir/tests/smime/corpus"
n=0; failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
done_testing() { echo "1..$n"; [ "$failed" = 0 ]; exit $?; }
command -v openssl >/dev/null || skip_all "openssl not installed"
perl -MMIME::Base64 -MMIME::QuotedPrint -e 1 2>/dev/null || skip_all "perl MIME modules missing"
[ -x "$TOOL" ] || skip_all "smime-tool not built"
T=$(mktemp -d /tmp/smime-test.XXXXXX)   # mktemp's template: the X's become a random name
# GPG_HOMES: further GnuPG homes whose agents are stopped too (tests/interop);
# TEST_KEEP=1 (or INTEROP_KEEP=1) keeps the directory for a look afterwards.
GPG_HOMES=""
cleanup() {
	for h in ${GNUPGHOME:-} $GPG_HOMES; do
		timeout 20 gpgconf --homedir "$h" --kill all >/dev/null 2>&1
	done
	if [ -n "${TEST_KEEP:-}${INTEROP_KEEP:-}" ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
# Run under the sanitizer build there is no point measuring CPU time.
is_sanitized() { nm "$TOOL" 2>/dev/null | grep -q __asan_init; }

# PKI_CAS: in $T, the extension sections (v3int; leaf_rsa, leaf_ec dual use; leaf_sig signing
# only, leaf_enc encryption only) in ext.cnf, an EC P-256 root (root.pem/.key) and an EC P-256
# issuing CA under it (int.pem/.key). Run inside a subshell that has done cd "$T".
pki_cas() {
	cat > ext.cnf <<'EOC'
[v3int]
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[leaf_rsa]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=emailProtection
subjectAltName=email:copy
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[leaf_ec]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=emailProtection
subjectAltName=email:copy
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[leaf_sig]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=emailProtection
subjectAltName=email:copy
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[leaf_enc]
basicConstraints=critical,CA:FALSE
keyUsage=critical,keyEncipherment
extendedKeyUsage=emailProtection
subjectAltName=email:copy
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOC
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key \
	    -out root.pem -subj "/CN=autosmime test root" -days 2 \
	    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key \
	    -out int.csr -subj "/CN=autosmime test issuing CA" &&
	openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -set_serial 2 -days 2 \
	    -extfile ext.cnf -extensions v3int -out int.pem
}

# PKI_LEAF NAME KEY EXT CN MAIL: NAME.key (KEY: p256 p384 p521 rsa rsa3072 rsa4096) and NAME.pem
# issued by int with the ext.cnf section EXT; in $T, after pki_cas.
pki_leaf() {
	case $2 in
	p256|p384|p521) openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:P-${2#p}" -out "$1.key" ;;
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" ;;
	rsa*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${2#rsa}" -out "$1.key" ;;
	*) return 1 ;;
	esac &&
	openssl req -new -key "$1.key" -subj "/CN=$4/emailAddress=$5" -out "$1.csr" &&
	openssl x509 -req -in "$1.csr" -CA int.pem -CAkey int.key -set_serial "0x$(openssl rand -hex 8)" \
	    -days 2 -extfile ext.cnf -extensions "$3" -out "$1.pem"
}

# The engine tests' signers: ec (P-256), ec384, ec521, rsa (RSA-2048), user-K@example.org.
make_pki() {
	(
	cd "$T" && pki_cas || exit 1
	for k in ec ec384 ec521 rsa; do
		case $k in ec) a=p256 e=leaf_ec ;; rsa) a=rsa e=leaf_rsa ;; *) a=p${k#ec} e=leaf_ec ;; esac
		pki_leaf $k $a $e "user-$k" "user-$k@example.org" || exit 1
	done
	) >"$T/pki.log" 2>&1
}
