# Helpers shared by the TAP tests of the pg_migrate command (test/t/03*_cli_*.pl): writing
# migration files, running the installed binary and creating databases with the extension.
package PgMigrateCli;
use strict;
use warnings;
use Exporter 'import';
use File::Path qw(make_path);
use IPC::Run;

our @EXPORT = qw(write_file run_pgm run_pgm_env pgm_on fresh_db);

# Writes `$text` to `$path` byte for byte (CRLF stays CRLF), creating its folders.
sub write_file {
  my ($path, $text) = @_;
  (my $dir = $path) =~ s{/[^/]+$}{};
  make_path($dir) if $dir ne $path;
  open my $fh, '>', $path or die "$path: $!";
  binmode $fh;
  print $fh $text;
  close $fh;
}

# Runs `pg_migrate @args` (stdin empty): (exit code, stdout, stderr).
sub run_pgm {
  my (@args) = @_;
  return run_pgm_env({}, @args);
}

# The same with `%$env` added to the environment.
sub run_pgm_env {
  my ($env, @args) = @_;
  my ($out, $err) = ('', '');
  local %ENV = (%ENV, %$env);
  IPC::Run::run([ 'pg_migrate', @args ], '<', \undef, '>', \$out, '2>', \$err);
  return ($? >> 8, $out, $err);
}

# `pg_migrate -d <db on $node> --dir $dir @args`.
sub pgm_on {
  my ($node, $db, $dir, @args) = @_;
  return run_pgm('-d', $node->connstr($db), '--dir', $dir, @args);
}

# A new database `$db` on `$node` with the extension.
sub fresh_db {
  my ($node, $db) = @_;
  $node->safe_psql('postgres', "CREATE DATABASE $db");
  $node->safe_psql($db, 'CREATE EXTENSION pg_migrate');
}

1;
