/**
 * Approval config: `tools.tool_defs.<tool>.requires_approval` / `approval: {timeout, on_timeout}` and step
 * `requires_approval` load into the snapshot (absent when unused, so older agents hash the same); bad values are
 * located problems.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentSnapshot, approvalPolicy, DEFAULT_APPROVAL_TIMEOUT_MS } from '../../src/config/agent.js';
import { loadAgent, validateAgentFile } from '../../runtime/agents/load.js';
import { testAgent } from '../support/agents.js';

const TOOLS = join(import.meta.dirname, '..', 'fixtures', 'config', 'tools', 'math-tools.mjs');

const DAY_MS = 24 * 60 * 60 * 1000;

function agentFile(tools: string, stepExtra = '', top = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-approval-config-'));
  copyFileSync(TOOLS, join(dir, 'math-tools.mjs'));
  writeFileSync(join(dir, 'script.yaml'), '[]\n');
  writeFileSync(
    join(dir, 'agent.yaml'),
    `name: approver
start_step_id: a
llm: { provider: scripted, script: script.yaml }
steps:
  - id: a
    tools: [add, now_map]
${stepExtra}${top}tools:
  tool_files: [./math-tools.mjs]
${tools}`,
  );
  return join(dir, 'agent.yaml');
}

describe('approval config', () => {
  it('loads requires_approval and approval {timeout, on_timeout} per tool, and a step-wide requires_approval', async () => {
    const { snapshot } = await loadAgent(
      agentFile(`  tool_defs:
    add: { requires_approval: true }
    now_map:
      approval: { timeout: 90m, on_timeout: allow }
`, '    requires_approval: true\n'),
    );
    expect(snapshot.approvals).toEqual({ add: { timeoutMs: DAY_MS, onTimeout: 'deny' }, now_map: { timeoutMs: 90 * 60_000, onTimeout: 'allow' } });
    expect(snapshot.steps[0]!.requiresApproval).toBe(true);
    expect(approvalPolicy(snapshot, 'a', 'now_map')).toEqual({ timeoutMs: 5_400_000, onTimeout: 'allow' });
  });

  it('leaves the snapshot unchanged for agents without approvals', async () => {
    const { snapshot } = await loadAgent(agentFile(''));
    expect('approvals' in snapshot).toBe(false);
    expect('requiresApproval' in snapshot.steps[0]!).toBe(false);
    expect(approvalPolicy(snapshot, 'a', 'add')).toBeUndefined();
  });

  it('applies the default timeout (24 h, deny) at load, to tool and step approvals alike', async () => {
    const { snapshot } = await loadAgent(
      agentFile(`  tool_defs:
    add: { requires_approval: true }
    now_map: { approval: { on_timeout: allow } }
`, '    requires_approval: true\n'),
    );
    expect(DEFAULT_APPROVAL_TIMEOUT_MS).toBe(DAY_MS);
    expect(snapshot.approvals).toEqual({ add: { timeoutMs: DAY_MS, onTimeout: 'deny' }, now_map: { timeoutMs: DAY_MS, onTimeout: 'allow' } });
    expect(snapshot.steps[0]!.approval).toEqual({ timeoutMs: DAY_MS, onTimeout: 'deny' });
    expect(approvalPolicy({ ...snapshot, approvals: {} }, 'a', 'add')).toEqual({ timeoutMs: DAY_MS, onTimeout: 'deny' });
  });

  it('session.approval_timeout sets the default; `never` (there or per tool) means no timeout', async () => {
    const tools = `  tool_defs:
    add: { requires_approval: true }
    now_map: { approval: { timeout: never } }
`;
    const tenMinutes = (await loadAgent(agentFile(tools, '    requires_approval: true\n', 'session: { approval_timeout: 10m }\n'))).snapshot;
    expect(tenMinutes.approvals).toEqual({ add: { timeoutMs: 600_000, onTimeout: 'deny' }, now_map: { onTimeout: 'deny' } });
    expect(tenMinutes.steps[0]!.approval).toEqual({ timeoutMs: 600_000, onTimeout: 'deny' });
    const never = (await loadAgent(agentFile(tools, '    requires_approval: true\n', 'session: { approval_timeout: never }\n'))).snapshot;
    expect(never.approvals).toEqual({ add: { onTimeout: 'deny' }, now_map: { onTimeout: 'deny' } });
    expect(never.steps[0]!.approval).toEqual({ onTimeout: 'deny' });
    expect(approvalPolicy(never, 'a', 'now_map')).toEqual({ onTimeout: 'deny' });
    const bad = await validateAgentFile(agentFile(tools, '', 'session: { approval_timeout: soon }\n'));
    expect(bad.issues.find((i) => i.path === 'session.approval_timeout')).toMatchObject({ severity: 'error', line: 7, message: expect.stringContaining('"soon"') });
  });

  it('a snapshot pinned before the default keeps waiting without a timeout (replays unchanged)', () => {
    const pinned = AgentSnapshot.parse({
      ...testAgent(),
      steps: testAgent().steps.map((s) => ({ ...s, requiresApproval: true })),
      approvals: { pay: { onTimeout: 'deny' } },
    });
    expect(approvalPolicy(pinned, 'greet', 'pay')).toEqual({ onTimeout: 'deny' });
    expect(approvalPolicy(pinned, 'greet', 'add_item')).toEqual({ onTimeout: 'deny' });
  });

  it('reports an invalid timeout, an unknown on_timeout and a contradiction, at their keys', async () => {
    const bad = await validateAgentFile(agentFile(`  tool_defs:\n    add:\n      approval: { timeout: soon }\n`));
    expect(bad.issues.find((i) => i.path === 'tools.tool_defs.add.approval.timeout')?.message).toContain('"soon"');
    const unknown = await validateAgentFile(agentFile(`  tool_defs:\n    now_map:\n      approval: { on_timeout: maybe }\n`));
    expect(unknown.issues.filter((i) => i.path === 'tools.tool_defs.now_map.approval.on_timeout')).toHaveLength(1);
    const contradiction = await validateAgentFile(agentFile(`  tool_defs:\n    add: { requires_approval: false, approval: { timeout: 1h } }\n`));
    expect(contradiction.issues.find((i) => i.path === 'tools.tool_defs.add.requires_approval')?.message).toContain('contradicts');
  });
});
