/**
 * Fault tests of the uploader (U1–U3) against a REAL receiver process: the
 * `bestshot receiver` CLI spawned as a child on loopback, with its test
 * fault knobs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PackageQueue, Uploader, type PackageSender, type SendResult, type UploaderOptions, type UploadPackage } from '../../src/upload/index.js';
import { listPackages, makeJpeg, makePackage, spawnReceiver, waitFor, type ReceiverProcess } from './helpers.js';
import { freePort } from '../helpers/net.js';

const TOKEN = 'uploader-test-token';
let dir: string;
let jpeg: Buffer;
let bigJpeg: Buffer;
const running: ReceiverProcess[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-uploader-'));
  jpeg = await makeJpeg(8);
  bigJpeg = await makeJpeg(9, 1280, 720);
});
after(async () => {
  await Promise.all(running.map((r) => r.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function receiver(name: string, extra: string[] = []): Promise<ReceiverProcess> {
  const r = await spawnReceiver(['--dir', join(dir, `rcv-${name}`), '--token', TOKEN, '--port', '0', ...extra]);
  running.push(r);
  return r;
}

function uploader(url: string, name: string, options: Partial<UploaderOptions> = {}): Uploader {
  return new Uploader({
    sender: { url: `${url}/packages`, token: TOKEN, responseTimeoutMs: 5000 },
    queue: { path: join(dir, `${name}.db`) },
    sendHz: 20,
    backoff: { baseMs: 50, maxMs: 400 },
    ...options,
  });
}

const pkgs = (camera: string, n: number, image = jpeg, from = 0): UploadPackage[] =>
  Array.from({ length: n }, (_, i) => makePackage(camera, from + i, image));


test('U2: receiver down, then up — every queued package arrives, in order, once after dedupe', async () => {
  const port = await freePort();
  const up = uploader(`http://127.0.0.1:${port}`, 'down-up');
  const order: string[] = [];
  up.on('queued', (e) => order.push(e.idempotencyKey));
  const retries: string[] = [];
  up.on('retry', (e) => retries.push(`${e.route}:${e.errorKind}`));
  try {
    for (const p of pkgs('cam-du', 8)) up.submit(p, 'cached');
    for (const p of pkgs('cam-du', 2, jpeg, 100)) up.submit(p, 'immediate');
    // Immediate packages fail against the dead endpoint and fall back to the queue (U1).
    await waitFor(() => up.stats().queueDepth === 10 && up.stats().retries >= 4, 10000, 'failed tries while the receiver is down');
    assert.equal(up.stats().sentCached + up.stats().sentImmediate, 0);
    assert.ok(retries.includes('immediate:network') && retries.includes('cached:network'), retries.join(','));

    const r = await receiver('down-up', ['--port', String(port)]);
    await waitFor(() => up.stats().queueDepth === 0, 20000, 'queue drained after the receiver came up');
    const stored = await listPackages(r.url, TOKEN, 'cam-du');
    assert.deepEqual(stored.map((p) => p.key), order, 'arrival order == queue order');
    assert.equal(new Set(stored.map((p) => p.key)).size, 10);
    assert.deepEqual(order.slice(0, 8), pkgs('cam-du', 8).map((p) => p.idempotencyKey));
    const s = up.stats();
    assert.equal(s.sentCached, 10);
    assert.equal(s.delivered, 10);
    assert.equal(s.enqueued, 10);
    assert.equal(s.errorsByKind.network, s.retries);
  } finally {
    await up.close();
  }
});

test('U2: 503 with Retry-After is retried no sooner than the server asked; the FIFO order holds', async () => {
  const r = await receiver('503', ['--test-fail-first', '2', '--test-fail-status', '503', '--test-retry-after', '1']);
  const up = uploader(r.url, '503');
  const delays: number[] = [];
  const sentAt: number[] = [];
  const failedAt: number[] = [];
  up.on('retry', (e) => {
    delays.push(e.delayMs!);
    failedAt.push(Date.now());
  });
  up.on('sent', () => sentAt.push(Date.now()));
  try {
    for (const p of pkgs('cam-5xx', 3)) up.submit(p, 'cached');
    await waitFor(() => up.stats().queueDepth === 0, 15000, 'drained');
    assert.equal(delays.length, 2);
    for (const d of delays) assert.ok(d >= 1000, `back-off ${d} ms honours Retry-After: 1`);
    assert.ok(sentAt[0]! - failedAt[1]! >= 1000, 'next try waited for Retry-After');
    assert.equal(up.stats().errorsByKind.http5xx, 2);
    const stored = await listPackages(r.url, TOKEN, 'cam-5xx');
    assert.deepEqual(stored.map((p) => p.key), ['cam-5xx:0', 'cam-5xx:1', 'cam-5xx:2']);
  } finally {
    await up.close();
  }
});

test('U2: the back-off is measured on the monotonic clock — a wall clock stepped forward 1 h does not skip it, stepped back 1 h does not hold it', async () => {
  let mono = 1_000; // the injected monotonic clock, ms
  const attempts: number[] = [];
  const sender: PackageSender = {
    send: async (): Promise<SendResult> => {
      attempts.push(mono);
      return attempts.length === 1 ? { kind: 'retryable', errorKind: 'network', reason: 'connect ECONNREFUSED', durationMs: 1 } : { kind: 'ok', status: 200, body: '{}', durationMs: 1 };
    },
    close: () => {},
  };
  const wall = Date.now;
  const up = new Uploader({ sender, queue: { path: join(dir, 'clock-step.db') }, sendHz: 50, backoff: { baseMs: 2_000, maxMs: 2_000 }, random: () => 1, now: () => mono });
  try {
    up.submit(pkgs('cam-clk', 1)[0]!, 'cached');
    await waitFor(() => attempts.length === 1, 5000, 'the first try');
    // Forward 1 h: the 2 s back-off is still to run (the wall clock said it was over).
    Date.now = () => wall() + 3_600_000;
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(attempts, [1_000], 'no try before the back-off ended');
    // Back 1 h from where it was: the back-off ends when the monotonic clock says so, not an hour later.
    Date.now = () => wall() - 3_600_000;
    mono += 2_000;
    await waitFor(() => up.stats().queueDepth === 0, 5000, 'the retry after the back-off');
    assert.deepEqual(attempts, [1_000, 3_000]);
  } finally {
    Date.now = wall;
    await up.close();
  }
});

test('U2: a permanent 4xx goes to the dead-letter table with the reason, and the queue moves on', async () => {
  const r = await receiver('400', ['--test-fail-first', '1', '--test-fail-status', '422']);
  const up = uploader(r.url, '422');
  const dead: string[] = [];
  up.on('deadLettered', (e) => dead.push(`${e.idempotencyKey} ${e.status} ${e.reason}`));
  try {
    for (const p of pkgs('cam-4xx', 3)) up.submit(p, 'cached');
    await waitFor(() => up.stats().queueDepth === 0, 10000, 'drained');
    assert.deepEqual(dead, ['cam-4xx:0 422 HTTP 422: {"error":"test fault"}']);
    assert.deepEqual(
      up.queue.deadLetters().map((d) => [d.idempotencyKey, d.status, d.reason]),
      [['cam-4xx:0', 422, 'HTTP 422: {"error":"test fault"}']],
    );
    assert.equal(up.stats().deadLettered, 1);
    assert.equal(up.stats().retries, 0, '4xx other than 408/429 is not retried');
    assert.deepEqual((await listPackages(r.url, TOKEN, 'cam-4xx')).map((p) => p.key), ['cam-4xx:1', 'cam-4xx:2']);
  } finally {
    await up.close();
  }
});

test('U3: slow responses time out, the retry is answered as a duplicate, each package is stored once', async () => {
  const r = await receiver('slow', ['--test-delay-first', '2', '--test-delay-ms', '2500']);
  const up = uploader(r.url, 'slow', { sender: { url: `${r.url}/packages`, token: TOKEN, responseTimeoutMs: 1000 } });
  const bodies: string[] = [];
  up.on('sent', (e) => bodies.push(e.body));
  try {
    for (const p of pkgs('cam-slow', 3)) up.submit(p, 'cached');
    await waitFor(() => up.stats().queueDepth === 0, 15000, 'drained');
    assert.equal(up.stats().errorsByKind.timeout, 2);
    const stored = await listPackages(r.url, TOKEN, 'cam-slow');
    assert.deepEqual(stored.map((p) => p.key), ['cam-slow:0', 'cam-slow:1', 'cam-slow:2']);
    assert.equal(stored[0]!.duplicates, 2, 'stored by the first (timed-out) POST, the two retries were duplicates');
    assert.equal(bodies[0], '{"duplicate":true,"key":"cam-slow:0"}');
    assert.equal(bodies[2], '{"stored":true,"key":"cam-slow:2"}');
  } finally {
    await up.close();
  }
});

test('U1: connection cut mid-upload — the immediate packages fall back to the queue and arrive once', async () => {
  const r = await receiver('cut', ['--test-cut-first', '2']);
  const up = uploader(r.url, 'cut');
  const queued: string[] = [];
  up.on('queued', (e) => queued.push(`${e.idempotencyKey} ${e.reason}`));
  try {
    const [a, b] = pkgs('cam-cut', 2, bigJpeg);
    up.submit(a!, 'immediate');
    up.submit(b!, 'immediate');
    await waitFor(() => up.stats().delivered === 2, 15000, 'both delivered through the queue');
    assert.deepEqual(queued.sort(), ['cam-cut:0 immediate-failed', 'cam-cut:1 immediate-failed']);
    assert.equal(up.stats().errorsByKind.network, 2);
    assert.equal(up.stats().sentImmediate, 0);
    const stats = (await (await fetch(`${r.url}/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { faultsCut: number; stored: number };
    assert.equal(stats.faultsCut, 2);
    assert.equal(stats.stored, 2);
    const stored = await listPackages(r.url, TOKEN, 'cam-cut');
    assert.deepEqual(stored.map((p) => p.key).sort(), ['cam-cut:0', 'cam-cut:1']);
    const img = await fetch(`${r.url}/packages/cam-cut%3A0/image.jpg`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.ok(Buffer.from(await img.arrayBuffer()).equals(bigJpeg), 'the stored image is whole');
  } finally {
    await up.close();
  }
});

test('U1: immediate sends are bounded by immediateConcurrency; all are written ahead to the queue; overflow is left to its drain; close() leaves what is pending queued', async () => {
  const r = await receiver('conc', ['--test-delay-first', '100', '--test-delay-ms', '300']);
  const path = join(dir, 'conc.db');
  const up = new Uploader({
    sender: { url: `${r.url}/packages`, token: TOKEN },
    queue: { path },
    sendHz: 0.1, // the drain stays out of the way
    immediateConcurrency: 2,
    maxImmediatePending: 2,
    closeTimeoutMs: 100,
  });
  const reasons: string[] = [];
  up.on('queued', (e) => reasons.push(`${e.idempotencyKey} ${e.reason}`));
  for (const p of pkgs('cam-im', 6)) up.submit(p, 'immediate');
  const s = up.stats();
  assert.equal(s.immediateInFlight, 2);
  assert.equal(s.immediatePending, 2);
  // Every immediate package is written ahead to the durable queue before its send (a kill -9 cannot lose it).
  assert.equal(s.queueDepth, 6);
  assert.deepEqual(reasons, ['cam-im:4 immediate-overflow', 'cam-im:5 immediate-overflow']);
  const closing = up.close();
  assert.equal(up.close(), closing, 'close() is idempotent');
  await closing;
  assert.throws(() => up.submit(pkgs('cam-im', 1, jpeg, 9)[0]!, 'immediate'), { name: 'InvalidStateError', message: 'Uploader is closed' });
  // In-flight sends were aborted after closeTimeoutMs and queued, pending ones were queued: nothing lost.
  assert.deepEqual(reasons.slice(2).sort(), ['cam-im:0 closing', 'cam-im:1 closing', 'cam-im:2 closing', 'cam-im:3 closing']);
  const q = PackageQueue.open({ path });
  assert.deepEqual(q.keys().sort(), ['cam-im:0', 'cam-im:1', 'cam-im:2', 'cam-im:3', 'cam-im:4', 'cam-im:5']);
  q.close();
});
