/**
 * The documentation holds together: every relative link in README.md and docs/*.md names a file that exists, and a
 * link into a Markdown file names a heading there (GitHub's anchor slugs); the docs index (docs/README.md) links every
 * page; no heading appears twice across README and docs; and the README/docs anchors that source code puts in its
 * messages exist.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = join(ROOT, 'docs');
/** Folders scanned for `README.md#...` / `docs/x.md#...` in source (symlinked folders such as node_modules are skipped). */
const SOURCE_SKIP = new Set(['node_modules', '.git', '.stepwise', 'dist', 'test', 'docs']);

/** Markdown without fenced code blocks and inline code spans, which hold neither links nor headings. */
function prose(markdown: string): string {
  return markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]+`/g, 'code');
}

/** GitHub's anchor for a heading (github-slugger): lower case, punctuation dropped, each space a hyphen. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The texts of a document's headings (ATX `#` headings outside code blocks), in order. */
export function headings(markdown: string): string[] {
  const withoutFences = markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  return [...withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)].map((m) => m[1]!.replace(/`/g, ''));
}

/** The anchors a document's headings get, with GitHub's `-1`, `-2` suffixes for repeats. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of headings(markdown)) {
    const base = slug(h);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every inline link and image target of a document (outside code). */
export function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/**
 * The broken links of `file` (absolute path) whose text is `markdown`: a relative target that does not exist, or an
 * `#anchor` that no heading of the target Markdown file (or of this file, for `#anchor` alone) makes.
 */
export function brokenLinks(file: string, markdown: string, read: (path: string) => string | undefined): string[] {
  const broken: string[] = [];
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
    const [pathPart = '', anchor] = target.split('#', 2) as [string, string | undefined];
    const path = pathPart === '' ? file : resolve(dirname(file), decodeURI(pathPart));
    const text = path === file ? markdown : read(path);
    if (text === undefined) {
      broken.push(`${target}: no such file`);
      continue;
    }
    if (anchor && extname(path) === '.md' && !anchors(text).has(anchor)) broken.push(`${target}: no such heading`);
  }
  return broken;
}

function readIfExists(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  return lstatSync(path).isDirectory() ? '' : readFileSync(path, 'utf8');
}

const docFiles = [join(ROOT, 'README.md'), ...readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => join(DOCS, f))];

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isSymbolicLink() || SOURCE_SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (/\.(ts|tsx|js|mjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

describe('documentation links', () => {
  it('finds README.md and the docs pages', () => {
    expect(existsSync(docFiles[0]!)).toBe(true);
    expect(docFiles.length).toBeGreaterThan(5);
  });

  it.each(docFiles.map((f) => [relative(ROOT, f), f]))('%s: every relative link resolves', (_name, file) => {
    expect(brokenLinks(file, readFileSync(file, 'utf8'), readIfExists)).toEqual([]);
  });

  it('docs/README.md links every docs page, and README.md links docs/README.md', () => {
    const index = readFileSync(join(DOCS, 'README.md'), 'utf8');
    const linked = new Set(linkTargets(index).map((t) => resolve(DOCS, t.split('#')[0]!)));
    const pages = docFiles.filter((f) => dirname(f) === DOCS && !f.endsWith('/README.md'));
    expect(pages.filter((f) => !linked.has(f)).map((f) => relative(ROOT, f))).toEqual([]);
    expect(linkTargets(readFileSync(docFiles[0]!, 'utf8')).some((t) => t.startsWith('docs/README.md'))).toBe(true);
  });

  it('every source path the docs name in code spans exists (paths go stale when files move)', () => {
    const TOP = new Set(readdirSync(ROOT, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name));
    const stale: string[] = [];
    for (const file of docFiles) {
      for (const m of readFileSync(file, 'utf8').matchAll(/`([A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.*-]+)+\.(?:ts|tsx|mjs|cjs|js|json|yaml|yml|sql|md))(?::\d+)?`/g)) {
        const path = m[1]!;
        if (!TOP.has(path.split('/')[0]!) || path.includes('*')) continue;
        if (!existsSync(join(ROOT, path))) stale.push(`${relative(ROOT, file)}: ${path}`);
      }
    }
    expect(stale).toEqual([]);
  });

  it('no heading appears twice across README and docs', () => {
    const where = new Map<string, string[]>();
    for (const file of docFiles) {
      for (const h of headings(readFileSync(file, 'utf8'))) {
        const key = slug(h);
        where.set(key, [...(where.get(key) ?? []), `${relative(ROOT, file)}: ${h}`]);
      }
    }
    expect([...where.values()].filter((places) => places.length > 1)).toEqual([]);
  });

  it('every README/docs anchor named in source code exists', () => {
    const refs: string[] = [];
    for (const file of sourceFiles(ROOT)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\b((?:docs\/)?[\w-]+\.md)#([\w-]+)/g)) {
        const target = join(ROOT, m[1]!);
        const text = readIfExists(target);
        if (text === undefined || !anchors(text).has(m[2]!)) refs.push(`${relative(ROOT, file)}: ${m[0]}`);
      }
    }
    expect(refs).toEqual([]);
  });

  it('reports a missing file, a missing heading and a missing anchor in another page (the check can fail)', () => {
    const file = join(ROOT, 'README.md');
    const sample = [
      '# Title',
      '[ok](#title) [ok too](docs/README.md) [missing file](docs/no-such-page.md) [bad anchor](#nowhere)',
      '![missing picture](docs/screenshots/none.png) [ok](https://example.com/x.md#y) `[not a link](nope.md)`',
      '```md',
      '[inside a code block](nope.md)',
      '```',
    ].join('\n');
    const pages = (path: string) => (path === join(DOCS, 'README.md') ? '# Docs\n## Pages' : readIfExists(path));
    expect(brokenLinks(file, sample, pages)).toEqual([
      'docs/no-such-page.md: no such file',
      '#nowhere: no such heading',
      'docs/screenshots/none.png: no such file',
    ]);
    expect(brokenLinks(file, '[x](docs/README.md#pages) [y](docs/README.md#nope)', pages)).toEqual([
      'docs/README.md#nope: no such heading',
    ]);
  });

  it('makes the anchors GitHub makes', () => {
    expect(slug('AI SDK (useChat)')).toBe('ai-sdk-usechat');
    expect(slug('stepwise init / stepwise test')).toBe('stepwise-init--stepwise-test');
    expect(slug('Rate limits, CORS and headers')).toBe('rate-limits-cors-and-headers');
    expect([...anchors('# A\n## A\n```\n# not a heading\n```\n## A')]).toEqual(['a', 'a-1', 'a-2']);
  });
});
