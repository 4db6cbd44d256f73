-- The send batch's checks of mentions and replies, by key (issue 9). Its generic plan,
-- made while the tables were small, checked them by reading every member of the
-- conversation (mentions: a bitmap scan of the conversation's members, filtered) and every
-- message of the conversation (replies: the idempotency index by conversation, filtered by
-- id). A mention into a group of 10,000 read 10,000 member rows; a reply read the whole
-- history. Written so that only the keys can serve them: one probe of the members' primary
-- key per mention (mentions are unique: the protocol says so), and one of the messages'
-- primary key per reply. And a send without mentions (most) no longer expands its empty
-- JSON array four times, once per mention of the column.
-- test/send-batch-plan.test.ts checks what a batch with mentions and replies reads.

CREATE OR REPLACE FUNCTION parley_send_batch(
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
      CASE WHEN t.mentions = '[]' THEN '{}'::text[] ELSE ARRAY(SELECT jsonb_array_elements_text(t.mentions::jsonb)) END AS mentions, t.at
    FROM unnest(p_conv, p_sender, p_cmid, p_id, p_body, p_attachments, p_reply_to, p_mentions, p_at)
      WITH ORDINALITY AS t(conv, sender, cmid, id, body, attachments, reply_to, mentions, at, ord)
  ),
  checked AS (
    SELECT i.*, d.id AS dup_id, d.seq AS dup_seq,
      CASE
        WHEN mem.ok IS NULL THEN 'not_member'
        WHEN d.id IS NOT NULL THEN 'duplicate'
        WHEN cardinality(i.mentions) > 0 AND (SELECT count(*) FROM unnest(i.mentions) u(user_id)
          CROSS JOIN LATERAL (SELECT 1 FROM conversation_members m
            WHERE m.conversation_id = i.conv AND m.user_id = u.user_id LIMIT 1) hit) <> cardinality(i.mentions) THEN 'invalid_mention'
        WHEN i.reply_to IS NOT NULL
          AND (SELECT r.conversation_id FROM messages r WHERE r.id = i.reply_to) IS DISTINCT FROM i.conv THEN 'invalid_reply'
        ELSE 'created'
      END AS verdict
    FROM input i
    -- LIMIT keeps this a probe of the key per message: as NOT EXISTS it could be planned
    -- as a hash of the whole members table.
    LEFT JOIN LATERAL (SELECT true AS ok FROM conversation_members m
      WHERE m.conversation_id = i.conv AND m.user_id = i.sender LIMIT 1) mem ON true
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
  -- A retry within the batch looks its original up only when it is one: joined for every
  -- row, that lookup was a nested loop over the batch squared (half of a batch of 200).
  SELECT c.ord, CASE WHEN c.verdict = 'created' AND k.ord <> k.first_ord THEN 'duplicate' ELSE c.verdict END,
    COALESCE(n.seq, CASE WHEN k.ord <> k.first_ord THEN (SELECT f.seq FROM numbered f WHERE f.ord = k.first_ord) END, c.dup_seq),
    COALESCE(n.id, CASE WHEN k.ord <> k.first_ord THEN k.first_id END, c.dup_id)
  FROM checked c
  LEFT JOIN keyed k ON k.ord = c.ord
  LEFT JOIN numbered n ON n.ord = c.ord
  ORDER BY c.ord;
END;
$$;

ALTER FUNCTION parley_send_batch(uuid[], text[], text[], uuid[], text[], text[], uuid[], text[], timestamptz[])
  SET plan_cache_mode = force_generic_plan
  SET enable_seqscan = off;
