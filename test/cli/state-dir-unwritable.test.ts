/**
 * `bestshot run` whose stateDir cannot be written at start: on a full disk,
 * or a directory another user owns (a unit where root ran it once by hand,
 * then systemd runs it as `bestshot`). Start-up stops with exit 1 and one
 * line; the line used to say 'set stateDir to a writable directory' for
 * both, which is the wrong fix for a full disk and for an owner to change.
 * Needs root (to mount a small tmpfs and to run as another user).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';
import { writeRunConfig } from '../helpers/run-config.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
const skip = process.getuid?.() === 0 ? false : 'needs root to mount a small tmpfs and to run as another user';
const NOBODY = 65534;

function run(config: string, uid?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', config], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 't', HOME: tmpdir() },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The one error line of a failed start (the JSON log lines before it aside). */
const errorLine = (stderr: string): string | undefined => stderr.split('\n').find((l) => l.startsWith('bestshot run: '));

test('a stateDir on a full disk: exit 1, one line saying the disk is full; nothing written', { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-state-full-'));
  const disk = join(dir, 'state'); // the config's stateDir, a full file system of its own
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk]);
  try {
    // Fill it to the last block.
    for (let i = 0, size = 16384; size >= 512; i++) {
      try {
        writeFileSync(join(disk, `filler-${i}`), Buffer.alloc(size));
      } catch {
        rmSync(join(disk, `filler-${i}`), { force: true });
        size >>= 1;
      }
    }
    const config = writeRunConfig(dir, { source: `{ type: file, path: ${CLIP} }`, endpoint: 'http://127.0.0.1:9/packages' });
    const r = await run(config);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(errorLine(r.stderr), `bestshot run: [ERR_CAPTURE] stateDir ${disk} cannot be written (ENOSPC): the disk is full: free space on it, or set stateDir to a directory on another disk`);
    assert.equal(r.stdout, '');
    assert.ok(!readdirSync(dir).includes('queue.sqlite'), 'the queue was not opened');
  } finally {
    execFileSync('umount', ['-l', disk]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stateDir another user owns: exit 1, one line naming this user and the chown', { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-state-owner-'));
  try {
    chmodSync(dir, 0o777);
    const state = join(dir, 'state');
    mkdirSync(state, { mode: 0o755 }); // root's, as a start by hand as root leaves it
    const config = writeRunConfig(dir, { source: `{ type: file, path: ${CLIP} }`, endpoint: 'http://127.0.0.1:9/packages' });
    const r = await run(config, NOBODY);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      errorLine(r.stderr),
      `bestshot run: [ERR_CAPTURE] stateDir ${state} cannot be written (EACCES): this user (uid ${NOBODY}) may not write there: give the directory to the user the service runs as (chown), or set stateDir to a directory it may write`,
    );
    assert.deepEqual(readdirSync(state), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stateDir on a read-only file system: exit 1, one line saying so (Node alone said ENOENT)', { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-state-ro-'));
  const disk = join(dir, 'ro');
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', disk]);
  try {
    const config = writeRunConfig(dir, { source: `{ type: file, path: ${CLIP} }`, endpoint: 'http://127.0.0.1:9/packages', name: 'ro.yaml' });
    // The stateDir (to be made) under the read-only mount; the rest of the run's files beside it.
    writeFileSync(config, readFileSync(config, 'utf8').replace(`stateDir: ${join(dir, 'state')}`, `stateDir: ${join(disk, 'state')}`));
    const r = await run(config);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      errorLine(r.stderr),
      `bestshot run: [ERR_CAPTURE] stateDir ${join(disk, 'state')} cannot be created (EROFS): the file system is mounted read-only: remount it read-write, or set stateDir to a directory on a writable one`,
    );
  } finally {
    execFileSync('umount', ['-l', disk]);
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A stateDir, queue.path or replay --out under a pseudo file system (/proc): Node 20's recursive
 * mkdir loops there for ever (mkdir answers ENOENT beside a parent that exists) at 100 % CPU, deaf
 * to SIGTERM — `bestshot run` hung until kill -9. Now one line and exit 1 (2 for replay's --out).
 * Killed after 30 s, so a hang fails the test instead of hanging it.
 */
test('a stateDir, queue or --out under /proc: one line and an exit within seconds, not a hang', { skip: process.platform !== 'linux', timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-state-proc-'));
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL', env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 't' } });
  try {
    const config = writeRunConfig(dir, { source: `{ type: file, path: ${CLIP} }`, endpoint: 'http://127.0.0.1:9/packages', name: 'proc.yaml' });
    const text = readFileSync(config, 'utf8');
    writeFileSync(config, text.replace(`stateDir: ${join(dir, 'state')}`, 'stateDir: /proc/bestshot-state'));
    const state = cli(['run', '--config', config]);
    assert.equal(state.signal, null, 'ended by itself, not killed after 30 s');
    assert.equal(state.status, 1, state.stderr);
    assert.equal(errorLine(state.stderr), 'bestshot run: [ERR_CAPTURE] stateDir /proc/bestshot-state cannot be created (ENOENT): set stateDir to a writable directory');
    writeFileSync(config, text.replace(/^queue: .*$/m, 'queue: { path: /proc/bestshot-queue/queue.sqlite }'));
    const queue = cli(['run', '--config', config]);
    assert.equal(queue.signal, null, 'ended by itself, not killed after 30 s');
    assert.equal(queue.status, 1, queue.stderr);
    assert.match(errorLine(queue.stderr) ?? '', /^bestshot run: \[ERR_QUEUE\] Cannot open queue database \/proc\/bestshot-queue\/queue\.sqlite: its lock .* cannot be made \(ENOENT/);
    const replay = cli(['replay', CLIP, '--out', '/proc/bestshot-replay']);
    assert.equal(replay.signal, null, 'ended by itself, not killed after 30 s');
    assert.equal(replay.status, 2, replay.stderr);
    assert.equal(replay.stderr.trim(), 'bestshot replay: [ERR_USAGE] cannot write into /proc/bestshot-replay (ENOENT): choose a writable --out');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
