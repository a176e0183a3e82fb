#!/usr/bin/perl
# p12keys.pl PREFIX: read `openssl pkcs12 -nodes` output on stdin and write the key pairs the way
# a mail client holds them: PREFIX.crt/.key is the pair mail is encrypted to, PREFIX.sign.crt/.key
# the signing pair (both the same for a dual-use certificate). Keys and certificates are paired
# by their localKeyID and told apart by keyUsage. Exit 0 when both pairs were written.
use strict;
use warnings;

my ($prefix) = @ARGV or die "usage: p12keys.pl PREFIX\n";
my (%cert, %key, $id, $kind, $pem);
while (<STDIN>) {
	$id = $1 if /localKeyID: ([0-9A-F ]+)/;
	if (/^-----BEGIN (CERTIFICATE|PRIVATE KEY)-----/) { $kind = $1; $pem = $_; next }
	next unless defined $kind;
	$pem .= $_;
	next unless /^-----END/;
	if (defined $id) { ($kind eq 'CERTIFICATE' ? $cert{$id} : $key{$id}) = $pem }
	undef $kind;
	undef $id;
}
sub spew {
	my ($f, $d, $mode) = @_;
	open(my $h, '>', $f) or die "$f: $!\n";
	print $h $d;
	close $h or die "$f: $!\n";
	chmod $mode, $f;
}
for my $i (keys %cert) {
	next unless defined $key{$i};
	open(my $x, '-|', 'sh', '-c', 'printf "%s" "$0" | openssl x509 -noout -ext keyUsage 2>/dev/null', $cert{$i})
	    or die "openssl: $!\n";
	my $ku = do { local $/; <$x> } // '';
	close $x;
	my @to;
	push @to, $prefix if $ku eq '' || $ku =~ /Key (Encipherment|Agreement)/;
	push @to, "$prefix.sign" if $ku eq '' || $ku =~ /Digital Signature/;
	for my $t (@to) { spew("$t.crt", $cert{$i}, 0644); spew("$t.key", $key{$i}, 0600) }
}
exit((-s "$prefix.crt" && -s "$prefix.key" && -s "$prefix.sign.crt") ? 0 : 1);
