-- Time travel (docs/time-travel.md): per-turn state snapshots, forks, and superseded turns kept as branches.
-- Snapshots are `text`, not jsonb: jsonb reorders keys, and a snapshot is the exact JSON the session held.
-- Superseded turns leave stepwise_turns / stepwise_events (whose keys stay (session, turn) and (session, seq)) for
-- stepwise_branch_turns, one row per turn with its events, so live reads are unchanged and nothing is deleted.

-- Up Migration

ALTER TABLE stepwise_sessions ADD COLUMN parent_session_id text, ADD COLUMN forked_at_turn integer;
ALTER TABLE stepwise_turns ADD COLUMN run_id text;

CREATE TABLE stepwise_turn_states (
  session_id  text COLLATE "C" NOT NULL REFERENCES stepwise_sessions (session_id) ON DELETE CASCADE,
  turn        integer NOT NULL,
  state       text    NOT NULL,
  PRIMARY KEY (session_id, turn)
);

CREATE TABLE stepwise_branches (
  session_id     text COLLATE "C" NOT NULL REFERENCES stepwise_sessions (session_id) ON DELETE CASCADE,
  branch         text COLLATE "C" NOT NULL,
  -- The turn the session went back to: the branch holds the superseded turns after it.
  from_turn      integer     NOT NULL,
  reason         text        NOT NULL CHECK (reason IN ('rewind', 'reset')),
  superseded_at  timestamptz NOT NULL,
  PRIMARY KEY (session_id, branch)
);

CREATE TABLE stepwise_branch_turns (
  session_id  text COLLATE "C" NOT NULL,
  branch      text COLLATE "C" NOT NULL,
  turn        integer NOT NULL,
  -- The archived turn as reads return it (archive/store.ts ArchivedTurn, events included).
  turn_row    jsonb   NOT NULL,
  state       text,
  PRIMARY KEY (session_id, branch, turn),
  FOREIGN KEY (session_id, branch) REFERENCES stepwise_branches (session_id, branch) ON DELETE CASCADE
);

-- Down Migration

DROP TABLE stepwise_branch_turns;
DROP TABLE stepwise_branches;
DROP TABLE stepwise_turn_states;
ALTER TABLE stepwise_turns DROP COLUMN run_id;
ALTER TABLE stepwise_sessions DROP COLUMN forked_at_turn, DROP COLUMN parent_session_id;
