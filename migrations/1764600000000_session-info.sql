-- Sessions carry the caller's user id and a display name (archive/store.ts `ArchivedSession.userId`, `.name`);
-- metadata already has its column. Listing by user: newest first, like the other listing indexes.

-- Up Migration

ALTER TABLE stepwise_sessions ADD COLUMN user_id text, ADD COLUMN name text;
CREATE INDEX stepwise_sessions_user_updated_idx ON stepwise_sessions (user_id, updated_at DESC, session_id DESC);

-- Down Migration

DROP INDEX stepwise_sessions_user_updated_idx;
ALTER TABLE stepwise_sessions DROP COLUMN name, DROP COLUMN user_id;
