// An update never touches config or queued data (U2, docs/deploy.md): packages
// enqueued in the real SQLite queue (src/upload PackageQueue) under
// /var/lib/bestshot survive a good update and a rolled-back one, byte for
// byte, and are all delivered afterwards over real HTTP on loopback.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HttpSender, PackageQueue } from '../../src/upload/index.js';
import { makePackage } from '../upload/helpers.js';
import { makeUnit, treeHashes, type Unit } from './harness.js';

const units: Unit[] = [];
after(() => units.forEach((u) => u.stop()));

describe('ota-update.sh: config and queue data are outside releases', () => {
  it('queued packages survive an update and a rollback, then are all delivered', async () => {
    const u = await makeUnit('queue');
    units.push(u);
    const dbPath = join(u.root, 'var/lib/bestshot/queue.db');
    const queue = PackageQueue.open({ path: dbPath });
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0xff, 0xd9]);
    const keys: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const pkg = makePackage('cam-ota', i, jpeg);
      queue.enqueue(pkg);
      keys.push(pkg.idempotencyKey);
    }
    assert.equal(queue.depth, 5);
    queue.close();

    const outsideReleases = (rel: string): boolean => rel === 'ota';
    const dataBefore = treeHashes(join(u.root, 'var/lib/bestshot'), outsideReleases);
    const configBefore = treeHashes(join(u.root, 'etc/bestshot'));
    assert.ok(dataBefore.has('queue.db'), 'the queue file exists before the update');

    const good = await u.ota([await u.pack('1.1.0')]);
    assert.equal(good.code, 0, good.stderr);
    const bad = await u.ota([await u.pack('1.2.0', { unhealthy: true })]);
    assert.equal(bad.code, 4, bad.stderr);
    assert.equal(u.current(), '1.1.0');

    assert.deepEqual(treeHashes(join(u.root, 'var/lib/bestshot'), outsideReleases), dataBefore);
    assert.deepEqual(treeHashes(join(u.root, 'etc/bestshot')), configBefore);

    // Deliver everything to a real HTTP receiver on loopback.
    const received: string[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      req.resume();
      req.on('end', () => {
        received.push(String(req.headers['idempotency-key']));
        res.writeHead(201).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const sender = new HttpSender({ url: `http://127.0.0.1:${port}/v1/packages` });
    const reopened = PackageQueue.open({ path: dbPath });
    try {
      assert.equal(reopened.depth, 5);
      for (let item = reopened.peekOldest(); item; item = reopened.peekOldest()) {
        const res = await sender.send(item.pkg);
        assert.equal(res.kind, 'ok');
        reopened.ack(item.seq);
      }
      assert.equal(reopened.depth, 0);
    } finally {
      reopened.close();
      sender.close();
      server.close();
    }
    assert.deepEqual(received, keys);
  });
});
