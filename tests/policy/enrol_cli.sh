#!/bin/bash
# enrol_cli: `autosmimectl enrol status|start|cancel` and `autosmimectl sponsors import|list`
# from the build tree against a CA created here (ca init, Berkeley DB on disk), with
# capture-sendmail.sh as the sendmail command: the challenge mail it keeps, the state status
# shows, the audit records, the atomic install of the sponsor table and every exit code.
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$here/../..}
builddir=${top_builddir:-$here/../..}
. "$srcdir/tests/harness/common.sh"
CTL=$builddir/cli/autosmimectl
[ -x "$CTL" ] || { echo "1..0 # SKIP autosmimectl is not built"; exit 0; }
h_need_cmd openssl
h_init enrol-cli
d=$H_TMP
mkdir -p "$d/store" "$d/crl" "$d/out" && chmod 0700 "$d/store"
( umask 077; openssl rand -hex 32 > "$d/kek"; openssl rand -hex 32 > "$d/pass" )
cat > "$d/conf" <<EOF
store_dir $d/store
key_encryption_key_file $d/kek
ca_passphrase_file $d/pass
crl_dir $d/crl
ca_base_url http://127.0.0.1/autosmime
local_domains local.test
enrol_exclude root@local.test
organization_name autosmime test
organization_country DE
enrol_address enrol@local.test
challenge_limit_hour 2
sendmail_command $srcdir/tests/policy/capture-sendmail.sh $d/out -i -t
caa_check no
sponsor_map_file $d/sponsors.map
EOF
# TEST_WRAPPER: e.g. valgrind (CI runs the programs under it).
C() { ${TEST_WRAPPER:-} "$CTL" -c "$d/conf" "$@"; }
mails() { find "$d/out" -name '*.eml' | wc -l; }

C ca init --root-cert "$d/root.pem" --root-key "$d/root.key" > "$d/init.log" 2>&1
tap_ok $? "ca init"

# The sponsor table first: enrol_open loads it when sponsor_map_file is set.
C enrol status alice@local.test > "$d/st0" 2>&1
tap_ok $([ $? = 1 ] && grep -q 'sponsors.map' "$d/st0"; echo $?) \
	"enrol commands fail (exit 1) while the configured sponsor table is missing"
printf '# staff\nalice@local.test   Alice Marie | Example-Smith\nbob@local.test\tBob\tBuilder\n' > "$d/src"
C sponsors import "$d/src" > "$d/imp" 2>&1
tap_ok $? "sponsors import installs a valid file"
tap_ok $(cmp -s "$d/src" "$d/sponsors.map"; echo $?) "the installed table is the checked file"
tap_is "$(stat -c %a "$d/sponsors.map")" 640 "the table is 0640"
tap_is "$(find "$d" -maxdepth 1 -name 'sponsors.map.tmp*' | wc -l)" 0 "no temporary file is left"
tap_is "$(C sponsors list 2>/dev/null)" "$(printf 'alice@local.test\tAlice Marie\tExample-Smith\nbob@local.test\tBob\tBuilder')" \
	"sponsors list prints mailbox, given name and surname"
printf 'carol@local.test Carol\n' > "$d/bad1"
C sponsors import "$d/bad1" > "$d/bad1.log" 2>&1
tap_ok $([ $? = 4 ] && grep -q 'bad1:1:' "$d/bad1.log"; echo $?) "a line without a surname is refused (4) with its line number"
printf 'dave@local.test\tDave\tD\ndave@local.test\tDave\tE\n' > "$d/bad2"
C sponsors import "$d/bad2" > /dev/null 2>&1
tap_is $? 4 "a mailbox listed twice is refused (4)"
tap_ok $(cmp -s "$d/src" "$d/sponsors.map"; echo $?) "a refused import leaves the installed table alone"
C sponsors import "$d/nonexistent" > /dev/null 2>&1
tap_is $? 3 "importing a missing file: not found (3)"
C sponsors frob > /dev/null 2>&1
tap_is $? 2 "sponsors with a bad sub-command: usage (2)"
C audit show --event sponsors-import > "$d/aud0" 2>/dev/null
tap_ok $(grep -q 'entries=2' "$d/aud0"; echo $?) "the import is audited"

# enrol
C enrol status alice@local.test > "$d/st1" 2>/dev/null
tap_ok $([ $? = 0 ] && grep -qx 'mailbox=alice@local.test eligible=yes' "$d/st1" &&
	grep -qx 'challenge=none' "$d/st1" && grep -qx 'certificate=none' "$d/st1"; echo $?) \
	"status of a new mailbox: eligible, no challenge, no certificate"
C enrol start alice@local.test > "$d/s1" 2>/dev/null
tap_ok $([ $? = 0 ] && grep -q 'result=challenge-sent challenge=[0-9a-f]\{16\}' "$d/s1"; echo $?) "start sends a challenge"
id=$(sed -n 's/.*challenge=\([0-9a-f]*\).*/\1/p' "$d/s1")
mail=$(find "$d/out" -name '*.eml' | head -n 1)
tap_ok $([ -n "$mail" ] && grep -q '^To: alice@local.test' "$mail" && grep -q '^Subject: .*ACME: ' "$mail" &&
	grep -q '^Auto-Submitted: auto-generated; type=acme' "$mail"; echo $?) "the challenge mail went to the sendmail command"
tok=$(sed -n 's/^Subject: .*ACME: *\([A-Za-z0-9_-]*\).*/\1/p' "$mail")
C enrol start alice@local.test > /dev/null 2>&1
tap_ok $([ $? = 4 ] && [ "$(mails)" = 1 ]; echo $?) "a second start while one is open: refused (4), nothing sent"
C enrol status alice@local.test > "$d/st2" 2>/dev/null
tap_ok $(grep -q "^challenge=open id=$id created=" "$d/st2"; echo $?) "status shows the open challenge"
C enrol cancel alice@local.test > /dev/null 2>&1
tap_is $? 0 "cancel cancels it"
C enrol cancel alice@local.test > /dev/null 2>&1
tap_is $? 3 "cancel with nothing open: not found (3)"
C enrol start alice@local.test > /dev/null 2>&1
C enrol cancel alice@local.test > /dev/null 2>&1
C enrol start alice@local.test > "$d/s3" 2>&1
tap_ok $([ $? = 4 ] && grep -q 'result=rate-limited' "$d/s3"; echo $?) "the per-mailbox hourly limit holds (4)"
C enrol start bob@elsewhere.test > /dev/null 2>&1
tap_is $? 4 "a mailbox outside local_domains: refused (4)"
C enrol start root@local.test > /dev/null 2>&1
tap_is $? 4 "an excluded mailbox: refused (4)"
C enrol status 'not a mailbox' > /dev/null 2>&1
tap_is $? 4 "status of a non-mailbox: refused (4)"
C enrol start > /dev/null 2>&1
tap_is $? 2 "enrol start without a mailbox: usage (2)"
C enrol renew alice@local.test > /dev/null 2>&1
tap_is $? 2 "an unknown enrol sub-command: usage (2)"
C audit show > "$d/aud1" 2>/dev/null
tap_ok $(grep -q 'event=enrol-challenge actor=cli:' "$d/aud1" && grep -q 'event=enrol-cancel actor=cli:' "$d/aud1"; echo $?) \
	"start and cancel are audited with the CLI actor"
leak=1
[ -n "$tok" ] && ! grep -rqF -- "$tok" "$d/aud1" "$d/st1" "$d/st2" "$d/s1" "$d/s3" && leak=0
tap_ok $leak "the token appears in no output and no audit record"
sed -i 's/^enrol_address .*/enrol_address /' "$d/conf"
C enrol status alice@local.test > /dev/null 2>&1
tap_is $? 1 "without enrol_address the enrol commands fail (1)"
tap_done
