/**
 * `bestshot run --config <file>` as a subprocess, to its own end (a file
 * source that ends, the queue drained or its drain timed out), and the lines
 * a test of the cloud end reads from what it printed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');

export interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs to the end; `env` is added to this process's environment. */
export function runToEnd(config: string, env: Record<string, string> = {}): Promise<RunOutput> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', config], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The run's first 'endpoint not taking packages' warning (JSON log), asserted present. */
export function endpointWarning(stderr: string): { error: string; hint?: string; kind?: string } {
  const warn = stderr.split('\n').find((l) => l.includes('endpoint not taking packages'));
  assert.ok(warn, stderr);
  return JSON.parse(warn) as { error: string; hint?: string; kind?: string };
}

/** The packages the run printed as built, asserted more than none. */
export function builtCount(stdout: string): number {
  const built = Number(/packages: +(\d+) built/.exec(stdout)?.[1]);
  assert.ok(built > 0, stdout);
  return built;
}

/** Asserts the printed queue line: every built package still queued for the next start, none dropped or dead. */
export function assertAllQueued(stdout: string): number {
  const built = builtCount(stdout);
  assert.match(stdout, new RegExp(`${built} still queued \\(sent at the next start\\), 0 dropped full, 0 dead-lettered`));
  return built;
}

export interface WatchedRun<L> extends RunOutput {
  /** The JSON log lines it wrote to stderr, in order. */
  lines: L[];
}

/**
 * `bestshot run --config <config>` as a subprocess, its JSON log lines
 * handed to `onLine` as they come (with the child, to signal it), until it
 * exits; killed with SIGKILL after `hardKillMs` (a test that waited for a
 * line that never came).
 */
export function runWatchingLog<L extends { msg: string }>(
  config: string,
  onLine: (line: L, child: ChildProcess) => void,
  opts: { hardKillMs: number; env?: Record<string, string> },
): Promise<WatchedRun<L>> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', config], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 't', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: L[] = [];
  let partial = '';
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const hard = setTimeout(() => child.kill('SIGKILL'), opts.hardKillMs);
  child.stderr.on('data', (c: Buffer) => {
    const text = c.toString();
    stderr += text;
    partial += text;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      if (!p.startsWith('{')) continue;
      const line = JSON.parse(p) as L;
      lines.push(line);
      onLine(line, child);
    }
  });
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(hard);
      resolve({ code, stdout, stderr, lines });
    }),
  );
}
