#!/bin/bash
# A writer rewrites files during the backup (half in place with one write(2),
# half by write-to-temp + rename).  Every version of a file carries one
# generation number in each of its 4 KiB blocks, so a restored file must
# show exactly one generation; files the writer never touches must restore
# byte-exact.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
fx_setup ext4 1G
NFILES=20
BLOCKS=64
mkdir "$SRC/static" "$SRC/w"
fx_populate "$SRC/static"
for i in 1 2 3 4; do
	head -c $((16 * 1048576)) /dev/urandom >"$SRC/static/bulk-$i"
done

cat >"$SCRATCH/writer.pl" <<'PERL'
use strict; use warnings; use Fcntl;
my ($dir, $n, $blocks, $genfile) = @ARGV;
$SIG{TERM} = sub { exit 0 };
for (my $gen = 1; ; $gen++) {
	for my $i (1 .. $n) {
		my $name = sprintf("f%02d", $i);
		my $buf = '';
		for my $b (0 .. $blocks - 1) {
			my $l = sprintf("%s gen %010d block %05d\n", $name, $gen, $b);
			$buf .= $l . ('.' x (4096 - length $l));
		}
		my $tmp = $i % 2 ? $name : ".tmp-$name";
		sysopen(my $fh, "$dir/$tmp", O_WRONLY | O_CREAT) or die "open $tmp: $!";
		my $w = syswrite($fh, $buf);	# one write(2): atomic against a freeze
		die "short write" unless defined $w && $w == length $buf;
		close $fh or die;
		rename("$dir/$tmp", "$dir/$name") or die "rename: $!" unless $i % 2;
	}
	open(my $g, '>', "$genfile.new") or die; print $g "$gen\n"; close $g;
	rename("$genfile.new", $genfile) or die;
}
PERL

# Prints one line per file that is not a single consistent version.
cat >"$SCRATCH/check.pl" <<'PERL'
use strict; use warnings;
my ($dir, $n, $blocks) = @ARGV;
my %gens;
for my $i (1 .. $n) {
	my $name = sprintf("f%02d", $i);
	open(my $fh, '<', "$dir/$name") or do { print "$name: missing\n"; next };
	binmode $fh;
	local $/; my $data = <$fh>; close $fh;
	if (length $data != $blocks * 4096) { print "$name: size ", length $data, "\n"; next }
	my %seen;
	for my $b (0 .. $blocks - 1) {
		my $blk = substr($data, $b * 4096, 4096);
		if ($blk !~ /^\Q$name\E gen (\d{10}) block (\d{5})\n\.+$/ || $2 != $b) {
			print "$name: block $b malformed\n"; last;
		}
		$seen{$1}++;
	}
	my @g = sort keys %seen;
	print "$name: generations @g\n" if @g > 1;
	$gens{$g[0]}++ if @g;
}
print STDERR "generations restored: ", join(' ', sort keys %gens), "\n";
PERL

fx_bg perl "$SCRATCH/writer.pl" "$SRC/w" $NFILES $BLOCKS "$SCRATCH/gen"
WRITER=$!
for _ in $(seq 1 100); do
	[ -s "$SCRATCH/gen" ] && [ "$(cat "$SCRATCH/gen")" -ge 2 ] && break
	sleep 0.1
done
ok "the writer is running" test -s "$SCRATCH/gen"

for round in 1 2 3; do
	g0=$(cat "$SCRATCH/gen")
	run fx_backup --media "file:$SCRATCH/out/w$round.mbi"
	exit_is 0 "round $round: backup exits 0 while the writer runs"
	g1=$(cat "$SCRATCH/gen")
	ok "round $round: the writer made progress during the backup ($g0 -> $g1)" test "$g1" -gt "$g0"
	run mb verify --from "$SCRATCH/out/w$round.mbi"
	exit_is 0 "round $round: verify"
	run mb restore --from "$SCRATCH/out/w$round.mbi" --to "$SCRATCH/r$round"
	exit_is 0 "round $round: restore"
	bad=$(perl "$SCRATCH/check.pl" "$SCRATCH/r$round/w" $NFILES $BLOCKS 2>"$SCRATCH/gens")
	is "$bad" "" "round $round: every rewritten file is one consistent version"
	note "round $round: $(cat "$SCRATCH/gens")"
	fx_tree_is "$SRC/static" "$SCRATCH/r$round/static" "round $round: untouched files byte-exact"
	rm -rf "$SCRATCH/r$round" "$SCRATCH/out/w$round.mbi"
done
ok "writer still alive (never blocked for good)" kill -0 "$WRITER"
kill "$WRITER"
ok "source fs writable" fx_writable "$SRC"
is "$(fx_clones)" "" "no split clone left"
done_testing
