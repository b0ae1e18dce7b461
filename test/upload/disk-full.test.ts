/**
 * A full disk degrades, never wedges (U2, A5): on a real small tmpfs the
 * queue's acks still commit (ack reserve) so nothing is sent twice, new
 * packages are refused and counted, the image-id state keeps the camera
 * going, and the receiver answers 507 without leaving half a package.
 * Needs root to mount; skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from '../../src/paths.js';
import { ImageIdAllocator } from '../../src/capture/image-ids.js';
import { startReceiver } from '../../src/receiver/index.js';
import { encodeMultipart, PackageQueue, Uploader } from '../../src/upload/index.js';
import { makePackage } from './helpers.js';

function mountTmpfs(size: string, more = ''): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-full-'));
  try {
    if (process.getuid?.() !== 0) return undefined;
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${more}`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return undefined;
  }
}
const unmount = (dir: string): void => {
  execFileSync('umount', ['-l', dir]);
  rmSync(dir, { recursive: true, force: true });
};
const canMount = ((): boolean => {
  const d = mountTmpfs('64k');
  if (d) unmount(d);
  return d !== undefined;
})();
const skip = canMount ? false : 'needs root to mount a small tmpfs (mount refused)';

/** Fill the rest of the file system (the last bytes too). */
function fill(dir: string): void {
  for (let i = 0, size = 1 << 20; size >= 512; i++) {
    try {
      writeFileSync(join(dir, `filler-${i}`), Buffer.alloc(size));
    } catch {
      rmSync(join(dir, `filler-${i}`), { force: true });
      size >>= 1;
    }
  }
}

const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(6000, 9)]);

test('disk full: every queued package is delivered exactly once (acks commit from the reserve); new ones are refused and counted', { skip }, async () => {
  const disk = mountTmpfs('3m')!;
  const store = mkdtempSync(join(tmpdir(), 'bestshot-full-store-'));
  const rcv = await startReceiver({ dir: store, token: 't', warn: () => {} });
  try {
    const path = join(disk, 'q.db');
    const q = PackageQueue.open({ path });
    let accepted = 0;
    for (let i = 1; i <= 2000; i++) {
      try {
        q.enqueue(makePackage('cam-full', i, jpeg));
        accepted++;
      } catch {
        break;
      }
    }
    fill(disk);
    assert.ok(accepted > 20, `accepted ${accepted}`);
    const up = new Uploader({ queue: q, sender: { url: `${rcv.url}/packages`, token: 't' }, sendHz: 200 });
    const errors: string[] = [];
    up.on('error', (e) => errors.push(e.message));
    assert.equal(up.submit(makePackage('cam-full', 5000, jpeg), 'cached'), undefined, 'refused, not thrown');
    assert.equal(up.stats().refusedDiskFull, 1);
    const deadline = Date.now() + 20_000;
    while (q.depth > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await up.close();
    const s = rcv.stats();
    assert.deepEqual(errors, []);
    assert.equal(q.depth, 0, 'drained');
    assert.equal(s.stored, accepted);
    assert.equal(s.posts, accepted, `duplicates sent on a full disk: ${s.posts - accepted}`);
    q.close();
  } finally {
    await rcv.close();
    rmSync(store, { recursive: true, force: true });
    unmount(disk);
  }
});

test('disk full, then space returns: the queue takes packages again by itself, the reserve is taken back, each delivered once', { skip }, async () => {
  const disk = mountTmpfs('4m')!;
  const store = mkdtempSync(join(tmpdir(), 'bestshot-back-store-'));
  const rcv = await startReceiver({ dir: store, token: 't', warn: () => {} });
  try {
    const path = join(disk, 'q.db');
    const q = PackageQueue.open({ path });
    // The disk fills while packages wait; delivering them needs acks on a full disk (the reserve goes).
    for (let i = 1; i <= 30; i++) q.enqueue(makePackage('cam-back', i, jpeg));
    fill(disk);
    const up = new Uploader({ queue: q, sender: { url: `${rcv.url}/packages`, token: 't' }, sendHz: 200 });
    up.on('error', () => {});
    for (let i = 31; i <= 40; i++) up.submit(makePackage('cam-back', i, jpeg), 'cached');
    assert.ok(up.stats().refusedDiskFull > 0, 'refused while full');
    const full = Date.now() + 20_000;
    while (q.depth > 0 && Date.now() < full) await new Promise((r) => setTimeout(r, 50));
    assert.equal(q.depth, 0, 'drained on the full disk');
    const acceptedWhileFull = q.counters().enqueued;
    const reserveWhileFull = readdirSync(disk).includes('q.db.reserve');
    await up.close();
    // Space returns (the fillers go); nothing is restarted.
    for (const f of readdirSync(disk)) if (f.startsWith('filler-')) rmSync(join(disk, f));
    const up2 = new Uploader({ queue: q, sender: { url: `${rcv.url}/packages`, token: 't' }, sendHz: 200 });
    const errors: string[] = [];
    up2.on('error', (e) => errors.push(e.message));
    for (let i = 41; i <= 50; i++) up2.submit(makePackage('cam-back', i, jpeg), 'cached');
    assert.equal(up2.stats().refusedDiskFull, 0, 'accepted again once space returned');
    assert.equal(reserveWhileFull, false, 'the acks on the full disk used the reserve');
    assert.equal(readdirSync(disk).includes('q.db.reserve'), true, 'the ack reserve is taken back');
    const deadline = Date.now() + 20_000;
    while (q.depth > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await up2.close();
    assert.deepEqual(errors, []);
    assert.equal(q.depth, 0, 'drained');
    const expected = acceptedWhileFull + 10;
    assert.equal(rcv.stats().stored, expected);
    assert.equal(rcv.stats().posts, expected, 'nothing sent twice');
    assert.equal(q.counters().enqueued, expected, 'every accepted package counted once');
    q.close();
  } finally {
    await rcv.close();
    rmSync(store, { recursive: true, force: true });
    unmount(disk);
  }
});

test('disk full: the image-id state degrades (ids go on, said once) and saves again when space returns', { skip }, () => {
  const disk = mountTmpfs('256k')!;
  try {
    const lines: string[] = [];
    const ids = ImageIdAllocator.open({ stateDir: disk, cameraId: 'cam-id', blockSize: 2, onDegraded: (l) => lines.push(l) });
    assert.deepEqual([ids.next(), ids.next()], [1, 2]);
    fill(disk);
    assert.deepEqual([ids.next(), ids.next(), ids.next()], [3, 4, 5]);
    assert.equal(ids.degraded, true);
    assert.deepEqual(lines, [`imageId state ${ids.path} cannot be saved (ENOSPC); ids continue in memory from 3`]);
    for (const f of readdirSync(disk)) if (f.startsWith('filler-')) rmSync(join(disk, f));
    assert.equal(ids.next(), 6);
    assert.equal(ids.degraded, false);
    assert.equal(ids.reservedUpTo, 8);
    assert.equal(readdirSync(disk).some((f) => f.endsWith('.tmp')), false, 'no temp file left');
  } finally {
    unmount(disk);
  }
});

test('disk full at start: reserve() refuses with the path and the fix, so a service never starts handing out unsaved ids', { skip }, () => {
  const disk = mountTmpfs('256k')!;
  try {
    fill(disk);
    const ids = ImageIdAllocator.open({ stateDir: disk, cameraId: 'cam-start', onDegraded: () => {} });
    assert.throws(
      () => ids.reserve(),
      (err: unknown) =>
        err instanceof Error &&
        err.message.startsWith(`imageId state ${ids.path} cannot be saved (ENOSPC: `) &&
        err.message.endsWith("without it the camera's ids would be reused after a restart; free space in stateDir or make it writable"),
    );
    for (const f of readdirSync(disk)) if (f.startsWith('filler-')) rmSync(join(disk, f));
    ids.reserve();
    assert.equal(ids.reservedUpTo, 1001, 'the first block is saved once space returns');
    assert.equal(ids.next(), 1);
  } finally {
    unmount(disk);
  }
});

test('a read-only file system under stateDir: open() says the directory cannot be created and what to do', { skip }, () => {
  const disk = mountTmpfs('64k')!;
  try {
    execFileSync('mount', ['-o', 'remount,ro', disk]);
    const stateDir = join(disk, 'state');
    assert.throws(
      () => ImageIdAllocator.open({ stateDir, cameraId: 'cam-ro' }),
      (err: unknown) => err instanceof Error && err.message.startsWith(`stateDir ${stateDir} cannot be created (`) && err.message.endsWith('): the file system is mounted read-only: remount it read-write, or set stateDir to a directory on a writable one'),
    );
  } finally {
    unmount(disk);
  }
});

test('disk full: the receiver answers 507 with Retry-After and leaves no partial package', { skip }, async () => {
  const disk = mountTmpfs('1m')!;
  try {
    const rcv = await startReceiver({ dir: disk, token: 't', warn: () => {} });
    try {
      fill(disk);
      const pkg = makePackage('cam-rf', 1, Buffer.concat([jpeg, Buffer.alloc(60_000, 3)]));
      const { contentType, body } = encodeMultipart(pkg);
      const res = await fetch(`${rcv.url}/packages`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey }, body });
      assert.equal(res.status, 507);
      assert.equal(res.headers.get('retry-after'), '30');
      assert.deepEqual(await res.json(), { error: 'storage full; retry later' });
      assert.deepEqual(readdirSync(join(disk, 'packages')), []);
      assert.equal((await fetch(`${rcv.url}/healthz`)).status, 200);
    } finally {
      await rcv.close();
    }
  } finally {
    unmount(disk);
  }
});

test('out of inodes: the receiver answers 507 (not a 500 "internal error") when it cannot even make the package directory', { skip }, async () => {
  // Room for the index and three packages (a directory and two files each), then none.
  const disk = mountTmpfs('4m', ',nr_inodes=14')!;
  try {
    const rcv = await startReceiver({ dir: disk, token: 't', warn: () => {} });
    try {
      const statuses: number[] = [];
      for (let id = 1; id <= 6; id++) {
        const pkg = makePackage('cam-ino', id, jpeg);
        const { contentType, body } = encodeMultipart(pkg);
        const res = await fetch(`${rcv.url}/packages`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey }, body });
        statuses.push(res.status);
        if (res.status === 507) {
          assert.equal(res.headers.get('retry-after'), '30');
          assert.deepEqual(await res.json(), { error: 'storage full; retry later' });
        } else await res.arrayBuffer();
      }
      assert.ok(statuses.includes(201), statuses.join(','));
      assert.deepEqual(
        statuses.filter((s) => s !== 201),
        Array(statuses.filter((s) => s !== 201).length).fill(507),
        statuses.join(','),
      );
      assert.ok(statuses.at(-1) === 507, statuses.join(','));
      assert.ok(!readdirSync(join(disk, 'packages')).some((n) => n.includes('.tmp-')), 'no half-made package');
    } finally {
      await rcv.close();
    }
  } finally {
    unmount(disk);
  }
});

test('disk full at the receiver start: the index cannot be made; one error naming it and the fix, not SQLite\'s bare "database or disk is full"', { skip }, async () => {
  const disk = mountTmpfs('64k')!;
  try {
    mkdirSync(join(disk, 'packages'));
    fill(disk);
    await assert.rejects(
      startReceiver({ dir: disk, token: 't', warn: () => {} }),
      (err: Error & { code?: string }) =>
        err.code === 'ERR_RECEIVER_INDEX' &&
        err.message === `receiver index ${join(disk, 'index.sqlite')} cannot be written (SQLITE_FULL): the disk is full: free space on it, or set --dir to a directory on another disk`,
    );
  } finally {
    unmount(disk);
  }
});

test('a receiver index another user owns: bestshot receiver exits 1 naming it, this user and the chown', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-rcv-owner-'));
  try {
    chmodSync(dir, 0o777);
    mkdirSync(join(dir, 'packages'), { mode: 0o777 });
    chmodSync(join(dir, 'packages'), 0o777);
    // Made by root (a first start by hand as root), then the service runs as its own user.
    const db = new Database(join(dir, 'index.sqlite'));
    db.pragma('journal_mode = WAL');
    db.close();
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'receiver', '--dir', dir, '--port', '0'], {
      uid: 65534,
      gid: 65534,
      env: { ...process.env, HOME: tmpdir() },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(
      r.stderr.trimEnd().split('\n').at(-1),
      `bestshot receiver: [ERR_RECEIVER_INDEX] receiver index ${join(dir, 'index.sqlite')} cannot be written (SQLITE_READONLY): this user (uid 65534) may not write there: give the directory to the user the service runs as (chown), or set --dir to a directory it may write`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
