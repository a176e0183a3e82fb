# softhsm.sh: sourced by the PKCS#11 tests (tests/ca/pkcs11.sh, tests/policy/enrol_pkcs11.sh).
# softhsm_setup DIR makes a private SoftHSM2 configuration and token directory under DIR and
# one initialised token "asm-ca"; it sets SOFTHSM2_CONF (exported), softhsm_module, pin and
# pin_file (0600). A plan of 0 with SKIP only when SoftHSM2 is not installed at all; every other
# missing piece (pkcs11-tool, the OpenSSL engine) is the test's failure, as CI installs them.
softhsm_setup() {
  softhsm_module=""
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/$(uname -m)-linux-gnu/softhsm/libsofthsm2.so \
      /usr/lib64/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
    [ -r "$m" ] && { softhsm_module=$m; break; }
  done
  if [ -z "$softhsm_module" ] || ! command -v softhsm2-util >/dev/null; then
    echo "1..0 # SKIP softhsm2 not installed"; exit 0
  fi
  export SOFTHSM2_CONF="$1/softhsm2.conf"
  mkdir -m 700 "$1/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$1/tokens" > "$SOFTHSM2_CONF"
  pin=$(openssl rand -hex 8)
  pin_file="$1/pin"
  printf '%s\n' "$pin" > "$pin_file"
  chmod 600 "$pin_file"
  softhsm2-util --init-token --free --label asm-ca --pin "$pin" --so-pin "$(openssl rand -hex 8)" >/dev/null
}
# P ARGS: pkcs11-tool logged in to the token.
P() { pkcs11-tool --module "$softhsm_module" --token-label asm-ca --login --pin "$pin" "$@"; }
# uri LABEL: the RFC 7512 URI of the private key labelled LABEL.
uri() { echo "pkcs11:token=asm-ca;object=$1;type=private"; }
# softhsm_keygen LABEL TYPE: a key pair made in the token (the key ceremony's step); it must be
# sensitive and never extractable. TYPE as pkcs11-tool spells it (EC:secp384r1, rsa:3072).
softhsm_id=0
softhsm_keygen() {
  softhsm_id=$((softhsm_id + 1))
  P --keypairgen --key-type "$2" --label "$1" --id "$(printf %02x $softhsm_id)" > "$SOFTHSM2_CONF.$1" 2>&1 &&
    grep -q "never extractable" "$SOFTHSM2_CONF.$1" && grep -q "sensitive" "$SOFTHSM2_CONF.$1"
}
