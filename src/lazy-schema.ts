/**
 * {@link lazySchema}: a module-level zod schema built on first use instead of when its module loads.
 *
 * Why: Temporal's workflow sandbox evaluates every bundled module once per workflow it loads (the SDK's reusable V8
 * context shares only its own modules), so each session a worker caches used to build every schema of the engine and
 * the session contract (~15-20 ms of CPU and ~1 MB of heap per session, `npm run bench:workflow-init`), though a
 * workflow parses only a few of them (message payloads, carried state). Wrapped, a schema costs nothing until
 * something reads it; the API and the worker's activities build each one once per process, as before.
 *
 * Pure.
 */
import type { z } from 'zod';

/**
 * Schema kinds whose JSON Schema conversion (`z.toJSONSchema`, zod 4's `json-schema-processors.js`) looks the schema
 * itself up by identity: behind a stand-in that lookup misses (and throws), so {@link lazySchema} refuses them.
 */
const WRAPPER_TYPES = new Set(['optional', 'nullable', 'nonoptional', 'default', 'prefault', 'catch', 'pipe', 'readonly', 'promise', 'lazy']);

/**
 * Returns a stand-in for `build()`'s schema that builds it on first use (any property read, call of a method,
 * `instanceof`, `in`, ...) and forwards everything to it from then on; the same stand-in object every time, so schemas
 * that compose it (`z.object({ a: Lazy })`) and the type (`z.infer<typeof Lazy>`) are unchanged. `build` runs at most
 * once; it may read other lazy schemas (they build in turn). Not for schemas with registry metadata at the top
 * (`.meta()`, `.describe()`): registry lookups key on the object, and this one is the stand-in.
 *
 * @throws whatever `build` throws, on first use (a bug in the schema's definition; not retryable); an Error, on first
 *   use, when `build` returns a wrapper schema (`.optional()`, `.default()`, `.transform()`, ...: see WRAPPER_TYPES):
 *   wrap the schema inside it instead.
 */
export function lazySchema<T extends z.ZodType>(build: () => T): T {
  let schema: T | undefined;
  const real = (): T => {
    if (schema) return schema;
    const built = build();
    const type = built._zod.def.type;
    if (WRAPPER_TYPES.has(type)) throw new Error(`lazySchema cannot stand in for a ${type} schema (zod's JSON Schema output needs its identity)`);
    return (schema = built);
  };
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(real(), key),
    set: (_, key, value) => Reflect.set(real(), key, value),
    has: (_, key) => Reflect.has(real(), key),
    ownKeys: () => Reflect.ownKeys(real()),
    // Reported configurable: the stand-in target has no own properties, and a proxy may not report a non-configurable
    // property its target lacks (zod's `_zod` is non-configurable).
    getOwnPropertyDescriptor: (_, key) => {
      const d = Reflect.getOwnPropertyDescriptor(real(), key);
      return d && { ...d, configurable: true };
    },
    defineProperty: (_, key, descriptor) => Reflect.defineProperty(real(), key, descriptor),
    deleteProperty: (_, key) => Reflect.deleteProperty(real(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
}
