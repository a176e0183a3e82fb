#!/bin/sh
# memory.sh: bounded memory. A 20 MB message (8bit text that must be re-encoded, plus a
# binary attachment) is signed with mem_limit 1 MB: the input and output spools move to
# private files, the peak RSS growth of the process stays well below 32 MB, and the result
# verifies. A max_size smaller than the result fails cleanly. (SMIME_BIG_MB overrides the size.)
. "${top_srcdir:-../..}/tests/smime/common.sh"
make_pki || { echo "Bail out! cannot create the test PKI"; cat "$T/pki.log"; exit 1; }
mb=${SMIME_BIG_MB:-20}
perl -e '
	my $mb = shift;
	print "From: a\@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\n",
	    "Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\n",
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
	my $line = "Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln, eine lange Zeile mit Text " x 2 . "\r\n";
	my $n = int($mb * 1024 * 1024 / 2 / length($line));
	print $line for 1 .. $n;
	print "--big\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n";
	my $blk = join("", map { chr(($_ * 131 + 7) % 256) } 0 .. 65535);
	print $blk for 1 .. int($mb * 1024 * 1024 / 2 / 65536);
	print "\r\n--big--\r\n";
' "$mb" > "$T/big.eml"
out=$("$TOOL" sign -R -m 1048576 -d "$T" -k "$T/ec.key" -c "$T/ec.pem" -C "$T/int.pem" "$T/big.eml" "$T/big.out")
ok $? "signed a ${mb} MB message with mem_limit 1 MB"
echo "# $out"
growth=$(echo "$out" | sed -n 's/.*rss_growth_kb=\([0-9]*\).*/\1/p')
case "$out" in *on_disk=1*) r=0 ;; *) r=1 ;; esac
ok $r "the result spool moved to a file"
limit=32768
is_sanitized && limit=131072   # ASan's shadow memory and quarantine inflate RSS
[ -n "$growth" ] && [ "$growth" -lt $limit ]
ok $? "peak RSS growth ${growth:-?} KiB < $limit KiB"
openssl cms -verify -in "$T/big.out" -CAfile "$T/root.pem" -purpose smimesign -out /dev/null >/dev/null 2>&1
ok $? "the big signed message verifies"
"$TOOL" sign -m 1048576 -M 1000000 -d "$T" -k "$T/ec.key" -c "$T/ec.pem" "$T/big.eml" "$T/big2.out" 2>"$T/big2.err"
ok $([ $? = 1 ] && grep -q 'size limit' "$T/big2.err"; echo $?) "max_size bounds the result (clean error)"
[ -z "$(find "$T" -name 'autosmime.*' -print)" ]
ok $? "no spool file left behind"
done_testing
