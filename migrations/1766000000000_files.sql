-- Files attached to user messages (docs/rest-api.md "Files and images"): the bytes live here, outside Temporal's
-- history, which holds only a reference. No foreign key to stepwise_sessions: a session's first message (and its
-- files) arrives before the workflow archives the session row. The id derives from the bytes (archive/file-ids.ts),
-- so one file stored twice in a session is one row.

-- Up Migration

CREATE TABLE stepwise_files (
  session_id  text COLLATE "C" NOT NULL,
  file_id     text COLLATE "C" NOT NULL,
  media_type  text        NOT NULL,
  name        text,
  size        integer     NOT NULL CHECK (size >= 0),
  sha256      text        NOT NULL,
  bytes       bytea       NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, file_id)
);

-- Down Migration

DROP TABLE stepwise_files;
