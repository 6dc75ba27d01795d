#!/usr/bin/perl
# memcached's t/lib/MemcachedTest.pm (stdin) made to start memg (stdout):
# each change must apply exactly once, or the harness has changed under us.
use strict;
use warnings;
local $/;
my $lib = <STDIN>;
# Tests known to differ (run.sh's CONFORMANCE_KNOWN, lines "FILE.t N[,N...]
# REASON") run as Test::More TODO tests: each is still run and reported, a
# failure does not fail its file; each such failure is written to
# CONFORMANCE_KNOWN_LOG, which run.sh counts apart from the passes.
my $known = <<'END';
if (my $list = $ENV{CONFORMANCE_KNOWN}) { # memg: known differences run as TODO
    my ($file) = $0 =~ m{([^/]+\.t)$};
    my %todo;
    open(my $fh, '<', $list) or die "$list: $!";
    while (<$fh>) {
        next if /^\s*(#|$)/;
        my ($f, $nums, $why) = /^(\S+)\s+(\S+)\s+(.*\S)/ or die "$list: bad line $_";
        next unless defined $file && $f eq $file;
        $todo{$_} = $why for split /,/, $nums;
    }
    close($fh);
    if (%todo) {
        require Test::Builder;
        no warnings 'redefine';
        my $ok = \&Test::Builder::ok;
        *Test::Builder::ok = sub {
            my ($tb, $test) = @_;
            my $n = $tb->current_test + 1;
            local $Test::Builder::Level = $Test::Builder::Level + 1;
            return $ok->(@_) unless defined $todo{$n};
            $tb->todo_start("known difference in memg: $todo{$n}");
            my $r = $ok->(@_);
            $tb->todo_end;
            if (!$test && (my $log = $ENV{CONFORMANCE_KNOWN_LOG})) {
                if (open(my $out, '>>', $log)) {
                    print $out "$file $n\n";
                    close($out);
                }
            }
            return $r;
        };
    }
}
END
my @changes = (
    # known differences (above), loaded with the harness
    [qr/\nuse constant MAX_READ_WRITE_SIZE => 16384;\n/,
     "\nuse constant MAX_READ_WRITE_SIZE => 16384;\n$known"],
    # the server: MEMG_BIN, not the debug build in the source tree
    [qr/my \$exe = "\$builddir\/memcached-debug";/,
     'my $exe = $ENV{MEMG_BIN} or croak("MEMG_BIN names the server to test");'],
    # an option of memcached's debug build only (it widens that build's
    # seccomp filter); release memcached refuses it, and so does memg
    [qr/\n\s*\$args \.= " -o relaxed_privileges";/, ''],
    # memg's clock moves under `debugtime` (mem_move_time) with -o debug_time
    # only, as memcached's debug build's; release memcached (MEMG_BIN naming
    # it, to check a file) refuses the option and answers ERROR to debugtime
    [qr/\n        \$args \.= " -u root";\n    \}\n/,
     "\n" . '        $args .= " -u root";' . "\n    }\n"
     . q{    $args .= " -o debug_time" unless ($ENV{MEMG_BIN} // '') =~ m{memcached[^/]*$}; # memg} . "\n"],
    # memg serves no UDP: the harness then opens no UDP port for a server
    [qr/sub supports_udp \{\n/, "sub supports_udp {\n    return 0; # memg\n"],
    # ... and says so: a server has no UDP port (stats-conns.t test 10 then
    # finds no udp: line in `stats conns` and none expected)
    [qr/udpport => \$udpport,/, 'udpport => (supports_udp() ? $udpport : undef), # memg'],
    # 1.6.18's files give -o slab_chunk_max in bytes, 1.6.45 (which memg
    # answers as) takes kilobytes and refuses more than 1024: bytes become
    # kilobytes (1.6.45's own files give 1 to 32, left as they are)
    [qr/my \(\$args, \$passed_port\) = \@_;\n/,
     "my (\$args, \$passed_port) = \@_;\n    \$args =~ s{slab_chunk_max=(\\d+)}{'slab_chunk_max=' . (\$1 >= 1024 ? \$1 \/ 1024 : \$1)}ge"
     . " if defined \$args; # memg\n"],
);
for my $c (@changes) {
    my $n = () = $lib =~ /$c->[0]/g;
    die "patch-lib.pl: expected one match of $c->[0], found $n\n" if $n != 1;
    $lib =~ s/$c->[0]/$c->[1]/;
}
print $lib;
