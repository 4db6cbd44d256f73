-- A conversation's page of members and its member count read a bounded number of rows
-- however large the group (issue 9). The conversation list and a conversation's view read
-- every member of each group listed: its first 100 members were a window over all of them
-- (in join order), its member count a count of them. A member of ten groups of 10,000 waited
-- 111-152 ms for their list on PostgreSQL, 183 ms on PGlite (npm run bench:members). Now:
--   * an index in join order gives each group's first 100 members straight;
--   * each conversation keeps its member count, moved by a trigger on every insert and
--     delete of members, whatever the path (a statement-level trigger, once per statement
--     with the rows it changed: adding 500 members updates the conversation once). Member
--     changes lock their conversation first (lockGroup, or a conversation just created), so
--     the trigger's update takes no lock they do not already hold.

CREATE INDEX conversation_members_join_order ON conversation_members (conversation_id, joined_at, user_id);
ALTER TABLE conversations ADD COLUMN member_count int NOT NULL DEFAULT 0;
UPDATE conversations c SET member_count = k.n
  FROM (SELECT conversation_id, count(*) AS n FROM conversation_members GROUP BY conversation_id) k
  WHERE k.conversation_id = c.id;

CREATE FUNCTION parley_count_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE conversations c SET member_count = c.member_count + k.n
      FROM (SELECT conversation_id, count(*) AS n FROM joined GROUP BY conversation_id) k WHERE c.id = k.conversation_id;
  ELSE
    UPDATE conversations c SET member_count = c.member_count - k.n
      FROM (SELECT conversation_id, count(*) AS n FROM departed GROUP BY conversation_id) k WHERE c.id = k.conversation_id;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER conversation_members_count_joined AFTER INSERT ON conversation_members
  REFERENCING NEW TABLE AS joined FOR EACH STATEMENT EXECUTE FUNCTION parley_count_members();
CREATE TRIGGER conversation_members_count_departed AFTER DELETE ON conversation_members
  REFERENCING OLD TABLE AS departed FOR EACH STATEMENT EXECUTE FUNCTION parley_count_members();
