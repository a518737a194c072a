/**
 * Token usage in the in-process backend (./local-sessions.ts): each successful provider call's usage summed into the
 * session's meter, as the session workflow sums it (src/engine/usage.ts).
 */
import type { AgentSnapshot } from '../src/config/agent.js';
import { callUsage, type UsageMeter } from '../src/engine/usage.js';
import type { TurnExecutors } from '../src/engine/driver.js';

/** The executors whose calls report usage (the in-process backend's `AgentExecutors` has them). */
type Calls = Pick<TurnExecutors, 'decide' | 'summarize' | 'rank'>;

/** `exec` with each successful provider call's usage summed into the session's meter (priced by the agent's table). */
export function counted<E extends Calls>(session: { agent: AgentSnapshot; usage: UsageMeter }, exec: E): E {
  const prices = session.agent.prices;
  const add = (report: { usage?: Parameters<typeof callUsage>[0]; model?: string }, model: string | undefined) =>
    session.usage.add(callUsage(report.usage, { prices, model, reportedModel: report.model }));
  return {
    ...exec,
    async decide(request) {
      const out = await exec.decide(request);
      if (out.type === 'decided') add(out, request.llm.model);
      return out;
    },
    async summarize(request) {
      const out = await exec.summarize(request);
      if (out.type === 'summarized') add(out, request.llm.summary?.model ?? request.llm.model);
      return out;
    },
    ...(exec.rank
      ? {
          async rank(request) {
            const out = await exec.rank!(request);
            if (out.type === 'ranked') add(out, request.llm.model);
            return out;
          },
        }
      : {}),
  };
}
