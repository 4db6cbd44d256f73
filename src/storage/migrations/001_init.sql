-- Users are owned by the host app; Parley keeps a profile copy (JWT claims or the admin API).
CREATE TABLE users (
  id text PRIMARY KEY,
  name text,
  picture text,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- last_seq is the conversation's log position: every change takes last_seq + 1 while
-- holding this row's lock, which serialises all writes of one conversation and keeps
-- seqs contiguous (a rolled-back change rolls its increment back too).
CREATE TABLE conversations (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('direct', 'group')),
  direct_key text UNIQUE,
  title text,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_by text NOT NULL REFERENCES users (id),
  last_seq bigint NOT NULL DEFAULT 0,
  last_message_seq bigint NOT NULL DEFAULT 0,
  last_activity_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
);

-- archived_seq: hidden while no message came after it. Read and delivered markers only
-- move forward (GREATEST in every update).
CREATE TABLE conversation_members (
  conversation_id uuid NOT NULL REFERENCES conversations (id),
  user_id text NOT NULL REFERENCES users (id),
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  joined_at timestamptz NOT NULL,
  read_seq bigint NOT NULL DEFAULT 0,
  delivered_seq bigint NOT NULL DEFAULT 0,
  archived_seq bigint,
  muted_until timestamptz,
  PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user ON conversation_members (user_id);

-- (conversation_id, sender_id, client_msg_id) is the idempotency key, unique forever.
CREATE TABLE messages (
  id uuid PRIMARY KEY,
  conversation_id uuid NOT NULL REFERENCES conversations (id),
  seq bigint NOT NULL,
  sender_id text NOT NULL REFERENCES users (id),
  client_msg_id text NOT NULL,
  body text NOT NULL,
  attachments jsonb NOT NULL DEFAULT '[]',
  reply_to uuid REFERENCES messages (id),
  reply_count int NOT NULL DEFAULT 0,
  mentions text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  edited_at timestamptz,
  deleted_at timestamptz,
  UNIQUE (conversation_id, seq),
  UNIQUE (conversation_id, sender_id, client_msg_id)
);
CREATE INDEX messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;

CREATE TABLE reactions (
  message_id uuid NOT NULL REFERENCES messages (id),
  user_id text NOT NULL REFERENCES users (id),
  emoji text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (message_id, user_id, emoji)
);

-- The conversation log: one row per seq, data exactly the live event's payload.
CREATE TABLE conversation_events (
  conversation_id uuid NOT NULL REFERENCES conversations (id),
  seq bigint NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (conversation_id, seq)
);
