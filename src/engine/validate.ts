/**
 * Decision validation: the engine never trusts the prompt or the provider's schema enforcement.
 *
 * Pure.
 */
import type { AgentSnapshot } from '../config/agent.js';
import { getStep } from '../config/agent.js';
import { Decision, decisionSchemaFor, describeZodError } from './decision.js';

/**
 * Validates a raw decision: general shape first, then the step's rules with explicit messages (the engine never
 * trusts the prompt or the provider's schema enforcement), then the step's exact schema (answer model).
 */
export function validateDecision(
  agent: AgentSnapshot,
  stepId: string,
  raw: unknown,
  forceRespond: boolean,
  semantics = 1,
  onlyTool?: string,
): { ok: true; decision: Decision } | { ok: false; message: string } {
  const general = Decision.safeParse(raw);
  if (!general.success) return { ok: false, message: `invalid decision: ${describeZodError(general.error)}` };
  const d = general.data;
  const step = getStep(agent, stepId);
  if (forceRespond && d.action !== 'RESPOND') {
    return { ok: false, message: `only RESPOND is allowed now (decision limit reached), got ${d.action}` };
  }
  if (semantics >= 2 && step.autoFlow && d.action === 'RESPOND') {
    return { ok: false, message: `step ${step.id} is auto_flow: RESPOND is not allowed, only MOVE, TOOL_CALL or END` };
  }
  if (d.action === 'RESPOND' && d.suggestions !== undefined && !(semantics >= 2 && step.quickSuggestions)) {
    return { ok: false, message: `step ${step.id} has no quick_suggestions: leave out "suggestions"` };
  }
  if (d.action === 'TOOL_CALL') {
    for (const call of d.tool_calls) {
      if (onlyTool && call.tool !== onlyTool) {
        return { ok: false, message: `only ${onlyTool} may be called now (retry it with corrected arguments), got "${call.tool}"` };
      }
      if (!step.tools.includes(call.tool) || !agent.tools.some((t) => t.name === call.tool)) {
        return {
          ok: false,
          message: `tool "${call.tool}" is not available in step ${step.id} (available: ${step.tools.join(', ') || 'none'})`,
        };
      }
    }
  }
  if (d.action === 'MOVE' && !step.routes.some((r) => r.target === d.step_id)) {
    return {
      ok: false,
      message: `step "${d.step_id}" is not a route of step ${step.id} (routes: ${step.routes.map((r) => r.target).join(', ') || 'none'})`,
    };
  }
  const exact = decisionSchemaFor(agent, step, { forceRespond, semantics, ...(onlyTool ? { onlyTool } : {}) }).safeParse(raw);
  if (!exact.success) return { ok: false, message: `invalid ${d.action} decision: ${describeZodError(exact.error)}` };
  return { ok: true, decision: exact.data };
}
