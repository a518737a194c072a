/**
 * Agents for the integration suite, written to a temp dir as a user would (YAML + script + tool module) and loaded
 * through the real config loader. Two steps (`chat` -> `work` -> `chat`), flow `working` around `work`, tools `slow`
 * (waits `ms`, honours cancellation), `echo`, `fail` (always throws) and `add_item` (answers `{added: item}`, for
 * the NOMOS client conformance agent, test/support/nomos-client.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadAgent, type LoadedAgent } from '../../runtime/agents/load.js';

/** Tool module source. When `STEPWISE_TOOL_LOG` is set, each tool execution appends `<tool> <callId>` to it. */
const TOOLS = `import { appendFileSync } from 'node:fs';
const note = (tool, ctx) => { if (process.env.STEPWISE_TOOL_LOG) appendFileSync(process.env.STEPWISE_TOOL_LOG, tool + ' ' + (ctx.callId ?? '') + '\\n'); };
export const tools = [
  { name: 'slow', description: 'waits', parameters: { type: 'object', properties: { ms: { type: 'integer' } }, required: ['ms'] },
    async execute({ ms }, ctx) { note('slow', ctx); await new Promise((r, j) => { const t = setTimeout(r, ms); ctx.signal?.addEventListener('abort', () => { clearTimeout(t); j(new Error('aborted')); }); }); return { waited: ms }; } },
  { name: 'echo', description: 'echoes', parameters: { type: 'object', properties: { text: { type: 'string' } } },
    execute({ text }, ctx) { note('echo', ctx); return { echo: text }; } },
  { name: 'fail', description: 'always fails', parameters: { type: 'object', properties: {} },
    execute() { throw new Error('the fail tool failed, as it always does'); } },
  { name: 'add_item', description: 'Add an item', parameters: { type: 'object', properties: { item: { type: 'string' } } },
    execute({ item }) { return { added: item }; } },
];
`;

/**
 * Writes and loads an agent named `name` whose scripted model plays `script` (one entry per decision, in order).
 * @returns the loaded agent; `dir` holds `agent.yaml` for processes that load it themselves.
 */
export async function writeAgent(
  name: string,
  script: unknown[],
  session: Record<string, unknown> = {},
  /** Top-level YAML keys replacing the defaults below (e.g. `tools` with `tool_defs`, `llm`). */
  overrides: Record<string, unknown> = {},
): Promise<LoadedAgent & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), `stepwise-int-${name}-`));
  writeFileSync(join(dir, 'script.yaml'), stringify(script));
  writeFileSync(join(dir, 'tools.mjs'), TOOLS);
  writeFileSync(
    join(dir, 'agent.yaml'),
    stringify({
      name,
      persona: 'Integration test agent',
      start_step_id: 'chat',
      steps: [
        { step_id: 'chat', description: 'chat', routes: [{ target: 'work', condition: 'work' }], available_tools: ['echo'] },
        { step_id: 'work', description: 'work', routes: [{ target: 'chat', condition: 'done' }], available_tools: ['slow', 'echo', 'fail'] },
      ],
      // NOMOS flow rules: entered on arriving at `work`, exited on arriving back at `chat`.
      flows: [{ flow_id: 'working', enters: ['work'], exits: ['chat'] }],
      llm: { provider: 'scripted', script: './script.yaml' },
      tools: { tool_files: ['./tools.mjs'] },
      session,
      ...overrides,
    }),
  );
  return { ...(await loadAgent(join(dir, 'agent.yaml'))), dir };
}

/** `n` RESPOND decisions replying `reply <i>`. */
export function responses(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => ({ action: 'RESPOND', response: `reply ${i}` }));
}
