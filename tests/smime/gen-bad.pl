#!/usr/bin/perl
# gen-bad.pl DIR: writes the hostile-MIME corpus for badinput.sh (generated at test time so the
# tree holds no huge or binary files). Each file is a message the engine must either sign so
# that it verifies, or skip with a reason; never crash, leak or hang.
use strict;
use warnings;
my $dir = shift or die "usage: gen-bad.pl DIR\n";
my $hdr = "From: mallory\@example.org\r\nTo: victim\@example.net\r\nSubject: bad\r\nDate: Tue, 2 Jan 2024 10:00:00 +0100\r\n";
my %m;
my $mp = sub { my ($b) = @_; "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"$b\"\r\n\r\n" };
$m{'broken-boundary-8bit'} = $hdr . $mp->('aaa') . "--bbb\r\nContent-Type: text/plain\r\n\r\nh\xe9llo\r\n--bbb--\r\n";
$m{'broken-boundary-7bit'} = $hdr . $mp->('aaa') . "--bbb\r\nContent-Type: text/plain\r\n\r\nhello\r\n--bbb--\r\n";
$m{'missing-boundary-param'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n\r\nd\xfcnn\r\n--x--\r\n";
$m{'empty-boundary-param'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\n\xff\r\n----\r\n";
$m{'boundary-too-long'} = $hdr . $mp->('b' x 100) . "--" . ('b' x 100) . "\r\n\r\n\xe4\r\n--" . ('b' x 100) . "--\r\n";
$m{'unterminated-part'} = $hdr . $mp->('u') . "--u\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nno end \xc3\xa4\r\n";
$m{'unterminated-inner'} = $hdr . $mp->('o') . "--o\r\nContent-Type: multipart/alternative; boundary=\"i\"\r\n\r\n--i\r\n\r\n\xc3\xa4\r\n--o--\r\n";
$m{'part-header-unterminated'} = $hdr . $mp->('p') . "--p\r\nContent-Type: text/plain\r\nX-A: \xe4\r\n--p--\r\n";
$m{'header-100k-content-type'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: text/plain; x=\"" . ('a' x 102400) . "\"\r\n\r\nbody\r\n";
$m{'header-100k-subject'} = "Subject: " . ('s' x 102400) . "\r\n" . $hdr . "\r\nbody\r\n";
$m{'header-100k-in-part'} = $hdr . $mp->('h') . "--h\r\nContent-Type: text/plain; x=\"" . ('a' x 102400) . "\"\r\n\r\nbody\r\n--h--\r\n";
$m{'nul-in-text'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nnul\x00here\r\nmore\x00\x00\r\n";
$m{'nul-in-part-header'} = $hdr . $mp->('n') . "--n\r\nContent-Type: text/plain\x00\r\n\r\n\xe4\r\n--n--\r\n";
my $deep8 = $hdr . "MIME-Version: 1.0\r\n";
my ($open, $close) = ('', '');
for my $i (1 .. 1000) { $open .= "Content-Type: multipart/mixed; boundary=\"d$i\"\r\n\r\n--d$i\r\n"; $close = "\r\n--d$i--" . $close; }
$m{'nesting-1000-8bit'} = $deep8 . $open . "Content-Type: text/plain\r\n\r\ndeep \xe4" . $close . "\r\n";
$m{'nesting-1000-7bit'} = $deep8 . $open . "Content-Type: text/plain\r\n\r\ndeep" . $close . "\r\n";
$m{'base64-with-8bit'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\xff\xfeREVG\r\n";
$m{'base64-invalid-chars'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!*** not base64 at all ===\r\n";
$m{'base64-one-long-line'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" . ('QUJD' x 5000) . "\r\n";
$m{'qp-with-8bit'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nbad =ZZ and \xe9 raw\r\n";
$m{'unknown-cte-8bit'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-klingon\r\n\r\n\xe9\r\n";
$m{'cte-garbage-7bit'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: ;;;((\r\n\r\nplain\r\n";
$m{'bare-cr'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\none\rtwo\r\nthree\r\r\rfour\r\n";
$m{'bare-cr-8bit-multipart'} = $hdr . $mp->('c') . "--c\rContent-Type: text/plain\r\n\r\nx\r\xe4\r\n--c--\r";
$m{'empty-body'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n";
$m{'multipart-no-parts-8bit'} = $hdr . $mp->('z') . "pre \xe4\r\n--z--\r\n";
$m{'multipart-close-only'} = $hdr . $mp->('z') . "--z--\r\n\xe4\r\n";
$m{'boundary-prefix'} = $hdr . $mp->('ab') . "--ab\r\nContent-Type: multipart/mixed; boundary=\"abc\"\r\n\r\n--abc\r\n\r\n\xe4\r\n--abc--\r\n--ab--\r\n";
$m{'part-header-no-colon'} = $hdr . $mp->('q') . "--q\r\nthis is not a header\r\n\r\n\xe4\r\n--q--\r\n";
$m{'part-header-fold-first'} = $hdr . $mp->('q') . "--q\r\n folded first\r\n\r\n\xe4\r\n--q--\r\n";
$m{'long-line-2mb-8bit'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" . ("\xe4bc" x 700000) . "\r\n";
$m{'many-parts'} = $hdr . $mp->('m') . join('', map { "--m\r\n\r\n\xe4\r\n" } 1 .. 12000) . "--m--\r\n";
$m{'message-rfc822-8bit-header'} = $hdr . $mp->('r') . "--r\r\nContent-Type: message/rfc822\r\n\r\nSubject: \xe4\r\n\r\nbody \xe4\r\n--r--\r\n";
$m{'content-header-8bit'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"\xc3\xa4.txt\"\r\n\r\nbody\r\n";
$m{'multipart-base64-encoded'} = $hdr . "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"e\"\r\nContent-Transfer-Encoding: base64\r\n\r\n--e\r\n\r\n\xe4\r\n--e--\r\n";
$m{'lf-only-8bit-nested'} = join("\n", split(/\r\n/, $hdr . $mp->('l') . "--l\r\nContent-Type: multipart/alternative; boundary=\"k\"\r\n\r\n--k\r\nContent-Type: text/plain\r\n\r\n\xe4\r\n--k--\r\n--l--\r\n")) . "\n";
for my $k (sort keys %m) {
	open(my $h, '>:raw', "$dir/$k.eml") or die "$dir/$k.eml: $!";
	print $h $m{$k};
	close $h;
}
