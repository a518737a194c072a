-- Stepwise session archive (see archive/store.ts for the row shapes).
-- Session ids use COLLATE "C" so that listing order (updated_at DESC, session_id DESC) is the same byte order on
-- every server locale and in the in-memory store.

-- Up Migration

CREATE TABLE stepwise_sessions (
  session_id      text COLLATE "C" PRIMARY KEY,
  schema_version  integer     NOT NULL,
  agent_name      text        NOT NULL,
  config_hash     text        NOT NULL,
  status          text        NOT NULL CHECK (status IN ('active', 'ended', 'failed')),
  step_id         text,
  flow_id         text,
  turn_count      integer     NOT NULL DEFAULT 0,
  last_seq        integer,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  ended_at        timestamptz,
  end_reason      text,
  metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb
);

-- Listing: newest first, with the session id as tie-breaker (keyset pagination), optionally by agent or status.
CREATE INDEX stepwise_sessions_updated_idx ON stepwise_sessions (updated_at DESC, session_id DESC);
CREATE INDEX stepwise_sessions_agent_updated_idx ON stepwise_sessions (agent_name, updated_at DESC, session_id DESC);
CREATE INDEX stepwise_sessions_status_updated_idx ON stepwise_sessions (status, updated_at DESC, session_id DESC);

CREATE TABLE stepwise_turns (
  session_id   text COLLATE "C" NOT NULL REFERENCES stepwise_sessions (session_id) ON DELETE CASCADE,
  turn         integer     NOT NULL,
  run          integer     NOT NULL,
  message_id   text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('completed', 'failed')),
  reply        text        NOT NULL,
  answer       jsonb,
  step_id      text        NOT NULL,
  flow_id      text,
  ended        boolean     NOT NULL,
  -- The seqs of this turn's events, in order (the events themselves live once in stepwise_events).
  event_seqs   integer[]   NOT NULL,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz NOT NULL,
  CONSTRAINT stepwise_turns_session_turn_key UNIQUE (session_id, turn)
);

CREATE TABLE stepwise_events (
  session_id  text COLLATE "C" NOT NULL REFERENCES stepwise_sessions (session_id) ON DELETE CASCADE,
  seq         integer NOT NULL,
  turn        integer NOT NULL,
  type        text    NOT NULL,
  event       jsonb   NOT NULL,
  CONSTRAINT stepwise_events_session_seq_key UNIQUE (session_id, seq)
);

-- Down Migration

DROP TABLE stepwise_events;
DROP TABLE stepwise_turns;
DROP TABLE stepwise_sessions;
