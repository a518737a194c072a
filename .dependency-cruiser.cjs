/**
 * The floors of the house (docs/architecture.md): each folder imports only from the floors below it, and nothing
 * imports in a circle. `npm test` runs these rules (test/unit/architecture.test.ts), so an import that climbs fails
 * CI with the rule's name and the offending arrow.
 *
 * Lowest to highest: src (pure) → workflows (deterministic sandbox) → activities (Node side effects) → archive
 * (stores) → runtime (process plumbing) → workers | api (the two process kinds, siblings) → cli.
 * `web/` (the browser app) may import only `src/`; `test/` and `bench/` may import anything.
 */
const FLOORS = [
  ['src', 'src'],
  ['workflows', 'workflows'],
  ['activities', 'activities'],
  ['archive', 'archive'],
  ['runtime', 'runtime'],
  ['workers', 'workers|api'],
  ['api', 'workers|api'],
  ['cli', 'cli'],
];
const ALL = FLOORS.map(([name]) => name);

/** `floor-<name>`: <name>/ may not import from any floor above it (nor from its sibling process kind). */
const floorRules = FLOORS.map(([name, level], i) => {
  const levelIndex = FLOORS.findIndex(([, l]) => l === level);
  const above = ALL.filter((other, j) => j > levelIndex && other !== name);
  const siblings = FLOORS.filter(([other, l]) => l === level && other !== name).map(([other]) => other);
  const forbidden = [...new Set([...above, ...siblings, 'test', 'bench', 'web'])];
  return {
    name: `floor-${name}`,
    comment: `${name}/ imports only from the floors below it (docs/architecture.md): not from ${forbidden.join(', ')}`,
    severity: 'error',
    from: { path: `^${name}/` },
    to: { path: `^(${forbidden.join('|')})/` },
  };
});

module.exports = {
  forbidden: [
    ...floorRules,
    {
      name: 'no-circular',
      comment: 'no import circles: split the shared part into a module both sides import',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-is-pure',
      comment: 'src/ is pure: no file, network or process I/O and no Temporal SDK (ids, clocks and files come in as inputs)',
      severity: 'error',
      from: { path: '^src/' },
      to: {
        path: '^(node:)?(fs|fs/promises|child_process|net|http|https|http2|module|worker_threads|dgram|cluster|os|readline)$|^@temporalio/|^(pg|fastify|openai|@anthropic-ai/sdk|@modelcontextprotocol/sdk)(/|$)',
      },
    },
    {
      name: 'workflows-are-deterministic',
      comment: "workflows/ runs in Temporal's sandbox: no Node built-ins and no Node-side SDKs (only @temporalio/workflow, @temporalio/common and pure packages)",
      severity: 'error',
      from: { path: '^workflows/' },
      to: {
        dependencyTypesNot: ['type-only'],
        path: '^(node:)?(fs|fs/promises|path|crypto|child_process|net|http|https|os|module|url|worker_threads)$|^@temporalio/(client|worker|activity)|^(pg|fastify|openai|@anthropic-ai/sdk)(/|$)',
      },
    },
    {
      name: 'web-imports-only-src',
      comment: 'web/ runs in the browser: it may import src/ (pure types and helpers) but no Node-side floor',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: `^(${ALL.filter((f) => f !== 'src').join('|')})/` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|web/dist|coverage|\\.stepwise)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
