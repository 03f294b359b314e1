# Fleets and concurrency: two `pg_migrate apply` at once on one database (each migration runs
# once), three databases with one failing (-d repeated, -j 3), --fail-fast, --dbs-from,
# --all-databases, DATABASE_URL, a database that cannot be reached.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IO::Socket::INET;
use POSIX ();
use File::Copy ();
use IPC::Run;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgMigrateCli;
use JSON::PP;

my $node = PostgreSQL::Test::Cluster->new('cli_fleet');
$node->init;
$node->start;
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $dir = "$tmp/migrations";
mkdir $dir;
for my $i (1 .. 20) {
  open my $fh, '>', sprintf("$dir/V%d__step_%d.sql", $i, $i) or die;
  print $fh "CREATE TABLE step_$i (id int);\nINSERT INTO applied_log VALUES ($i);\nSELECT pg_sleep(0.01);\n";
  close $fh;
}

sub run_pgm_dir {
  my ($env, @args) = @_;
  return run_pgm_env($env, '--dir', $dir, @args);
}

for my $db (qw(one f1 f2 f3)) {
  $node->safe_psql('postgres', "CREATE DATABASE $db");
  $node->safe_psql($db, q{CREATE EXTENSION pg_migrate; CREATE TABLE applied_log (i int);
                          SELECT migrate.acknowledge_drift('test setup')});
}

# --- two applies at once on one database: each migration runs exactly once.
my @h;
my @res;
for my $k (0, 1) {
  $res[$k] = { out => '', err => '' };
  push @h, IPC::Run::start([ 'pg_migrate', '-d', $node->connstr('one'), '--dir', $dir, 'apply' ],
                           '<', \undef, '>', \$res[$k]{out}, '2>', \$res[$k]{err});
}
$_->finish for @h;
is($h[0]->result(0), 0, 'first concurrent apply exits 0') or diag($res[0]{err});
is($h[1]->result(0), 0, 'second concurrent apply exits 0') or diag($res[1]{err});
my @applied = map { /applied (\d+) migrations?/ ? $1 : 0 } ($res[0]{out}, $res[1]{out});
is($applied[0] + $applied[1], 20, 'the two runs applied 20 migrations between them');
is($node->safe_psql('one', 'SELECT count(*), count(DISTINCT i) FROM applied_log'), '20|20', 'each migration ran once');
is($node->safe_psql('one', q{SELECT count(*) FROM migrate.history WHERE action = 'apply'}), '20', 'history: 20 applies');

# --- the same under a REPEATABLE READ default (a database setting): the command's transactions
# are READ COMMITTED, so the callers waiting for the pg_migrate lock see the winner's result
# (they failed with 40001).
$node->safe_psql('postgres', 'CREATE DATABASE rr');
$node->safe_psql('rr', q{CREATE EXTENSION pg_migrate; ALTER DATABASE rr SET default_transaction_isolation = 'repeatable read'});
my $rrdir = PostgreSQL::Test::Utils::tempdir();
PostgreSQL::Test::Utils::append_to_file("$rrdir/V1__slow.sql", "CREATE TABLE rr_t (id int);\nSELECT pg_sleep(1);\n");
@h = ();
@res = ();
for my $k (0, 1, 2) {
  $res[$k] = { out => '', err => '' };
  push @h, IPC::Run::start([ 'pg_migrate', '-d', $node->connstr('rr'), '--dir', $rrdir, 'apply' ],
                           '<', \undef, '>', \$res[$k]{out}, '2>', \$res[$k]{err});
}
$_->finish for @h;
is(join(',', map { $_->result(0) } @h), '0,0,0', 'REPEATABLE READ default: three concurrent applies exit 0')
  or diag(join("\n", map { $_->{err} } @res));
is($node->safe_psql('rr', q{SELECT count(*) FROM migrate.history WHERE action = 'apply'}), '1', 'REPEATABLE READ default: applied once');
$node->safe_psql('postgres', 'DROP DATABASE rr');  # (not one of the fleet below)

# --- a fleet of three, one failing: -d repeated, -j 3
$node->safe_psql('f2', q{CREATE TABLE step_7 (id int);    -- makes V7 fail on f2
                        SELECT migrate.acknowledge_drift('test setup')});
my ($rc, $out, $err) = run_pgm_dir({}, '-j', '3', map({ ('-d', $node->connstr($_)) } qw(f1 f2 f3)), 'apply');
is($rc, 1, 'fleet with one failing database: exit 1');
like($out, qr/^f1: applied 20, at version 20$/m, 'fleet: f1 result line');
like($out, qr/^f3: applied 20, at version 20$/m, 'fleet: f3 result line');
like($out, qr/^f2: FAILED: \Q$dir\E\/V7__step_7\.sql:1: relation "step_7" already exists$/m, 'fleet: f2 result line names file:line');
like($out, qr/^summary: 2 of 3 databases ok; failed: f2$/m, 'fleet: summary names the failed database');
like($err, qr/^f2: error: \Q$dir\E\/V7__step_7\.sql:1: relation "step_7" already exists/m, 'fleet: stderr lines name their database');
like($err, qr/^f3: applied 1 \Q$dir\E\/V1__step_1\.sql/m, 'fleet: per-migration lines name their database');
unlike($err, qr/^(?!f[123]: )/m, 'fleet: every stderr line names its database');
is($node->safe_psql('f2', 'SELECT count(*) FROM migrate.history'), '0', 'fleet: f2 is unchanged');
is($node->safe_psql('f3', 'SELECT count(*) FROM applied_log'), '20', 'fleet: f3 is migrated');

# --json for a fleet
($rc, $out) = run_pgm_dir({}, '--json', map({ ('-d', $node->connstr($_)) } qw(f1 f2 f3)), 'check');
my $j = decode_json($out);
is(scalar @{ $j->{databases} }, 3, 'fleet --json: one entry per database');
is_deeply($j->{failed}, ['f2'], 'fleet --json: failed databases');
is_deeply($j->{ok}, ['f1', 'f3'], 'fleet --json: ok databases, a list like failed');
is_deeply($j->{not_started}, [], 'fleet --json: none not started');
is($rc, 12, 'fleet check: the failing database is behind -> 12');
# A database that cannot be connected to is named by its target, in the list and the summary.
($rc, $out) = run_pgm_dir({}, '--json', '-d', $node->connstr('f1'), '-d', 'host=' . $node->host . ' port=' . $node->port . ' dbname=no_such_db', 'check');
$j = decode_json($out);
is_deeply($j->{failed}, ['no_such_db'], 'fleet --json: an unreachable database is named in failed');
is($rc, 3, 'fleet --json: the unreachable database -> 3');

# --- --fail-fast: nothing starts after the first failure (-j 1, f2 first)
$node->safe_psql('postgres', 'CREATE DATABASE g1');
$node->safe_psql('g1', q{CREATE EXTENSION pg_migrate; CREATE TABLE applied_log (i int);
                        SELECT migrate.acknowledge_drift('test setup')});
($rc, $out) = run_pgm_dir({}, '--fail-fast', map({ ('-d', $node->connstr($_)) } qw(f2 g1)), 'apply');
is($rc, 1, '--fail-fast: exit 1');
like($out, qr/not started \(--fail-fast\)/, '--fail-fast: the rest is reported as not started');
($rc, $out) = run_pgm_dir({}, '--fail-fast', '--json', map({ ('-d', $node->connstr($_)) } qw(f2 g1)), 'apply');
$j = decode_json($out);
is_deeply([$j->{ok}, $j->{failed}, $j->{not_started}], [[], ['f2'], ['g1']], '--fail-fast --json: ok, failed and not started, each a list');
is($node->safe_psql('g1', 'SELECT count(*) FROM migrate.history'), '0', '--fail-fast: g1 untouched');

# --- --dbs-from: one conninfo per line, comments and blank lines ignored
open my $fh, '>', "$tmp/dbs.txt" or die;
print $fh "# tenants\n" . $node->connstr('f1') . "\n\n" . $node->connstr('g1') . "\n";
close $fh;
($rc, $out) = run_pgm_dir({}, '--dbs-from', "$tmp/dbs.txt", 'apply');
is($rc, 0, '--dbs-from: exit 0');
like($out, qr/^g1: applied 20, at version 20$/m, '--dbs-from: g1 migrated');
like($out, qr/^f1: applied 0, at version 20$/m, '--dbs-from: f1 already there');
# A file saved with a UTF-8 byte order mark (Windows editors write one), as migration files may be.
open $fh, '>', "$tmp/dbs_bom.txt" or die;
print $fh "\xEF\xBB\xBF" . $node->connstr('f1') . "\n";
close $fh;
($rc, $out) = run_pgm_dir({}, '--dbs-from', "$tmp/dbs_bom.txt", 'check');
is($rc, 0, '--dbs-from: a byte order mark is not part of the first line') or diag($out);

# --- --all-databases: every database with the extension; the others are skipped
$node->safe_psql('f2', q{DROP TABLE step_7; SELECT migrate.acknowledge_drift('test setup')});
($rc, $out, $err) = run_pgm_dir({}, '--all-databases', '-j', '2', '-d', $node->connstr('postgres'), 'apply');
is($rc, 0, '--all-databases: exit 0') or diag($out . $err);
like($out, qr/^f2: applied 20, at version 20$/m, '--all-databases: f2 migrated now');
like($out, qr/summary: 5 of 5 databases ok; 1 without pg_migrate skipped/, '--all-databases: postgres skipped');
($rc, $out) = run_pgm_dir({}, '--all-databases', '-d', $node->connstr('postgres'), 'check');
is($rc, 0, '--all-databases check: every database is at the folder');
# Several -d on one server with --all-databases: each database once.
($rc, $out) = run_pgm_dir({}, '--all-databases', '-d', $node->connstr('postgres'), '-d', $node->connstr('f2'), 'check');
like($out, qr/summary: 5 of 5 databases ok; 1 without pg_migrate skipped/, '--all-databases with two -d on one server: each database once');
# A database that accepts no connections cannot be checked: the summary says so (it was left
# out without a word).
$node->safe_psql('postgres', 'CREATE DATABASE closed_db; ALTER DATABASE closed_db ALLOW_CONNECTIONS false;');
($rc, $out) = run_pgm_dir({}, '--all-databases', '-d', $node->connstr('postgres'), 'check');
like($out, qr/; 1 not accepting connections not checked \(closed_db\)/, '--all-databases: a database refusing connections is named');
($rc, $out) = run_pgm_dir({}, '--all-databases', '--json', '-d', $node->connstr('postgres'), 'check');
like($out, qr/"not_accepting_connections": \[\s*"closed_db"\s*\]/, '--all-databases --json: and listed');
$j = decode_json($out);
ok((grep { $_ eq 'postgres' } @{ $j->{skipped} }), '--all-databases --json: a database without pg_migrate is listed as skipped');
ok(!(grep { $_ eq 'postgres' } @{ $j->{ok} }), '--all-databases --json: and not as ok');
$node->safe_psql('postgres', 'DROP DATABASE closed_db;');
# A database whose first query fails (here: a lock timeout while pg_extension is locked) is
# reported as failed, and the others still run: the worker thread used to end in std::terminate.
$node->safe_psql('postgres', q{ALTER DATABASE f2 SET lock_timeout = '200ms'});
my ($lock_out, $lock_err) = ('', '');
my $locker = IPC::Run::start([ 'psql', '-X', '-d', $node->connstr('f2'), '-c',
  'BEGIN; SET LOCAL lock_timeout = 0; LOCK pg_catalog.pg_extension IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;' ],
  '<', \undef, '>', \$lock_out, '2>', \$lock_err);
$node->poll_query_until('postgres', q{SELECT count(*) > 0 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
  WHERE d.datname = 'f2' AND l.relation = 'pg_catalog.pg_extension'::regclass AND l.mode = 'AccessExclusiveLock' AND l.granted})
  or die 'the lock on pg_extension was not taken';
($rc, $out, $err) = run_pgm_dir({}, '--all-databases', '-d', $node->connstr('postgres'), 'status');
is($rc, 1, '--all-databases: a database whose first query fails makes exit 1 (not an abort)') or diag($out . $err);
like($err, qr/^f2: error: canceling statement due to lock timeout/m, '--all-databases: the failing database is named');
like($out, qr/^summary: 4 of 5 databases ok; failed: f2;/m, '--all-databases: the others ran');
$locker->kill_kill;
$node->safe_psql('postgres', q{ALTER DATABASE f2 RESET lock_timeout});

# --- DATABASE_URL and PG* variables; unreachable database
my $url = 'postgresql:///f1?host=' . $node->host . '&port=' . $node->port;
($rc, $out, $err) = run_pgm_dir({ DATABASE_URL => $url }, 'check');
is($rc, 0, 'DATABASE_URL is used without -d') or diag($err);
like($out, qr/^check f1: ok/, 'DATABASE_URL: the right database');
($rc, $out, $err) = run_pgm_dir({ PGHOST => $node->host, PGPORT => $node->port, PGDATABASE => 'g1' }, 'check');
like($out, qr/^check g1: ok/, 'PG* variables are used without -d');
($rc, $out, $err) = run_pgm_dir({}, '-d', "host=$tmp/nowhere dbname=x", 'check');
is($rc, 3, 'unreachable database: exit 3');
like($err, qr/could not connect/, 'unreachable database: says so');
# One database is connected to while the folder is read: what that connection meets is
# still reported by the command itself, after the folder.
($rc, $out, $err) = run_pgm_dir({}, '-d', $node->connstr('postgres'), 'check');
is($rc, 5, 'database without pg_migrate: exit 5');
like($err, qr/pg_migrate is not installed in database postgres\nHINT: CREATE EXTENSION pg_migrate;/, 'database without pg_migrate: says so, with the hint');
IPC::Run::run([ 'pg_migrate', '--dir', "$tmp/no_such_folder", '-d', "host=$tmp/nowhere dbname=x", 'check' ],
  '<', \undef, '>', \$out, '2>', \$err);
is($? >> 8, 4, 'unusable folder and unreachable database: the folder is reported (exit 4)');
like($err, qr/no_such_folder" does not exist/, 'unusable folder and unreachable database: names the folder');
# A server that accepts the connection and never answers: the folder error does not wait for it.
my $mute = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp')
  or die "listen: $!";
my $started = time;
IPC::Run::run([ 'pg_migrate', '--dir', "$tmp/no_such_folder", '-d', 'host=127.0.0.1 port=' . $mute->sockport . ' dbname=x',
                'check' ], '<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(60));
is($? >> 8, 4, 'unusable folder, server that never answers: exit 4');
ok(time - $started < 20, 'unusable folder, server that never answers: at once, not after the connection');
close $mute;

# --- libpq's Kerberos and LDAP code. Where the command links libpq.a (src/cli/cli.mk), it loads
# libgssapi_krb5 and libldap only when libpq calls them (src/cli/deferred_libs.cpp): not for a
# Unix socket, but for a TCP connection (GSSAPI encryption is tried first) and a service file's
# ldap:// line, which must then work as with the shared libpq.
my $pgm_path = $node->config_data('--bindir') . '/pg_migrate';
my $static_libpq = `objdump -p $pgm_path` !~ /NEEDED\s+libpq\.so/;
note($static_libpq ? 'pg_migrate links libpq statically' : 'pg_migrate links the shared libpq');
# test/run.sh says what the build chose (make print-cli-static-libpq): a build that should have
# linked libpq.a and did not fails here instead of skipping the checks below.
ok($static_libpq, 'the installed command links libpq statically, as the build chose')
  if ($ENV{PGM_EXPECT_STATIC_LIBPQ} // '') eq 'yes';
sub loaded_libraries {  # (exit code, stdout, stderr without the loader's lines, loaded sonames)
  my ($env, @args) = @_;
  my ($rc, $out, $err) = run_pgm_dir({ %$env, LD_DEBUG => 'libs' }, @args);
  my %loaded = map { (m{/([^/]+)$})[0] => 1 } ($err =~ /^\s*\d+:\s+calling init: (\S+)$/mg);
  $err =~ s/^\s*\d+:.*\n//mg;
  return ($rc, $out, $err, \%loaded);
}
my $loaded;
($rc, $out, $err, $loaded) = loaded_libraries({}, '-d', $node->connstr('f1'), 'check');
is($rc, 0, 'Unix socket: check ok') or diag($err);
if ($static_libpq) {
  ok(!(grep { /^libgssapi_krb5|^libldap|^libkrb5\./ } keys %$loaded), 'Unix socket: Kerberos and LDAP are not loaded')
    or diag(join ' ', sort keys %$loaded);
}
$node->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'");
# Kerberos authentication for database gss_only: libpq imports the service name, starts a
# security context and reports the library's own error (no credentials here).
my $hba = slurp_file($node->data_dir . '/pg_hba.conf');
open my $hba_fh, '>', $node->data_dir . '/pg_hba.conf' or die;
print $hba_fh "host gss_only all 127.0.0.1/32 gss\n$hba";
close $hba_fh;
$node->restart;
my $tcp = 'host=127.0.0.1 port=' . $node->port;
($rc, $out, $err, $loaded) = loaded_libraries({}, '-d', "$tcp dbname=f1", 'check');
is($rc, 0, 'TCP: check ok') or diag($err);
ok(grep(/^libgssapi_krb5/, keys %$loaded), 'TCP: GSSAPI loaded to try GSSAPI encryption') if $static_libpq;
($rc, $out, $err) = run_pgm_dir({ KRB5CCNAME => "FILE:$tmp/no_cache" }, '-d', "$tcp dbname=f1 gssencmode=require", 'check');
is($rc, 3, 'gssencmode=require without credentials: exit 3');
like($err, qr/GSSAPI encryption required but was impossible \(possibly no credential cache/, 'libpq says why');
($rc, $out, $err) = run_pgm_dir({ KRB5CCNAME => "FILE:$tmp/no_cache" }, '-d', "$tcp dbname=gss_only gssencmode=disable", 'check');
is($rc, 3, 'Kerberos authentication without credentials: exit 3');
like($err, qr/GSSAPI continuation error: No credentials were supplied, or the credentials were unavailable/,
     'Kerberos authentication: the library\'s own message');

# A minimal LDAP server (BER by hand: bind, then one search answered with one entry) whose
# entry holds the connection parameters of service "ldap_ok".
sub ber {
  my ($tag, $content) = @_;
  my $n = length $content;
  return chr($tag) . ($n < 128 ? chr($n) : $n < 256 ? "\x81" . chr($n) : "\x82" . pack('n', $n)) . $content;
}
sub ber_read {  # (tag, content) of the next element of $sock, or () at its end
  my ($sock) = @_;
  my ($tag, $len, $content) = ('', '', '');
  return () unless read($sock, $tag, 1) == 1 && read($sock, $len, 1) == 1;
  $len = ord $len;
  if ($len & 0x80) {
    my $bytes = '';
    read($sock, $bytes, $len & 0x7f);
    $len = 0;
    $len = $len * 256 + ord($_) for split //, $bytes;
  }
  read($sock, $content, $len) == $len or return () if $len;
  return (ord $tag, $content);
}
my $entry_value = 'host=' . $node->host . ' port=' . $node->port . ' dbname=f2';
my $ldap = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
  or die "listen: $!";
my $unused = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp') or die;
my $closed_port = $unused->sockport;
close $unused;
my $ldap_pid = fork // die "fork: $!";
# The child leaves with POSIX::_exit: no END block of the test (which stops the node) runs in it.
END { kill 'TERM', $ldap_pid if $ldap_pid; }
if ($ldap_pid == 0) {
  eval {
    while (my $client = $ldap->accept) {
      binmode $client;
      while (my ($tag, $message) = ber_read($client)) {
        my ($id_len, $id, $op) = (ord substr($message, 1, 1));
        $id = substr($message, 2, $id_len);
        $op = ord substr($message, 2 + $id_len, 1);
        my $reply = sub { print $client ber(0x30, ber(0x02, $id) . $_[0]) };
        my $done = ber(0x0a, "\x00") . ber(0x04, '') . ber(0x04, '');
        if ($op == 0x60) { $reply->(ber(0x61, $done)); }
        elsif ($op == 0x63) {
          $reply->(ber(0x64, ber(0x04, 'cn=ldap_ok,dc=example')
                             . ber(0x30, ber(0x30, ber(0x04, 'description') . ber(0x31, ber(0x04, $entry_value))))));
          $reply->(ber(0x65, $done));
        }
        else { last; }
        $client->flush;
      }
      close $client;
    }
  };
  POSIX::_exit(0);
}
my $ldap_url = 'ldap://127.0.0.1:' . $ldap->sockport . '/dc=example?description?one?(cn=ldap_ok)';
write_file("$tmp/pg_service.conf",
  "[ldap_ok]\n$ldap_url\n\n[ldap_down]\nldap://127.0.0.1:$closed_port/dc=example?description?one?(cn=x)\n"
  . 'host=' . $node->host . "\nport=" . $node->port . "\ndbname=f3\n");
($rc, $out, $err, $loaded) = loaded_libraries({ PGSERVICEFILE => "$tmp/pg_service.conf" }, '-d', 'service=ldap_ok', 'check');
is($rc, 0, 'service from LDAP: check ok') or diag($err);
like($out, qr/^check f2: ok/, 'service from LDAP: the database the LDAP entry names');
ok(grep(/^libldap/, keys %$loaded), 'service from LDAP: LDAP loaded') if $static_libpq;
($rc, $out, $err) = run_pgm_dir({ PGSERVICEFILE => "$tmp/pg_service.conf" }, '-d', 'service=ldap_down', 'check');
is($rc, 0, 'LDAP server down: the service file\'s next lines are used') or diag($err);
like($out, qr/^check f3: ok/, 'LDAP server down: the database of those lines');
kill 'TERM', $ldap_pid;
waitpid $ldap_pid, 0;
$ldap_pid = undef;
close $ldap;

# --- A password the server asks for and nobody gave: asked at the terminal, as psql asks
# (without echo), and never without a terminal or with -w.
$node->safe_psql('postgres', q{SET password_encryption = 'scram-sha-256';
  CREATE ROLE pw_user LOGIN SUPERUSER PASSWORD 'sesame'});
$hba = slurp_file($node->data_dir . '/pg_hba.conf');
open $hba_fh, '>', $node->data_dir . '/pg_hba.conf' or die;
print $hba_fh "local all pw_user scram-sha-256\n$hba";
close $hba_fh;
$node->reload;
my $pw_db = $node->connstr('f1') . ' user=pw_user';
{
  # (setsid: without a controlling terminal, also when the suite runs from one)
  local $ENV{PGPASSFILE} = "$tmp/none";
  IPC::Run::run([ 'setsid', '-w', 'pg_migrate', '--dir', $dir, '-d', $pw_db, 'check' ],
                '<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(60));
  $rc = $? >> 8;
}
is($rc, 3, 'password asked for, no terminal: exit 3');
like($err, qr/fe_sendauth: no password supplied/, 'no terminal: libpq says no password was supplied');
unlike($err, qr/Password for user/, 'no terminal: nothing asked');
sub on_terminal {  # (exit code, what the terminal showed) of pg_migrate @args typing $typed
  my ($typed, $folder, @args) = @_;
  my ($in, $shown) = ('', '');
  local $ENV{PGPASSFILE} = "$tmp/none";
  my $h = IPC::Run::start([ 'pg_migrate', '--dir', $folder, @args ], '<pty<', \$in, '>pty>', \$shown,
                          IPC::Run::timeout(60));
  if (defined $typed) {
    $h->pump until $shown =~ /Password for user pw_user: /;
    if ($typed eq 'SIGINT') {
      $h->signal('INT');
    } else {
      $in .= "$typed\n";
    }
  }
  $h->finish;
  return ($? >> 8, $shown);
}
my $shown;
($rc, $shown) = on_terminal('sesame', $dir, '-d', $pw_db, 'check');
is($rc, 0, 'password typed at the terminal: check ok') or diag($shown);
like($shown, qr/Password for user pw_user: \r?\n.*check f1: ok/s, 'the prompt, then the result');
unlike($shown, qr/sesame/, 'the password is not echoed');
($rc, $shown) = on_terminal('wrong', $dir, '-d', $pw_db, 'check');
is($rc, 3, 'a wrong password: exit 3');
like($shown, qr/password authentication failed for user "pw_user"/, 'a wrong password: the server says so');
($rc, $shown) = on_terminal(undef, $dir, '-w', '-d', $pw_db, 'check');
is($rc, 3, '-w: no prompt, exit 3');
unlike($shown, qr/Password for user/, '-w: nothing asked');
# The prompt comes after the folder's warnings, not under them (the connection opened while the
# folder is read does not ask).
my $noisy = "$tmp/noisy";
mkdir $noisy;
File::Copy::copy("$dir/$_", "$noisy/$_") or die "copy $_: $!" for map { "V${_}__step_$_.sql" } 1 .. 20;
write_file("$noisy/notes.sql", "-- not a migration\n");
($rc, $shown) = on_terminal('sesame', $noisy, '-d', $pw_db, 'check');
is($rc, 0, 'a folder with a warning: check ok after the password') or diag($shown);
like($shown, qr/warning: ignoring notes\.sql.*Password for user pw_user: /s, 'the warning comes before the prompt');
# Ctrl-C at the prompt ends the command (130).
($rc, $shown) = on_terminal('SIGINT', $dir, '-d', $pw_db, 'check');
is($rc, 130, 'Ctrl-C at the prompt: exit 130');
# A fleet takes its passwords from ~/.pgpass or PGPASSWORD: nothing is asked.
($rc, $shown) = on_terminal(undef, $dir, '-d', $node->connstr('f2'), '-d', $pw_db, 'check');
is($rc, 3, 'a fleet: the database that wants a password fails (exit 3)');
unlike($shown, qr/Password for user/, 'a fleet: nothing asked');

# One database name on two servers: each is named with its server, in the summary and the JSON.
my ($h, $p) = ($node->host, $node->port);
($rc, $out, $err) = run_pgm_dir({}, '-d', "host=$h port=$p dbname=f1", '-d', "host=$tmp/nowhere port=$p dbname=f1", 'check');
like($out, qr/^f1 on \Q$h\E:$p: ok$/m, 'same name: the reachable one named with its server');
like($out, qr/^f1 on \Q$tmp\E\/nowhere:$p: /m, 'the other one with its own');
($rc, $out, $err) = run_pgm_dir({}, '--json', '-d', "host=$h port=$p dbname=f1", '-d', "host=$h port=$p dbname=f1", 'check');
my $same = decode_json($out);
is(join(',', map { $_->{target} // '-' } @{ $same->{databases} }), "f1 on $h:$p (#1),f1 on $h:$p (#2)",
   'the same connection twice: numbered');
# A plain name takes its server from PGHOST/PGPORT: given also with host and port, it is the
# same connection, numbered (it was "f1 on the default server" beside "f1 on <host>:<port>").
($rc, $out, $err) = run_pgm_env({ PGHOST => $h, PGPORT => $p }, '--dir', $dir, '--json', '-d', 'f1', '-d', "host=$h port=$p dbname=f1", 'check');
$same = decode_json($out);
is(join(',', map { $_->{target} // '-' } @{ $same->{databases} }), "f1 on $h:$p (#1),f1 on $h:$p (#2)",
   'a plain name and the same server written out: the same connection, numbered') or diag($out . $err);

done_testing();
