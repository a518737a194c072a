import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../activities/models/model.js';
import { ScriptedModel } from '../../activities/models/scripted.js';
import type { LlmConfig } from '../../src/config/agent.js';
import { failureOf } from '../support/failures.js';
import { sampleDecideRequest, sampleSummarizeRequest } from '../support/model-requests.js';

const SCRIPT = `
- action: TOOL_CALL
  tool_calls:
    - tool: lookup
      arguments: { q: tea }
- { action: RESPOND, response: "We sell green tea." }
- '{"action": "MOVE", "step_id": "checkout"}'
- "this is not json"
`;

describe('scripted model', () => {
  let dir: string;
  let script: string;
  let llm: LlmConfig;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepwise-scripted-'));
    script = join(dir, 'script.yaml');
    await writeFile(script, SCRIPT);
    llm = { provider: 'scripted', script };
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('returns the entry at decisionIndex, the same one when asked twice, and records requests', async () => {
    const model = createModel(llm) as ScriptedModel;
    expect(model).toBeInstanceOf(ScriptedModel);
    const second = await model.decide(sampleDecideRequest(llm, { decisionIndex: 1 }));
    expect(second.decision).toEqual({ action: 'RESPOND', response: 'We sell green tea.' });
    const again = await model.decide(sampleDecideRequest(llm, { decisionIndex: 1 }));
    expect(again.decision).toEqual(second.decision);
    const first = await model.decide(sampleDecideRequest(llm, { decisionIndex: 0 }));
    expect(first.decision).toEqual({ action: 'TOOL_CALL', tool_calls: [{ tool: 'lookup', arguments: { q: 'tea' } }] });
    expect(model.requests.map((r) => r.kind)).toEqual(['decide', 'decide', 'decide']);
    expect(model.decideRequests.map((r) => r.decisionIndex)).toEqual([1, 1, 0]);
  });

  it('returned decisions are copies: mutating one does not change the script', async () => {
    const model = new ScriptedModel(llm);
    const a = await model.decide(sampleDecideRequest(llm, { decisionIndex: 1 }));
    (a.decision as Record<string, unknown>).response = 'changed';
    const b = await model.decide(sampleDecideRequest(llm, { decisionIndex: 1 }));
    expect((b.decision as Record<string, unknown>).response).toBe('We sell green tea.');
  });

  it('parses string entries as raw model output; garbage → MODEL_OUTPUT_INVALID', async () => {
    const model = new ScriptedModel(llm);
    expect((await model.decide(sampleDecideRequest(llm, { decisionIndex: 2 }))).decision).toEqual({ action: 'MOVE', step_id: 'checkout' });
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm, { decisionIndex: 3 })));
    expect(f.type).toBe('MODEL_OUTPUT_INVALID');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('this is not json');
  });

  it('past the end → non-retryable SCRIPT_EXHAUSTED with a clear message', async () => {
    const model = new ScriptedModel(llm);
    const f = await failureOf(() => model.decide(sampleDecideRequest(llm, { decisionIndex: 4, sessionId: 's-42', stepId: 'start' })));
    expect(f.type).toBe('SCRIPT_EXHAUSTED');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe(`script ${script} has 4 decisions; decision #5 (decisionIndex 4) was asked for (session s-42, step start)`);
  });

  it('summarize is deterministic, extractive, clipped, and consumes no script entry', async () => {
    const model = new ScriptedModel(llm);
    const req = sampleSummarizeRequest(llm);
    const first = await model.summarize(req);
    const a = first.summary;
    expect(a).toBe('user: I want green tea.\nassistant: Added green tea to your cart.\nuser: Checkout please.');
    expect(first.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
    expect((await model.summarize(req)).summary).toBe(a);
    expect((await model.summarize({ ...req, maxChars: 12 })).summary.length).toBeLessThanOrEqual(12);
    expect((await model.summarize({ ...req, items: [] })).summary).toBe('The user asked about tea.');
    expect(model.summarizeRequests).toHaveLength(4);
    // The decision position is untouched: index 0 is still the first entry.
    expect((await model.decide(sampleDecideRequest(llm, { decisionIndex: 0 }))).decision).toMatchObject({ action: 'TOOL_CALL' });
  });

  it('re-reads the script when the file changes', async () => {
    const path = join(dir, 'changing.yaml');
    const cfg: LlmConfig = { provider: 'scripted', script: path };
    await writeFile(path, '- { action: END }\n');
    const model = new ScriptedModel(cfg);
    expect((await model.decide(sampleDecideRequest(cfg))).decision).toEqual({ action: 'END' });
    await writeFile(path, '- { action: RESPOND, response: changed }\n');
    const later = new Date(Date.now() + 5_000);
    await utimes(path, later, later);
    expect((await model.decide(sampleDecideRequest(cfg))).decision).toEqual({ action: 'RESPOND', response: 'changed' });
  });

  it('a missing file or a non-list script → non-retryable INVALID_CONFIG', async () => {
    const missing: LlmConfig = { provider: 'scripted', script: join(dir, 'nope.yaml') };
    const f = await failureOf(() => new ScriptedModel(missing).decide(sampleDecideRequest(missing)));
    expect(f.type).toBe('INVALID_CONFIG');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('nope.yaml');

    const mapPath = join(dir, 'map.yaml');
    await writeFile(mapPath, 'action: RESPOND\n');
    const map: LlmConfig = { provider: 'scripted', script: mapPath };
    const g = await failureOf(() => new ScriptedModel(map).decide(sampleDecideRequest(map)));
    expect(g.type).toBe('INVALID_CONFIG');
    expect(g.message).toContain('list');
  });
});
