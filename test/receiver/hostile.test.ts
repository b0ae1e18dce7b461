/**
 * The receiver under hostile input: every request is answered (4xx with a
 * reason) or closed, the process never falls over, limits hold while the
 * body is still arriving, and no answer names a storage path.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver, type Receiver } from '../../src/receiver/index.js';
import { jsonDepth } from '../../src/receiver/server.js';
import { encodeMultipart } from '../../src/upload/index.js';
import { makeJpeg, makePackage } from '../upload/helpers.js';
import { multipartBody, postHead, rawRequest } from './raw-http.js';

const TOKEN = 'hostile-token';
const auth = { authorization: `Bearer ${TOKEN}` };
let dir: string;
let rcv: Receiver;
let jpeg: Buffer;
const lines: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-hostile-'));
  jpeg = await makeJpeg(4);
  rcv = await startReceiver({ dir, token: TOKEN, maxBodyBytes: 256 * 1024, requestTimeoutMs: 1500, idleTimeoutMs: 1000, maxConcurrentUploads: 3, log: (l) => lines.push(l) });
});
after(async () => {
  await rcv.close();
  rmSync(dir, { recursive: true, force: true });
});

async function alive(): Promise<void> {
  const h = await fetch(`${rcv.url}/healthz`);
  assert.equal(h.status, 200, 'receiver still up');
}

function postText(metaText: string, idKey: string, image = jpeg): Promise<Response> {
  const body = multipartBody('B', [
    { name: 'metadata', type: 'application/json', data: metaText },
    { name: 'image', filename: 'x.jpg', type: 'image/jpeg', data: image },
  ]);
  return fetch(`${rcv.url}/packages`, { method: 'POST', headers: { ...auth, 'content-type': 'multipart/form-data; boundary=B', 'idempotency-key': idKey }, body });
}

test('a malformed request target (http://[) is a 400, not a crash', async () => {
  const r = await rawRequest(rcv.port, ['GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n']);
  assert.equal(r.status, 400);
  assert.match(r.text, /"error":"malformed request target"/);
  const bad = await rawRequest(rcv.port, ['GARBAGE\r\n\r\n']);
  assert.equal(bad.status, 400);
  await alive();
});

test('a multipart body that ends inside the image part is a 400, not an unhandled stream error', async () => {
  const pkg = makePackage('cam-cut', 1, jpeg);
  const full = encodeMultipart(pkg, 'CUT');
  const cut = full.body.subarray(0, full.body.length - 200);
  const r = await rawRequest(rcv.port, [
    postHead({ ...auth, 'content-type': full.contentType, 'idempotency-key': pkg.idempotencyKey, 'content-length': cut.length }),
    cut,
  ]);
  assert.equal(r.status, 400);
  assert.match(r.text, /"error":"malformed multipart body: Unexpected end of form"/);
  // The same, chunked: the request ends (0-length chunk) inside the image.
  const c = await rawRequest(rcv.port, [
    postHead({ ...auth, 'content-type': full.contentType, 'idempotency-key': pkg.idempotencyKey, 'transfer-encoding': 'chunked' }),
    `${cut.length.toString(16)}\r\n`,
    cut,
    '\r\n0\r\n\r\n',
  ]);
  assert.equal(c.status, 400);
  await alive();
});

test('keys named __proto__, constructor, toString, hasOwnProperty are refused (400), nothing stored', async () => {
  const pkg = makePackage('cam-proto', 1, jpeg);
  const good = JSON.stringify(pkg.metadata);
  for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    const res = await postText(`{"${key}":{"polluted":1},${good.slice(1)}`, pkg.idempotencyKey);
    assert.equal(res.status, 400, key);
    assert.deepEqual(await res.json(), { error: 'metadata does not match schema bestshot.package/v1', reasons: [`/${key}: is not allowed`] });
  }
  assert.equal(readdirSync(join(dir, 'packages')).some((f) => f.startsWith('cam-proto')), false);
});

test('a chunked body over maxBodyBytes gets 413 as soon as the limit is crossed, not after the whole body', async () => {
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  const head = postHead({ ...auth, 'content-type': 'multipart/form-data; boundary=B', 'idempotency-key': 'c:1', 'transfer-encoding': 'chunked' });
  const start = multipartBody('B', [{ name: 'image', filename: 'x.jpg', data: '' }], false).subarray(0, -2);
  // 64 MiB offered, 64 KiB every 5 ms: reading it all would take > 5 s.
  const chunks: Array<string | Buffer> = [head, `${start.length.toString(16)}\r\n`, start, '\r\n'];
  for (let i = 0; i < 1024; i++) chunks.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
  const r = await rawRequest(rcv.port, chunks, { gapMs: 5, timeoutMs: 5000 });
  assert.equal(r.status, 413);
  assert.match(r.text, /"error":"body exceeds 262144 bytes"/);
  assert.ok(r.ms < 2000, `answered after ${r.ms} ms`);
  await alive();
});

test('a body at 1 byte per 200 ms is cut at requestTimeoutMs; the receiver keeps answering others', async () => {
  const pkg = makePackage('cam-slow', 1, jpeg);
  const full = encodeMultipart(pkg, 'SLOW');
  const head = postHead({ ...auth, 'content-type': full.contentType, 'idempotency-key': pkg.idempotencyKey, 'content-length': full.body.length });
  const drip = Array.from({ length: 100 }, (_, i) => full.body.subarray(i, i + 1));
  const slow = rawRequest(rcv.port, [head, ...drip], { gapMs: 200, timeoutMs: 8000 });
  await alive();
  const r = await slow;
  assert.ok(r.closed, 'the server closed the slow request');
  assert.ok(r.ms < 4000, `closed after ${r.ms} ms`);
  assert.ok(r.status === 408 || r.status === 0, `status ${r.status}`);
});

test('a client with the token trickling its body is cut by the minimum upload rate long before requestTimeoutMs', async () => {
  const d = mkdtempSync(join(tmpdir(), 'bestshot-hostile-rate-'));
  const slowRcv = await startReceiver({ dir: d, token: TOKEN, requestTimeoutMs: 60_000, minUploadBytesPerS: 1024, slowUploadWindowMs: 500 });
  try {
    const pkg = makePackage('cam-trickle', 1, jpeg);
    const full = encodeMultipart(pkg, 'TRICKLE');
    const head = postHead({ ...auth, 'content-type': full.contentType, 'idempotency-key': pkg.idempotencyKey, 'content-length': full.body.length });
    const drip = Array.from({ length: 100 }, (_, i) => full.body.subarray(i, i + 1));
    const r = await rawRequest(slowRcv.port, [head, ...drip], { gapMs: 100, timeoutMs: 5000 });
    assert.equal(r.status, 408, r.text);
    assert.ok(r.ms < 2500, `cut after ${r.ms} ms, not at requestTimeoutMs`);
    assert.match(r.text, /"error":"upload slower than 1024 bytes\/s over 0.5 s; retry later"/);
    assert.equal((await fetch(`${slowRcv.url}/healthz`)).status, 200);
  } finally {
    await slowRcv.close();
    rmSync(d, { recursive: true, force: true });
  }
});

test('never-ending uploads beyond maxConcurrentUploads get 503 with Retry-After', async () => {
  const head = postHead({ ...auth, 'content-type': 'multipart/form-data; boundary=B', 'idempotency-key': 'c:1', 'transfer-encoding': 'chunked' });
  const hang = (): Promise<unknown> => rawRequest(rcv.port, [head, '5\r\n--B\r\n\r\n'], { timeoutMs: 900 });
  const open = [hang(), hang(), hang()];
  await new Promise((r) => setTimeout(r, 150));
  const extra = await rawRequest(rcv.port, [head, '5\r\n--B\r\n\r\n'], { timeoutMs: 900 });
  assert.equal(extra.status, 503);
  assert.match(extra.text, /Retry-After: 1/i);
  assert.match(extra.text, /"error":"more than 3 uploads in progress; retry later"/);
  await Promise.all(open);
});

test('metadata nested 200 000 levels is a 400 (no stack overflow, no 500); too many tracks and a huge metadata part are 413', async () => {
  const big = await startReceiver({ dir: join(dir, 'big'), token: TOKEN, maxBodyBytes: 64 * 1024 * 1024 });
  try {
    const post = async (meta: string | Buffer, filename?: string): Promise<[number, unknown]> => {
      const res = await fetch(`${big.url}/packages`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'multipart/form-data; boundary=B', 'idempotency-key': 'x:1' },
        body: multipartBody('B', [
          { name: 'metadata', filename, type: 'application/json', data: meta },
          { name: 'image', filename: 'x.jpg', data: jpeg },
        ]),
      });
      return [res.status, await res.json()];
    };
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    assert.deepEqual(await post(deep), [400, { error: 'metadata nests deeper than 32 levels' }]);
    assert.deepEqual(await post(deep, 'meta.json'), [400, { error: 'metadata nests deeper than 32 levels' }]);
    const tracks = `{"tracks":[${Array.from({ length: 1001 }, () => '{}').join(',')}]}`;
    assert.deepEqual(await post(tracks), [413, { error: 'metadata has 1001 tracks, more than 1000' }]);
    // 28 MiB of metadata as a file part (as the 130 000-track attack sent it) and as a field.
    const huge = Buffer.alloc(28 * 1024 * 1024, 0x20);
    assert.deepEqual(await post(huge, 'meta.json'), [413, { error: "part 'metadata' exceeds 1048576 bytes" }]);
    assert.deepEqual(await post(huge), [413, { error: "part 'metadata' exceeds 1048576 bytes" }]);
  } finally {
    await big.close();
  }
  assert.equal(jsonDepth('{"a":"[[[[","b":[{"c":"\\"}]}', 32), 3, 'brackets inside strings and escapes do not count');
});

test('GET of an indexed package whose file is gone is a 404 that names no path', async () => {
  const pkg = makePackage('cam-gone', 1, jpeg);
  const { contentType, body } = encodeMultipart(pkg);
  const stored = await fetch(`${rcv.url}/packages`, { method: 'POST', headers: { ...auth, 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey }, body });
  assert.equal(stored.status, 201);
  rmSync(join(dir, 'packages', 'cam-gone%3A1', 'image.jpg'));
  const res = await fetch(`${rcv.url}/packages/cam-gone%3A1/image.jpg`, { headers: auth });
  const text = await res.text();
  assert.equal(res.status, 404);
  assert.deepEqual(JSON.parse(text), { error: "package 'cam-gone:1' has no image.jpg" });
  assert.equal(text.includes(dir), false);
});

test('leftover *.tmp-* directories of a killed receiver are removed at start; published packages stay', async () => {
  const d = join(dir, 'leftovers');
  mkdirSync(join(d, 'packages', 'cam%3A1.tmp-0123456789ab'), { recursive: true });
  writeFileSync(join(d, 'packages', 'cam%3A1.tmp-0123456789ab', 'image.jpg'), 'half');
  mkdirSync(join(d, 'packages', 'cam%3A2'), { recursive: true });
  const r = await startReceiver({ dir: d, token: TOKEN });
  await r.close();
  assert.deepEqual(readdirSync(join(d, 'packages')), ['cam%3A2']);
});

test('without a token: refused on a non-loopback address, a loud warning on loopback', async () => {
  const warned: string[] = [];
  await assert.rejects(startReceiver({ dir: join(dir, 'open'), host: '0.0.0.0', warn: (l) => warned.push(l) }), {
    name: 'ConfigError',
    code: 'ERR_CONFIG',
    message:
      'host: refusing to listen on 0.0.0.0 without a bearer token or TLS client authentication: anyone on the network could store and list packages (set a token, or mTLS with a CA and requireClientCert)',
  });
  const r = await startReceiver({ dir: join(dir, 'open'), warn: (l) => warned.push(l) });
  await r.close();
  assert.deepEqual(warned, ['WARNING: receiver on 127.0.0.1 has no bearer token and no TLS client authentication: ANY local process may POST and list packages']);
});

test('no answer in this file leaked the storage path', () => {
  assert.equal(lines.length > 0, true);
  assert.equal(readFileSync(join(dir, 'index.sqlite')).length > 0, true);
});
