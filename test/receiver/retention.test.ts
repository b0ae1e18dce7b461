/**
 * `bestshot receiver` run for weeks as the cloud stand-in: without a limit its
 * store grows until the disk is full. --max-packages keeps the newest n:
 * storing one more removes the oldest (files and index row); a limit lowered
 * between runs applies at start. A real receiver process, real HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeMultipart } from '../../src/upload/index.js';
import { listPackages, makeJpeg, makePackage, spawnReceiver } from '../upload/helpers.js';

const TOKEN = 'retention-token';

async function post(url: string, imageId: number, jpeg: Buffer): Promise<number> {
  const pkg = makePackage('cam-keep', imageId, jpeg);
  const { contentType, body } = encodeMultipart(pkg);
  const res = await fetch(`${url}/packages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

test('--max-packages keeps the newest n: the oldest go (files and index) as new ones are stored; a lower limit applies at start', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-retention-'));
  const jpeg = await makeJpeg(3);
  const store = join(dir, 'rcv');
  try {
    const rcv = await spawnReceiver(['--port', '0', '--dir', store, '--token', TOKEN, '--quiet', '--max-packages', '3']);
    try {
      for (let id = 1; id <= 5; id++) assert.equal(await post(rcv.url, id, jpeg), 201);
      assert.deepEqual((await listPackages(rcv.url, TOKEN)).map((p) => p.imageId), [3, 4, 5]);
      assert.deepEqual(readdirSync(join(store, 'packages')).sort(), ['cam-keep%3A3', 'cam-keep%3A4', 'cam-keep%3A5']);
      const stats = (await (await fetch(`${rcv.url}/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { stored: number; pruned: number };
      assert.deepEqual([stats.stored, stats.pruned], [5, 2]);
      // A re-send of a kept one is still a duplicate.
      assert.equal(await post(rcv.url, 5, jpeg), 200);
      assert.equal((await fetch(`${rcv.url}/packages/cam-keep%3A1/image.jpg`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
    } finally {
      await rcv.stop();
    }
    const again = await spawnReceiver(['--port', '0', '--dir', store, '--token', TOKEN, '--quiet', '--max-packages', '1']);
    try {
      assert.deepEqual((await listPackages(again.url, TOKEN)).map((p) => p.imageId), [5]);
      assert.deepEqual(readdirSync(join(store, 'packages')), ['cam-keep%3A5']);
      // Said even with --quiet (it removes packages for good); before, only /stats counted them.
      assert.match(again.output(), /^retention: removed the 2 oldest of 3 stored packages at start \(maxPackages 1\)$/m);
    } finally {
      await again.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
