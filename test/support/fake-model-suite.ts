/**
 * Vitest hooks around {@link startFakeModelServer} for one `describe` block: the server starts before its tests,
 * closes after them, and is {@link FakeModelServer.reset} before each (so each test sees only its own requests).
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from './fake-model-server.js';

/** Registers the hooks; `server` is readable from the first test on (throws before `beforeAll` ran). */
export function useFakeModelServer(): { readonly server: FakeModelServer } {
  let started: FakeModelServer | undefined;
  beforeAll(async () => {
    started = await startFakeModelServer();
  });
  afterAll(() => started?.close());
  beforeEach(() => started?.reset());
  return {
    get server(): FakeModelServer {
      if (!started) throw new Error('useFakeModelServer: the server is not started yet (read it inside a test or hook)');
      return started;
    },
  };
}
