-- The in-app inbox. (user_id, idempotency_key) makes an admin send retryable.
CREATE TABLE notifications (
  id uuid PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id),
  type text NOT NULL,
  priority text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
  title text NOT NULL,
  body text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  action_url text,
  idempotency_key text,
  created_at timestamptz NOT NULL,
  read_at timestamptz,
  expires_at timestamptz,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX notifications_inbox ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

CREATE TABLE notification_preferences (
  user_id text PRIMARY KEY REFERENCES users (id),
  prefs jsonb NOT NULL,
  updated_at timestamptz NOT NULL
);

-- A device token (or Web Push endpoint) belongs to one user at a time: registering it
-- again from another account moves it.
CREATE TABLE devices (
  id uuid PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id),
  platform text NOT NULL CHECK (platform IN ('apns', 'fcm', 'expo', 'webpush')),
  token text NOT NULL,
  keys jsonb,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (platform, token)
);
CREATE INDEX devices_user ON devices (user_id);
