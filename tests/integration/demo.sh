#!/bin/bash
# demo: the README's demo (contrib/demo/run-demo.sh, what contrib/demo.sh runs after the build)
# shows the in-band enrolment step by step and checks each step itself; here it must end with
# status 0, print every step, and leave no process of its private Postfix or milter behind.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/common.sh"
h_need_root
h_need_cmd postfix swaks smtp-sink saslpasswd2 openssl runuser
h_init demo-test
# its own scratch directory, not this test's
timeout 300 env -u H_TMP bash "$top_srcdir/contrib/demo/run-demo.sh" "$top_builddir" > "$H_TMP/demo.out" 2>&1
rc=$?
tap_is "$rc" 0 "the demo ends with status 0" || sed 's/^/#   /' "$H_TMP/demo.out" | tail -n 20
for step in "1. alice@local.test, who has no certificate, sends" "2. the challenge arrives" \
	"3. she answers it" "4. the CA mails her the certificate" "5. her next message leaves signed" \
	"6. openssl cms -verify"; do
	tap_check "it shows step $step" grep -qF "==> $step" "$H_TMP/demo.out"
done
tap_check "the first message left unsigned, the second signed and verified" \
	eval 'grep -q "^delivered to bob@example.org unsigned" "$H_TMP/demo.out" &&
	      grep -q "^Content-Type: multipart/signed" "$H_TMP/demo.out" &&
	      grep -q "^Verification successful" "$H_TMP/demo.out"'
tap_check "the certificate was issued in band (event=enrol_reply status=issued)" \
	grep -q "^event=enrol_reply status=issued from=alice@local.test" "$H_TMP/demo.out"
dir=$(sed -n 's/^==> configuration check (\(.*\)\/milter\/autosmime.conf)$/\1/p' "$H_TMP/demo.out")
tap_check "its directory ($dir) is gone and none of its processes runs" \
	eval '[ -n "$dir" ] && [ ! -e "$dir" ] && ! grep -lqs "$dir" /proc/[0-9]*/cmdline'
tap_done
