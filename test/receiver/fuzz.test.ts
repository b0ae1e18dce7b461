/**
 * Property-based fuzzing of the receiver's HTTP surface over raw sockets
 * (fast-check, fixed seed, bounded by runs and seconds): malformed request
 * lines and headers, multipart framing cut or mangled, JSON mutated, sizes
 * around the limits. Every answer is 2xx or 4xx (or the connection closed),
 * none names the storage path, and the process keeps answering.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { startReceiver, type Receiver } from '../../src/receiver/index.js';
import { encodeMultipart } from '../../src/upload/index.js';
import { makePackage } from '../upload/helpers.js';
import { rawRequest } from './raw-http.js';

const SEED = 20261202;
const RUNS = Number(process.env.BESTSHOT_FUZZ_RUNS ?? 300);
const SECONDS = Number(process.env.BESTSHOT_FUZZ_SECONDS ?? 25);
let dir: string;
let rcv: Receiver;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-fuzz-'));
  rcv = await startReceiver({ dir, token: 'fz', maxBodyBytes: 64 * 1024, requestTimeoutMs: 1000, idleTimeoutMs: 800 });
});
after(async () => {
  await rcv.close();
  rmSync(dir, { recursive: true, force: true });
});

const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(500, 1)]);
const valid = encodeMultipart(makePackage('fz', 1, jpeg), 'FZB');
const validMeta = JSON.stringify(makePackage('fz', 2, jpeg).metadata);

const token = fc.constantFrom('', 'Authorization: Bearer fz\r\n', 'Authorization: Bearer nope\r\n', 'Authorization: Basic x\r\n');
const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PoSt', 'G\x00T', '');
const target = fc.oneof(
  fc.constantFrom('/packages', '/healthz', '/stats', '/packages/fz%3A1/image.jpg', '/packages/%E0%A4%A/metadata.json', 'http://[', '*', '/../../etc/passwd', '/packages?limit=-1&after=x'),
  fc.string({ maxLength: 40 }),
);
const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/9.9', '', 'HTTP/1.1 extra');
const junkHeader = fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })).map(([k, v]) => `${k}: ${v}\r\n`);

/** A body: a valid multipart cut/mutated, JSON mutated, or random bytes. */
const body = fc.oneof(
  fc.integer({ min: 0, max: valid.body.length }).map((n) => ({ ct: valid.contentType, data: valid.body.subarray(0, n) })),
  fc.tuple(fc.integer({ min: 0, max: valid.body.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
    const d = Buffer.from(valid.body);
    d[i] = b;
    return { ct: valid.contentType, data: d };
  }),
  fc.tuple(fc.integer({ min: 0, max: validMeta.length - 1 }), fc.string({ maxLength: 8 })).map(([i, s]) => {
    const meta = validMeta.slice(0, i) + s + validMeta.slice(i + 1);
    return { ct: 'multipart/form-data; boundary=B', data: Buffer.from(`--B\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${meta}\r\n--B\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n${jpeg.toString('latin1')}\r\n--B--\r\n`, 'latin1') };
  }),
  fc.uint8Array({ maxLength: 2048 }).map((u) => ({ ct: fc.sample(fc.constantFrom('multipart/form-data; boundary=B', 'multipart/form-data', 'text/plain', 'multipart/form-data; boundary='), { numRuns: 1, seed: u.length })[0]!, data: Buffer.from(u) })),
  fc.integer({ min: 60 * 1024, max: 200 * 1024 }).map((n) => ({ ct: 'multipart/form-data; boundary=B', data: Buffer.alloc(n, 0x2d) })),
);
const framing = fc.constantFrom('content-length', 'chunked', 'wrong-length', 'none');

test(`fuzz: ${RUNS} raw requests (seed ${SEED}, ≤ ${SECONDS} s): only 2xx/4xx, no path in any answer, the receiver stays up`, async () => {
  let runs = 0;
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(method, target, version, token, fc.array(junkHeader, { maxLength: 3 }), body, framing, async (m, t, v, auth, junk, b, fr) => {
      runs++;
      let len = '';
      let payload: Buffer = b.data;
      if (fr === 'content-length') len = `Content-Length: ${b.data.length}\r\n`;
      else if (fr === 'wrong-length') len = `Content-Length: ${b.data.length + 17}\r\n`;
      else if (fr === 'chunked') {
        len = 'Transfer-Encoding: chunked\r\n';
        payload = Buffer.concat([Buffer.from(`${b.data.length.toString(16)}\r\n`), b.data, Buffer.from('\r\n0\r\n\r\n')]);
      }
      const head = `${m} ${t} ${v}\r\nHost: x\r\n${auth}Content-Type: ${b.ct}\r\nIdempotency-Key: fz:1\r\n${junk.join('')}${len}\r\n`;
      const r = await rawRequest(rcv.port, [head, payload], { timeoutMs: 3000 });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      assert.ok(r.status === 0 || (r.status >= 200 && r.status < 500), `status ${r.status} for ${JSON.stringify(head)}: ${r.text.slice(0, 300)}`);
      assert.equal(r.text.includes(dir), false, 'no storage path in the answer');
    }),
    { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: SECONDS * 1000, endOnFailure: true },
  );
  const h = await fetch(`${rcv.url}/healthz`);
  assert.equal(h.status, 200);
  console.log(`fuzz: ${runs} cases, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.ok(runs >= Math.min(RUNS, 50), `only ${runs} cases ran`);
});
