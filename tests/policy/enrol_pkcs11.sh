#!/bin/sh
# enrol_pkcs11: test_enrol_pkcs11 (the daemon's enrolment issuance) with the issuing CA key in
# a SoftHSM2 token made here, in three processes: the first enrolment, a restart with a wrong
# PIN, a restart with the right one (see test_enrol_pkcs11.c). Their TAP lines are numbered
# as one plan.
set -u
command -v openssl >/dev/null || { echo "1..0 # SKIP openssl not installed"; exit 0; }
tmp=$(mktemp -d /tmp/enrol-p11-XXXXXX) || exit 1
dir=""
trap 'rm -rf "$tmp"; [ -n "$dir" ] && rm -rf "$dir"' EXIT
. "$top_srcdir/tests/ca/softhsm.sh"
softhsm_setup "$tmp"
t="$top_builddir/tests/policy/test_enrol_pkcs11"
export ENROL_PKCS11_MODULE="$softhsm_module" ENROL_PKCS11_PIN_FILE="$pin_file"
ENROL_PKCS11_KEY_URI=$(uri enrol-ica)
export ENROL_PKCS11_KEY_URI
{
  if softhsm_keygen enrol-ica EC:secp384r1; then echo "ok - the issuing CA key is made in the token"
  else echo "not ok - the issuing CA key is made in the token (pkcs11-tool: opensc)"; fi
  $t "$tmp/state"
  dir=$(cat "$tmp/state" 2>/dev/null)
  printf '%s0\n' "$pin" > "$pin_file"
  [ -n "$dir" ] && $t wrong-pin "$dir"
  printf '%s\n' "$pin" > "$pin_file"
  [ -n "$dir" ] && $t retry "$dir"
  [ -n "$dir" ] || echo "not ok - the first process left its store"
} > "$tmp/out" 2>&1
awk '/^(not )?ok/ { n++; bad = /^not/; sub(/^(not )?ok( [0-9]+)?/, ""); print (bad ? "not ok " : "ok ") n $0; next }
     /^1\.\./ { next } { print } END { print "1.." n }' "$tmp/out"
! grep -q "^not ok\|^Bail out" "$tmp/out"
