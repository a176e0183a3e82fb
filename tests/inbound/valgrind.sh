#!/bin/sh
# valgrind.sh: the verify, chain revocation, decrypt and hostile-input suites again with
# inbound-tool under valgrind (memcheck; definite leaks and memory errors fail). Skipped in
# the sanitizer build (ASan covers it there) and without valgrind.
. "${top_srcdir:-../..}/tests/inbound/common.sh"
command -v valgrind >/dev/null || skip_all "valgrind not installed"
is_sanitized && skip_all "sanitizer build (ASan covers it)"
TOOL_RUN="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
export TOOL_RUN
for s in verify.sh chaincrl.sh decrypt.sh badinput.sh; do
	sh "$top_srcdir/tests/inbound/$s" > "$T/$s.tap" 2>&1
	rc=$?
	bad=$(grep -c '^not ok' "$T/$s.tap")
	[ $rc = 0 ] && [ "$bad" = 0 ] && grep -q '^1\.\.' "$T/$s.tap"
	ok $? "$s under valgrind ($(grep -c '^ok' "$T/$s.tap") ok, $bad not ok)"
	[ "$bad" = 0 ] || grep '^not ok' "$T/$s.tap" | sed 's/^/# /'
done
done_testing
