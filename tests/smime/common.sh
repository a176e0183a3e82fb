# common.sh: sourced by the engine tests. Creates a private temp dir (removed on exit), a test
# PKI with the openssl CLI (EC P-256 root, EC P-256 issuing CA, EC P-256 and RSA-2048 signers,
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
T=$(mktemp -d /tmp/smime-test.XXXXXX)
cleanup() {
	[ -n "${GNUPGHOME:-}" ] && gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
# Run under the sanitizer build there is no point measuring CPU time.
is_sanitized() { nm "$TOOL" 2>/dev/null | grep -q __asan_init; }

make_pki() {
	cat > "$T/ext.cnf" <<'EOC'
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
EOC
	(
	cd "$T" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key \
	    -out root.pem -subj "/CN=autosmime test root" -days 2 \
	    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key \
	    -out int.csr -subj "/CN=autosmime test issuing CA" &&
	openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -set_serial 2 -days 2 \
	    -extfile ext.cnf -extensions v3int -out int.pem &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec384.key &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out ec521.key &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key &&
	for k in ec ec384 ec521 rsa; do
		e=leaf_ec; [ $k = rsa ] && e=leaf_rsa
		openssl req -new -key $k.key -subj "/CN=user-$k/emailAddress=user-$k@example.org" -out $k.csr &&
		openssl x509 -req -in $k.csr -CA int.pem -CAkey int.key -set_serial "0x$(openssl rand -hex 8)" \
		    -days 2 -extfile ext.cnf -extensions $e -out $k.pem || exit 1
	done
	) >"$T/pki.log" 2>&1
}
