/**
 * Sessions started in this browser (localStorage), listed on the Sessions page when the server has no archive
 * (`GET /sessions` answers 503 ARCHIVE_UNAVAILABLE without `DATABASE_URL`).
 */
export interface RecentSession {
  sessionId: string;
  agentName: string;
  startedAt: string;
}

const KEY = 'stepwise:recent-sessions';
/** The user id last given on the start page (sent as `userId`, and as `approver` of approval decisions). */
export const USER_ID_KEY = 'stepwise:user-id';
/** Newest first, at most this many. */
export const MAX_RECENT = 50;

export function recentSessions(): RecentSession[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(parsed) ? (parsed as RecentSession[]) : [];
  } catch {
    return [];
  }
}

export function rememberSession(sessionId: string, agentName: string): void {
  const list = [{ sessionId, agentName, startedAt: new Date().toISOString() }, ...recentSessions().filter((s) => s.sessionId !== sessionId)];
  try {
    localStorage.setItem(KEY, JSON.stringify(list.slice(0, MAX_RECENT)));
  } catch {
    // storage disabled: nothing to remember
  }
}
