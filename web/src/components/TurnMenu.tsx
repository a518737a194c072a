/**
 * A turn's time-travel menu in the inspector (docs/time-travel.md): fork from here (a new session with the state
 * after this turn, opened in the chat), rewind to here (this session goes back; the later turns are kept in the
 * archive as a branch), regenerate (the last turn runs again). A turn whose tools ran is marked: rewinding or forking
 * does not undo what they did.
 */
import { useState } from 'preact/hooks';
import { api, type SessionEvent } from '../api.js';
import { navigate, paths } from '../router.js';

export interface TurnMenuProps {
  sessionId: string;
  turn: number;
  /** The session's newest turn (regenerate instead of rewind). */
  last: boolean;
  /** Ended sessions can be forked, not rewound. */
  ended: boolean;
}

/** Tool calls of a turn's events: they may have had side effects. */
export function toolCallsOf(events: readonly SessionEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'tool_call' ? [e.tool] : []));
}

export function TurnMenu({ sessionId, turn, last, ended }: TurnMenuProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="turn-menu" role="group" aria-label={`Turn ${turn} time travel`}>
      <button
        type="button"
        disabled={busy}
        onClick={() =>
          run(async () => {
            const fork = await api.fork(sessionId, turn);
            navigate(paths.chat(fork.sessionId));
          })
        }
      >
        Fork from here
      </button>
      {!ended && !last && (
        <button type="button" disabled={busy} onClick={() => run(async () => void (await api.rewind(sessionId, turn)))}>
          Rewind to here
        </button>
      )}
      {!ended && last && (
        <button type="button" disabled={busy} onClick={() => run(async () => void (await api.regenerate(sessionId)))}>
          Regenerate
        </button>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </div>
  );
}
