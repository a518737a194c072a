/**
 * Summarises V8 CPU profiles (`.cpuprofile`, e.g. from `npm run bench:scale -- --profile DIR`): self time by
 * function and by package or source folder, heaviest first. Usage: `tsx bench/scale/profile.ts DIR [--top N]`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/<pkg>` (scoped too), a source folder of this repo, `node:` internals, or the V8 bucket name. */
export function bucketOf(url: string, functionName: string): string {
  if (!url) return `(${functionName || 'anonymous'})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const src = /\/work\/[^/]+\/([^/]+\/(?:[^/]+\/)?)/.exec(url) ?? /((?:src|workflows|activities|archive|runtime|workers|api|cli)\/[^/]*)/.exec(url);
  return src ? src[1]! : url.slice(-60);
}

function summarise(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fns = new Map<string, number>();
  const buckets = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: f } = byId.get(id)!;
    total += us;
    const fn = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|work\/[^/]+)\//, '')}:${f.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    const b = bucketOf(f.url, f.functionName);
    buckets.set(b, (buckets.get(b) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  console.log(`\n${file}: ${(total / 1000).toFixed(0)} ms sampled over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`);
  console.log('by package or folder:', ...rows(buckets).map((r) => `\n${r}`));
  console.log('by function:', ...rows(fns).map((r) => `\n${r}`));
}

const [dir, ...rest] = process.argv.slice(2);
if (!dir) throw new Error('usage: tsx bench/scale/profile.ts DIR [--top N]');
const top = rest[0] === '--top' ? Number(rest[1]) : 20;
for (const f of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) summarise(join(dir, f), top);
