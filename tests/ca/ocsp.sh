#!/bin/bash
# ocsp: autosmime-ocspd end to end on loopback with a store made by autosmimectl, read by
# openssl ocsp and curl: good, revoked (reason) and unknown over POST and GET, verified up to
# the root; the nonce echoed; GET answers from the cache with RFC 5019 cache headers; the
# delegated responder certificate's profile; a revocation by the CLI while the responder runs
# shows at once; garbage, oversized, wrong type, wrong method and foreign issuers get
# malformedRequest, unauthorized or HTTP 4xx while the responder keeps running; certificates
# carry the AIA OCSP URL; SIGTERM stops it cleanly.
set -u
. "$top_srcdir/tests/ca/setup.sh"
. "$top_srcdir/tests/harness/common.sh"
command -v openssl >/dev/null && command -v curl >/dev/null ||
  { echo "1..0 # SKIP openssl or curl not installed"; exit 0; }
ocspd="$top_builddir/ocsp/autosmime-ocspd"
port=$(h_free_port) || { echo "1..0 # SKIP no free port"; exit 0; }
url="http://127.0.0.1:$port/ocsp"
cat >> "$tmp/conf" <<EOC
ocsp_url $url
ocsp_listen 127.0.0.1:$port
log_level info
EOC

check "ca init" 'ca_init'
ca_id=$(C ca show | sed -n 's/^ca_id=\([0-9a-f]*\) active=yes.*/\1/p')
openssl x509 -inform DER -in "$tmp/crl/$ca_id.crt" -out "$tmp/ica.pem"
C issue good@example.org --dual-use --out "$tmp/good.pem" >/dev/null
C issue gone@example.org --dual-use --out "$tmp/gone.pem" >/dev/null
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
C revoke "$(serial "$tmp/gone.pem")" --reason keyCompromise >/dev/null
check "issued certificates carry AIA OCSP ocsp_url" 'openssl x509 -in "$tmp/good.pem" -noout -text | grep -q "OCSP - URI:$url\$"'

"$ocspd" -c "$tmp/conf" -f 2>"$tmp/ocspd.log" &
opid=$!
pids="$pids $opid"
check "autosmime-ocspd listens" 'h_wait 20 h_port_listening "$port"'

ask() { # name cert... : POST through openssl ocsp, verified against the root
  local name=$1; shift
  openssl ocsp -issuer "$tmp/ica.pem" "$@" -url "$url" -CAfile "$tmp/root.pem" \
    -resp_text -respout "$tmp/$name.resp" > "$tmp/$name.out" 2>&1
}
ask good -cert "$tmp/good.pem"
check "POST good: Response verify OK, good" 'grep -q "Response verify OK" "$tmp/good.out" && grep -q "good.pem: good" "$tmp/good.out"'
check "POST: the nonce is echoed" 'grep -q "OCSP Nonce" "$tmp/good.out" && ! grep -q "WARNING: no nonce" "$tmp/good.out"'
check "signed by the delegated responder: OCSP Signing, OCSP No Check" 'grep -q "OCSP Signing" "$tmp/good.out" && grep -q "OCSP No Check" "$tmp/good.out" && grep -q "Subject: C = GB, O = Example Org, CN = OCSP Responder\|Subject: C=GB, O=Example Org, CN=OCSP Responder" "$tmp/good.out"'
check "validity of the answer: 4 days" '[ $(( $(date -d "$(sed -n "s/.*Next Update: //p" "$tmp/good.out" | head -1)" +%s) - $(date -d "$(sed -n "s/.*This Update: //p" "$tmp/good.out" | head -1)" +%s) )) -eq 345600 ]'
ask gone -cert "$tmp/gone.pem"
check "POST revoked: keyCompromise with its time" 'grep -q "Response verify OK" "$tmp/gone.out" && grep -q "gone.pem: revoked" "$tmp/gone.out" && grep -q "Reason: keyCompromise" "$tmp/gone.out" && grep -q "Revocation Time:" "$tmp/gone.out"'
ask unknown -serial 0x1234567890abcdef
check "POST a serial never issued: unknown" 'grep -q "Response verify OK" "$tmp/unknown.out" && grep -q "0x1234567890abcdef: unknown" "$tmp/unknown.out"'
ask two -cert "$tmp/good.pem" -cert "$tmp/gone.pem"
check "two CertIDs in one request" 'grep -q "good.pem: good" "$tmp/two.out" && grep -q "gone.pem: revoked" "$tmp/two.out"'
openssl ocsp -issuer "$tmp/root.pem" -serial 1 -url "$url" > "$tmp/foreign.out" 2>&1
check "an issuer not ours: unauthorized" 'grep -q "Responder Error: unauthorized" "$tmp/foreign.out"'

# GET: the DER request base64 and URL encoded in the path (RFC 6960 A.1)
get_req() { # name cert-or-serial-args...
  local name=$1; shift
  openssl ocsp -issuer "$tmp/ica.pem" "$@" -no_nonce -reqout "$tmp/$name.req" >/dev/null 2>&1
  enc=$(base64 -w0 "$tmp/$name.req" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
  curl -s -D "$tmp/$name.hdr" -o "$tmp/$name.der" "$url/$enc"
}
get_check() { # name cert-or-serial-args...
  local name=$1; shift
  openssl ocsp -respin "$tmp/$name.der" -issuer "$tmp/ica.pem" "$@" -CAfile "$tmp/root.pem" > "$tmp/$name.out" 2>&1
}
get_req g1 -cert "$tmp/good.pem"
get_check g1 -cert "$tmp/good.pem"
check "GET good verifies" 'grep -q "Response verify OK" "$tmp/g1.out" && grep -q "good.pem: good" "$tmp/g1.out"'
check "GET: Content-Type application/ocsp-response" 'grep -qi "^Content-Type: application/ocsp-response" "$tmp/g1.hdr"'
check "GET: Cache-Control max-age (RFC 5019 6.2), Last-Modified, Expires" 'grep -qi "^Cache-Control: max-age=[0-9]*, public, no-transform, must-revalidate" "$tmp/g1.hdr" && grep -qi "^Last-Modified: " "$tmp/g1.hdr" && grep -qi "^Expires: " "$tmp/g1.hdr"'
check "GET without a nonce: none answered" 'openssl ocsp -respin "$tmp/g1.der" -resp_text -noverify 2>/dev/null | grep -q "Cert Status: good" && ! openssl ocsp -respin "$tmp/g1.der" -resp_text -noverify 2>/dev/null | grep -q "OCSP Nonce"'
get_req g2 -cert "$tmp/good.pem"
check "a second GET: the same bytes, from the cache" 'cmp -s "$tmp/g1.der" "$tmp/g2.der" && grep -q "method=GET status=successful cert=good.*cached=yes" "$tmp/ocspd.log"'
get_req g3 -cert "$tmp/gone.pem"
get_check g3 -cert "$tmp/gone.pem"
check "GET revoked: keyCompromise" 'grep -q "gone.pem: revoked" "$tmp/g3.out" && grep -q "Reason: keyCompromise" "$tmp/g3.out"'
get_req g4 -serial 0x42
get_check g4 -serial 0x42
check "GET unknown" 'grep -q "Response verify OK" "$tmp/g4.out" && grep -q "0x42: unknown" "$tmp/g4.out"'

# the CLI revokes while the responder runs: the next answer says so
C issue late@example.org --dual-use --out "$tmp/late.pem" >/dev/null
ask late1 -cert "$tmp/late.pem"
C revoke "$(serial "$tmp/late.pem")" --reason superseded >/dev/null
ask late2 -cert "$tmp/late.pem"
check "issued while it runs: good; revoked by the CLI: revoked at once" 'grep -q "late.pem: good" "$tmp/late1.out" && grep -q "late.pem: revoked" "$tmp/late2.out" && grep -q "Reason: superseded" "$tmp/late2.out"'

# the CLI writes the store while GETs come in: every answer is still right
( for i in 1 2 3 4 5 6 7 8; do C issue "bg$i@example.org" --dual-use --out "$tmp/bg$i.pem" >/dev/null 2>&1; done ) &
bg=$!
okc=0
for i in $(seq 1 40); do
  get_req gg -cert "$tmp/good.pem"
  get_check gg -cert "$tmp/good.pem" && grep -q "good.pem: good" "$tmp/gg.out" && okc=$((okc + 1))
done
wait $bg
check "40 GETs while the CLI issues 8 certificates: all verified good ($okc)" '[ $okc -eq 40 ]'
ask bg8 -cert "$tmp/bg8.pem"
check "... and the last of them is known at once" 'grep -q "bg8.pem: good" "$tmp/bg8.out"'

# hostile requests
code() { curl -s -o "$tmp/h.der" -w '%{http_code}' "$@"; }
head -c 100 /dev/urandom > "$tmp/garbage"
c=$(code -H "Content-Type: application/ocsp-request" --data-binary @"$tmp/garbage" "$url")
check "POST garbage: 200 with malformedRequest" '[ "$c" = 200 ] && openssl ocsp -respin "$tmp/h.der" -noverify 2>&1 | grep -q "Responder Error: malformedrequest"'
head -c 5000 /dev/zero > "$tmp/big"
c=$(code -H "Content-Type: application/ocsp-request" --data-binary @"$tmp/big" "$url")
check "POST 5000 bytes: 413" '[ "$c" = 413 ]'
c=$(code -H "Content-Type: application/ocsp-request" -H "Transfer-Encoding: chunked" --data-binary @"$tmp/big" "$url")
check "POST 5000 bytes chunked: 413" '[ "$c" = 413 ]'
c=$(code -H "Content-Type: text/plain" --data-binary @"$tmp/good.req" "$url" 2>/dev/null)
check "POST of another Content-Type: 415" '[ "$c" = 415 ]'
c=$(code -X PUT --data-binary @"$tmp/garbage" "$url")
check "PUT: 405" '[ "$c" = 405 ]'
c=$(code "$url/not*base64")
check "GET of a path that is not base64: malformedRequest" '[ "$c" = 200 ] && openssl ocsp -respin "$tmp/h.der" -noverify 2>&1 | grep -q "Responder Error: malformedrequest"'
c=$(code "http://127.0.0.1:$port/elsewhere/MEMwQTA")
check "GET outside the ocsp_url path: 404" '[ "$c" = 404 ]'
c=$(code "$url/$(head -c 12000 /dev/zero | tr '\0' A)")
check "GET of a 12000-character path (over 4 KiB of DER): malformedRequest" '[ "$c" = 200 ] && openssl ocsp -respin "$tmp/h.der" -noverify 2>&1 | grep -q "Responder Error: malformedrequest"'
c=$(code "$url/$(head -c 40000 /dev/zero | tr '\0' A)")
check "GET of a 40000-character path: 414" '[ "$c" = 414 ]'
c=$(code "$url/$(head -c 6000 /dev/zero | base64 -w0 | head -c 5600)")
check "GET of a request over 4 KiB: malformedRequest" '[ "$c" = 200 ] && openssl ocsp -respin "$tmp/h.der" -noverify 2>&1 | grep -q "Responder Error: malformedrequest"'
ask after -cert "$tmp/good.pem"
check "still answering after the hostile requests" 'kill -0 $opid && grep -q "good.pem: good" "$tmp/after.out"'
check "one log line per request, key=value" 'grep -q "event=ocsp client=127.0.0.1 method=POST status=malformedRequest" "$tmp/ocspd.log"'
check "the responder certificate is audited" 'C audit show --event ocsp-responder | grep -q "ca=$ca_id serial="'
check "its key is in the store, encrypted, 0600" '[ "$(stat -c %a "$tmp/store/ca/$ca_id.ocsp.key")" = 600 ] && grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$tmp/store/ca/$ca_id.ocsp.key"'

kill -TERM $opid
check "SIGTERM stops it with exit 0" 'h_wait 10 sh -c "! kill -0 $opid 2>/dev/null"; wait $opid; [ $? -eq 0 ] && grep -q "event=stop" "$tmp/ocspd.log"'
check "ocsp_listen that is no address: refused at start" '! { sed "s/^ocsp_listen .*/ocsp_listen nowhere/" "$tmp/conf" > "$tmp/conf.bad"; "$ocspd" -c "$tmp/conf.bad" -f 2>"$tmp/bad.log"; } && grep -q "ocsp_listen" "$tmp/bad.log"'
check "-n refuses an https ocsp_url" 'sed "s|^ocsp_url .*|ocsp_url https://ocsp.example.org/|" "$tmp/conf" > "$tmp/conf.https"; ! "$ocspd" -c "$tmp/conf.https" -n 2>"$tmp/https.log" && grep -q "ocsp_url must be an http:// URL" "$tmp/https.log"'
unit="$top_builddir/contrib/systemd/autosmime-ocspd.service"
if command -v systemd-analyze >/dev/null && [ -f "$unit" ]; then
  # the unit as built, its program pointed at the one under test
  sed "s|^\(ExecStart[A-Za-z]*=\)[^ ]*autosmime-ocspd|\1$ocspd|" "$unit" > "$tmp/autosmime-ocspd.service"
  check "the systemd unit passes systemd-analyze verify" 'systemd-analyze verify --man=no "$tmp/autosmime-ocspd.service" >"$tmp/verify" 2>&1 && [ ! -s "$tmp/verify" ]'
  exposure=$(systemd-analyze security --offline=true "$tmp/autosmime-ocspd.service" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  check "the unit's exposure is at most 2.0 ($exposure)" '[ -n "$exposure" ] && awk -v e="$exposure" "BEGIN { exit !(e <= 2.0) }"'
fi
echo "1..$n"
