/**
 * The receiver never acknowledges a package it does not hold, and never loses one it holds:
 * - concurrent uploads of one key with different images: the one stored wins, the other
 *   content is refused 409 (it was answered 200 'duplicate' when it lost the publish race);
 * - a published package folder with no index row (a kill -9 between publish and index, an
 *   index moved aside or emptied): indexed from its own metadata.json, at start or when the key
 *   arrives again, and other content under its key is refused 409 (it was acknowledged, and
 *   the index took the sender's sha256 while image.jpg kept the old file);
 * - the index or the whole store removed while running: /healthz says so (503), no upload is
 *   acknowledged into a deleted index, and once the folder is back the index is made again.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startReceiver, type Receiver } from '../../src/receiver/index.js';
import { encodeMultipart, type UploadPackage } from '../../src/upload/index.js';
import { listPackages, makeJpeg, makePackage } from '../upload/helpers.js';

const TOKEN = 'integrity-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function post(url: string, pkg: UploadPackage): Promise<{ status: number; body: Record<string, unknown> }> {
  const { contentType, body } = encodeMultipart(pkg);
  const res = await fetch(`${url}/packages`, { method: 'POST', headers: { ...auth, 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function served(url: string, key: string): Promise<Buffer> {
  const res = await fetch(`${url}/packages/${encodeURIComponent(key)}/image.jpg`, { headers: auth });
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

async function withReceiver(fn: (rcv: Receiver, dir: string, lines: string[], warnings: string[]) => Promise<void>, dir = mkdtempSync(join(tmpdir(), 'bestshot-integrity-'))): Promise<void> {
  const lines: string[] = [];
  const warnings: string[] = [];
  const rcv = await startReceiver({ dir, token: TOKEN, log: (l) => lines.push(l), warn: (l) => warnings.push(l) });
  try {
    await fn(rcv, dir, lines, warnings);
  } finally {
    await rcv.close();
  }
}

test('concurrent uploads of one key with two images: one stored, the same image 200 duplicate, the other image 409 — every round', { timeout: 60_000 }, async () => {
  const a = await makeJpeg(21);
  const b = await makeJpeg(22);
  await withReceiver(async (rcv, dir) => {
    for (let round = 0; round < 10; round++) {
      const cam = `race-ab-${round}`;
      const variants = [makePackage(cam, 1, a), makePackage(cam, 1, b)];
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => post(rcv.url, variants[i % 2]!).then((r) => ({ variant: i % 2, ...r }))));
      const summary = answers.map((r) => `${'AB'[r.variant]}:${r.status}`).join(' ');
      const winners = answers.filter((r) => r.status === 201);
      assert.equal(winners.length, 1, summary);
      const won = winners[0]!.variant;
      for (const r of answers) {
        if (r.variant === won) assert.ok(r.status === 201 || r.status === 200, summary);
        else assert.equal(r.status, 409, `round ${round}: the other image was acknowledged: ${summary}`);
      }
      // The index, the file on disk and what GET serves are one package: the winner's.
      const stored = won === 0 ? a : b;
      const key = `${cam}:1`;
      const row = (await listPackages(rcv.url, TOKEN, cam)) as Array<{ key: string; sha256?: string }>;
      assert.equal(row.length, 1);
      const listed = await (await fetch(`${rcv.url}/packages?camera=${cam}`, { headers: auth })).json() as { packages: Array<{ sha256: string; duplicates: number }> };
      assert.equal(listed.packages[0]!.sha256, sha(stored), summary);
      assert.equal(listed.packages[0]!.duplicates, answers.filter((r) => r.status === 200).length, summary);
      assert.ok(readFileSync(join(dir, 'packages', encodeURIComponent(key), 'image.jpg')).equals(stored));
      assert.ok((await served(rcv.url, key)).equals(stored));
    }
  });
});

test('a published package with no index row (kill -9 between publish and index): another image under its key is 409, the same image is a duplicate indexed with the stored sha256', async () => {
  const a = await makeJpeg(23);
  const b = await makeJpeg(24);
  await withReceiver(async (rcv, dir) => {
    // A stored package, copied under another key as a crash between rename and index leaves it.
    assert.equal((await post(rcv.url, makePackage('cam-orphan', 1, a))).status, 201);
    const orphanKey = 'cam-orphan:2';
    const orphan = makePackage('cam-orphan', 2, a);
    const folder = join(dir, 'packages', encodeURIComponent(orphanKey));
    mkdirSync(folder);
    writeFileSync(join(folder, 'image.jpg'), a);
    writeFileSync(join(folder, 'metadata.json'), JSON.stringify(orphan.metadata));

    const other = await post(rcv.url, makePackage('cam-orphan', 2, b));
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.match(String(other.body.error), /a different package is already stored under cam-orphan:2/);
    // The orphan is listed now, with what is on disk.
    const listed = (await (await fetch(`${rcv.url}/packages?camera=cam-orphan`, { headers: auth })).json()) as { packages: Array<{ key: string; sha256: string }> };
    assert.deepEqual(
      listed.packages.map((p) => [p.key, p.sha256]),
      [
        ['cam-orphan:1', sha(a)],
        [orphanKey, sha(a)],
      ],
    );
    assert.ok((await served(rcv.url, orphanKey)).equals(a), 'image.jpg is the stored one');
    assert.deepEqual((await post(rcv.url, orphan)).body, { duplicate: true, key: orphanKey });
    assert.equal((await post(rcv.url, makePackage('cam-orphan', 2, b))).status, 409, 'still refused once indexed');
  });
});

test('an index moved aside or emptied: the packages on disk are indexed again at start, said in one line, in arrival order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-integrity-reindex-'));
  const jpegs = [await makeJpeg(25), await makeJpeg(26), await makeJpeg(27)];
  await withReceiver(async (rcv) => {
    for (const [i, j] of jpegs.entries()) assert.equal((await post(rcv.url, makePackage('cam-re', i + 1, j))).status, 201);
  }, dir);
  const index = join(dir, 'index.sqlite');
  // A crash's leftovers are not packages: a temporary folder is removed, a folder without a readable metadata.json is left alone.
  mkdirSync(join(dir, 'packages', 'cam-re%3A9'));
  writeFileSync(join(dir, 'packages', 'cam-re%3A9', 'metadata.json'), '{"truncated": ');

  // Moved aside, as ERR_RECEIVER_INDEX advises for a corrupt one.
  for (const f of readdirSync(dir)) if (f.startsWith('index.sqlite')) renameSync(join(dir, f), join(dir, `${f}.bad`));
  await withReceiver(async (rcv, _dir, _lines, warnings) => {
    const listed = await listPackages(rcv.url, TOKEN, 'cam-re');
    assert.deepEqual(
      listed.map((p) => p.key),
      ['cam-re:1', 'cam-re:2', 'cam-re:3'],
    );
    assert.deepEqual(warnings, ['index: 3 package folder(s) under packages/ had no index row: indexed from their metadata.json (1 folder without a readable package left as it is)']);
    assert.deepEqual((await post(rcv.url, makePackage('cam-re', 2, jpegs[1]!))).body, { duplicate: true, key: 'cam-re:2' });
    assert.equal((await post(rcv.url, makePackage('cam-re', 2, jpegs[0]!))).status, 409);
  }, dir);

  // A 0-byte index (a full disk at its creation, a truncating copy).
  for (const f of readdirSync(dir)) if (f.startsWith('index.sqlite') && !f.endsWith('.bad')) rmSync(join(dir, f));
  writeFileSync(index, '');
  await withReceiver(async (rcv, _dir, _lines, warnings) => {
    assert.equal((await listPackages(rcv.url, TOKEN, 'cam-re')).length, 3);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^index: 3 package folder\(s\)/);
  }, dir);

  // A start with a complete index says nothing.
  await withReceiver(async (_rcv, _dir, _lines, warnings) => {
    assert.deepEqual(warnings, []);
  }, dir);
  rmSync(dir, { recursive: true, force: true });
});

test('the index removed while running: the next upload makes it again from packages/ and nothing is acknowledged into the deleted file', async () => {
  const jpeg = await makeJpeg(28);
  await withReceiver(async (rcv, dir, lines) => {
    assert.equal((await post(rcv.url, makePackage('cam-del', 1, jpeg))).status, 201);
    for (const f of readdirSync(dir)) if (f.startsWith('index.sqlite')) rmSync(join(dir, f));
    assert.equal((await post(rcv.url, makePackage('cam-del', 2, jpeg))).status, 201);
    assert.ok(existsSync(join(dir, 'index.sqlite')), 'a new index file');
    assert.deepEqual(
      (await listPackages(rcv.url, TOKEN, 'cam-del')).map((p) => p.key),
      ['cam-del:1', 'cam-del:2'],
    );
    assert.ok(lines.some((l) => /^index: .*index\.sqlite was removed while running: opened it again, 1 package\(s\) indexed from packages\/$/.test(l)), lines.join('\n'));
  });
});

test('the store removed while running: /healthz 503 with the reason, uploads 503 (not acknowledged, not 500); back after mkdir -p <dir>/packages', async () => {
  const jpeg = await makeJpeg(29);
  await withReceiver(async (rcv, dir) => {
    assert.equal((await post(rcv.url, makePackage('cam-gone', 1, jpeg))).status, 201);
    assert.equal((await fetch(`${rcv.url}/healthz`)).status, 200);
    rmSync(dir, { recursive: true, force: true });
    const health = await fetch(`${rcv.url}/healthz`);
    assert.equal(health.status, 503);
    const reason = (await health.json()) as { ok: boolean; reason: string };
    assert.equal(reason.ok, false);
    assert.match(reason.reason, /packages folder is missing/);
    assert.ok(!reason.reason.includes(dir), 'no path in an unauthenticated answer');
    const refused = await post(rcv.url, makePackage('cam-gone', 2, jpeg));
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    mkdirSync(join(dir, 'packages'), { recursive: true });
    assert.equal((await post(rcv.url, makePackage('cam-gone', 3, jpeg))).status, 201);
    assert.ok(existsSync(join(dir, 'index.sqlite')));
    assert.deepEqual(
      (await listPackages(rcv.url, TOKEN, 'cam-gone')).map((p) => p.key),
      ['cam-gone:3'],
    );
    assert.equal((await fetch(`${rcv.url}/healthz`)).status, 200);
  });
});

test('HEAD /healthz answers like GET without a body and without a token', async () => {
  await withReceiver(async (rcv) => {
    const head = await fetch(`${rcv.url}/healthz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });
});
