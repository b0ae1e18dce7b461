/**
 * The replace-queued policy's queue operations: a better image of the same
 * objects takes the queued package's place (its position in the FIFO), or
 * withdraws it; every replaced package is counted, never silently gone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PackageQueue } from '../../src/upload/index.js';
import { makeJpeg, makePackage } from './helpers.js';

test('replace: the new package takes the oldest replaced package\'s position; the others are withdrawn and counted', async () => {
  const jpeg = await makeJpeg(3);
  const q = PackageQueue.open({ path: join(mkdtempSync(join(tmpdir(), 'bestshot-replace-')), 'q.db') });
  for (const i of [1, 2, 3, 4]) q.enqueue(makePackage('cam', i, jpeg));
  const bytesBefore = q.bytes;
  const r = q.replace(['cam:2', 'cam:4'], makePackage('cam', 9, jpeg));
  assert.ok(r);
  assert.equal(r.replaced, 2);
  assert.deepEqual(q.keys(), ['cam:1', 'cam:9', 'cam:3']);
  assert.equal(q.depth, 3);
  assert.ok(q.bytes < bytesBefore);
  assert.equal(q.counters().replaced, 2);
  // The ledger holds: the replacing package counts as taken (4 enqueued + 1 replacing = 2 replaced + 3 queued).
  assert.equal(q.counters().enqueued, 5);
  const c = q.counters();
  assert.equal(c.enqueued, c.delivered + c.dropped + c.deadLettered + c.setAside + c.replaced + q.depth);
  // Nothing of these keys still queued: the caller enqueues instead.
  assert.equal(q.replace(['cam:2'], makePackage('cam', 10, jpeg)), undefined);
  assert.deepEqual(q.keys(), ['cam:1', 'cam:9', 'cam:3']);
  q.close();
});

test('withdraw skips the package being sent (pinned) and counts what it removed', async () => {
  const jpeg = await makeJpeg(4);
  const path = join(mkdtempSync(join(tmpdir(), 'bestshot-withdraw-')), 'q.db');
  const q = PackageQueue.open({ path });
  for (const i of [1, 2, 3]) q.enqueue(makePackage('cam', i, jpeg));
  q.pin(q.peekOldest()!.seq); // cam:1 is on the wire
  assert.equal(q.withdraw(['cam:1', 'cam:3', 'cam:77']), 1);
  assert.deepEqual(q.keys(), ['cam:1', 'cam:2']);
  q.unpin();
  q.close();
  // The counter survives a reopen.
  const again = PackageQueue.open({ path });
  assert.equal(again.counters().replaced, 1);
  assert.equal(again.depth, 2);
  again.close();
});
