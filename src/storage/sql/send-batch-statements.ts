import type { Settings } from '../db.ts';

/**
 * The send batch's SQL: two statements run as one pipeline (Queryable.pipeline), so one
 * exchange, one transaction and one commit (one WAL flush on PostgreSQL). Until migration
 * 014 they were the plpgsql function parley_send_batch; as statements they spare what the
 * function added to the same work (its settings applied per call, plpgsql's executor, the
 * answer copied through a tuplestore): 3.5 µs of about 85 a message (4%) of PostgreSQL's
 * CPU at batches of 11 (`npm run bench:batch`, README).
 *
 * Parameters, one array each, by send: conversation, sender, client_msg_id, id, body,
 * attachments (JSON), reply_to, mentions (a JSON array of user ids), created_at.
 */
export interface SendBatchSql {
  /**
   * Locks the batch's conversations, in id order so concurrent batches cannot deadlock. The
   * main statement comes after it and takes its snapshot once the locks are granted: it sees
   * every change committed before them (a member who left, a message sent meanwhile by
   * another instance). In one statement, the reads would come from a snapshot older than the
   * lock. Not sent where the engine runs one transaction at a time (Queryable.oneAtATime).
   */
  lock: string;
  /** The main statement, for batches without mentions or replies: most of them. */
  main: string;
  /** The same with the mention and reply checks, and the replies' counts. */
  checked: string;
  /** What the statements are planned and run under. */
  settings: Settings;
}

const LOCK = `SELECT count(*) FROM (SELECT 1 FROM conversations c WHERE c.id = ANY ($1::uuid[]) ORDER BY c.id FOR UPDATE) locked`;

/**
 * By key: one probe of the members' primary key per mention (mentions are unique: the
 * protocol says so) and one of the messages' primary key per reply. The mentioned must be
 * members, and a reply's target must be a message of the same conversation.
 */
const REFUSALS = `
      WHEN cardinality(i.mentions) > 0 AND (SELECT count(*) FROM unnest(i.mentions) u(user_id)
        CROSS JOIN LATERAL (SELECT 1 FROM conversation_members m
          WHERE m.conversation_id = i.conv AND m.user_id = u.user_id LIMIT 1) hit) <> cardinality(i.mentions) THEN 'invalid_mention'
      WHEN i.reply_to IS NOT NULL
        AND (SELECT r.conversation_id FROM messages r WHERE r.id = i.reply_to) IS DISTINCT FROM i.conv THEN 'invalid_reply'`;

/** Each created reply counts on its target (a message that was there before the batch: the checks say so). */
const REPLY_COUNTS = `,
  replied AS (
    UPDATE messages r SET reply_count = r.reply_count + g.n
    FROM (SELECT n.reply_to, count(*) AS n FROM numbered n WHERE n.reply_to IS NOT NULL GROUP BY n.reply_to) g
    WHERE r.id = g.reply_to
    RETURNING 1
  )`;

const main = (checks: boolean) => `
  WITH input AS (
    SELECT t.ord, t.conv, t.sender, t.cmid, t.id, t.body, t.attachments::jsonb AS attachments, t.reply_to,
      CASE WHEN t.mentions = '[]' THEN '{}'::text[] ELSE parley_json_texts(t.mentions) END AS mentions, t.at
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::uuid[], $8::text[], $9::timestamptz[])
      WITH ORDINALITY AS t(conv, sender, cmid, id, body, attachments, reply_to, mentions, at, ord)
  ),
  -- Membership first, then the idempotency key (a retry answers with its original even
  -- when its content changed into something invalid), then mentions and reply target.
  checked AS (
    SELECT i.*, d.id AS dup_id, d.seq AS dup_seq,
      CASE
        WHEN mem.ok IS NULL THEN 'not_member'
        WHEN d.id IS NOT NULL THEN 'duplicate'${checks ? REFUSALS : ''}
        ELSE 'created'
      END AS verdict
    FROM input i
    -- LIMIT keeps this a probe of the key per message: as NOT EXISTS it could be planned
    -- as a hash of the whole members table.
    LEFT JOIN LATERAL (SELECT true AS ok FROM conversation_members m
      WHERE m.conversation_id = i.conv AND m.user_id = i.sender LIMIT 1) mem ON true
    LEFT JOIN messages d ON d.conversation_id = i.conv AND d.sender_id = i.sender AND d.client_msg_id = i.cmid
  ),
  numbered AS (
    SELECT c.*, cv.last_seq + row_number() OVER w AS seq, cv.message_count + row_number() OVER w AS msg_no,
      row_number() OVER (ORDER BY c.ord) AS n
    FROM checked c JOIN conversations cv ON cv.id = c.conv WHERE c.verdict = 'created'
    WINDOW w AS (PARTITION BY c.conv ORDER BY c.ord)
  ),
  head AS (
    UPDATE message_log_head h SET pos = h.pos + k.n
    FROM (SELECT count(*) AS n FROM numbered) k
    WHERE h.id = 1 AND k.n > 0
    RETURNING h.pos - k.n AS base
  ),
  inserted AS (
    INSERT INTO messages (id, conversation_id, seq, msg_no, sender_id, client_msg_id, body, attachments, reply_to, mentions, created_at, log_pos)
    SELECT n.id, n.conv, n.seq, n.msg_no, n.sender, n.cmid, n.body, n.attachments, n.reply_to, n.mentions, n.at, head.base + n.n
    FROM numbered n CROSS JOIN head
    RETURNING 1
  ),
  moved AS (
    UPDATE conversations cv SET last_seq = g.top, last_message_seq = g.top, message_count = g.msg_count,
      last_activity_at = GREATEST(cv.last_activity_at, g.at)
    FROM (SELECT n.conv, max(n.seq) AS top, max(n.msg_no) AS msg_count, max(n.at) AS at FROM numbered n GROUP BY n.conv) g
    WHERE cv.id = g.conv
    RETURNING 1
  ),
  -- Sending marks everything before it read, for the sender.
  markers AS (
    UPDATE conversation_members m SET read_seq = GREATEST(m.read_seq, g.top), delivered_seq = GREATEST(m.delivered_seq, g.top)
    FROM (SELECT n.conv, n.sender, max(n.seq) AS top FROM numbered n GROUP BY n.conv, n.sender) g
    WHERE m.conversation_id = g.conv AND m.user_id = g.sender
    RETURNING 1
  )${checks ? REPLY_COUNTS : ''}
  -- Each send's outcome, in no order: sendMany places them by ord.
  SELECT n.ord, 'created'::text, n.seq, n.id FROM numbered n
  UNION ALL
  SELECT c.ord, c.verdict, c.dup_seq, c.dup_id FROM checked c WHERE c.verdict <> 'created'`;

export const SEND_BATCH_SQL: SendBatchSql = {
  lock: LOCK,
  main: main(false),
  checked: main(true),
  // Every plan of the batch is made once per connection (generic plans), with sequential
  // scans ruled out: made on tables still small (a fresh install), a plan that reads a whole
  // table would stay while the table grows (test/send-batch-plan.test.ts).
  settings: { plan_cache_mode: 'force_generic_plan', enable_seqscan: 'off' },
};
