/**
 * `bestshot run --config <file>` as a subprocess, to its own end (a file
 * source that ends, the queue drained or its drain timed out), and the lines
 * a test of the cloud end reads from what it printed.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawnCli } from './spawn-cli.js';

export interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs to the end; `env` is added to this process's environment. */
export function runToEnd(config: string, env: Record<string, string> = {}): Promise<RunOutput> {
  const { output, closed } = spawnCli(['run', '--config', config], env);
  return closed.then(([code]) => ({ code, ...output() }));
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
  const { child, output, closed } = spawnCli(['run', '--config', config], { BESTSHOT_TEST_TOKEN: 't', ...opts.env });
  const lines: L[] = [];
  let partial = '';
  const hard = setTimeout(() => child.kill('SIGKILL'), opts.hardKillMs);
  child.stderr.on('data', (c: Buffer) => {
    partial += c.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      if (!p.startsWith('{')) continue;
      const line = JSON.parse(p) as L;
      lines.push(line);
      onLine(line, child);
    }
  });
  return closed.then(([code]) => {
    clearTimeout(hard);
    return { code, ...output(), lines };
  });
}
