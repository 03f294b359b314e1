-- Internal SQL resolves only pg_catalog objects, whoever runs it and whatever search_path.
-- A role owning a schema first in a superuser's search_path plants operators and functions
-- named like everything pg_catalog offers that pg_migrate's SQL uses; each records its call
-- (a sequence: nextval survives rollbacks) and warns. The superuser then runs every function.
CREATE EXTENSION pg_migrate;
CREATE ROLE sp_evil;
CREATE SCHEMA evil AUTHORIZATION sp_evil;
CREATE SCHEMA sp AUTHORIZATION sp_evil;
SET ROLE sp_evil;
CREATE SEQUENCE evil.hits;
GRANT USAGE ON SEQUENCE evil.hits TO PUBLIC;
-- Every binary operator of pg_catalog, with the same argument types.
DO $plant$
DECLARE
  o record; n int := 0; planted int := 0;
  plsql_ok text := $$ t.typtype <> 'p' OR t.typname LIKE 'any_%' OR t.typname IN ('anyelement', 'anyarray', 'anynonarray', 'anyenum', 'anyrange', 'anymultirange', 'record') $$;
BEGIN
  FOR o IN
    SELECT op.oprname, op.oprleft::regtype AS l, op.oprright::regtype AS r, op.oprresult::regtype AS res
      FROM pg_operator op JOIN pg_type lt ON lt.oid = op.oprleft JOIN pg_type rt ON rt.oid = op.oprright
     WHERE op.oprnamespace = 'pg_catalog'::regnamespace AND op.oprkind = 'b'
       AND lt.typname NOT IN ('any', 'internal', 'cstring', 'anyrange', 'anymultirange')
       AND rt.typname NOT IN ('any', 'internal', 'cstring', 'anyrange', 'anymultirange')
       AND lt.typname NOT LIKE 'pg\_%' AND rt.typname NOT LIKE 'pg\_%'
     ORDER BY 1, 2::text, 3::text
  LOOP
    n := n + 1;
    BEGIN
      EXECUTE format($f$CREATE FUNCTION evil.op_%s(a %s, b %s) RETURNS %s LANGUAGE plpgsql AS $b$
        BEGIN
          PERFORM pg_catalog.nextval('evil.hits');
          RAISE WARNING 'hijacked: operator %s(%s, %s)';
          RETURN a OPERATOR(pg_catalog.%s) b;
        END $b$$f$, n, o.l, o.r, o.res, o.oprname, o.l, o.r, o.oprname);
      EXECUTE format('CREATE OPERATOR evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = evil.op_%s)',
                     o.oprname, o.l, o.r, n);
      planted := planted + 1;
    EXCEPTION WHEN OTHERS THEN
      NULL;  -- a combination plpgsql cannot take: pg_catalog's stays the only one
    END;
  END LOOP;
  RAISE NOTICE 'planted more than 500 operators: %', planted > 500;
END
$plant$;
-- Every pg_catalog function (not aggregate) named like one that pg_migrate's SQL calls.
DO $plant$
DECLARE
  f record; n int := 0; planted int := 0; args text; call text;
BEGIN
  FOR f IN
    SELECT p.oid, p.proname, p.proretset, p.prorettype::regtype AS res,
           ARRAY(SELECT t::regtype::text FROM unnest(p.proargtypes) t) AS types
      FROM pg_proc p
     WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f' AND p.provariadic = 0
       AND p.proname IN ('acldefault', 'array_length', 'array_to_string', 'btrim', 'clock_timestamp',
           'concat', 'current_database', 'current_setting', 'encode', 'format', 'format_type',
           'jsonb_build_object', 'jsonb_each', 'jsonb_strip_nulls', 'jsonb_typeof', 'left', 'length',
           'lower', 'md5', 'nextval', 'now', 'oidvectortypes', 'parse_ident', 'pg_backend_pid',
           'pg_current_xact_id', 'pg_get_constraintdef', 'pg_get_expr', 'pg_get_function_arguments',
           'pg_get_function_result', 'pg_get_function_sqlbody', 'pg_get_indexdef', 'pg_get_partkeydef',
           'pg_get_ruledef', 'pg_get_triggerdef', 'pg_get_userbyid', 'pg_get_viewdef',
           'pg_identify_object', 'pg_identify_object_as_address', 'quote_ident', 'quote_literal',
           'quote_nullable', 'regexp_replace', 'replace', 'right', 'round', 'set_config', 'sha256',
           'split_part', 'string_to_array', 'strpos', 'substr', 'substring', 'to_jsonb', 'trim',
           'unnest', 'upper', 'array_position', 'array_remove', 'cardinality', 'starts_with',
           'to_char', 'jsonb_array_elements', 'jsonb_array_elements_text', 'jsonb_object_keys')
       AND NOT EXISTS (SELECT FROM unnest(p.proargtypes) t JOIN pg_type ty ON ty.oid = t
                        WHERE ty.typname IN ('any', 'internal', 'cstring', 'anyrange', 'anymultirange', 'record'))
       AND p.prorettype NOT IN ('internal'::regtype, 'record'::regtype)
  LOOP
    n := n + 1;
    SELECT string_agg(format('a%s %s', i, t), ', ' ORDER BY i), string_agg(format('a%s', i), ', ' ORDER BY i)
      INTO args, call FROM unnest(f.types) WITH ORDINALITY AS x(t, i);
    BEGIN
      IF f.proretset THEN
        EXECUTE format($f$CREATE FUNCTION evil.%I(%s) RETURNS SETOF %s LANGUAGE plpgsql AS $b$
          BEGIN
            PERFORM pg_catalog.nextval('evil.hits');
            RAISE WARNING 'hijacked: function %s';
            RETURN QUERY SELECT * FROM pg_catalog.%I(%s);
          END $b$$f$, f.proname, coalesce(args, ''), f.res, f.oid::regprocedure, f.proname, coalesce(call, ''));
      ELSE
        EXECUTE format($f$CREATE FUNCTION evil.%I(%s) RETURNS %s LANGUAGE plpgsql AS $b$
          BEGIN
            PERFORM pg_catalog.nextval('evil.hits');
            RAISE WARNING 'hijacked: function %s';
            RETURN pg_catalog.%I(%s);
          END $b$$f$, f.proname, coalesce(args, ''), f.res, f.oid::regprocedure, f.proname, coalesce(call, ''));
      END IF;
      planted := planted + 1;
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
  END LOOP;
  RAISE NOTICE 'planted more than 60 functions: %', planted > 60;
END
$plant$;
-- Aggregates: count(*), string_agg, max, min, array_agg, jsonb_agg, jsonb_object_agg.
CREATE FUNCTION evil.agg_count(int8) RETURNS int8 LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_catalog.nextval('evil.hits'); RAISE WARNING 'hijacked: aggregate count(*)'; RETURN $1 OPERATOR(pg_catalog.+) 1; END $$;
CREATE AGGREGATE evil.count(*) (SFUNC = evil.agg_count, STYPE = int8, INITCOND = '0');
CREATE FUNCTION evil.agg_string(text, text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_catalog.nextval('evil.hits'); RAISE WARNING 'hijacked: aggregate string_agg'; RETURN pg_catalog.concat_ws($3, $1, $2); END $$;
CREATE AGGREGATE evil.string_agg(text, text) (SFUNC = evil.agg_string, STYPE = text);
CREATE FUNCTION evil.agg_any(anyarray, anyarray) RETURNS anyarray LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_catalog.nextval('evil.hits'); RAISE WARNING 'hijacked: aggregate max/min(anyarray)'; RETURN $2; END $$;
CREATE AGGREGATE evil.max(anyarray) (SFUNC = evil.agg_any, STYPE = anyarray);
CREATE AGGREGATE evil.min(anyarray) (SFUNC = evil.agg_any, STYPE = anyarray);
CREATE FUNCTION evil.agg_array(anyarray, anynonarray) RETURNS anyarray LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_catalog.nextval('evil.hits'); RAISE WARNING 'hijacked: aggregate array_agg'; RETURN $1 OPERATOR(pg_catalog.||) $2; END $$;
CREATE AGGREGATE evil.array_agg(anynonarray) (SFUNC = evil.agg_array, STYPE = anyarray);
CREATE FUNCTION evil.agg_jsonb(jsonb, anyelement) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_catalog.nextval('evil.hits'); RAISE WARNING 'hijacked: aggregate jsonb_agg'; RETURN $1; END $$;
CREATE AGGREGATE evil.jsonb_agg(anyelement) (SFUNC = evil.agg_jsonb, STYPE = jsonb);
CREATE FUNCTION evil.agg_jsonb2(jsonb, text, anyelement) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_catalog.nextval('evil.hits'); RAISE WARNING 'hijacked: aggregate jsonb_object_agg'; RETURN $1; END $$;
CREATE AGGREGATE evil.jsonb_object_agg(text, anyelement) (SFUNC = evil.agg_jsonb2, STYPE = jsonb);
RESET ROLE;
-- The planted objects are drift; reviewed here, so that schema_diff() below starts clean (an
-- apply's snapshot refreshes only what its migrations touch: it does not absorb earlier drift).
SELECT migrate.acknowledge_drift('planted by the test') > 0 AS setup_acknowledged;
-- The planted objects work: called with the planted search_path, they are what resolves.
SET search_path = evil, pg_catalog, public;
SELECT count(*) AS one FROM (VALUES (1)) v;
SELECT 'a'::text = 'a'::text AS planted_equals;
SELECT pg_catalog.setval('evil.hits', 1, false) IS NOT NULL AS counter_reset;
-- Now every pg_migrate function, as the superuser, with the attacker's schema first.
-- (Migration scripts run with the caller's search_path by design; these use no operator.)
SELECT migrate.register('1', 'one', 'CREATE TABLE sp.t1 (id int NOT NULL)', 'DROP TABLE sp.t1');
SELECT migrate.register('2', 'two', 'ALTER TABLE sp.t1 ALTER COLUMN id SET NOT NULL',
                        'ALTER TABLE sp.t1 ALTER COLUMN id DROP NOT NULL');
SELECT rule FROM migrate.lint('ALTER TABLE sp.t1 ALTER COLUMN id SET NOT NULL');
SELECT version, status FROM migrate.plan();
SELECT version, status FROM migrate.verify();
SET pg_migrate.lint_blocks_apply = on;
SET pg_migrate.require_verified_revert = on;
SELECT version FROM migrate.apply('1');
RESET pg_migrate.lint_blocks_apply;
RESET pg_migrate.require_verified_revert;
SELECT rule FROM migrate.lint('ALTER TABLE sp.t1 ALTER COLUMN id SET NOT NULL');
SELECT version, status FROM migrate.plan();
SELECT version FROM migrate.apply();
SELECT version, state FROM migrate.status();
SELECT * FROM migrate.validate();
SELECT migrate.current_version();
SELECT capture FROM migrate.drift_status();
SELECT object FROM migrate.schema_diff();
SELECT version FROM migrate.revert();
SELECT migrate.unregister('2');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert_to('0');
SELECT version FROM migrate.apply();
SELECT * FROM migrate.revert_leftovers();
-- (The test's own SQL from here qualifies what it calls.)
SELECT migrate.acknowledge_drift('reviewed') IS NOT NULL AS acknowledged;
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS described
  FROM migrate.snapshot_diff('{}', migrate.schema_snapshot());
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS has_rules FROM migrate.lint_rules();
SELECT migrate.canonical_version('01.10.0'), migrate.checksum('') IS NOT NULL AS checksum;
SELECT pg_catalog.count(*) AS history_rows FROM migrate.history;
-- The lock-timeout path of apply (and plan): a prepared transaction holds the table.
RESET search_path;
BEGIN;
LOCK TABLE sp.t1 IN ACCESS SHARE MODE;
PREPARE TRANSACTION 'sp_holder';
SET search_path = evil, pg_catalog, public;
SET pg_migrate.lock_timeout = '20ms';
SET pg_migrate.lock_retries = 1;
SET pg_migrate.lock_retry_delay = '10ms';
SELECT migrate.register('3', 'busy', 'DROP TABLE sp.t1');
SELECT version, status FROM migrate.plan();
SET client_min_messages = warning;  -- the retry NOTICE shows a random delay
\set VERBOSITY terse
SELECT version FROM migrate.apply();
\set VERBOSITY default
RESET client_min_messages;
SELECT migrate.unregister('3');
-- (baseline, with migrations applied: refused after its catalog queries ran)
SELECT migrate.baseline('9');
RESET pg_migrate.lock_timeout;
RESET pg_migrate.lock_retries;
RESET pg_migrate.lock_retry_delay;
-- CALL migrate.run() of a batched statement: its waiting, counting and size queries too.
RESET search_path;
CREATE TABLE sp.t2 (a int, b int);
INSERT INTO sp.t2 SELECT i, NULL FROM generate_series(1, 300) i;
SET search_path = evil, pg_catalog, public;
SELECT migrate.register('4', 'batched',
  E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 100\nUPDATE sp.t2 SET b = a WHERE b IS NULL;');
CALL migrate.run();
-- Nothing planted was called.
RESET search_path;
COMMIT PREPARED 'sp_holder';
SELECT pg_catalog.nextval('evil.hits') AS hits_plus_one;
SELECT version, action FROM migrate.history WHERE action <> 'retry' ORDER BY id;
SET client_min_messages = warning;
DROP EXTENSION pg_migrate;
DROP SCHEMA migrate;
DROP SCHEMA evil CASCADE;
DROP SCHEMA sp CASCADE;
DROP ROLE sp_evil;
