/**
 * Tool calls waiting for a human decision, with Approve / Deny buttons (`POST /sessions/:id/approvals/:callId`).
 * A decision shows up as an `approval_decided` event, which removes the item; a 409 (decided elsewhere, or the
 * session ended) is shown and the item stays until the event arrives.
 */
import { useState } from 'preact/hooks';
import { api, type ApiError, type PendingApproval } from '../api.js';
import { USER_ID_KEY } from '../recent.js';
import { DataView } from './DataView.js';

export function Approvals({ sessionId, pending, canDecide }: { sessionId: string; pending: PendingApproval[]; canDecide: boolean }) {
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  if (pending.length === 0) return null;

  const decide = async (callId: string, decision: 'approve' | 'deny') => {
    setBusy((b) => ({ ...b, [callId]: true }));
    setErrors((e) => ({ ...e, [callId]: '' }));
    try {
      await api.decide(sessionId, callId, decision, localStorage.getItem(USER_ID_KEY) ?? undefined);
    } catch (err) {
      setErrors((e) => ({ ...e, [callId]: (err as ApiError).message }));
      setBusy((b) => ({ ...b, [callId]: false }));
    }
  };

  return (
    <section class="approvals" aria-labelledby="approvals-title">
      <h2 id="approvals-title">Waiting for approval</h2>
      <ul>
        {pending.map((p) => (
          <li key={p.callId} class="approval card" data-call-id={p.callId}>
            <p>
              The agent wants to call <strong>{p.tool}</strong>
              {p.timeoutAt && <> (decide before {new Date(p.timeoutAt).toLocaleTimeString()})</>}
            </p>
            <DataView value={p.arguments} />
            {canDecide && (
              <div class="row">
                <button type="button" disabled={busy[p.callId]} onClick={() => decide(p.callId, 'approve')} aria-label={`Approve ${p.tool} call ${p.callId}`}>
                  Approve
                </button>
                <button type="button" class="secondary" disabled={busy[p.callId]} onClick={() => decide(p.callId, 'deny')} aria-label={`Deny ${p.tool} call ${p.callId}`}>
                  Deny
                </button>
              </div>
            )}
            {errors[p.callId] && (
              <p role="alert" class="error">
                {errors[p.callId]}
              </p>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
