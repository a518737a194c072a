/**
 * `stepwise init [dir]`: scaffolds a runnable agent — `config.agent.yaml` (steps, a flow, a tool, NOMOS field
 * names), `tools.ts` (a TypeScript tool module), `script.yaml` (a scripted model, so it runs offline at once),
 * `conversation.txt` (the user side of the scripted conversation), `tests.agent.yaml` (unit and scenario tests) and,
 * when absent, a `package.json` with `"type": "module"` — that `stepwise chat` and `stepwise test` run as is. Never
 * overwrites: refuses when any of the scaffold files exists. The commands it prints (and writes into the YAML
 * comments) run as printed: they name this CLI the way `npx` finds it from there, else by its path.
 */
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This CLI's executable (`bin/stepwise.js` of the package this file is in). */
const BIN = fileURLToPath(new URL('../bin/stepwise.js', import.meta.url));

/** The scaffold's files, by name. `{{name}}` is the agent name. */
const FILES: Record<string, string> = {
  'config.agent.yaml': `# {{name}}: an order-status agent. greet -> check_status (flow status_check) -> wrap_up -> END.
#
# Runs offline with a scripted model (script.yaml). For a real model replace \`llm:\`, e.g.
#   llm:
#     provider: openai
#     model: gpt-4o-mini        # key from OPENAI_API_KEY, never written here
#
# Try it:  {{stepwise}} chat config.agent.yaml < conversation.txt
# Test it: {{stepwise}} test tests.agent.yaml
name: {{name}}
persona: You are a friendly support agent for an online shop. Keep replies short.
start_step_id: greet

steps:
  - step_id: greet
    description: Greet the user and ask how you can help.
    quick_suggestions: true
    routes:
      - target: check_status
        condition: the user asks about an order
  - step_id: check_status
    description: Look the order up with lookup_order, then move to wrap_up.
    available_tools: [lookup_order]
    routes:
      - target: wrap_up
        condition: the order status is known
  - step_id: wrap_up
    description: Tell the user the status and ask if they need anything else. END when they are done.
    routes:
      - target: check_status
        condition: the user asks about another order

# Entered on arriving at check_status, exited on arriving at wrap_up (NOMOS flow rules).
flows:
  - flow_id: status_check
    enters: [check_status]
    exits: [wrap_up]

tools:
  tool_files: [./tools.ts]

llm:
  provider: scripted
  script: ./script.yaml
`,
  'tools.ts': `/**
 * Tools of {{name}}: each has a name, a description, JSON Schema (or zod) \`parameters\` and \`execute\`.
 * Whatever \`execute\` throws reaches the model as a tool error it can correct.
 */
const ORDERS: Record<string, string> = { A1: 'shipped', B2: 'being packed', C3: 'delivered' };

export const tools = [
  {
    name: 'lookup_order',
    description: 'Status of an order by its id (e.g. A1).',
    parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
    execute({ order_id }: { order_id: string }) {
      const status = ORDERS[order_id.toUpperCase()];
      if (!status) throw new Error(\`no order \${order_id}; known orders: \${Object.keys(ORDERS).join(', ')}\`);
      return { order_id: order_id.toUpperCase(), status };
    },
  },
];
`,
  'script.yaml': `# Scripted model: the decisions the "model" returns, in order, for the conversation in conversation.txt.
- action: RESPOND
  response: Hello! How can I help you today?
  suggestions: [Where is my order?, Talk to a human]
- action: MOVE
  step_id: check_status
- action: TOOL_CALL
  tool_calls:
    - tool: lookup_order
      arguments: { order_id: A1 }
- action: MOVE
  step_id: wrap_up
- action: RESPOND
  response: Order A1 has shipped. Anything else I can do?
- action: END
  response: Thanks for stopping by. Goodbye!
`,
  'conversation.txt': `hi
where is my order A1?
no, that's all
`,
  'tests.agent.yaml': `# Agent tests (NOMOS format): {{stepwise}} test tests.agent.yaml [--junit report.xml]
#
# \`expectation\` is judged by an LLM when \`llm:\` names a real provider, e.g.
#   llm:
#     provider: openai
#     model: gpt-4o-mini
# \`expect\` checks structure (action, step_id, flow_id, tool(s), reply_contains, ended) without any LLM;
# \`decisions\` scripts the agent's model for one case.
agent: ./config.agent.yaml

unit:
  greets_with_suggestions:
    input: hi
    expectation: Greets the user and offers help
    decisions:
      - action: RESPOND
        response: Hi! What can I do for you?
        suggestions: [Where is my order?]
    expect: { action: RESPOND, step_id: greet, reply_contains: what can i do }
  looks_up_an_order:
    context:
      current_step_id: check_status
      history:
        - role: user
          content: where is order B2?
    input: it's B2
    expectation: Tells the user that order B2 is being packed
    decisions:
      - action: TOOL_CALL
        tool_calls: [{ tool: lookup_order, arguments: { order_id: B2 } }]
      - action: MOVE
        step_id: wrap_up
      - action: RESPOND
        response: Order B2 is being packed.
    expect: { tool: lookup_order, step_id: wrap_up, flow_id: null, reply_contains: being packed }
  does_not_end_on_a_question:
    input: where is my order?
    invalid: true
    decisions:
      - action: MOVE
        step_id: check_status
      - action: RESPOND
        response: Which order id?
    expect: { ended: true }

e2e:
  order_status_conversation:
    scenario: A customer asks where order A1 is, then says goodbye.
    expectation: The agent looks the order up, says it shipped and ends politely.
    inputs: [hi, where is my order A1?, "no, that's all"]
    expect: { tools: [lookup_order], ended: true }
`,
};

export interface InitOptions {
  log?: (line: string) => void;
  error?: (line: string) => void;
}

/** Writes the scaffold into `dir` (created if missing). Resolves 0, or 1 when a scaffold file already exists there. */
export async function runInit(dir = '.', opts: InitOptions = {}): Promise<number> {
  const log = opts.log ?? ((l) => console.log(l));
  const error = opts.error ?? ((l) => console.error(l));
  const target = resolve(dir);
  const existing = Object.keys(FILES).filter((f) => existsSync(join(target, f)));
  if (existing.length > 0) {
    error(`not overwriting ${existing.join(', ')} in ${target}`);
    return 1;
  }
  const name = agentName(basename(target));
  mkdirSync(target, { recursive: true });
  const created = Object.keys(FILES);
  // tools.ts is imported as an ES module (Node 20 loads TypeScript in a CommonJS scope without the tsx transform).
  if (!existsSync(join(target, 'package.json'))) {
    writeFileSync(join(target, 'package.json'), `${JSON.stringify({ name, private: true, type: 'module' }, null, 2)}\n`);
    created.push('package.json');
  }
  const inTarget = cliCommand(target);
  for (const [file, text] of Object.entries(FILES)) {
    writeFileSync(join(target, file), text.replaceAll('{{name}}', name).replaceAll('{{stepwise}}', inTarget));
  }
  const here = cliCommand(process.cwd());
  const path = (file: string) => shellQuote(join(dir, file));
  log(`created agent "${name}" in ${target}: ${created.join(', ')}`);
  log(`  ${here} chat ${path('config.agent.yaml')} < ${path('conversation.txt')}`);
  log(`  ${here} test ${path('tests.agent.yaml')}`);
  return 0;
}

/**
 * The command line that runs this CLI from `fromDir`: `npx stepwise` when npx there finds this same CLI (the
 * `node_modules/.bin/stepwise` of the project npx uses: the nearest directory up from `fromDir` holding a
 * `package.json` or `node_modules`), else `node <path of bin/stepwise.js>` (relative when it is under `fromDir`).
 */
export function cliCommand(fromDir: string, bin = BIN): string {
  const project = projectRoot(resolve(fromDir));
  const local = project && join(project, 'node_modules', '.bin', 'stepwise');
  if (local && existsSync(local) && realpathSync(local) === realpathSync(bin)) return 'npx stepwise';
  const rel = relative(fromDir, bin);
  return `node ${shellQuote(rel.startsWith('..') || isAbsolute(rel) ? bin : rel)}`;
}

/** The directory npm treats as the project for `dir`: the nearest one up holding `package.json` or `node_modules`. */
function projectRoot(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) || existsSync(join(d, 'node_modules'))) return d;
    if (dirname(d) === d) return undefined;
  }
}

/** `arg` quoted for a POSIX shell when it holds anything but letters, digits and `_ - . / , : = @ +`. */
function shellQuote(arg: string): string {
  return /^[\w\-./,:=@+]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** An agent name (letters, digits, `_`, `-`, `.`) from a directory name; `my-agent` if nothing is left. */
function agentName(dirName: string): string {
  const name = dirName.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return name || 'my-agent';
}
