/**
 * Sink pieces without servers: deterministic object keys (U3 by
 * construction), the CloudEvent envelope against schemas/event.v1.json,
 * the S3 error classification (U2: retryable vs permanent), option errors
 * with their exact messages, and an MQTT sink whose broker is down failing
 * at once as retryable (capture never waits). Real servers: fleet*.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { compileSchemaFile } from '../../src/json-schema.js';
import { PACKAGE_SCHEMA_FILE } from '../../src/upload/index.js';
import { EVENT_SCHEMA_FILE, MqttSink, S3MqttSink, S3Sink, buildEvent, classifyS3Error, localImageRef, objectKeys, rfc3339FromNs, topicFor, validateEvent } from '../../src/upload/sinks/index.js';
import { freePort } from './fleet-servers.js';
import { makeJpeg, makePackage } from './helpers.js';

test('objectKeys: <prefix>/<camera>/<yyyy>/<mm>/<dd>/<imageId>.jpg from the UTC capture date, the sidecar beside it', () => {
  assert.deepEqual(objectKeys('fleet-a', 'cam-1', 42, '1795550000123456789'), { image: 'fleet-a/cam-1/2026/11/24/42.jpg', sidecar: 'fleet-a/cam-1/2026/11/24/42.json' });
  assert.deepEqual(objectKeys(undefined, 'cam-1', 7, '1767225599999999999'), { image: 'cam-1/2025/12/31/7.jpg', sidecar: 'cam-1/2025/12/31/7.json' });
  assert.equal(objectKeys('p', 'c', 7, '1767225600000000000').image, 'p/c/2026/01/01/7.jpg', 'midnight UTC starts the next day');
});

test('rfc3339FromNs keeps the nanoseconds', () => {
  assert.equal(rfc3339FromNs('1795550000123456789'), '2026-11-24T19:53:20.123456789Z');
  assert.equal(rfc3339FromNs('1795550000000000001'), '2026-11-24T19:53:20.000000001Z');
});

test('the event envelope: CloudEvents 1.0, id = idempotency key (U3), valid against schemas/event.v1.json (which refers to package.v1.json)', async () => {
  assert.ok(compileSchemaFile(EVENT_SCHEMA_FILE, 20, [PACKAGE_SCHEMA_FILE]), 'the schema compiles in ajv strict mode');
  const pkg = makePackage('cam-e', 12, await makeJpeg(1));
  const ref = { ...localImageRef(pkg), bucket: 'fleet-images', key: 'p/cam-e/2026/11/24/12.jpg', sidecarKey: 'p/cam-e/2026/11/24/12.json' };
  const ev = buildEvent(pkg, 'north', ref);
  assert.deepEqual(validateEvent(JSON.parse(JSON.stringify(ev))), []);
  assert.equal(ev.id, 'cam-e:12');
  assert.equal(ev.specversion, '1.0');
  assert.equal(ev.source, 'bestshot://north/cam-e');
  assert.equal(ev.subject, 'cam-e/12');
  assert.equal(ev.dataref, 's3://fleet-images/p/cam-e/2026/11/24/12.jpg');
  assert.equal(ev.data.package, pkg.metadata, 'data.package is the package metadata unchanged');
  assert.deepEqual(ev.data.objects, [
    { id: '7', label: 'car', confidence: 0.91, bbox: { topleftx: 287, toplefty: 210, bottomrightx: 367, bottomrighty: 270 }, location: { lat: 48.13712, lon: 11.57551, alt: 519.5 } },
  ]);
  assert.deepEqual(ev.data.sensor, { id: 'cam-e', type: 'camera', site: 'north', location: { lat: 48.1371, lon: 11.5754, alt: 519.5 } });
  // Without an object store there is no dataref and no bucket/key.
  const local = buildEvent(pkg, 'north', localImageRef(pkg));
  assert.equal(local.dataref, undefined);
  assert.deepEqual(validateEvent(JSON.parse(JSON.stringify(local))), []);
});

test('validateEvent names what is wrong, down into the package metadata', async () => {
  const pkg = makePackage('cam-e', 13, await makeJpeg(1));
  const ev = JSON.parse(JSON.stringify(buildEvent(pkg, 'north', localImageRef(pkg))));
  ev.specversion = '0.3';
  delete ev.data.image.sha256;
  ev.data.package.width = 1.5;
  ev.extra = 1;
  assert.deepEqual(validateEvent(ev), [
    { path: '/extra', message: 'is not allowed' },
    { path: '/specversion', message: "expected '1.0' but received '0.3' of type string" },
    { path: '/data/package/width', message: 'expected integer but received 1.5 of type number' },
    { path: '/data/image/sha256', message: 'is required' },
  ]);
});

test('classifyS3Error: network, timeouts, 5xx and self-healing S3 codes retry; other 4xx are permanent (U2)', () => {
  const c = (e: object) => classifyS3Error(e, 1);
  assert.deepEqual(c({ name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' }), { kind: 'retryable', errorKind: 'network', reason: 'S3 ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9', durationMs: 1 });
  assert.equal(c({ name: 'TimeoutError', message: 'Connection timed out after 5000 ms' }).errorKind, 'timeout');
  assert.equal(c({ name: 'AbortError', message: 'aborted' }).reason, 'S3 aborted');
  const nsb = c({ name: 'NoSuchBucket', message: 'The specified bucket does not exist', $metadata: { httpStatusCode: 404 } });
  assert.deepEqual(nsb, { kind: 'retryable', errorKind: 'http4xx', status: 404, reason: 'S3 HTTP 404 NoSuchBucket: The specified bucket does not exist', durationMs: 1 });
  assert.equal(c({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } }).kind, 'retryable');
  assert.equal(c({ name: 'InternalError', $metadata: { httpStatusCode: 500 } }).errorKind, 'http5xx');
  assert.equal(c({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } }).kind, 'retryable', 'bytes damaged on the way: send again');
  assert.equal(c({ name: 'RequestTimeTooSkewed', $metadata: { httpStatusCode: 403 } }).kind, 'retryable');
  assert.equal(c({ name: 'TooManyRequests', $metadata: { httpStatusCode: 429 } }).errorKind, 'http429');
  assert.deepEqual(c({ name: 'AccessDenied', message: 'Access Denied', $metadata: { httpStatusCode: 403 } }), { kind: 'permanent', errorKind: 'http4xx', status: 403, reason: 'S3 HTTP 403 AccessDenied: Access Denied', durationMs: 1 });
  assert.equal(c({ name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } }).kind, 'permanent');
  assert.equal(c({ name: 'PermanentRedirect', $metadata: { httpStatusCode: 301 } }).errorKind, 'http3xx');
});

test('sink options are checked with exact messages', () => {
  assert.throws(() => new S3Sink({ bucket: 'Bad_Bucket' }), { name: 'TypeError', message: "Expected S3 bucket name for bucket but received 'Bad_Bucket' of type string" });
  assert.throws(() => new S3Sink({ bucket: 'ok-bucket', prefix: '/lead' }), { message: "Expected key prefix without leading or trailing '/' for prefix but received '/lead' of type string" });
  assert.throws(() => new S3Sink({ bucket: 'ok-bucket', accessKeyId: 'a' }), { message: 'Expected both accessKeyId and secretAccessKey for static S3 credentials but received only one' });
  assert.throws(() => new MqttSink({ url: 'http://broker' }), { message: "Expected mqtt://, mqtts://, ws:// or wss:// URL for url but received 'http://broker' of type string" });
  assert.throws(() => new MqttSink({ url: 'mqtt://127.0.0.1:1', topic: 'a/+/b' }), {
    message: "Expected MQTT topic without wildcards, '$' prefix or placeholders other than {site} and {camera} for topic but received 'a/+/b' of type string",
  });
  assert.throws(() => new MqttSink({ url: 'mqtt://127.0.0.1:1', topic: 'a/{unit}' }), /placeholders other than/);
  assert.throws(() => new MqttSink({ url: 'mqtt://127.0.0.1:1', site: 'a/b' }), { message: "Expected site matching /^[A-Za-z0-9_-]+$/ for site but received 'a/b' of type string" });
  assert.equal(topicFor('bestshot/{site}/{camera}/objects', 'north', 'cam-1'), 'bestshot/north/cam-1/objects');
});

test('a broker that is down: send fails at once as retryable, nothing waits (U2); s3+mqtt with the store down never publishes', async () => {
  const port = await freePort(); // nothing listens there
  const sink = new MqttSink({ url: `mqtt://127.0.0.1:${port}`, clientId: 'down-test', reconnectPeriodMs: 50 });
  const pkg = makePackage('cam-d', 1, await makeJpeg(1));
  const r = await sink.send(pkg);
  assert.equal(r.kind, 'retryable');
  assert.match(r.kind === 'retryable' ? r.reason : '', /^MQTT broker not connected( \(.+\))?$/);
  // Once the client has tried, the reason says why (here refused; a broker's 'Not authorized' the same way).
  await new Promise((res) => setTimeout(res, 300));
  const r1 = await sink.send(pkg);
  assert.match(r1.kind === 'retryable' ? r1.reason : '', /^MQTT broker not connected \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/);
  const both = new S3MqttSink({ s3: { bucket: 'fleet-images', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, accessKeyId: 'a', secretAccessKey: 'b' }, mqtt: sink });
  const r2 = await both.send(pkg);
  assert.equal(r2.kind, 'retryable');
  assert.match((r2 as { reason: string }).reason, /^S3 ECONNREFUSED/, 'the object store is tried first and its failure is the answer');
  both.close();
  sink.close();
});

test('a broker URL that reaches a server speaking something else (a web server): the reason says so, not the MQTT parser\'s words', async () => {
  // Answers anything with an HTTP error, as a web server on a mistyped port does.
  const web = createServer((s) => {
    s.on('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const { port } = web.address() as AddressInfo;
  const sink = new MqttSink({ url: `mqtt://127.0.0.1:${port}`, clientId: 'web-test', reconnectPeriodMs: 50 });
  try {
    const pkg = makePackage('cam-w', 1, await makeJpeg(1));
    let reason = '';
    for (let i = 0; i < 50 && !reason.includes('('); i++) {
      await new Promise((res) => setTimeout(res, 100));
      const r = await sink.send(pkg);
      assert.equal(r.kind, 'retryable');
      reason = r.kind === 'retryable' ? r.reason : '';
    }
    // Before: 'MQTT broker not connected (Invalid header flag bits, must be 0x0 for puback packet)'.
    assert.match(reason, /^MQTT broker not connected \(the server there does not speak MQTT \(its answer is no MQTT packet: [^)]+\): check the host and port of the broker URL \(MQTT listens on 1883, TLS on 8883\)\)$/);
  } finally {
    sink.close();
    web.close();
  }
});

/**
 * An S3Client stand-in that records commands and answers a HEAD from what the last PUT stored, after
 * `damage` had its say: a store that applied a cut PUT late holds other bytes under the key (s3rver
 * truncates, keeping the ETag and metadata of the whole PUT) though the PUT itself answered 200.
 */
function recordingS3(damage: (key: string, heads: number) => { bytes?: number; status?: number } | undefined) {
  const calls: string[] = [];
  const stored = new Map<string, { bytes: number; sha256: string; md5: string }>();
  const heads = new Map<string, number>();
  const client = {
    async send(cmd: { constructor: { name: string }; input: { Key: string; Body?: Buffer; Metadata?: Record<string, string> } }) {
      const { Key, Body, Metadata } = cmd.input;
      calls.push(`${cmd.constructor.name.replace(/Command$/, '')} ${Key}`);
      if (cmd.constructor.name === 'PutObjectCommand') {
        const md5 = createHash('md5').update(Body!).digest('hex');
        stored.set(Key, { bytes: Body!.length, sha256: Metadata!.sha256!, md5 });
        return { ETag: `"${md5}"` };
      }
      const n = (heads.get(Key) ?? 0) + 1;
      heads.set(Key, n);
      const d = damage(Key, n);
      if (d?.status !== undefined) throw Object.assign(new Error('Forbidden'), { name: 'Forbidden', $metadata: { httpStatusCode: d.status } });
      const o = stored.get(Key)!;
      return { ContentLength: d?.bytes ?? o.bytes, ETag: `"${o.md5}"`, Metadata: { sha256: o.sha256 } };
    },
    destroy() {},
  };
  return { client: client as unknown as S3Client, calls };
}

test('s3 sink: each object is read back after its PUTs; a key that no longer holds the bytes sent is retried, not reported stored', async () => {
  const pkg = makePackage('cam-rb', 3, await makeJpeg(1));
  const image = 'p/cam-rb/2026/11/24/3.jpg';
  const s3 = recordingS3((key, n) => (key === image && n === 1 ? { bytes: 0 } : undefined));
  const sink = new S3Sink({ bucket: 'fleet-images', prefix: 'p', client: s3.client });
  const r = await sink.store(pkg);
  assert.equal(r.kind, 'retryable');
  assert.equal((r as { reason: string }).reason, `S3 object ${image} holds 0 bytes, not the ${pkg.jpeg.length} stored`);
  assert.deepEqual(s3.calls, [`PutObject ${image}`, 'PutObject p/cam-rb/2026/11/24/3.json', `HeadObject ${image}`]);
  const again = await sink.store(pkg);
  assert.equal(again.kind, 'ok', 'the retry PUTs again, and the key holds the bytes');
  // Write-only credentials (PutObject without GetObject): the HEAD's 403 cannot tell; the PUT's verified answer stands, asked once.
  const wo = recordingS3(() => ({ status: 403 }));
  const woSink = new S3Sink({ bucket: 'fleet-images', prefix: 'p', client: wo.client });
  assert.equal((await woSink.store(pkg)).kind, 'ok');
  assert.equal((await woSink.store(pkg)).kind, 'ok');
  assert.equal(wo.calls.filter((c) => c.startsWith('HeadObject')).length, 1);
});

test('s3+mqtt: a retry after an MQTT failure HEADs the remembered object and PUTs it again when the key lost its bytes, before the event names it (U3)', async () => {
  const pkg = makePackage('cam-rb', 4, await makeJpeg(1));
  const image = 'p/cam-rb/2026/11/24/4.jpg';
  // The first read-back (inside store) sees the bytes; the HEAD before the re-publish sees them truncated.
  const s3 = recordingS3((key, n) => (key === image && n === 2 ? { bytes: 1000 } : undefined));
  const mqtt = new MqttSink({ url: `mqtt://127.0.0.1:${await freePort()}`, clientId: 'rb-test', reconnectPeriodMs: 60000 });
  const published: string[] = [];
  let fail = true;
  mqtt.publish = async (p, ref) => {
    published.push(`${ref.key} after ${s3.calls.length} S3 calls`);
    if (fail) return { kind: 'retryable', errorKind: 'network', reason: 'MQTT connection lost before PUBACK', durationMs: 1 };
    return { kind: 'ok', status: 0, body: JSON.stringify({ id: p.idempotencyKey }), durationMs: 1 };
  };
  const sink = new S3MqttSink({ s3: new S3Sink({ bucket: 'fleet-images', prefix: 'p', client: s3.client }), mqtt });
  try {
    assert.equal((await sink.send(pkg)).kind, 'retryable');
    fail = false;
    assert.equal((await sink.send(pkg)).kind, 'ok');
    const json = 'p/cam-rb/2026/11/24/4.json';
    const stored = [`PutObject ${image}`, `PutObject ${json}`, `HeadObject ${image}`, `HeadObject ${json}`];
    assert.deepEqual(s3.calls, [...stored, `HeadObject ${image}`, ...stored]);
    assert.deepEqual(published, [`${image} after 4 S3 calls`, `${image} after 9 S3 calls`], 'the event names the object only once it holds the bytes again');
  } finally {
    sink.close();
    mqtt.close();
  }
});

test('a broker that hands the session to another client with the same clientId (DISCONNECT 0x8E) is named in the retry reason, not only "not connected"', async () => {
  // mosquitto 2.0 closes the old connection without a DISCONNECT; EMQX, HiveMQ and AWS IoT Core send
  // 0x8E "session taken over". A broker on loopback speaking just enough MQTT 5: CONNACK, then that DISCONNECT.
  const { createServer } = await import('node:net');
  const sockets: import('node:net').Socket[] = [];
  const broker = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.once('data', () => {
      s.write(Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00])); // CONNACK, success, no properties
      setImmediate(() => s.end(Buffer.from([0xe0, 0x02, 0x8e, 0x00]))); // DISCONNECT 0x8E, no properties
    });
  });
  await new Promise<void>((r) => broker.listen(0, '127.0.0.1', () => r()));
  const port = (broker.address() as { port: number }).port;
  const sink = new MqttSink({ url: `mqtt://127.0.0.1:${port}`, clientId: 'unit-cloned', reconnectPeriodMs: 60_000 });
  try {
    await new Promise<void>((r) => sink.client.once('close', () => r()));
    const r = await sink.send(makePackage('cam-takeover', 1, await makeJpeg(1)));
    assert.equal(r.kind, 'retryable');
    assert.equal(
      r.kind === 'retryable' ? r.reason : '',
      "MQTT broker not connected (session taken over: another client connected with clientId 'unit-cloned'; each unit needs a clientId of its own (the default is built from the hostname, the same on cloned units))",
    );
  } finally {
    sink.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => broker.close(() => r()));
  }
});
