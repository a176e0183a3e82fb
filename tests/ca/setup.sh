# setup.sh: sourced by the tests/ca shell tests. Makes a private directory with a config file,
# initialises a CA in it with autosmimectl, and offers TAP helpers. Cleans up on exit.
ctl="$top_builddir/cli/autosmimectl"
stress="$top_builddir/tests/ca/ca_stress"
tmp=$(mktemp -d /tmp/ca-sh-XXXXXX) || exit 1
pids=""
cleanup() {
  for p in $pids; do kill -9 "$p" 2>/dev/null; done
  sh "$top_srcdir/tests/tools/store-ipc-clean.sh" "$tmp"
  rm -rf "$tmp"
}
trap cleanup EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }
cat > "$tmp/conf" <<EOC
store_dir $tmp/store
key_encryption_key_file $tmp/kek
ca_passphrase_file $tmp/pass
crl_dir $tmp/crl
ca_base_url http://ca.example.org/pub
organization_name Example Org
organization_identifier NTRGB-12345678
organization_country GB
EOC
C() { "$ctl" -c "$tmp/conf" "$@"; }
ca_init() {
  C ca init --root-cert "$tmp/root.pem" --root-key "$tmp/root.key" >"$tmp/init.out" 2>"$tmp/init.err"
}
