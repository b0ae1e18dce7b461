/**
 * The parts of an upload: only 'metadata', 'image' and 'crop-N' are taken. A 1 MB part named
 * 'evil' was read and silently dropped (the package stored, 201); now an unknown part is refused
 * with 400 naming it. File parts are written to disk as they arrive: a refused or cut upload
 * leaves nothing under packages/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver, type Receiver } from '../../src/receiver/index.js';
import { encodeMetadata } from '../../src/upload/index.js';
import { makeJpeg, makePackage } from '../upload/helpers.js';
import { multipartBody, postHead, rawRequest } from './raw-http.js';

const TOKEN = 'parts-token';
const auth = { authorization: `Bearer ${TOKEN}` };
let dir: string;
let rcv: Receiver;
let jpeg: Buffer;
const lines: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-parts-'));
  jpeg = await makeJpeg(51);
  rcv = await startReceiver({ dir, token: TOKEN, log: (l) => lines.push(l) });
});
after(async () => {
  await rcv.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(imageId: number, extra: Array<{ name: string; filename?: string; data: string | Buffer }>, image: { filename?: string } = { filename: 'i.jpg' }): Promise<{ status: number; body: Record<string, unknown> }> {
  const pkg = makePackage('cam-parts', imageId, jpeg);
  const body = multipartBody('P', [
    { name: 'metadata', type: 'application/json', data: encodeMetadata(pkg.metadata) },
    { name: 'image', ...image, type: 'image/jpeg', data: jpeg },
    ...extra,
  ]);
  const res = await fetch(`${rcv.url}/packages`, { method: 'POST', headers: { ...auth, 'content-type': 'multipart/form-data; boundary=P', 'idempotency-key': pkg.idempotencyKey }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const stored = (): string[] => readdirSync(join(dir, 'packages'));

test('an unknown part (1 MB named "evil") is refused with 400 naming it; nothing is stored, nothing left behind', async () => {
  const r = await post(1, [{ name: 'evil', filename: 'e.bin', data: Buffer.alloc(1024 * 1024, 0x65) }]);
  assert.deepEqual([r.status, r.body], [400, { error: "unknown part 'evil': a package has the parts 'metadata', 'image' and 'crop-N' (upload.content crops)" }]);
  const field = await post(2, [{ name: 'note', data: 'hello' }]);
  assert.deepEqual([field.status, field.body.error], [400, "unknown part 'note': a package has the parts 'metadata', 'image' and 'crop-N' (upload.content crops)"]);
  assert.deepEqual(stored(), []);
});

test('an image part sent twice, or as a field without a filename, is refused with 400', async () => {
  const twice = await post(3, [{ name: 'image', filename: 'again.jpg', data: jpeg }]);
  assert.deepEqual([twice.status, twice.body], [400, { error: "part 'image' sent twice" }]);
  const field = await post(4, [], {});
  assert.deepEqual([field.status, field.body], [400, { error: "part 'image' has no filename: send it as a file part" }]);
  assert.deepEqual(stored(), []);
  // The well-formed package is still taken.
  assert.equal((await post(5, [])).status, 201);
  assert.deepEqual(stored(), ['cam-parts%3A5']);
});

test('a body cut inside the image part leaves no temporary folder (the part was being written to disk)', async () => {
  const pkg = makePackage('cam-parts', 6, jpeg);
  const full = multipartBody('C', [
    { name: 'metadata', type: 'application/json', data: encodeMetadata(pkg.metadata) },
    { name: 'image', filename: 'i.jpg', type: 'image/jpeg', data: Buffer.concat([jpeg, Buffer.alloc(256 * 1024, 1)]) },
  ]);
  const cut = full.subarray(0, full.length - 100 * 1024);
  const r = await rawRequest(rcv.port, [postHead({ ...auth, 'content-type': 'multipart/form-data; boundary=C', 'idempotency-key': pkg.idempotencyKey, 'content-length': full.length }), cut], { timeoutMs: 300 });
  assert.equal(r.status, 0, 'not answered: the body has not ended');
  // The client went away: the upload is abandoned and its folder removed.
  const t0 = Date.now();
  while (stored().length > 1 && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 50));
  assert.deepEqual(stored(), ['cam-parts%3A5']);
});
