import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BestshotError } from '../../src/errors.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { startReceiver, type Receiver } from '../../src/receiver/index.js';
import { encodeMultipart, type UploadPackage } from '../../src/upload/index.js';
import { makeJpeg, makePackage } from '../upload/helpers.js';

const TOKEN = 'receiver-test-token';
let dir: string;
let rcv: Receiver;
let jpeg: Buffer;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-receiver-'));
  rcv = await startReceiver({ dir, token: TOKEN });
  jpeg = await makeJpeg(10);
});
after(async () => {
  await rcv.close();
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TOKEN}` };

async function post(pkg: UploadPackage, headers: Record<string, string> = {}, base = rcv.url): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const { contentType, body } = encodeMultipart(pkg);
  const res = await fetch(`${base}/packages`, {
    method: 'POST',
    headers: { ...auth, 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey, ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

test('U3: a package is stored once (image.jpg + metadata.json + index); a repeat answers 200 {duplicate:true}', async () => {
  const pkg = makePackage('cam-r', 1, jpeg);
  assert.deepEqual((await post(pkg)).body, { stored: true, key: 'cam-r:1' });
  const again = await post(pkg);
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, { duplicate: true, key: 'cam-r:1' });
  assert.deepEqual(readdirSync(join(dir, 'packages')), ['cam-r%3A1']);
  assert.ok(readFileSync(join(dir, 'packages', 'cam-r%3A1', 'image.jpg')).equals(jpeg));
  const meta = JSON.parse(readFileSync(join(dir, 'packages', 'cam-r%3A1', 'metadata.json'), 'utf8')) as { idempotencyKey: string };
  assert.equal(meta.idempotencyKey, 'cam-r:1');
  const img = await fetch(`${rcv.url}/packages/cam-r%3A1/image.jpg`, { headers: auth });
  assert.equal(img.headers.get('content-type'), 'image/jpeg');
  assert.ok(Buffer.from(await img.arrayBuffer()).equals(jpeg));
  const m = await fetch(`${rcv.url}/packages/cam-r%3A1/metadata.json`, { headers: auth });
  assert.deepEqual(await m.json(), JSON.parse(JSON.stringify(pkg.metadata)));
  assert.equal((await fetch(`${rcv.url}/packages/cam-r%3A999/image.jpg`, { headers: auth })).status, 404);
});

test('U3: another image under a key already stored is refused with 409 (a unit that reuses imageIds), not swallowed as a duplicate', async () => {
  const first = makePackage('cam-reuse', 1, jpeg);
  assert.equal((await post(first)).status, 201);
  // The same camera and imageId after its id state was lost: other pixels, same key.
  const other = makePackage('cam-reuse', 1, await makeJpeg(11));
  const refused = await post(other);
  assert.equal(refused.status, 409);
  assert.deepEqual(refused.body, {
    error: 'a different package is already stored under cam-reuse:1 (another image sha256): the unit reuses imageIds (its stateDir was lost or reset?)',
  });
  assert.ok(readFileSync(join(dir, 'packages', 'cam-reuse%3A1', 'image.jpg')).equals(jpeg), 'the stored package is kept as it was');
  assert.deepEqual((await post(first)).body, { duplicate: true, key: 'cam-reuse:1' }, 'a re-send of the stored package is still a duplicate');
});

test('U3: concurrent POSTs of one key store it exactly once', async () => {
  const pkg = makePackage('cam-race', 5, jpeg);
  const answers = await Promise.all(Array.from({ length: 6 }, () => post(pkg)));
  assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 200, 200, 201]);
  assert.equal(readdirSync(join(dir, 'packages')).filter((f) => f.startsWith('cam-race')).length, 1);
});

test('GET /packages lists in arrival order, filters by camera, pages with after/limit', async () => {
  for (const id of [10, 11, 12]) await post(makePackage('cam-list', id, jpeg));
  await post(makePackage('cam-other', 1, jpeg));
  const res = await fetch(`${rcv.url}/packages?camera=cam-list`, { headers: auth });
  const list = (await res.json()) as { count: number; packages: Array<{ seq: number; key: string; imageId: number; trackIds: number[]; bytes: number; timestampNs: string }> };
  assert.equal(list.count, 3);
  assert.deepEqual(list.packages.map((p) => p.key), ['cam-list:10', 'cam-list:11', 'cam-list:12']);
  assert.deepEqual(list.packages[0]!.trackIds, [7]);
  assert.equal(list.packages[0]!.bytes, jpeg.length);
  assert.equal(list.packages[0]!.timestampNs, '1795550001000000000');
  const page = (await (await fetch(`${rcv.url}/packages?camera=cam-list&after=${list.packages[0]!.seq}&limit=1`, { headers: auth })).json()) as typeof list;
  assert.deepEqual(page.packages.map((p) => p.key), ['cam-list:11']);
});

test('the bearer token is checked (401 with WWW-Authenticate); /healthz and /favicon.ico need none', async () => {
  const r = await post(makePackage('cam-auth', 1, jpeg), { authorization: 'Bearer wrong' });
  assert.equal(r.status, 401);
  assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  assert.deepEqual(r.body, { error: 'missing or wrong bearer token' });
  assert.equal((await fetch(`${rcv.url}/packages`)).status, 401);
  const h = await fetch(`${rcv.url}/healthz`);
  assert.deepEqual([h.status, await h.json()], [200, { ok: true }]);
  // The icon a browser asks for after /browse: nothing, not a 404 in its console.
  const icon = await fetch(`${rcv.url}/favicon.ico`);
  assert.deepEqual([icon.status, (await icon.arrayBuffer()).byteLength], [204, 0]);
});

test('metadata is validated against package.v1 (400 with the reasons); image, key and body are checked', async () => {
  const pkg = makePackage('cam-bad', 1, jpeg);
  const badMeta = { ...pkg, metadata: { ...pkg.metadata, width: -3, tracks: 'none' } } as unknown as UploadPackage;
  const r1 = await post(badMeta);
  assert.equal(r1.status, 400);
  assert.deepEqual(r1.body, {
    error: 'metadata does not match schema bestshot.package/v1',
    reasons: ['/width: expected a number >= 1 but received -3', "/tracks: expected array but received 'none' of type string"],
  });
  const r2 = await post(pkg, { 'idempotency-key': 'cam-bad:2' });
  assert.deepEqual([r2.status, r2.body], [400, { error: "Idempotency-Key header 'cam-bad:2' does not match metadata 'cam-bad:1'" }]);
  const flipped = Buffer.from(jpeg);
  flipped[flipped.length - 10]! ^= 0xff;
  const r3 = await post({ ...pkg, jpeg: flipped });
  assert.deepEqual([r3.status, r3.body], [400, { error: 'image sha256 does not match metadata' }]);
  const notJpeg = makePackage('cam-bad', 3, Buffer.from('GIF89a not a jpeg'));
  const r4 = await post(notJpeg);
  assert.deepEqual([r4.status, r4.body], [400, { error: 'image is not a JPEG (no SOI marker)' }]);
  const r5 = await fetch(`${rcv.url}/packages`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
  assert.equal(r5.status, 415);
  const onlyMeta = `--B\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(pkg.metadata)}\r\n--B--\r\n`;
  const r6 = await fetch(`${rcv.url}/packages`, { method: 'POST', headers: { ...auth, 'content-type': 'multipart/form-data; boundary=B', 'idempotency-key': 'cam-bad:1' }, body: onlyMeta });
  assert.deepEqual([r6.status, await r6.json()], [400, { error: "missing part 'image'" }]);
  const dots = makePackage('cam-dots', 10, jpeg);
  const dotDot = { ...dots, idempotencyKey: '..:10', metadata: { ...dots.metadata, cameraId: '..', idempotencyKey: '..:10' } } as UploadPackage;
  const r7 = await post(dotDot);
  assert.equal(r7.status, 400, 'a camera id that is a path element (..) is refused');
  assert.deepEqual((r7.body as { reasons: string[] }).reasons.map((r) => r.split(':')[0]), ['/cameraId']);
  assert.equal(readdirSync(join(dir, 'packages')).some((f) => f.startsWith('cam-bad') || f.startsWith('..') || f.startsWith('.%2E') || f.startsWith('%2E')), false, 'nothing stored');
});

test('a corrupt index is refused with its path and the fix; moved aside, the stored packages are still duplicates', async () => {
  const d = mkdtempSync(join(tmpdir(), 'bestshot-receiver-index-'));
  try {
    const pkg = makePackage('cam-idx', 1, jpeg);
    const first = await startReceiver({ dir: d, token: TOKEN });
    assert.equal((await post(pkg, {}, first.url)).status, 201);
    await first.close();
    const index = join(d, 'index.sqlite');
    for (const f of readdirSync(d)) if (f.startsWith('index.sqlite')) rmSync(join(d, f));
    writeFileSync(index, Buffer.alloc(8192, 0x5a));
    await assert.rejects(startReceiver({ dir: d, token: TOKEN }), (err: unknown) => {
      assert.ok(err instanceof BestshotError);
      assert.equal(err.code, 'ERR_RECEIVER_INDEX');
      assert.equal(
        err.message,
        `receiver index ${index} is not a readable database (SQLITE_NOTADB): move it aside and start again; a new index is made, the stored packages under ${join(d, 'packages')} stay (a re-sent one is still answered as a duplicate)`,
      );
      return true;
    });
    renameSync(index, `${index}.bad`);
    const second = await startReceiver({ dir: d, token: TOKEN });
    try {
      assert.deepEqual((await post(pkg, {}, second.url)).body, { duplicate: true, key: 'cam-idx:1' });
    } finally {
      await second.close();
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('the index survives a restart: a known key is still a duplicate', async () => {
  const d = join(dir, 'restart');
  const first = await startReceiver({ dir: d, token: TOKEN });
  const pkg = makePackage('cam-rs', 1, jpeg);
  assert.equal((await post(pkg, {}, first.url)).status, 201);
  await first.close();
  await first.close();
  const second = await startReceiver({ dir: d, token: TOKEN });
  try {
    assert.deepEqual((await post(pkg, {}, second.url)).body, { duplicate: true, key: 'cam-rs:1' });
  } finally {
    await second.close();
  }
});

test('bestshot receiver CLI: --help prints the usage; a missing --dir, --require-client-cert without --tls-ca are usage errors', () => {
  const bin = join(PROJECT_ROOT, 'bin', 'bestshot.js');
  const env = { ...process.env, BESTSHOT_FROM_SOURCE: '1' };
  const help = spawnSync(process.execPath, [bin, 'receiver', '--help'], { env, encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: bestshot receiver --dir <dir> \[options\]/);
  const noDir = spawnSync(process.execPath, [bin, 'receiver', '--port', '0'], { env, encoding: 'utf8' });
  assert.equal(noDir.status, 2);
  assert.match(noDir.stderr, /^bestshot receiver: --dir is required/);
  // Before: '[ENOTDIR] ENOTDIR: not a directory, mkdir …/packages', exit 1.
  const file = join(mkdtempSync(join(tmpdir(), 'bestshot-rcv-file-')), 'store');
  writeFileSync(file, 'not a folder\n');
  const onFile = spawnSync(process.execPath, [bin, 'receiver', '--port', '0', '--dir', file], { env, encoding: 'utf8' });
  assert.equal(onFile.status, 2, onFile.stderr);
  assert.equal(onFile.stderr, `bestshot receiver: [ERR_USAGE] ${file} is a file, not a folder: choose another --dir\n`);
  // Before: 'receiver listening on https://…', then every client refused with nothing logged.
  const store = mkdtempSync(join(tmpdir(), 'bestshot-rcv-mtls-'));
  const noCa = spawnSync(process.execPath, [bin, 'receiver', '--port', '0', '--dir', store, '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--require-client-cert'], { env, encoding: 'utf8' });
  assert.equal(noCa.status, 2);
  assert.equal(noCa.stderr, "bestshot receiver: --require-client-cert needs --tls-ca, the CA that signed the clients' certificates (without it every client is refused)\n");
  // An empty token (an EnvironmentFile's 'BESTSHOT_RECEIVER_TOKEN=') was the token '': every upload refused 401.
  const empty = spawnSync(process.execPath, [bin, 'receiver', '--port', '0', '--dir', store], { env: { ...env, BESTSHOT_RECEIVER_TOKEN: '' }, encoding: 'utf8' });
  assert.equal(empty.status, 2);
  assert.equal(empty.stderr, 'bestshot receiver: BESTSHOT_RECEIVER_TOKEN is set but empty: set a token, or unset it for none (loopback only)\n');
  const noCert = spawnSync(process.execPath, [bin, 'receiver', '--port', '0', '--dir', store, '--tls-ca', 'ca.pem'], { env, encoding: 'utf8' });
  assert.equal(noCert.status, 2);
  assert.match(noCert.stderr, /^bestshot receiver: --tls-ca and --require-client-cert need --tls-cert and --tls-key/);
});

test('bestshot receiver on a taken port: exit 1 naming the fix, its index closed (no -wal or -shm left beside it)', async () => {
  const bin = join(PROJECT_ROOT, 'bin', 'bestshot.js');
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  const store = mkdtempSync(join(tmpdir(), 'bestshot-rcv-taken-'));
  try {
    const r = spawnSync(process.execPath, [bin, 'receiver', '--dir', store, '--port', String(port)], { env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_RECEIVER_TOKEN: 'taken' }, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`\\[ERR_PORT_IN_USE\\] port ${port} is already in use`));
    assert.deepEqual(readdirSync(store).sort(), ['index.sqlite', 'packages'], 'the index closed cleanly');
  } finally {
    await new Promise<void>((r) => blocker.close(() => r()));
    rmSync(store, { recursive: true, force: true });
  }
});
