/** Start a chat: pick an agent, optionally let it speak first, then go to the conversation. */
import { useEffect, useState } from 'preact/hooks';
import { type AgentSummary, api, ApiError } from '../api.js';
import { rememberSession, USER_ID_KEY } from '../recent.js';
import { navigate, paths } from '../router.js';

export function StartPage() {
  const [agents, setAgents] = useState<AgentSummary[] | undefined>();
  const [agentId, setAgentId] = useState('');
  const [initiate, setInitiate] = useState(false);
  const [userId, setUserId] = useState(() => localStorage.getItem(USER_ID_KEY) ?? '');
  const [error, setError] = useState<string | undefined>();
  const [starting, setStarting] = useState(false);

  useEffect(() => {
    api.agents().then(
      (list) => {
        setAgents(list);
        if (list[0]) setAgentId(list[0].name);
      },
      (err: ApiError) => setError(err.message),
    );
  }, []);

  const start = async (e: Event) => {
    e.preventDefault();
    if (!agentId || starting) return;
    setStarting(true);
    setError(undefined);
    try {
      const user = userId.trim();
      if (user) localStorage.setItem(USER_ID_KEY, user);
      const started = await api.startSession({ agentId, ...(initiate ? { initiate: true } : {}), ...(user ? { userId: user } : {}) });
      rememberSession(started.sessionId, agentId);
      navigate(paths.chat(started.sessionId));
    } catch (err) {
      const e = err as ApiError;
      setError(initiate && e.code === 'INVALID_REQUEST' ? `This server does not support "agent speaks first" yet (${e.message}).` : e.message);
      setStarting(false);
    }
  };

  return (
    <section class="page narrow">
      <h1 tabIndex={-1}>Start a conversation</h1>
      <form onSubmit={start} class="card stack">
        <label for="agent">Agent</label>
        <select id="agent" value={agentId} onChange={(e) => setAgentId((e.target as HTMLSelectElement).value)} disabled={!agents}>
          {agents?.map((a) => (
            <option key={a.name} value={a.name}>
              {a.name}
            </option>
          ))}
        </select>
        {agents && agents.length === 0 && <p>No agents are loaded (STEPWISE_AGENTS).</p>}
        <label for="user">Your user id (optional)</label>
        <input id="user" type="text" maxLength={128} autoComplete="username" value={userId} onInput={(e) => setUserId((e.target as HTMLInputElement).value)} />
        <label class="check">
          <input type="checkbox" checked={initiate} onChange={(e) => setInitiate((e.target as HTMLInputElement).checked)} />
          Let the agent speak first
        </label>
        <button type="submit" disabled={!agentId || starting}>
          {starting ? 'Starting…' : 'Start chat'}
        </button>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
