#!/bin/sh
# layers: the tree keeps to doc/ARCHITECTURE.md. Every #include "folder/file.h" of a source
# folder must be allowed by the "may include" column of the doc's folder table, only
# milter/daemon includes libmilter, every source folder is in the table, and no object file
# of the libraries calls into one that calls it back, directly or round a longer circle
# (read from the symbols that nm lists, so a call through a function pointer set by the
# owner does not count, and a real call always does).
set -u
doc="$top_srcdir/doc/ARCHITECTURE.md"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; }

rules=$(perl -ne 'print "$1\t$2\n" if /^\| ([a-z\/]+) \|.*\| ([a-z\/ ]+) \|\s*$/ && $1 ne "folder"' "$doc")
if [ -n "$rules" ]; then ok "the folder table of doc/ARCHITECTURE.md is read"; else fail "the folder table of doc/ARCHITECTURE.md is read"; fi

bad=$(cd "$top_srcdir" && printf '%s\n' "$rules" | perl -e '
	my %may; my @order;
	while (<STDIN>) { chomp; my ($f, $l) = split /\t/; $may{$f} = { map { $_ => 1 } split / /, $l }; push @order, $f; }
	# longest folder first, so milter/engine wins over milter
	@order = sort { length($b) <=> length($a) } @order;
	my @files = grep { !m{^(tests|bench|_build)/} } split /\n/, `git ls-files "*.c" "*.h" 2>/dev/null || find . -name "*.[ch]"`;
	for my $file (@files) {
		$file =~ s{^\./}{};
		next unless $file =~ m{/};
		my ($own) = grep { index($file, "$_/") == 0 } @order;
		if (!defined $own) { print "$file: its folder is not in the table\n"; next; }
		open my $fh, "<", $file or next;
		while (<$fh>) {
			if (/^\s*#\s*include\s+"([^"]+)\/[^"\/]+"/) {
				my $to = $1;
				print "$file: includes $to/, which $own may not\n" unless $may{$own}{$to};
			}
			if (/^\s*#\s*include\s+<libmilter\// && $own ne "milter/daemon") {
				print "$file: includes libmilter outside milter/daemon\n";
			}
		}
	}')
if [ -z "$bad" ]; then ok "every include follows the folder table"; else
	fail "every include follows the folder table"; printf '%s\n' "$bad" | sed 's/^/# /'; fi

libs="common/libautosmime-common.a ca/libautosmime-ca.a policy/libautosmime-policy.a
  milter/libautosmime-smime.a milter/libautosmime-inbound.a milter/libautosmime-process.a
  milter/libautosmime-milterd.a"
missing=""
for l in $libs; do [ -f "$top_builddir/$l" ] || missing="$missing $l"; done
if [ -z "$missing" ]; then ok "the libraries are built"; else fail "the libraries are built:$missing"; fi

circles=$(cd "$top_builddir" && nm -A $libs 2>/dev/null | perl -e '
	my (%def, %use);
	while (<STDIN>) {
		# lib.a:member.o: [addr] TYPE symbol
		next unless /^[^:]+:([^:]+\.o):\s*(?:[0-9a-f]+\s+)?([A-Za-z])\s+(\S+)/;
		my ($o, $t, $s) = ($1, $2, $3);
		$o =~ s/^lib[a-z_]+_a-//;
		if ($t eq "U") { $use{$o}{$s} = 1 } elsif ($t =~ /[TDBR]/) { $def{$s} = $o }
	}
	my %edge;
	for my $o (keys %use) { for my $s (keys %{$use{$o}}) {
		my $d = $def{$s}; $edge{$o}{$d} = 1 if defined $d && $d ne $o; } }
	my (%state, @path, %seen);
	sub walk { my $v = shift; $state{$v} = 1; push @path, $v;
		for my $w (sort keys %{$edge{$v} || {}}) {
			if (($state{$w} || 0) == 1) {
				my @c = @path[(grep { $path[$_] eq $w } 0..$#path)[0] .. $#path];
				my $k = join " ", sort @c;
				print join(" -> ", @c, $w), "\n" unless $seen{$k}++;
			} elsif (!$state{$w}) { walk($w) }
		}
		pop @path; $state{$v} = 2; }
	walk($_) for sort keys %edge;')
if [ -z "$circles" ]; then ok "no object file calls back into one that calls it"; else
	fail "no object file calls back into one that calls it"; printf '%s\n' "$circles" | sed 's/^/# /'; fi
echo "1..$n"
