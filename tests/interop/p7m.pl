#!/usr/bin/perl
# p7m.pl: what a mail reader hands its CMS library (Perl core modules only).
#   p7m.pl message.eml out.der
#       the message must be application/pkcs7-mime (enveloped-data or authEnveloped-data) with
#       Content-Transfer-Encoding base64; writes the decoded DER/BER
#   p7m.pl ecagent key.pem "NIST P-256" out.key
#       write an EC private key as an unprotected gpg-agent key file (canonical S-expression),
#       for gpgsm 2.2 whose PKCS#12 import crashes on EC keys
use strict;
use warnings;
use MIME::Base64 qw(decode_base64);

sub slurp { my ($f) = @_; open(my $h, '<:raw', $f) or die "$f: $!"; local $/; my $d = <$h>; return $d // ''; }
sub spew { my ($f, $d) = @_; open(my $h, '>:raw', $f) or die "$f: $!"; print $h $d; close $h or die "$f: $!"; }

if (@ARGV == 4 && $ARGV[0] eq 'ecagent') {
	my (undef, $pem, $curve, $out) = @ARGV;
	my $t = `openssl ec -in '$pem' -text -noout 2>/dev/null`;
	my ($priv) = $t =~ /priv:\s*\n((?:[ \t]+[0-9a-f:]+\n)+)/ or die "$pem: no private key\n";
	my ($pub) = $t =~ /pub:\s*\n((?:[ \t]+[0-9a-f:]+\n)+)/ or die "$pem: no public key\n";
	s/[\s:]//g for $priv, $pub;
	my $q = pack('H*', $pub);
	my $len = (length($q) - 1) / 2;
	my $d = pack('H*', $priv);
	$d = substr($d, -$len) if length($d) > $len;
	$d = ("\0" x ($len - length $d)) . $d;
	my $a = sub { length($_[0]) . ':' . $_[0] };
	spew($out, '(' . $a->('private-key') . '(' . $a->('ecc') . '(' . $a->('curve') . $a->($curve) .
	    ')(' . $a->('q') . $a->($q) . ')(' . $a->('d') . $a->($d) . ')))');
	exit 0;
}
die "usage: p7m.pl message.eml out.der | ecagent key.pem curve out.key\n" unless @ARGV == 2;
my $m = slurp($ARGV[0]);
my ($head, $body) = $m =~ /\A(.*?)\r?\n\r?\n(.*)\z/s or die "no header/body separator\n";
$head =~ s/\r?\n[ \t]+/ /g;
my %f;
for (split /\r?\n/, $head) { $f{lc $1} //= $2 if /^([^:]+):\s*(.*)$/; }
($f{'content-type'} // '') =~ m{^application/(x-)?pkcs7-mime\s*;}i or die "not application/pkcs7-mime\n";
lc($f{'content-transfer-encoding'} // '') eq 'base64' or die "not base64\n";
spew($ARGV[1], decode_base64($body));
