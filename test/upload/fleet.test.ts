/**
 * The fleet sinks against real servers (mosquitto from Debian, s3rver from
 * npm, both child processes on loopback): s3, mqtt and s3+mqtt through the
 * real Uploader and durable queue (U1/U2 unchanged), consumed by two
 * IngestConsumers sharing one subscription and one index (U3: exactly once).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { IngestConsumer, SqliteIngestIndex } from '../../src/ingest/index.js';
import { Uploader } from '../../src/upload/index.js';
import { MqttSink, S3MqttSink, S3Sink, buildEvent, encodeEvent, localImageRef, objectKeys } from '../../src/upload/sinks/index.js';
import { BUCKET, objectSha256, readIndex, s3For, startFleet, stopFleet } from './fleet-helpers.js';
import { S3RVER_CREDENTIALS, hasMosquitto, startMosquitto, type ServerProcess } from './fleet-servers.js';
import { makeJpeg, makePackage, waitFor } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-fleet-'));
let broker: ServerProcess;
let store: ServerProcess;
const consumers: IngestConsumer[] = [];
const indexPath = join(dir, 'index.sqlite');

before(async () => {
  const fleet = await startFleet(dir, indexPath, 'g1');
  ({ broker, store } = fleet);
  consumers.push(...fleet.consumers);
});
after(() => stopFleet({ broker, store, consumers }, dir));

const s3Options = () => ({ bucket: BUCKET, prefix: 'units', endpoint: store.url, forcePathStyle: true, ...S3RVER_CREDENTIALS });

test('s3 sink: deterministic key, image and sidecar stored with their sha256; a re-send overwrites the same object (U3)', { skip: !hasMosquitto }, async () => {
  const sink = new S3Sink(s3Options());
  try {
    const pkg = makePackage('cam-s3', 5, await makeJpeg(3, 160, 120));
    const r1 = await sink.send(pkg);
    assert.equal(r1.kind, 'ok', JSON.stringify(r1));
    const keys = objectKeys('units', 'cam-s3', 5, pkg.metadata.timestampNs);
    assert.match(keys.image, /^units\/cam-s3\/\d{4}\/\d{2}\/\d{2}\/5\.jpg$/);
    assert.deepEqual(JSON.parse((r1 as { body: string }).body), { bucket: BUCKET, key: keys.image });
    const s3 = s3For(store.url);
    assert.equal(await objectSha256(s3, BUCKET, keys.image), pkg.metadata.image?.sha256);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keys.image }));
    assert.equal(head.Metadata?.sha256, pkg.metadata.image?.sha256);
    assert.equal(head.Metadata?.['idempotency-key'], 'cam-s3:5');
    assert.equal((await sink.store(pkg)).kind, 'ok', 'a re-send is accepted and writes the same key');
    assert.equal(await objectSha256(s3, BUCKET, keys.image), pkg.metadata.image?.sha256);
    s3.destroy();
  } finally {
    sink.close();
  }
});

test('s3 sink: a missing bucket is retryable (NoSuchBucket heals when created), an unknown access key is permanent (dead letter)', { skip: !hasMosquitto }, async () => {
  const pkg = makePackage('cam-s3', 6, await makeJpeg(3, 160, 120));
  const missing = new S3Sink({ ...s3Options(), bucket: 'no-such-bucket' });
  const r = await missing.send(pkg);
  missing.close();
  assert.equal(r.kind, 'retryable');
  assert.match((r as { reason: string }).reason, /^S3 HTTP 404 NoSuchBucket/);
  const wrong = new S3Sink({ ...s3Options(), accessKeyId: 'NOT-A-KEY', secretAccessKey: 'S3RVER' });
  const p = await wrong.send(pkg);
  wrong.close();
  assert.equal(p.kind, 'permanent', JSON.stringify(p));
  assert.equal((p as { status: number }).status, 403);
  assert.match((p as { reason: string }).reason, /^S3 HTTP 403 InvalidAccessKeyId/);
});

test('mqtt sink: inline image mode carries the JPEG; the consumer verifies it without an object store', { skip: !hasMosquitto }, async () => {
  const inline = new MqttSink({ url: broker.url, site: 'lab', clientId: 'edge-inline', inlineImageMaxBytes: 64 * 1024 });
  await waitFor(() => inline.client.connected, 10000, 'mqtt sink connected');
  const before = readIndex(indexPath).rows.length;
  assert.equal((await inline.send(makePackage('cam-inline', 1, await makeJpeg(2)))).kind, 'ok');
  inline.close();
  await waitFor(() => readIndex(indexPath).rows.some((x) => x.id === 'cam-inline:1'), 15000, 'inline event indexed');
  const row = readIndex(indexPath).rows.find((x) => x.id === 'cam-inline:1')!;
  assert.equal(row.bucket, null, 'no object store in the mqtt-only shape');
  assert.equal(readIndex(indexPath).rows.length, before + 1);
});

test('ingest: an event over maxEventBytes is rejected unread, named by its ce-id user property; one under it is indexed', { skip: !hasMosquitto }, async () => {
  // Its own group and topic: the fleet's consumers (1 MiB limit) must not take these events.
  const small = new SqliteIngestIndex(join(dir, 'max-event.sqlite'));
  const c = await IngestConsumer.start({ url: broker.url, group: 'max-event', topic: 'max/+/+/objects', clientId: 'max-event', connections: 1, verify: 'none', maxEventBytes: 8192, index: small });
  const inline = new MqttSink({ url: broker.url, site: 'lab', topic: 'max/{site}/{camera}/objects', clientId: 'edge-max', inlineImageMaxBytes: 1024 * 1024 });
  try {
    await waitFor(() => inline.client.connected, 10000, 'mqtt sink connected');
    const big = makePackage('cam-max', 1, await makeJpeg(3, 320, 240));
    const bytes = encodeEvent(buildEvent(big, 'lab', { ...localImageRef(big), inlineBase64: big.jpeg.toString('base64') })).length;
    assert.ok(bytes > 8192, `the inline event is ${bytes} bytes`);
    assert.equal((await inline.send(big)).kind, 'ok');
    assert.equal((await inline.send(makePackage('cam-max', 2, await makeJpeg(3)))).kind, 'ok');
    await waitFor(() => c.stats().received === 2, 15000, 'both events received');
    const { rows, rejected } = readIndex(join(dir, 'max-event.sqlite'));
    assert.deepEqual(rejected, [{ id: 'cam-max:1', reason: `event of ${bytes} bytes is over the limit of 8192 bytes: not read` }]);
    assert.deepEqual(rows.map((r) => r.id), ['cam-max:2']);
  } finally {
    inline.close();
    await c.close();
  }
  const never = new SqliteIngestIndex(join(dir, 'never-max.sqlite'));
  await assert.rejects(IngestConsumer.start({ url: broker.url, maxEventBytes: 0, index: never }), {
    name: 'RangeError',
    message: 'Expected positive integer for maxEventBytes but received 0 of type number',
  });
  never.close();
});

test('s3+mqtt through the real uploader: 40 packages (both routes) indexed exactly once, objects right, load shared by both consumers', { skip: !hasMosquitto }, async () => {
  const sink = new S3MqttSink({ s3: s3Options(), mqtt: { url: broker.url, site: 'lab', clientId: 'edge-int' } });
  await waitFor(() => sink.mqtt.client.connected, 10000, 'edge connected');
  const uploader = new Uploader({ sender: sink, queue: { path: join(dir, 'edge-int.db') }, sendHz: 50, backoff: { baseMs: 20, maxMs: 200 } });
  const jpegs = await Promise.all([0, 1, 2].map((s) => makeJpeg(s, 160, 120)));
  const keys: string[] = [];
  for (let i = 0; i < 40; i++) {
    const pkg = makePackage('cam-int', i, jpegs[i % 3]!);
    keys.push(pkg.idempotencyKey);
    uploader.submit(pkg, i % 4 === 0 ? 'immediate' : 'cached');
  }
  try {
    await waitFor(() => uploader.stats().queueDepth === 0, 30000, 'queue drained');
    await waitFor(() => readIndex(indexPath).rows.filter((r) => r.id.startsWith('cam-int:')).length === 40, 20000, '40 indexed');
  } finally {
    await uploader.close();
    sink.close();
  }
  const { rows, rejected } = readIndex(indexPath);
  const mine = rows.filter((r) => r.id.startsWith('cam-int:'));
  assert.deepEqual(mine.map((r) => r.id).sort(), [...keys].sort());
  assert.deepEqual(rejected, []);
  const s3 = s3For(store.url);
  for (const r of mine.slice(0, 10)) assert.equal(await objectSha256(s3, r.bucket!, r.key!), r.sha256);
  s3.destroy();
  const perProcess = new Set(mine.map((r) => r.consumer.replace(/-\d+$/, '')));
  assert.equal(perProcess.size, 2, `both consumer processes indexed events: ${[...perProcess].join(', ')}`);
});

test('ingest: another image under an indexed id (a unit whose imageIds restarted) is rejected with the reason, not dropped as a duplicate', { skip: !hasMosquitto }, async () => {
  const sink = new S3MqttSink({ s3: s3Options(), mqtt: { url: broker.url, site: 'lab', clientId: 'edge-reuse' } });
  await waitFor(() => sink.mqtt.client.connected, 10000, 'edge connected');
  const first = makePackage('cam-reuse', 1, await makeJpeg(21, 160, 120));
  try {
    assert.equal((await sink.send(first)).kind, 'ok');
    await waitFor(() => readIndex(indexPath).rows.some((r) => r.id === 'cam-reuse:1'), 20000, 'first indexed');
    // A re-send of the same package is a duplicate, as before.
    assert.equal((await sink.send(first)).kind, 'ok');
    const again = makePackage('cam-reuse', 1, await makeJpeg(22, 160, 120));
    assert.equal((await sink.send(again)).kind, 'ok');
    await waitFor(() => readIndex(indexPath).rejected.some((r) => r.id === 'cam-reuse:1'), 20000, 'the other image rejected');
  } finally {
    sink.close();
  }
  const { rows, rejected } = readIndex(indexPath);
  assert.equal(rows.filter((r) => r.id === 'cam-reuse:1').length, 1);
  assert.equal(rows.find((r) => r.id === 'cam-reuse:1')!.sha256, first.metadata.image!.sha256, 'the index keeps the first package');
  const reasons = rejected.filter((r) => r.id === 'cam-reuse:1').map((r) => r.reason);
  assert.deepEqual(reasons, [
    'a different package is already indexed under cam-reuse:1 (another image sha256): the unit reuses imageIds (its stateDir was lost or reset?); the object under the same key may have been overwritten',
  ]);
});

test("ingest: an event whose image key is another package's object (same bytes) is rejected, so one image is never indexed under two ids", { skip: !hasMosquitto }, async () => {
  const store3 = new S3Sink({ ...s3Options(), prefix: 'keys' });
  const mq = new MqttSink({ url: broker.url, site: 'lab', clientId: 'edge-key' });
  await waitFor(() => mq.client.connected, 10000, 'edge connected');
  try {
    const jpeg = await makeJpeg(31, 160, 120);
    const one = makePackage('cam-key', 1, jpeg);
    const two = makePackage('cam-key', 2, jpeg);
    assert.equal((await store3.send(one)).kind, 'ok');
    const ref = { contentType: 'image/jpeg' as const, bucket: BUCKET, key: store3.keys(one).image, sha256: two.metadata.image!.sha256, bytes: two.metadata.image!.bytes, width: 640, height: 480 };
    assert.equal((await mq.publish(two, ref)).kind, 'ok');
    await waitFor(() => readIndex(indexPath).rejected.some((r) => r.id === 'cam-key:2'), 20000, 'rejected');
  } finally {
    store3.close();
    mq.close();
  }
  const { rows, rejected } = readIndex(indexPath);
  assert.ok(!rows.some((r) => r.id === 'cam-key:2'));
  assert.match(rejected.find((r) => r.id === 'cam-key:2')!.reason, /^image key 'keys\/cam-key\/\d{4}\/\d\d\/\d\d\/1\.jpg' is not this package's \(expected '…cam-key\/\d{4}\/\d\d\/\d\d\/2\.jpg'\)$/);
});

test('reconcile: a stored package no event announced is indexed from its sidecar; a wrong image is rejected, not indexed', { skip: !hasMosquitto }, async () => {
  const sink = new S3Sink({ ...s3Options(), prefix: 'orphans' });
  const good = makePackage('cam-orphan', 1, await makeJpeg(5, 160, 120));
  const bad = makePackage('cam-orphan', 2, await makeJpeg(6, 160, 120));
  assert.equal((await sink.send(good)).kind, 'ok');
  assert.equal((await sink.send(bad)).kind, 'ok');
  // Damage the second image after the fact: its sidecar still names the original sha256.
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  await sink.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: sink.keys(bad).image, Body: Buffer.from('not the image') }));
  sink.close();
  const r = await consumers[0]!.reconcile(BUCKET, 'orphans/');
  assert.deepEqual(r, { scanned: 2, added: 1, rejected: 1 });
  const { rows, rejected } = readIndex(indexPath);
  assert.ok(rows.some((x) => x.id === 'cam-orphan:1' && x.consumer === 'reconcile'));
  assert.ok(!rows.some((x) => x.id === 'cam-orphan:2'));
  assert.match(rejected.find((x) => x.id === 'cam-orphan:2')!.reason, /^object s3:\/\/fleet-test\/orphans\/cam-orphan\/.*\/2\.jpg has sha256 [0-9a-f]{64} \(13 bytes\), expected /);
  assert.deepEqual(await consumers[0]!.reconcile(BUCKET, 'orphans/'), { scanned: 2, added: 0, rejected: 1 }, 'a second pass adds nothing (U3)');
});

test('s3 sink: an object at the part size goes up as a multipart upload, each part with its sha256; small ones stay one PUT', { skip: !hasMosquitto }, async () => {
  const MiB = 1024 * 1024;
  const sink = new S3Sink({ ...s3Options(), prefix: 'multipart', partSizeBytes: 5 * MiB, multipartThresholdBytes: 5 * MiB });
  try {
    const jpeg = await makeJpeg(7, 160, 120);
    // A real JPEG followed by 11 MiB of bytes (data after EOI is ignored by decoders): 3 parts.
    const big = Buffer.concat([jpeg, Buffer.alloc(11 * MiB, 0x5a)]);
    const pkg = makePackage('cam-big', 1, big);
    // Which S3 operations the sink issues (the SDK's own middleware stack).
    const ops: string[] = [];
    sink.client.middlewareStack.add(
      (next, context) => async (args) => {
        ops.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
    const r = await sink.send(pkg);
    assert.equal(r.kind, 'ok', JSON.stringify(r));
    const s3 = s3For(store.url);
    const key = sink.keys(pkg).image;
    assert.deepEqual(ops, [
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
      'PutObjectCommand', // the sidecar, small
      'HeadObjectCommand', // the image read back: size and stored sha256
      'HeadObjectCommand', // the sidecar read back
    ]);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.equal(head.ContentLength, big.length);
    assert.equal(await objectSha256(s3, BUCKET, key), pkg.metadata.image?.sha256);
    const small = makePackage('cam-big', 2, jpeg);
    ops.length = 0;
    assert.equal((await sink.send(small)).kind, 'ok');
    assert.deepEqual(ops, ['PutObjectCommand', 'PutObjectCommand', 'HeadObjectCommand', 'HeadObjectCommand'], 'image and sidecar: one PUT each, then each read back');
    s3.destroy();
  } finally {
    sink.close();
  }
  assert.throws(() => new S3Sink({ bucket: BUCKET, partSizeBytes: 1024 }), { message: 'Expected integer >= 5242880 (5 MiB) for partSizeBytes but received 1024 of type number' });
});

test('IngestConsumer.start waits for a broker that is not up yet, saying so (waiting: at once, then every waitReportMs; connected), then subscribes', { skip: !hasMosquitto }, async () => {
  const { freePort } = await import('./fleet-servers.js');
  const port = await freePort();
  let ready = false;
  const said: Array<{ waiting?: { reason: string; forMs: number }; connected?: { afterMs: number } }> = [];
  const starting = IngestConsumer.start(
    { url: `mqtt://127.0.0.1:${port}`, clientId: 'late-consumer', connections: 2, verify: 'none', waitReportMs: 400, index: new SqliteIngestIndex(join(dir, 'late.sqlite')) },
    (c) => {
      c.on('waiting', (waiting) => said.push({ waiting }));
      c.on('connected', (connected) => said.push({ connected }));
    },
  ).then((c) => {
    ready = true;
    return c;
  });
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(ready, false, 'not started while no broker listens');
  // About 8 failed attempts per connection by now: said at 0 ms, then every 400 ms, not per attempt.
  assert.deepEqual(said[0], { waiting: { reason: `connect ECONNREFUSED 127.0.0.1:${port}`, forMs: 0 } });
  assert.ok(said.length >= 2 && said.length <= 3, JSON.stringify(said));
  for (let i = 1; i < said.length; i++) assert.ok(said[i]!.waiting!.forMs - said[i - 1]!.waiting!.forMs >= 400, JSON.stringify(said));
  const late = await startMosquitto(join(dir, 'mq-late'), { port });
  try {
    const c = await starting;
    assert.ok(c.clients.every((x) => x.connected));
    await waitFor(() => said.at(-1)?.connected !== undefined, 5000, 'connected said');
    assert.ok(said.at(-1)!.connected!.afterMs >= 1100, JSON.stringify(said));
    await c.close();
  } finally {
    await late.stop();
  }
  // MQTT.js would take an http:// URL and wait on it for ever.
  const never = new SqliteIngestIndex(join(dir, 'never.sqlite'));
  await assert.rejects(IngestConsumer.start({ url: 'http://127.0.0.1:1', verify: 'none', index: never }), {
    name: 'TypeError',
    message: "Expected mqtt://, mqtts://, ws:// or wss:// URL for url but received 'http://127.0.0.1:1' of type string",
  });
  never.close();
});
