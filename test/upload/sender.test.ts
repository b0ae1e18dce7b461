import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import busboy from 'busboy';
import { startReceiver, type Receiver } from '../../src/receiver/index.js';
import {
  HttpSender,
  backoffCapMs,
  backoffDelayMs,
  classifyStatus,
  encodeMultipart,
  parseRetryAfter,
  resolveBackoff,
} from '../../src/upload/index.js';
import { makeJpeg, makePackage } from './helpers.js';

const TOKEN = 'sender-test-token';
let dir: string;
let receiver: Receiver;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-sender-'));
  receiver = await startReceiver({ dir: join(dir, 'plain'), token: TOKEN });
});
after(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

test('U1: multipart encoding is parsed back by busboy into the metadata and image parts', async () => {
  const jpeg = await makeJpeg(4);
  const pkg = makePackage('cam-a', 17, jpeg);
  const { contentType, body } = encodeMultipart(pkg, 'XyZ-boundary');
  assert.equal(contentType, 'multipart/form-data; boundary=XyZ-boundary');
  const parts: Record<string, { data: Buffer; mime: string; filename?: string }> = {};
  await new Promise<void>((resolve, reject) => {
    const bb = busboy({ headers: { 'content-type': contentType } });
    bb.on('field', (name, value, info) => (parts[name] = { data: Buffer.from(value), mime: info.mimeType }));
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('close', () => (parts[name] = { data: Buffer.concat(chunks), mime: info.mimeType, filename: info.filename }));
    });
    bb.on('close', resolve);
    bb.on('error', reject);
    Readable.from([body]).pipe(bb);
  });
  assert.deepEqual(Object.keys(parts).sort(), ['image', 'metadata']);
  assert.equal(parts.metadata!.mime, 'application/json');
  assert.deepEqual(JSON.parse(parts.metadata!.data.toString()), JSON.parse(JSON.stringify(pkg.metadata)));
  assert.equal(parts.image!.mime, 'image/jpeg');
  assert.equal(parts.image!.filename, 'cam-a_17.jpg');
  assert.ok(parts.image!.data.equals(jpeg));
});

test('U2: Retry-After is read as delay-seconds or HTTP-date', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Tue, 24 Nov 2026 12:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Tue, 24 Nov 2026 11:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter(undefined, now), undefined);
  assert.equal(parseRetryAfter('-5', now), undefined);
  assert.equal(parseRetryAfter('1.5', now), undefined);
  assert.equal(parseRetryAfter('soon', now), undefined);
});

test('U2: 2xx ok; 408, 429, 5xx retryable; other 4xx and 3xx permanent (dead letter)', () => {
  assert.deepEqual(classifyStatus(200), { kind: 'ok' });
  assert.deepEqual(classifyStatus(201), { kind: 'ok' });
  assert.deepEqual(classifyStatus(299), { kind: 'ok' });
  assert.deepEqual(classifyStatus(408), { kind: 'retryable', errorKind: 'http408' });
  assert.deepEqual(classifyStatus(429), { kind: 'retryable', errorKind: 'http429' });
  assert.deepEqual(classifyStatus(500), { kind: 'retryable', errorKind: 'http5xx' });
  assert.deepEqual(classifyStatus(503), { kind: 'retryable', errorKind: 'http5xx' });
  assert.deepEqual(classifyStatus(400), { kind: 'permanent', errorKind: 'http4xx' });
  assert.deepEqual(classifyStatus(401), { kind: 'permanent', errorKind: 'http4xx' });
  assert.deepEqual(classifyStatus(413), { kind: 'permanent', errorKind: 'http4xx' });
  assert.deepEqual(classifyStatus(301), { kind: 'permanent', errorKind: 'http3xx' });
});

test('U2: back-off grows exponentially, stays within [cap/2, cap], caps at maxMs, and Retry-After is a floor', () => {
  const b = resolveBackoff({ baseMs: 100, maxMs: 1000, factor: 2 });
  assert.deepEqual([1, 2, 3, 4, 5, 9].map((n) => backoffCapMs(n, b)), [100, 200, 400, 800, 1000, 1000]);
  for (let n = 1; n <= 8; n++) {
    const cap = backoffCapMs(n, b);
    assert.equal(backoffDelayMs(n, b, undefined, () => 0), cap / 2);
    assert.equal(backoffDelayMs(n, b, undefined, () => 0.999999), cap / 2 + 0.999999 * (cap / 2));
    const r = backoffDelayMs(n, b);
    assert.ok(r >= cap / 2 && r <= cap, `attempt ${n}: ${r} outside [${cap / 2}, ${cap}]`);
  }
  assert.equal(backoffDelayMs(1, b, 5000, () => 0.5), 5000);
  assert.equal(backoffDelayMs(4, b, 10, () => 0.5), 600);
  assert.deepEqual(resolveBackoff(), { baseMs: 500, maxMs: 60000, factor: 2, maxRetryAfterMs: 3_600_000 });
  assert.equal(backoffDelayMs(1, resolveBackoff(), 86_400_000, () => 0), 3_600_000, 'a day-long Retry-After is clamped to an hour');
  assert.throws(() => resolveBackoff({ baseMs: 100, maxMs: 50 }), { name: 'RangeError', message: 'Expected number >= 100 for backoff.maxMs but received 50 of type number' });
});

test('HttpSender: argument errors name the option', () => {
  assert.throws(() => new HttpSender({ url: 'ftp://x' }), { message: "Expected http(s) URL string for url but received 'ftp://x' of type string" });
  assert.throws(() => new HttpSender({ url: 'http://x', cert: 'c' }), { message: 'Expected both cert and key for a client certificate (mTLS) but received only one' });
  assert.throws(() => new HttpSender({ url: 'http://x', responseTimeoutMs: 0 }), { name: 'RangeError', message: 'Expected positive number for responseTimeoutMs but received 0 of type number' });
});

test('U3: HttpSender sends Idempotency-Key and bearer token; a repeat is answered as a duplicate; a wrong token is permanent', async () => {
  const jpeg = await makeJpeg(5);
  const pkg = makePackage('cam-s', 1, jpeg);
  const sender = new HttpSender({ url: `${receiver.url}/packages`, token: TOKEN });
  try {
    const first = await sender.send(pkg);
    assert.equal(first.kind, 'ok');
    assert.equal(first.kind === 'ok' && first.status, 201);
    const again = await sender.send(pkg);
    assert.equal(again.kind === 'ok' && again.status, 200);
    assert.deepEqual(again.kind === 'ok' && JSON.parse(again.body), { duplicate: true, key: 'cam-s:1' });
    const stored = await fetch(`${receiver.url}/packages/cam-s%3A1/image.jpg`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.ok(Buffer.from(await stored.arrayBuffer()).equals(jpeg));
  } finally {
    sender.close();
  }
  const wrong = new HttpSender({ url: `${receiver.url}/packages`, token: 'nope' });
  try {
    const r = await wrong.send(makePackage('cam-s', 2, jpeg));
    assert.equal(r.kind, 'permanent');
    assert.equal(r.kind === 'permanent' && r.status, 401);
    assert.equal(r.kind === 'permanent' && r.reason, 'HTTP 401: {"error":"missing or wrong bearer token"}');
  } finally {
    wrong.close();
  }
});

test('U2: connection refused is a retryable network error; a stalled server hits the response timeout', async () => {
  const jpeg = await makeJpeg(5);
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const freePort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const refused = new HttpSender({ url: `http://127.0.0.1:${freePort}/packages` });
  const r1 = await refused.send(makePackage('cam-t', 1, jpeg));
  refused.close();
  assert.equal(r1.kind, 'retryable');
  assert.equal(r1.kind === 'retryable' && r1.errorKind, 'network');
  assert.match(r1.kind === 'retryable' ? r1.reason : '', /^ECONNREFUSED: /);

  // Accepts the connection and reads, never answers.
  const sockets: import('node:net').Socket[] = [];
  const stall = createServer((s) => {
    sockets.push(s);
    s.resume();
  });
  await new Promise<void>((r) => stall.listen(0, '127.0.0.1', r));
  const port = (stall.address() as { port: number }).port;
  const slow = new HttpSender({ url: `http://127.0.0.1:${port}/packages`, responseTimeoutMs: 300 });
  const r2 = await slow.send(makePackage('cam-t', 2, jpeg));
  slow.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => stall.close(() => r()));
  assert.equal(r2.kind, 'retryable');
  assert.equal(r2.kind === 'retryable' && r2.errorKind, 'timeout');
  assert.equal(r2.kind === 'retryable' && r2.reason, 'response timeout after 300 ms');
});

test('U2: a TLS handshake that never completes hits the connect timeout (retryable)', async () => {
  const sockets: import('node:net').Socket[] = [];
  const silent = createServer((s) => {
    sockets.push(s);
    s.resume();
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  const sender = new HttpSender({ url: `https://127.0.0.1:${port}/packages`, connectTimeoutMs: 250, responseTimeoutMs: 60000 });
  const r = await sender.send(makePackage('cam-ct', 1, await makeJpeg(5)));
  sender.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((done) => silent.close(() => done()));
  assert.equal(r.kind === 'retryable' && r.errorKind, 'timeout');
  assert.equal(r.kind === 'retryable' && r.reason, 'connect timeout after 250 ms');
});

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

test('TLS: a self-signed CA made by openssl is trusted through `ca`; mTLS requires the client certificate', async () => {
  const d = join(dir, 'pki');
  execFileSync('mkdir', ['-p', d]);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=bestshot test CA'], d);
  writeFileSync(join(d, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const name of ['server', 'client']) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], d);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...(name === 'server' ? ['-extfile', 'san.ext'] : [])], d);
  }
  const pem = (f: string): Buffer => readFileSync(join(d, f));
  const jpeg = await makeJpeg(6);
  // requireClientCert without the CA to check them by: every client would be refused, silently.
  await assert.rejects(
    startReceiver({ dir: join(dir, 'tls-no-ca'), token: TOKEN, tls: { cert: pem('server.pem'), key: pem('server.key'), requireClientCert: true } }),
    { message: "tls.ca: requireClientCert needs the CA that signed the clients' certificates: without one every client is refused" },
  );
  const logged: string[] = [];
  const tls = await startReceiver({
    dir: join(dir, 'tls'),
    token: TOKEN,
    tls: { cert: pem('server.pem'), key: pem('server.key'), ca: pem('ca.pem'), requireClientCert: true },
    log: (line) => logged.push(line),
  });
  try {
    assert.match(tls.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const url = `${tls.url}/packages`;
    // No custom CA: the system store does not know the test CA.
    const untrusted = new HttpSender({ url, token: TOKEN, cert: pem('client.pem'), key: pem('client.key') });
    const r1 = await untrusted.send(makePackage('cam-tls', 1, jpeg));
    untrusted.close();
    assert.equal(r1.kind === 'retryable' && r1.errorKind, 'network');
    assert.match(r1.kind === 'retryable' ? r1.reason : '', /self[- ]signed certificate/);
    // Trusted CA but no client certificate: the server ends the handshake.
    const noClient = new HttpSender({ url, token: TOKEN, ca: pem('ca.pem') });
    const r2 = await noClient.send(makePackage('cam-tls', 2, jpeg));
    noClient.close();
    assert.equal(r2.kind, 'retryable');
    // The receiver says why (the client saw only 'socket hang up'); before, it logged nothing.
    assert.ok(logged.some((l) => /^TLS handshake refused from (::ffff:)?127\.0\.0\.1: \S+/.test(l)), logged.join('\n'));
    // CA + client certificate (mTLS): stored.
    const mtls = new HttpSender({ url, token: TOKEN, ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') });
    const r3 = await mtls.send(makePackage('cam-tls', 3, jpeg));
    mtls.close();
    assert.equal(r3.kind === 'ok' && r3.status, 201);
    assert.deepEqual(tls.stats().stored, 1);
  } finally {
    await tls.close();
  }
});

test('U2: a server that answers before reading the body and drops the connection neither crashes the sender nor gets its socket reused', async () => {
  // A proxy or load balancer answers 401/404/413 from the headers alone and closes; the
  // rest of the body then fails to write (EPIPE/ECONNRESET) after the send has settled.
  // 16 MiB so the write is still pending when the answer comes (loopback buffers are large).
  const body = Buffer.concat([await makeJpeg(3), Buffer.alloc(16 * 2 ** 20, 7)]);
  const sockets: import('node:net').Socket[] = [];
  const early = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    let head = '';
    const onData = (c: Buffer): void => {
      head += c.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', onData);
      s.pause();
      s.write('HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: keep-alive\r\n\r\nnot found');
      s.destroy();
    };
    s.on('data', onData);
  });
  await new Promise<void>((r) => early.listen(0, '127.0.0.1', r));
  const port = (early.address() as { port: number }).port;
  const sender = new HttpSender({ url: `http://127.0.0.1:${port}/packages` });
  const results = [];
  for (let i = 1; i <= 3; i++) results.push(await sender.send(makePackage('cam-e', i, body)));
  // Late socket errors surface here as an uncaught exception (a test failure) without the guard.
  await new Promise((r) => setTimeout(r, 300));
  sender.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => early.close(() => r()));
  assert.deepEqual(
    results.map((r) => (r.kind === 'permanent' ? r.reason : r.kind)),
    ['HTTP 404: not found', 'HTTP 404: not found', 'HTTP 404: not found'],
  );
  assert.equal(sockets.length, 3, 'each send after an early answer opens a new connection');
});

test('U2: a package that timed out gets twice the response time at its next try (up to 4×): an answer slower than responseTimeoutMs is reached instead of re-sent for ever', async () => {
  // The response timeout includes the upload of the body: on an uplink too slow for a package, every
  // try timed out at the same limit and the same package went again for ever, delivering nothing.
  // Here every answer comes 0.7 s late (as a slow uplink's would) against a 400 ms timeout.
  const slow = await startReceiver({ dir: join(dir, 'slow-answers'), token: TOKEN, testFaults: { delayFirst: 1000, delayMs: 700 } });
  const sender = new HttpSender({ url: `${slow.url}/packages`, token: TOKEN, responseTimeoutMs: 400 });
  try {
    const pkg = makePackage('cam-slow', 1, await makeJpeg(9));
    const reasons: string[] = [];
    let r = await sender.send(pkg);
    while (r.kind !== 'ok' && reasons.length < 10) {
      reasons.push(r.kind === 'retryable' ? r.reason : `permanent ${r.reason}`);
      r = await sender.send(pkg);
    }
    assert.equal(r.kind, 'ok', reasons.join('; '));
    // 400, 800, then 1600 ms (4×) for every later try.
    assert.deepEqual(
      reasons,
      reasons.map((_, i) => `response timeout after ${400 * Math.min(2 ** i, 4)} ms`),
    );
    // Stored once: the tries that timed out arrived too and were answered as duplicates.
    assert.equal(slow.stats().stored, 1);
    // A success forgets the count: the next package starts again at responseTimeoutMs.
    const next = await sender.send(makePackage('cam-slow', 2, await makeJpeg(10)));
    assert.equal(next.kind === 'retryable' && next.reason, 'response timeout after 400 ms');
  } finally {
    sender.close();
    await slow.close();
  }
});
