#!/usr/bin/perl
# mimecheck.pl: an independent MIME reader for the engine tests (Perl core modules only).
#   mimecheck.pl split signed.eml content.out sig.der
#       write the exact signed bytes (first part of multipart/signed) and the DER signature
#   mimecheck.pl compare original.eml entity-or-message
#       decode both MIME trees (quoted-printable, base64; text line ends normalised) and
#       compare every leaf's type and content; exit 0 when equal
#   mimecheck.pl exact original.eml entity-or-message
#       as compare, but only CRLF counts as a text line end: a lone CR must come back as a CR
#   mimecheck.pl clean file
#       exit 0 when every line is at most 998 bytes, CRLF-terminated and 7bit without NUL
use strict;
use warnings;
use MIME::Base64 qw(decode_base64);
use MIME::QuotedPrint qw(decode_qp);

# exact: only CRLF (and a bare LF) is a line end in text; a lone CR is content.
my $exact = 0;

sub slurp { my ($f) = @_; open(my $h, '<:raw', $f) or die "$f: $!"; local $/; my $d = <$h>; return $d // ''; }
sub spew { my ($f, $d) = @_; open(my $h, '>:raw', $f) or die "$f: $!"; print $h $d; close $h; }

# Split header block and body; returns (\%fields (lower-case name -> first value), body).
sub parse_entity {
	my ($data) = @_;
	my ($head, $body) = ('', '');
	my $pos = 0;
	while ($data =~ /\G([^\r\n]*)(\r\n|\n|\r|\z)/gc) {
		my ($l, $t) = ($1, $2);
		if ($l eq '') { $body = substr($data, pos($data)); last; }
		$head .= "$l\n";
		last if $t eq '';
	}
	my %f;
	my $cur;
	for my $l (split /\r\n|\n|\r/, $head) {
		if ($l =~ /^[ \t]/ && defined $cur) { $f{$cur} .= " $l"; next; }
		if ($l =~ /^([^:]+):\s*(.*)$/) { $cur = lc $1; $cur =~ s/\s+$//; $f{$cur} //= $2; }
	}
	return (\%f, $body);
}

sub ctype {
	my ($f, $default) = @_;
	my $ct = $f->{'content-type'} // $default;
	my ($t) = $ct =~ m{^\s*([^;\s]+)};
	my $b;
	$b = $1 if $ct =~ /boundary\s*=\s*"([^"]*)"/i;
	$b = $1 if !defined $b && $ct =~ /boundary\s*=\s*([^;\s"]+)/i;
	return (lc($t // 'text/plain'), $b);
}

sub leaves {
	my ($data, $default, $out, $depth) = @_;
	die "too deep\n" if $depth > 80;
	my ($f, $body) = parse_entity($data);
	my ($t, $b) = ctype($f, $default);
	my $cte = lc($f->{'content-transfer-encoding'} // '7bit');
	$cte =~ s/\s+//g;
	if ($t =~ m{^multipart/} && defined $b) {
		my @parts;
		my $cur;
		my @l = split /(\r\n|\n|\r)/, $body, -1;
		for (my $i = 0; $i < @l; $i += 2) {
			my ($line, $term) = ($l[$i], $l[$i + 1] // '');
			if ($line =~ /^--\Q$b\E(--)?[ \t]*$/) {
				push @parts, $cur if defined $cur;
				$cur = $1 ? undef : '';
				last if $1;
				next;
			}
			$cur .= $line . $term if defined $cur;
		}
		for my $p (@parts) {
			$p =~ s/(\r\n|\n|\r)\z//;
			leaves($p, $t eq 'multipart/digest' ? 'message/rfc822' : 'text/plain', $out, $depth + 1);
		}
		return;
	}
	if ($t eq 'message/rfc822' && $cte =~ /^(7bit|8bit|binary)$/) {
		push @$out, "message/rfc822";
		leaves($body, 'text/plain', $out, $depth + 1);
		return;
	}
	my $c = $body;
	my $text = $t =~ m{^text/};
	my $lines = sub { my ($d) = @_; return $exact ? $d =~ s/\r\n/\n/gr : $d =~ s/\r\n|\r|\n/\n/gr; };
	if ($cte eq 'base64') {
		$c = decode_base64($c);
		$c = $lines->($c) if $text;
	} elsif ($cte eq 'quoted-printable') {
		# hard breaks are line ends; what =0D and =0A decode to is content
		$c =~ s/\r\n|\r|\n/\n/g;
		$c = join("\n", map { my $d = decode_qp($_); $text ? $lines->($d) : $d } split(/(?<!=)\n/, $c, -1));
	} elsif ($text) {
		$c = $lines->($c);
	}
	$c =~ s/[\r\n]+\z// if $text;	# the last line end belongs to the delimiter
	push @$out, "$t:" . length($c) . ":" . unpack('H*', $c);
}

my $cmd = shift // '';
if ($cmd eq 'split') {
	my ($in, $content, $sig) = @ARGV;
	my ($f, $body) = parse_entity(slurp($in));
	my (undef, $b) = ctype($f, 'text/plain');
	die "no boundary\n" unless defined $b;
	$body =~ /(?:\A|\r\n)--\Q$b\E[ \t]*\r\n(.*?)\r\n--\Q$b\E[ \t]*\r\n(.*?)\r\n--\Q$b\E--/s
	    or die "not multipart/signed\n";
	my ($part, $sigpart) = ($1, $2);
	spew($content, $part);
	my (undef, $sb) = parse_entity($sigpart);
	spew($sig, decode_base64($sb));
	exit 0;
} elsif ($cmd eq 'compare' || $cmd eq 'exact') {
	$exact = $cmd eq 'exact';
	my ($orig, $got) = @ARGV;
	my (@a, @b);
	leaves(slurp($orig), 'text/plain', \@a, 0);
	leaves(slurp($got), 'text/plain', \@b, 0);
	my $ja = join("\n", @a);
	my $jb = join("\n", @b);
	if ($ja ne $jb) {
		print STDERR "leaves differ:\n--- original\n", substr($ja, 0, 2000), "\n--- result\n", substr($jb, 0, 2000), "\n";
		exit 1;
	}
	exit 0;
} elsif ($cmd eq 'clean') {
	my $d = slurp($ARGV[0]);
	exit 1 if $d =~ /[\x00\x80-\xff]/;
	exit 1 if $d =~ /\r(?!\n)/ || $d =~ /(?<!\r)\n/;
	for my $l (split /\r\n/, $d) { exit 1 if length($l) > 998; }
	exit 0;
}
die "usage: mimecheck.pl split|compare|exact|clean ...\n";
