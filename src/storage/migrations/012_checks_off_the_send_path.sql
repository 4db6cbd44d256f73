-- The send batch no longer re-reads CHECK constraints it cannot break (issue 9). PostgreSQL
-- builds a table's CHECK expressions anew for every statement that writes the table (from
-- their stored text: parsed, planned and compiled, in ExecConstraints), even when the
-- statement leaves their columns alone. Every batch updates conversations (two checks),
-- conversation_members (one) and message_log_head (one): 3.5% of its backend's CPU at
-- batches of one (perf); at batches of 14, 2-3 us of about 65 a message less without them
-- (npm run bench:batch, round by round). The same rules now live where an update of other
-- columns does not reach them:
--   * a column's allowed values in a domain: its check runs only where a statement stores a
--     value in the column, and PostgreSQL keeps it parsed and planned (its type cache);
--   * the one rule over two columns (a direct conversation has a direct_key, a group none)
--     in a trigger that fires only on inserts and on updates naming kind or direct_key.
-- Types change without rewriting the tables: a domain without constraints is stored as its
-- base type, and its constraint then checks the rows already there (a scan, no rewrite).

DO $$
DECLARE
  r record;
BEGIN
  -- Dropped by what they are, not by name: the names were PostgreSQL's own choice (001, 006).
  FOR r IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
    WHERE contype = 'c' AND conrelid IN ('conversations'::regclass, 'conversation_members'::regclass,
      'message_log_head'::regclass, 'notify_position'::regclass)
  LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
  END LOOP;
END;
$$;

CREATE DOMAIN parley_conversation_kind AS text;
ALTER TABLE conversations ALTER COLUMN kind TYPE parley_conversation_kind;
ALTER DOMAIN parley_conversation_kind ADD CONSTRAINT parley_conversation_kind_known CHECK (VALUE IN ('direct', 'group'));

CREATE DOMAIN parley_member_role AS text;
ALTER TABLE conversation_members ALTER COLUMN role TYPE parley_member_role;
ALTER DOMAIN parley_member_role ADD CONSTRAINT parley_member_role_known CHECK (VALUE IN ('owner', 'admin', 'member'));

-- The single row of the message log's head and of the dispatcher's position.
CREATE DOMAIN parley_single_row AS int;
ALTER TABLE message_log_head ALTER COLUMN id TYPE parley_single_row;
ALTER TABLE notify_position ALTER COLUMN id TYPE parley_single_row;
ALTER DOMAIN parley_single_row ADD CONSTRAINT parley_single_row_one CHECK (VALUE = 1);

CREATE FUNCTION parley_direct_key_matches_kind() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.kind = 'direct') <> (NEW.direct_key IS NOT NULL) THEN
    RAISE EXCEPTION 'a direct conversation has a direct_key and a group has none'
      USING ERRCODE = 'check_violation', TABLE = 'conversations', CONSTRAINT = 'conversations_direct_key_kind';
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER conversations_direct_key_kind AFTER INSERT OR UPDATE OF kind, direct_key ON conversations
  FOR EACH ROW EXECUTE FUNCTION parley_direct_key_matches_kind();
