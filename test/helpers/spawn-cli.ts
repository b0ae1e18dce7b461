/** `bestshot <args>` as a subprocess from the sources, its output collected as it comes. */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PROJECT_ROOT } from '../../src/paths.js';

export type CliExit = [code: number | null, signal: NodeJS.Signals | null];

export interface CliProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  /** Its exit code and the signal that ended it, once it closed. */
  closed: Promise<CliExit>;
}

/** Spawns `bin/bestshot.js <args>` in `cwd` (default the project root); `env` is added to this process's environment. */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}, cwd = PROJECT_ROOT): CliProcess {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), ...args], {
    cwd,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const closed = new Promise<CliExit>((r) => child.on('close', (code, signal) => r([code, signal])));
  return { child, output: () => ({ stdout, stderr }), closed };
}
