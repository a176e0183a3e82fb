#!/bin/sh
# contrib: the example configuration passes -n and lists every option; the Postfix snippets
# hold only parameters Postfix knows; the systemd unit keeps its hardening.
set -u
milter="$top_builddir/milter/autosmime-milter"
contrib="$top_srcdir/contrib"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }

check "the example configuration passes -n" \
  '"$milter" -n -c "$contrib/autosmime.conf.example" | grep -q "configuration ok"'
"$milter" -d -c /dev/null | awk '{print $1}' | sort > "$tmp/options"
missing=""
for o in $(cat "$tmp/options"); do
  grep -q "^#\{0,1\}$o\( \|$\)" "$contrib/autosmime.conf.example" || missing="$missing $o"
done
check "the example lists every option (missing:${missing:-none})" '[ -z "$missing" ]'
sed "s/^#\([a-z_][a-z_]*\)\( \|\$\)/\1\2/" "$contrib/autosmime.conf.example" | grep -v '^local_domains example.org$' \
  > "$tmp/uncommented.conf"
check "with every line uncommented it is still a valid configuration" \
  '"$milter" -n -c "$tmp/uncommented.conf" >/dev/null'

if command -v postconf >/dev/null 2>&1; then
  mkdir "$tmp/pf"
  cp "$contrib/postfix/main.cf.snippet" "$tmp/pf/main.cf"
  cp "$contrib/postfix/master.cf.snippet" "$tmp/pf/master.cf"
  out=$(postconf -c "$tmp/pf" -n 2>&1)
  check "postconf knows every main.cf parameter of the snippet" \
    '! echo "$out" | grep -qi "unused parameter\|warning"'
  check "milter_default_action is tempfail" \
    'postconf -c "$tmp/pf" -h milter_default_action | grep -qx tempfail'
  check "the mail macros include {auth_authen} and i" \
    'postconf -c "$tmp/pf" -h milter_mail_macros | grep -q "{auth_authen}" &&
     postconf -c "$tmp/pf" -h milter_mail_macros | grep -qw i'
  out=$(postconf -c "$tmp/pf" -M submission/inet 2>&1)
  check "master.cf defines the submission service" 'echo "$out" | grep -q "^submission"'
else
  fail "postconf is not installed (Debian package postfix)"
fi

unit="$contrib/systemd/autosmime-milter.service.in"
for k in ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes ReadWritePaths= \
    "ExecReload=/bin/kill -HUP"; do
  check "the systemd unit has $k" 'grep -q "^$k" "$unit"'
done
check "the sendmail snippet declares the filter and its macros" \
  'grep -q "INPUT_MAIL_FILTER(.autosmime" "$contrib/sendmail/autosmime.mc" &&
   grep -q "confMILTER_MACROS_ENVFROM.*{auth_authen}" "$contrib/sendmail/autosmime.mc"'
echo "1..$n"
