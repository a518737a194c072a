/**
 * A namespace where Stepwise's search attributes are not registered (a real cluster nobody set up): the worker says so
 * once and runs, the API starts sessions without them, and sessions work.
 */
import { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { missingSearchAttributes } from '../../runtime/search-attributes.js';
import { createSessionWorker } from '../../workers/worker.js';
import { agentSearchAttribute, sessionWorkflowId } from '../../workflows/shared.js';
import { responses, writeAgent } from '../support/int-agent.js';
import { connectTemporal } from '../support/temporal.js';

describe('a namespace without Stepwise search attributes', () => {
  let env: TestWorkflowEnvironment;
  const namespace = `bare-${Date.now().toString(36)}`;

  beforeAll(async () => {
    env = await connectTemporal();
    await env.client.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    // A new namespace reaches every service after the namespace cache refreshes (seconds).
    for (let i = 0; ; i++) {
      try {
        await env.client.workflowService.describeNamespace({ namespace });
        await env.client.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
        break;
      } catch (err) {
        if (i > 150) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('runs sessions without them and says so once at worker start', async () => {
    expect(await missingSearchAttributes(env.client.connection.operatorService, namespace)).toEqual(['StepwiseAgent', 'StepwiseStep', 'StepwiseStatus']);
    const agent = await writeAgent('bare', responses(2));
    const taskQueue = `stepwise-int-bare-${process.pid}`;
    const notices: string[] = [];
    const worker = await createSessionWorker({
      connection: env.nativeConnection,
      namespace,
      taskQueue,
      agents: [agent],
      models: new ModelCache(),
      log: (line) => notices.push(line),
    });
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('StepwiseAgent, StepwiseStep, StepwiseStatus are not registered');
    expect(notices[0]).toContain(`temporal operator search-attribute create --namespace ${namespace} --name StepwiseAgent --type Keyword`);

    const client = new Client({ connection: env.client.connection, namespace });
    const sessions = new TemporalSessions({ client, taskQueue });
    await worker.runUntil(async () => {
      // Namespace propagation can lag behind describeNamespace: retry the start briefly.
      for (let i = 0; ; i++) {
        try {
          await sessions.start(agent.snapshot, 'bare-1');
          break;
        } catch (err) {
          if (i > 50) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      expect((await sessions.send('bare-1', { messageId: 'm1', text: 'hello' })).reply).toBe('reply 0');
      expect((await sessions.send('bare-1', { messageId: 'm2', text: 'again' })).reply).toBe('reply 1');
      const description = await client.workflow.getHandle(sessionWorkflowId('bare-1')).describe();
      expect(description.typedSearchAttributes.get(agentSearchAttribute)).toBeUndefined();
    });
  });
});
