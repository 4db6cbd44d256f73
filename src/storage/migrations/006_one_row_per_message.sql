-- The send path, rebuilt from its profile (issue 9). Per message it used to write a message
-- row, a log row holding a copy of it, an outbox row that the dispatcher deleted again, and
-- to run about ten statements. Now:
--   * a message is its own log entry: conversation_events keeps the other changes (edits,
--     deletes, reactions, membership), and sync reads the two together by seq;
--   * notification work for messages is derived from the messages themselves, through a
--     cursor over their log position (see message_log_head below);
--     reactions and group invites, which are rare, keep the outbox;
--   * a batch of sends is two statements whatever its size: lock the conversations, then
--     one set-based statement checks, numbers and writes everything (parley_send_batch).

DELETE FROM conversation_events WHERE type = 'message:new';

-- Every sender is a member (checked under the conversation lock) and members reference
-- users and conversations, so these two checks only cost a lookup per message.
ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_conversation_id_fkey;
ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_sender_id_fkey;

-- A message's place in the log of all conversations. Positions are taken under one row
-- lock (message_log_head) held to COMMIT, so they become visible in position order: a
-- reader that has seen position n has seen every position below it, and a cursor over them
-- misses nothing (NULL for messages older than this migration, which used the outbox). One
-- instance sends one batch at a time, so the lock costs nothing there; instances sharing a
-- database take turns per batch.
ALTER TABLE messages ADD COLUMN log_pos bigint;
CREATE UNIQUE INDEX messages_log_pos ON messages (log_pos) WHERE log_pos IS NOT NULL;
CREATE TABLE message_log_head (
  id int PRIMARY KEY CHECK (id = 1),
  pos bigint NOT NULL
);
INSERT INTO message_log_head (id, pos) VALUES (1, 0);

-- How far the dispatcher got: every message up to this position has been turned into work.
-- The drain holds this row's lock, so instances sharing the database take turns.
CREATE TABLE notify_position (
  id int PRIMARY KEY CHECK (id = 1),
  pos bigint NOT NULL
);
INSERT INTO notify_position (id, pos) VALUES (1, 0);

-- Sends a batch: arrays of one element per message (mentions and attachments as JSON text).
-- Answers one row per input position `ord`: created (with its seq), duplicate (the original's
-- id and seq), not_member, invalid_mention or invalid_reply. Several sends of one
-- conversation take consecutive seqs in input order, so a batch keeps every sender's order.
CREATE FUNCTION parley_send_batch(
  p_conv uuid[], p_sender text[], p_cmid text[], p_id uuid[], p_body text[],
  p_attachments text[], p_reply_to uuid[], p_mentions text[], p_at timestamptz[]
) RETURNS TABLE (ord bigint, outcome text, out_seq bigint, out_id uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  -- In id order, so concurrent batches cannot deadlock. The statement below takes its
  -- snapshot after these locks are granted: it sees every change committed before them.
  PERFORM 1 FROM conversations c WHERE c.id = ANY (p_conv) ORDER BY c.id FOR UPDATE;
  RETURN QUERY
  WITH input AS (
    SELECT t.ord, t.conv, t.sender, t.cmid, t.id, t.body, t.attachments::jsonb AS attachments, t.reply_to,
      ARRAY(SELECT jsonb_array_elements_text(t.mentions::jsonb)) AS mentions, t.at
    FROM unnest(p_conv, p_sender, p_cmid, p_id, p_body, p_attachments, p_reply_to, p_mentions, p_at)
      WITH ORDINALITY AS t(conv, sender, cmid, id, body, attachments, reply_to, mentions, at, ord)
  ),
  checked AS (
    SELECT i.*, d.id AS dup_id, d.seq AS dup_seq,
      CASE
        WHEN NOT EXISTS (SELECT 1 FROM conversation_members m WHERE m.conversation_id = i.conv AND m.user_id = i.sender) THEN 'not_member'
        WHEN d.id IS NOT NULL THEN 'duplicate'
        WHEN cardinality(i.mentions) > 0 AND (SELECT count(*) FROM conversation_members m
          WHERE m.conversation_id = i.conv AND m.user_id = ANY (i.mentions)) <> cardinality(i.mentions) THEN 'invalid_mention'
        WHEN i.reply_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM messages r WHERE r.id = i.reply_to AND r.conversation_id = i.conv) THEN 'invalid_reply'
        ELSE 'created'
      END AS verdict
    FROM input i
    LEFT JOIN messages d ON d.conversation_id = i.conv AND d.sender_id = i.sender AND d.client_msg_id = i.cmid
  ),
  -- Retries of one key inside the batch: the first valid one is created, the others are its duplicates.
  keyed AS (
    SELECT c.*, first_value(c.ord) OVER k AS first_ord, first_value(c.id) OVER k AS first_id
    FROM checked c WHERE c.verdict = 'created'
    WINDOW k AS (PARTITION BY c.conv, c.sender, c.cmid ORDER BY c.ord)
  ),
  numbered AS (
    SELECT k.*, cv.last_seq + row_number() OVER (PARTITION BY k.conv ORDER BY k.ord) AS seq,
      row_number() OVER (ORDER BY k.ord) AS n
    FROM keyed k JOIN conversations cv ON cv.id = k.conv WHERE k.ord = k.first_ord
  ),
  head AS (
    UPDATE message_log_head h SET pos = h.pos + (SELECT count(*) FROM numbered)
    WHERE h.id = 1 AND EXISTS (SELECT 1 FROM numbered)
    RETURNING h.pos - (SELECT count(*) FROM numbered) AS base
  ),
  inserted AS (
    INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, attachments, reply_to, mentions, created_at, log_pos)
    SELECT n.id, n.conv, n.seq, n.sender, n.cmid, n.body, n.attachments, n.reply_to, n.mentions, n.at, head.base + n.n
    FROM numbered n CROSS JOIN head
    RETURNING 1
  ),
  moved AS (
    UPDATE conversations cv SET last_seq = g.top, last_message_seq = g.top, last_activity_at = GREATEST(cv.last_activity_at, g.at)
    FROM (SELECT n.conv, max(n.seq) AS top, max(n.at) AS at FROM numbered n GROUP BY n.conv) g
    WHERE cv.id = g.conv
    RETURNING 1
  ),
  replies AS (
    UPDATE messages r SET reply_count = r.reply_count + g.n
    FROM (SELECT n.reply_to, count(*) AS n FROM numbered n WHERE n.reply_to IS NOT NULL GROUP BY n.reply_to) g
    WHERE r.id = g.reply_to
    RETURNING 1
  ),
  -- Sending marks everything before it read, for the sender.
  markers AS (
    UPDATE conversation_members m SET read_seq = GREATEST(m.read_seq, g.top), delivered_seq = GREATEST(m.delivered_seq, g.top)
    FROM (SELECT n.conv, n.sender, max(n.seq) AS top FROM numbered n GROUP BY n.conv, n.sender) g
    WHERE m.conversation_id = g.conv AND m.user_id = g.sender
    RETURNING 1
  )
  SELECT c.ord, CASE WHEN c.verdict = 'created' AND k.ord <> k.first_ord THEN 'duplicate' ELSE c.verdict END,
    COALESCE(n.seq, f.seq, c.dup_seq), COALESCE(n.id, f.id, c.dup_id)
  FROM checked c
  LEFT JOIN keyed k ON k.ord = c.ord
  LEFT JOIN numbered n ON n.ord = c.ord
  LEFT JOIN numbered f ON f.ord = k.first_ord AND k.ord <> k.first_ord
  ORDER BY c.ord;
END;
$$;

-- Replaced by parley_send_batch.
DROP FUNCTION parley_send_message(uuid, text, text, uuid, text, jsonb, uuid, text[], timestamptz, jsonb);
