/**
 * Secrets on the command line (`receiver --token <t>`, `ingest --broker
 * mqtt://user:password@…`) stayed in the process's command line, which every
 * local account reads (ps, /proc/<pid>/cmdline) for as long as it runs. The
 * real CLI as a subprocess; its /proc entry read once it says it is up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');

test('a --token on the command line is gone from ps (/proc/<pid>/cmdline) once the receiver listens, and it says to use BESTSHOT_RECEIVER_TOKEN', { skip: !existsSync('/proc/self/cmdline'), timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-recv-token-'));
  const child = spawn(process.execPath, [CLI, 'receiver', '--dir', dir, '--port', '0', '--token', 'tok-hunter2-secret', '--quiet'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('receiver listening on')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`receiver exited ${code}: ${stderr}`)));
    });
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
    assert.doesNotMatch(cmdline, /hunter2/);
    assert.match(cmdline, /receiver --dir \S+ --port 0 --token \*\*\* --quiet/);
    assert.match(stderr, /^bestshot receiver: warning: --token on the command line is visible to other local users \(ps\) and kept in shell history; set BESTSHOT_RECEIVER_TOKEN instead$/m);
    assert.doesNotMatch(stderr, /hunter2/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a broker password in ingest --broker is gone from ps (/proc/<pid>/cmdline) while ingest waits for the broker', { skip: !existsSync('/proc/self/cmdline'), timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-ingest-argv-'));
  // Port 1 on loopback: refused, so ingest keeps waiting (and says so) until it is stopped.
  const child = spawn(process.execPath, [CLI, 'ingest', '--broker', 'mqtt://unit:broker-pw-hunter2@127.0.0.1:1', '--index', join(dir, 'index.sqlite')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (stderr.includes('waiting for the broker')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`ingest exited ${code}: ${stderr}`)));
    });
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
    assert.doesNotMatch(cmdline, /hunter2/);
    assert.match(cmdline, /ingest --broker mqtt:\/\/unit:\*\*\*@127\.0\.0\.1:1 --index /);
    assert.doesNotMatch(stderr, /hunter2/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
