/**
 * U2 on a full disk: the queue refuses the package with a clear QueueError
 * (ERR_QUEUE_FULL_DISK) and changes nothing; everything acknowledged before
 * stays intact and deliverable. Uses a real 1 MiB tmpfs (needs root to mount).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QueueError } from '../../src/errors.js';
import { PackageQueue } from '../../src/upload/index.js';
import { makeJpeg, makePackage } from './helpers.js';

function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'bestshot-diskfull-'));
const mounted = process.getuid?.() === 0 && mountTmpfs(dir, '1m');

test('disk full: enqueue refused with ERR_QUEUE_FULL_DISK, earlier packages intact', { skip: mounted ? false : 'needs root to mount a small tmpfs' }, async () => {
  try {
    const jpeg = Buffer.concat(Array.from({ length: 12 }, () => Buffer.from(makeJpegPadding())));
    const base = await makeJpeg(5);
    const q = PackageQueue.open({ path: join(dir, 'q.db') });
    let accepted = 0;
    let refused: unknown;
    for (let i = 0; i < 200 && !refused; i++) {
      try {
        q.enqueue(makePackage('cam', i, Buffer.concat([base, jpeg])));
        accepted++;
      } catch (err) {
        refused = err;
      }
    }
    assert.ok(refused instanceof QueueError, `expected a QueueError, got ${String(refused)}`);
    assert.equal(refused.code, 'ERR_QUEUE_FULL_DISK');
    assert.match(refused.message, /cannot write \(enqueue\): disk full or write error \(SQLITE_FULL\); nothing was changed$/);
    assert.ok(accepted > 0);
    // What was acknowledged is all there, in order, readable.
    assert.equal(q.depth, accepted);
    assert.deepEqual(q.keys(), Array.from({ length: accepted }, (_, i) => `cam:${i}`));
    assert.equal(q.counters().enqueued, accepted);
    const head = q.peekOldest()!;
    assert.equal(head.idempotencyKey, 'cam:0');
    assert.ok(head.pkg.jpeg.equals(Buffer.concat([base, jpeg])));
    q.close();
    // Moved to a disk with room (as an operator would), the file holds every acknowledged package.
    const rescue = mkdtempSync(join(tmpdir(), 'bestshot-rescue-'));
    for (const f of readdirSync(dir)) copyFileSync(join(dir, f), join(rescue, f));
    const again = PackageQueue.open({ path: join(rescue, 'q.db'), checkOnOpen: 'quick' });
    assert.equal(again.depth, accepted);
    assert.deepEqual(again.keys(), Array.from({ length: accepted }, (_, i) => `cam:${i}`));
    again.close();
  } finally {
    execFileSync('umount', ['-l', dir]); // lazy: an open queue file must not hide the test's own failure
  }
});

function makeJpegPadding(): Uint8Array {
  // Incompressible bytes appended after the JPEG's end marker: the size is what matters here.
  const b = new Uint8Array(8192);
  let x = 12345;
  for (let i = 0; i < b.length; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}
