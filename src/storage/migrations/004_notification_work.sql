-- Notification work is recorded in the transaction of the change that causes it (a
-- message, a reaction, members added to a group), with its recipients as they were at commit; the dispatcher
-- (services/notify-dispatch.ts) turns each row into inbox entries and delivery jobs and
-- deletes it in one transaction, so work is neither lost nor done twice.
CREATE TABLE notification_outbox (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('message', 'reaction', 'group_invite')),
  conversation_id uuid NOT NULL,
  seq bigint NOT NULL,
  actor_id text NOT NULL,
  message_id uuid,
  recipients text[] NOT NULL,
  mentions text[] NOT NULL DEFAULT '{}',
  data jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL
);

-- What was already pushed and emailed, per member: a push or a digest never repeats a message.
ALTER TABLE conversation_members
  ADD COLUMN pushed_seq bigint NOT NULL DEFAULT 0,
  ADD COLUMN emailed_seq bigint NOT NULL DEFAULT 0;

-- Where digests go (from the token's email claim or the admin API).
ALTER TABLE users ADD COLUMN email text;

-- The send function, now also recording the notification work (one row per message).
CREATE OR REPLACE FUNCTION parley_send_message(
  p_conversation uuid, p_sender text, p_client_msg_id text, p_id uuid, p_body text,
  p_attachments jsonb, p_reply_to uuid, p_mentions text[], p_at timestamptz, p_message jsonb
) RETURNS TABLE (outcome text, out_seq bigint, out_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  v_seq bigint;
  v_id uuid;
BEGIN
  PERFORM 1 FROM conversations c
    JOIN conversation_members m ON m.conversation_id = c.id AND m.user_id = p_sender
    WHERE c.id = p_conversation FOR UPDATE OF c;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_member'::text, NULL::bigint, NULL::uuid;
    RETURN;
  END IF;
  SELECT id, seq INTO v_id, v_seq FROM messages
    WHERE conversation_id = p_conversation AND sender_id = p_sender AND client_msg_id = p_client_msg_id;
  IF FOUND THEN
    RETURN QUERY SELECT 'duplicate'::text, v_seq, v_id;
    RETURN;
  END IF;
  IF cardinality(p_mentions) > 0 AND (SELECT count(*) FROM conversation_members
      WHERE conversation_id = p_conversation AND user_id = ANY (p_mentions)) <> cardinality(p_mentions) THEN
    RETURN QUERY SELECT 'invalid_mention'::text, NULL::bigint, NULL::uuid;
    RETURN;
  END IF;
  IF p_reply_to IS NOT NULL THEN
    UPDATE messages SET reply_count = reply_count + 1 WHERE id = p_reply_to AND conversation_id = p_conversation;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'invalid_reply'::text, NULL::bigint, NULL::uuid;
      RETURN;
    END IF;
  END IF;
  UPDATE conversations SET last_seq = last_seq + 1, last_message_seq = last_seq + 1,
      last_activity_at = GREATEST(last_activity_at, p_at)
    WHERE id = p_conversation RETURNING last_seq INTO v_seq;
  INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, attachments, reply_to, mentions, created_at)
    VALUES (p_id, p_conversation, v_seq, p_sender, p_client_msg_id, p_body, p_attachments, p_reply_to, p_mentions, p_at);
  INSERT INTO conversation_events (conversation_id, seq, type, data, created_at)
    VALUES (p_conversation, v_seq, 'message:new',
      jsonb_build_object('conversationId', p_conversation, 'seq', v_seq, 'message', p_message || jsonb_build_object('seq', v_seq)), p_at);
  UPDATE conversation_members SET read_seq = GREATEST(read_seq, v_seq), delivered_seq = GREATEST(delivered_seq, v_seq)
    WHERE conversation_id = p_conversation AND user_id = p_sender;
  INSERT INTO notification_outbox (kind, conversation_id, seq, actor_id, message_id, recipients, mentions, created_at)
    VALUES ('message', p_conversation, v_seq, p_sender, p_id,
      ARRAY(SELECT user_id FROM conversation_members WHERE conversation_id = p_conversation AND user_id <> p_sender),
      p_mentions, p_at);
  RETURN QUERY SELECT 'created'::text, v_seq, p_id;
END;
$$;
