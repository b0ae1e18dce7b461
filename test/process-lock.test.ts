/**
 * One process at a time on a path (src/process-lock.ts), across real
 * processes: a second one is refused with the holder's pid; a lock left by a
 * process killed with -9, or whose pid now names another process, is taken
 * over once — of eight processes racing for it, exactly one gets it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LockedError } from '../src/errors.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { holderAlive, lockHolder, makeDirectory, ProcessLock, refuseIfLocked, type LockHolder } from '../src/process-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const OPTIONS = { command: 'bestshot test', subject: 'the test folder', advice: 'stop that one first' };

/** A process that takes the lock at `startAt` (ms since the epoch), says so on stdout as JSON, holds it `holdMs`, exits. */
const HOLDER = `
  import { ProcessLock } from './src/process-lock.js';
  const [path, startAt, holdMs] = process.argv.slice(1);
  while (Date.now() < Number(startAt)) {}
  try {
    ProcessLock.acquire(path, { command: 'bestshot holder', subject: 'the test folder', advice: 'stop that one first' });
    console.log(JSON.stringify({ held: process.pid }));
    setTimeout(() => process.exit(0), Number(holdMs));
  } catch (err) {
    console.log(JSON.stringify({ refused: err.message, code: err.code }));
  }`;

interface Holder {
  pid: number;
  said: Promise<{ held?: number; refused?: string; code?: string }>;
  exited: Promise<void>;
  kill(signal: NodeJS.Signals): void;
}

function holder(path: string, holdMs: number, startAt = 0): Holder {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', HOLDER, path, String(startAt), String(holdMs)], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const said = new Promise<{ held?: number; refused?: string; code?: string }>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
    });
    child.on('close', () => reject(new Error(`the holder said nothing: ${out}`)));
  });
  said.catch(() => {});
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { pid: child.pid!, said, exited, kill: (s) => child.kill(s) };
}

/** The pid of a process that has ended (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

test('a second process is refused with the holder, the path and the advice; the lock goes at exit', { timeout: 30_000 }, async () => {
  const path = join(dir, 'a', 'test.lock');
  const a = holder(path, 3000);
  assert.equal((await a.said).held, a.pid);
  const held = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  assert.equal(held.pid, a.pid);
  assert.equal(held.command, 'bestshot holder');
  assert.throws(
    () => ProcessLock.acquire(path, OPTIONS),
    (err: unknown) =>
      err instanceof LockedError &&
      err.code === 'ERR_LOCKED' &&
      err.pid === a.pid &&
      err.message === `the test folder is in use by another process: bestshot holder (pid ${a.pid}, since ${held.since}) holds ${path}; stop that one first`,
  );
  // A reader that may not write there is refused the same way, without taking it.
  assert.throws(() => refuseIfLocked(path, OPTIONS), { message: `the test folder is in use by another process: bestshot holder (pid ${a.pid}, since ${held.since}) holds ${path}; stop that one first` });
  assert.equal(lockHolder(path)?.pid, a.pid);
  // It exits (process.exit, without release()): the lock goes with it.
  await a.exited;
  assert.equal(existsSync(path), false);
  const mine = ProcessLock.acquire(path, OPTIONS);
  assert.equal(lockHolder(path)?.pid, process.pid);
  // Twice in one process is two holders too.
  assert.throws(() => ProcessLock.acquire(path, OPTIONS), { message: new RegExp(`^the test folder is in use by another process: this process \\(pid ${process.pid}\\) holds `) });
  mine.release();
  mine.release();
  assert.equal(existsSync(path), false);
  assert.deepEqual(readdirSync(join(dir, 'a')), [], 'no temporary file left behind');
});

test('a lock left by a process killed with -9 is taken over, and said', { timeout: 30_000 }, async () => {
  const path = join(dir, 'b.lock');
  const a = holder(path, 60_000);
  assert.equal((await a.said).held, a.pid);
  a.kill('SIGKILL');
  await a.exited;
  assert.equal(existsSync(path), true, 'kill -9 leaves the lock behind');
  const said: Array<Record<string, unknown>> = [];
  const lock = ProcessLock.acquire(path, { ...OPTIONS, onTakeover: (m, f) => said.push({ m, ...f }) });
  assert.deepEqual(said.map((s) => [s.m, s.pid, s.command, s.lock]), [['a stale lock was taken over: the process that held it is gone (killed, or the unit lost power)', a.pid, 'bestshot holder', path]]);
  assert.equal(lockHolder(path)?.pid, process.pid);
  lock.release();
});

test('a pid that now names another process (its start time differs) is stale; the same start time is the holder', () => {
  const path = join(dir, 'c.lock');
  // The parent of this test process: alive, and not the process that took this lock.
  const start = readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;
  const reused: LockHolder = { pid: process.ppid, start: String(Number(start) + 1), command: 'bestshot run', since: '2026-01-01T00:00:00.000Z', token: 'old' };
  assert.equal(holderAlive(reused), false);
  assert.equal(holderAlive({ ...reused, start }), true);
  assert.equal(holderAlive({ ...reused, pid: deadPid() }), false);
  writeFileSync(path, JSON.stringify({ ...reused, start }));
  assert.throws(() => ProcessLock.acquire(path, OPTIONS), { code: 'ERR_LOCKED' });
  writeFileSync(path, JSON.stringify(reused));
  const lock = ProcessLock.acquire(path, OPTIONS);
  assert.equal(lockHolder(path)?.pid, process.pid);
  lock.release();
  // A file that is no lock at all (and not being written: older than its grace) is taken over too.
  writeFileSync(path, 'garbage');
  spawnSync('touch', ['-d', '1 minute ago', path]);
  ProcessLock.acquire(path, OPTIONS).release();
});

test('release() removes only its own lock', () => {
  const path = join(dir, 'd.lock');
  const lock = ProcessLock.acquire(path, OPTIONS);
  // Taken over meanwhile by someone who judged it stale: not ours to remove any more.
  const other = { pid: process.ppid, start: null, command: 'bestshot other', since: 'now', token: 'theirs' };
  writeFileSync(path, JSON.stringify(other));
  lock.release();
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).token, 'theirs');
  rmSync(path);
});

test('eight processes racing for a stale lock at the same moment: exactly one holds it, the others name it', { timeout: 60_000 }, async () => {
  for (let round = 0; round < 3; round++) {
    const path = join(dir, `race-${round}.lock`);
    writeFileSync(path, JSON.stringify({ pid: deadPid(), start: '1', command: 'bestshot run', since: '2026-01-01T00:00:00.000Z', token: 'stale' }));
    // Started together once every one of them has loaded.
    const startAt = Date.now() + 4000;
    const racers = Array.from({ length: 8 }, () => holder(path, 2000, startAt));
    const said = await Promise.all(racers.map((r) => r.said));
    const winners = said.filter((s) => s.held !== undefined);
    assert.equal(winners.length, 1, JSON.stringify(said));
    for (const s of said.filter((x) => x.refused !== undefined)) {
      assert.equal(s.code, 'ERR_LOCKED');
      assert.match(s.refused!, new RegExp(`bestshot holder \\(pid ${winners[0]!.held}, `));
    }
    await Promise.all(racers.map((r) => r.exited));
    assert.equal(existsSync(path), false);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith(`race-${round}.lock.`)),
      [],
      'no temporary file or takeover guard left behind',
    );
  }
});

test('makeDirectory: mkdir -p a level at a time; a file on the way is ENOTDIR naming it; an existing folder is fine', () => {
  const d = mkdtempSync(join(tmpdir(), 'bestshot-mkdir-'));
  try {
    makeDirectory(join(d, 'a', 'b', 'c'));
    assert.ok(statSync(join(d, 'a', 'b', 'c')).isDirectory());
    makeDirectory(join(d, 'a', 'b'));
    writeFileSync(join(d, 'file'), 'x');
    // Node's recursive mkdir said EEXIST, naming the file as if the folder were there.
    assert.throws(() => makeDirectory(join(d, 'file', 'sub', 'dir')), { code: 'ENOTDIR', message: `ENOTDIR: not a directory, mkdir '${join(d, 'file', 'sub', 'dir')}' (${join(d, 'file')} is a file)` });
    // Under /proc, mkdir answers ENOENT beside a parent that exists: Node 20's recursive mkdir looped for ever.
    if (process.platform === 'linux') assert.throws(() => makeDirectory('/proc/bestshot-mkdir-test/x'), { code: 'ENOENT' });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
