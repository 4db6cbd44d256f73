-- Membership and role checks must see every change committed before the conversation lock
-- was granted. A statement that locks the conversation row and reads the member row in one
-- go (a join with FOR UPDATE OF c, or UPDATE ... FROM conversation_members) reads the member
-- from the snapshot it started with: when it had to wait for the lock, PostgreSQL re-checks
-- only the locked row, so a member removed or demoted meanwhile still passed (issue 8 §2).
-- Here the lock is one statement and the check the next one: in READ COMMITTED each
-- statement of a plpgsql function takes a fresh snapshot, after the lock was granted.

-- Locks the conversation, then reads the caller's role. No row for an unknown conversation
-- or a non-member.
CREATE FUNCTION parley_lock_member(p_conversation uuid, p_user text)
RETURNS TABLE (kind text, last_seq bigint, last_message_seq bigint, role text)
LANGUAGE plpgsql AS $$
DECLARE
  v_kind text;
  v_last bigint;
  v_last_message bigint;
  v_role text;
BEGIN
  SELECT c.kind, c.last_seq, c.last_message_seq INTO v_kind, v_last, v_last_message
    FROM conversations c WHERE c.id = p_conversation FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT m.role INTO v_role FROM conversation_members m WHERE m.conversation_id = p_conversation AND m.user_id = p_user;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY SELECT v_kind, v_last, v_last_message, v_role;
END;
$$;

-- parley_lock_member, then the next seq (a message moves last_message_seq and the activity time too).
CREATE FUNCTION parley_take_seq_as_member(p_conversation uuid, p_user text, p_message boolean, p_at timestamptz)
RETURNS TABLE (seq bigint, kind text, last_seq bigint, last_message_seq bigint, role text)
LANGUAGE plpgsql AS $$
DECLARE
  v_lock record;
  v_seq bigint;
  v_last_message bigint;
BEGIN
  SELECT * INTO v_lock FROM parley_lock_member(p_conversation, p_user);
  IF NOT FOUND THEN
    RETURN;
  END IF;
  UPDATE conversations c SET last_seq = c.last_seq + 1,
      last_message_seq = CASE WHEN p_message THEN c.last_seq + 1 ELSE c.last_message_seq END,
      last_activity_at = CASE WHEN p_message THEN GREATEST(c.last_activity_at, p_at) ELSE c.last_activity_at END
    WHERE c.id = p_conversation RETURNING c.last_seq, c.last_message_seq INTO v_seq, v_last_message;
  RETURN QUERY SELECT v_seq, v_lock.kind, v_seq, v_last_message, v_lock.role;
END;
$$;

-- The send function, with its membership check after the lock.
CREATE OR REPLACE FUNCTION parley_send_message(
  p_conversation uuid, p_sender text, p_client_msg_id text, p_id uuid, p_body text,
  p_attachments jsonb, p_reply_to uuid, p_mentions text[], p_at timestamptz, p_message jsonb
) RETURNS TABLE (outcome text, out_seq bigint, out_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  v_seq bigint;
  v_id uuid;
BEGIN
  PERFORM 1 FROM parley_lock_member(p_conversation, p_sender);
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
