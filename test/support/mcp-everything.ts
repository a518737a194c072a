/**
 * The reference MCP server `@modelcontextprotocol/server-everything` (a real npm package) for tests, run with the
 * current `node` from node_modules: over stdio (as a `command`) or over streamable HTTP (a child process on a free
 * loopback port, `/mcp`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { closedPort } from './net.js';

const require = createRequire(import.meta.url);

/** Absolute path of the server's entry point (`dist/index.js`, its `mcp-server-everything` bin). */
export const EVERYTHING_ENTRY = join(dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist', 'index.js');

/** `command` + `args` that start it over stdio. */
export const everythingStdio = { command: process.execPath, args: [EVERYTHING_ENTRY, 'stdio'] };

/** A running streamable-HTTP instance. */
export interface EverythingHttp {
  /** `http://127.0.0.1:<port>/mcp` */
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the server in `streamableHttp` mode and waits until it listens (at most 20 s). */
export async function startEverythingHttp(): Promise<EverythingHttp> {
  const port = await closedPort();
  const child = spawn(process.execPath, [EVERYTHING_ENTRY, 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`server-everything did not start: ${log}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server-everything exited with ${code}: ${log}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
