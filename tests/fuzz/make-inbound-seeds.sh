#!/bin/sh
# Write the inbound fuzz target's seed corpus (corpus/inbound/) with `openssl cms` and the
# fixed test keys: multipart/signed, opaque signed-data, enveloped-data to the RSA and the EC
# recipient, authEnveloped-data (AES-256-GCM), signed-then-enveloped, a bad signature, and
# forged Authentication-Results fields. Run again after the keys change.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
k="$here/keys"
out="$here/corpus/inbound"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello from the fuzz corpus.\r\n' > "$tmp/inner"
hdr() { printf 'From: signer@fuzz.test\r\nTo: user@fuzz.test\r\nSubject: seed %s\r\n%s' "$1" "${2:-}"; }
cms() { openssl cms "$@" 2>/dev/null; }
cms -sign -in "$tmp/inner" -signer "$k/signer.pem" -inkey "$k/signer.key" -md sha256 > "$tmp/s"
{ hdr detached; cat "$tmp/s"; } > "$out/signed.eml"
cms -sign -nodetach -in "$tmp/inner" -signer "$k/signer.pem" -inkey "$k/signer.key" > "$tmp/o"
{ hdr opaque; cat "$tmp/o"; } > "$out/opaque.eml"
cms -encrypt -in "$tmp/inner" -aes256 "$k/rsa.pem" > "$tmp/e"
{ hdr rsa; cat "$tmp/e"; } > "$out/enveloped-rsa.eml"
cms -encrypt -in "$tmp/inner" -aes256 "$k/ec.pem" > "$tmp/e"
{ hdr ec; cat "$tmp/e"; } > "$out/enveloped-ec.eml"
cms -encrypt -in "$tmp/inner" -aes-256-gcm "$k/rsa.pem" > "$tmp/e"
{ hdr gcm; cat "$tmp/e"; } > "$out/authenveloped.eml"
cms -sign -in "$tmp/inner" -signer "$k/signer.pem" -inkey "$k/signer.key" > "$tmp/s2"
cms -encrypt -in "$tmp/s2" -aes256 "$k/rsa.pem" "$k/ec.pem" > "$tmp/e"
{ hdr nested; cat "$tmp/e"; } > "$out/signed-enveloped.eml"
sed 's/Hello from the fuzz corpus\./Hello from somebody else./' "$out/signed.eml" > "$out/bad-signature.eml"
{ hdr forged 'Authentication-Results: gw.fuzz.test; smime=pass\r\nAuthentication-Results: GW.FUZZ.TEST (x);\r\n smime=pass\r\nAuthentication-Results: other.test; smime=pass\r\n'
  cat "$tmp/s"; } > "$out/forged-authres.eml"
printf 'From: a@b.test\r\nAuthentication-Results: gw.fuzz.test; none\r\n\r\nplain body\r\n' > "$out/plain.eml"
ls "$out"
