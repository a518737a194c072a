/**
 * `llm.api_type` (issue 23): kept in the snapshot for `openai` / `azure`, a located load error on any other provider.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgent, validateAgentFile } from '../../runtime/agents/load.js';

function agentFile(llm: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-api-type-'));
  const file = join(dir, 'mini.agent.yaml');
  writeFileSync(file, `name: mini\nstart_step_id: a\nllm:\n${llm}steps:\n  - id: a\n`);
  return file;
}

describe('llm.api_type', () => {
  it.each(['openai', 'azure'])('%s: api_type responses reaches the snapshot as apiType', async (provider) => {
    const file = agentFile(`  provider: ${provider}\n  model: gpt-test\n  api_type: responses\n`);
    const { snapshot } = await loadAgent(file, { env: {} });
    expect(snapshot.llms.global).toMatchObject({ provider, model: 'gpt-test', apiType: 'responses' });
  });

  it('unset stays unset (the worker decides: LLM_API_TYPE, else chat_completions)', async () => {
    const { snapshot } = await loadAgent(agentFile('  provider: openai\n  model: gpt-test\n'), { env: {} });
    expect(snapshot.llms.global).not.toHaveProperty('apiType');
  });

  it('on another provider it is an error at llm.api_type with file and line', async () => {
    const file = agentFile('  provider: mistral\n  model: mistral-small\n  api_type: responses\n');
    const { snapshot, issues } = await validateAgentFile(file);
    expect(snapshot).toBeUndefined();
    const issue = issues.find((i) => i.path === 'llm.api_type');
    expect(issue).toMatchObject({ file, line: 6, severity: 'error' });
    expect(issue!.message).toContain('api_type is for openai and azure only');
  });

  it('an unknown value is an error at llm.api_type', async () => {
    const file = agentFile('  provider: openai\n  model: gpt-test\n  api_type: assistants\n');
    const { issues } = await validateAgentFile(file);
    expect(issues.find((i) => i.path === 'llm.api_type')).toMatchObject({ file, line: 6, severity: 'error' });
  });
});
