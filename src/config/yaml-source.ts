/**
 * The first steps every check of an agent's YAML shares (`stepwise validate`, loading, `POST /agents/validate`):
 * parsing with positions, YAML syntax errors as issues, and one issue per path and message. Pure.
 */
import { type Document, LineCounter, parseDocument } from 'yaml';
import type { ConfigIssue } from '../errors.js';
import { formatKeyPath, type PathIssue, YamlLocator } from './validate.js';

/** A parsed agent document with its line counter and issue locator, or the syntax errors that stopped it. */
export type ParsedAgentText = { doc: Document.Parsed; lineCounter: LineCounter; locator: YamlLocator } | { issues: ConfigIssue[] };

/**
 * Parses agent YAML `text` (named `file` in issues) keeping positions. Never throws: YAML syntax errors come back as
 * error issues with their line and column.
 */
export function parseAgentText(text: string, file: string): ParsedAgentText {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      issues: doc.errors.map((e) => ({
        file,
        ...(e.linePos ? { line: e.linePos[0].line, column: e.linePos[0].col } : {}),
        path: '',
        message: `YAML syntax error: ${e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '')}`,
        severity: 'error' as const,
      })),
    };
  }
  return { doc, lineCounter, locator: new YamlLocator(file, doc, lineCounter) };
}

/** `issues` without repeats of the same message at the same key path (first kept). */
export function dedupeIssues(issues: PathIssue[]): PathIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${formatKeyPath(i.path)}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
