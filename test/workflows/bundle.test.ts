import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../../workers/workflows-path.js';

describe('workflow bundle', () => {
  it('bundles for the Temporal sandbox (no Node-only modules, no sandbox violations)', async () => {
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: undefined });
    expect(code).toContain('sessionWorkflow');
    // The bundle must not pull activity implementations or Node built-ins into the sandbox.
    expect(code).not.toMatch(/require\(["']node:/);
    expect(code).not.toContain('@anthropic-ai/sdk');
    expect(code).not.toContain('openai/resources');
  }, 120_000);
});
