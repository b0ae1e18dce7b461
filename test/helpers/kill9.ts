/** Shared parts of the kill -9 tests: a fixture process whose output is kept, its key log, the queue's integrity. */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from '../../src/paths.js';

export interface FixtureProcess {
  proc: ChildProcessByStdio<null, Readable, Readable>;
  /** stdout and stderr so far, interleaved. */
  output(): string;
}

/** Runs a TypeScript fixture through tsx in the project root, collecting what it prints. */
export function spawnFixture(fixture: string, args: string[], env: NodeJS.ProcessEnv = process.env): FixtureProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return { proc, output: () => out };
}

/** The lines of a fixture's key log that are keys (`camera:n`); none while the file does not exist yet. */
export function readKeyLog(log: string, key: RegExp): string[] {
  try {
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => key.test(l));
  } catch {
    return [];
  }
}

/** SQLite's own integrity check of a queue file ("ok" when sound). */
export function sqliteIntegrity(db: string): string {
  const d = new Database(db, { readonly: true });
  try {
    return String(d.pragma('integrity_check', { simple: true }));
  } finally {
    d.close();
  }
}
