/**
 * Archived sessions (`GET /sessions`), newest activity first, filtered by agent, status and user; each opens
 * read-only. Without an archive (503 ARCHIVE_UNAVAILABLE) it lists the sessions started in this browser instead, and
 * the filters, which only the archive can answer, are disabled with a note saying why.
 */
import { useEffect, useState } from 'preact/hooks';
import { type AgentSummary, api, type ApiError, type SessionFilter, type SessionRow } from '../api.js';
import { recentSessions } from '../recent.js';
import { navigate, paths, useLocation } from '../router.js';

const STATUSES = ['active', 'ended', 'failed'];

function filterFromSearch(search: string): SessionFilter {
  const q = new URLSearchParams(search);
  return { agentId: q.get('agentId') ?? '', status: q.get('status') ?? '', userId: q.get('userId') ?? '' };
}

export function SessionsPage() {
  const { search } = useLocation();
  const filter = filterFromSearch(search);
  const [agents, setAgents] = useState<AgentSummary[]>([]);
  const [rows, setRows] = useState<SessionRow[] | undefined>();
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [draft, setDraft] = useState(filter);

  useEffect(() => {
    api.agents().then(setAgents, () => undefined);
  }, []);
  useEffect(() => {
    setDraft(filter);
    setRows(undefined);
    setError(undefined);
    api.list({ ...filter, limit: 20 }).then(
      (page) => {
        setRows(page.sessions);
        setNext(page.nextCursor);
      },
      (err: ApiError) => setError(err),
    );
  }, [search]);

  const more = async () => {
    if (!next) return;
    try {
      const page = await api.list({ ...filter, limit: 20, cursor: next });
      setRows((r) => [...(r ?? []), ...page.sessions]);
      setNext(page.nextCursor);
    } catch (err) {
      setError(err as ApiError);
    }
  };

  const apply = (e: Event) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(draft)) if (v) q.set(k, String(v));
    navigate(`${paths.sessions()}${q.size ? `?${q}` : ''}`);
  };
  // Filtering is a query on the archive: without one the controls could only fail again.
  const noArchive = error?.code === 'ARCHIVE_UNAVAILABLE';
  const field = (key: keyof SessionFilter) => ({
    disabled: noArchive,
    value: String(draft[key] ?? ''),
    onInput: (e: Event) => setDraft({ ...draft, [key]: (e.target as HTMLInputElement).value }),
  });

  return (
    <section class="page">
      <h1 tabIndex={-1}>Sessions</h1>
      <form class="filters card" onSubmit={apply} aria-label="Filter sessions" aria-describedby={noArchive ? 'filters-off' : undefined}>
        <div class="field">
        <label for="f-agent">Agent</label>
        <select id="f-agent" {...field('agentId')} onChange={field('agentId').onInput}>
            <option value="">any</option>
            {agents.map((a) => (
              <option key={a.name} value={a.name}>
                {a.name}
              </option>
            ))}
        </select>
        </div>
        <div class="field">
        <label for="f-status">Status</label>
        <select id="f-status" {...field('status')} onChange={field('status').onInput}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
        </select>
        </div>
        <div class="field">
        <label for="f-user">User</label>
        <input id="f-user" type="text" placeholder="user id" {...field('userId')} />
        </div>
        <button type="submit" disabled={noArchive}>
          Filter
        </button>
        {noArchive && (
          <p id="filters-off" class="muted">
            Filtering by agent, status and user needs the session archive, which this server does not keep.
          </p>
        )}
      </form>
      {error?.code === 'ARCHIVE_UNAVAILABLE' ? (
        <RecentOnly message={error.message} />
      ) : error ? (
        <p role="alert" class="error">
          {error.message}
        </p>
      ) : !rows ? (
        <p role="status">Loading…</p>
      ) : rows.length === 0 ? (
        <p role="status">No sessions match.</p>
      ) : (
        <>
          <div class="table-wrap">
            <table class="sessions">
              <caption class="sr-only">Sessions, newest activity first</caption>
              <thead>
                <tr>
                  <th scope="col">Session</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Status</th>
                  <th scope="col">Step</th>
                  <th scope="col">Turns</th>
                  <th scope="col">User</th>
                  <th scope="col">Last activity</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.sessionId}>
                    <td>
                      <a href={paths.session(r.sessionId)}>{r.name ?? r.sessionId}</a>
                    </td>
                    <td>{r.agentName}</td>
                    <td>
                      <span class={`badge badge-${r.status}`}>{r.status}</span>
                    </td>
                    <td>{r.stepId ?? ''}</td>
                    <td>{r.turnCount}</td>
                    <td>{r.userId ?? ''}</td>
                    <td>
                      <time dateTime={r.updatedAt}>{new Date(r.updatedAt).toLocaleString()}</time>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {next && (
            <button type="button" class="secondary" onClick={more}>
              Load more
            </button>
          )}
        </>
      )}
    </section>
  );
}

function RecentOnly({ message }: { message: string }) {
  const recent = recentSessions();
  return (
    <div>
      <p class="notice" role="status">
        The server keeps no session archive ({message}); set <code>DATABASE_URL</code> to list every session. Sessions
        started in this browser:
      </p>
      {recent.length === 0 ? (
        <p>None yet.</p>
      ) : (
        <ul class="recent">
          {recent.map((s) => (
            <li key={s.sessionId}>
              <a href={paths.session(s.sessionId)}>{s.sessionId}</a> <span class="muted">{s.agentName}, {new Date(s.startedAt).toLocaleString()}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
