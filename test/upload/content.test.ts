/**
 * upload.content (docs/upload.md "Content"): 'frame' is today's package byte
 * for byte; 'crops' / 'frame+crops' carry crop rectangles in the metadata
 * (schemas/package.v1.json) and one 'crop-N' part each, accepted and stored by
 * the real receiver.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startReceiver, type Receiver } from '../../src/receiver/index.js';
import { buildPackage, cropTrackIds, encodeMetadata, encodeMultipart, packageParts, validatePackageMetadata, type PackageInput, type UploadPackage } from '../../src/upload/index.js';
import { BASE_NS, entryAt, makeJpeg, makePackage } from './helpers.js';

const TOKEN = 'content-token';

async function input(content: PackageInput['content']): Promise<PackageInput> {
  const ts = BASE_NS;
  return {
    cameraId: 'cam-c',
    imageId: content === 'crops' ? 1 : content === 'frame+crops' ? 2 : 3,
    timestampNs: ts,
    width: 640,
    height: 480,
    exposure: { mode: 'manual', exposureTimeUs: 1000, gain: 2 },
    cameraPosition: null,
    jpeg: content === 'crops' ? null : await makeJpeg(5),
    tracks: [
      { trackId: 7, entry: entryAt(1, ts, 7) },
      { trackId: 9, entry: entryAt(1, ts, 9) },
    ],
    selection: { route: 'immediate', trackIds: [7], policy: 'shared-best' },
    content,
    crops: [
      { trackId: 7, rect: { x: 100, y: 80, width: 64, height: 48 }, jpeg: await makeJpeg(6) },
      { trackId: 9, rect: { x: 300, y: 200, width: 64, height: 48 }, jpeg: await makeJpeg(7) },
    ],
  };
}

describe('upload.content', () => {
  test("'frame': the multipart body is exactly the seed's (metadata part, one image part), no content/crops keys", async () => {
    const jpeg = await makeJpeg(1);
    const pkg = makePackage('cam-f', 4, jpeg);
    assert.equal('content' in pkg.metadata, false);
    assert.equal('crops' in pkg.metadata, false);
    assert.equal(pkg.jpeg, jpeg);
    const b = 'BOUNDARY';
    const expected = Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n`),
      encodeMetadata(pkg.metadata),
      Buffer.from(`\r\n--${b}\r\nContent-Disposition: form-data; name="image"; filename="cam-f_4.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
      jpeg,
      Buffer.from(`\r\n--${b}--\r\n`),
    ]);
    assert.ok(encodeMultipart(pkg, b).body.equals(expected));
  });

  test("'crops': image null, crop rectangles and parts in the metadata, the blob is the crops in order", async () => {
    const inp = await input('crops');
    const pkg = buildPackage(inp);
    assert.equal(pkg.metadata.content, 'crops');
    assert.equal(pkg.metadata.image, null);
    assert.deepEqual(
      pkg.metadata.crops!.map((c) => [c.trackId, c.x, c.y, c.width, c.height, c.part, c.bytes]),
      inp.crops!.map((c, i) => [c.trackId, c.rect.x, c.rect.y, c.rect.width, c.rect.height, `crop-${i}`, c.jpeg.length]),
    );
    const parts = packageParts(pkg);
    assert.deepEqual(parts.map((p) => p.name), ['crop-0', 'crop-1']);
    assert.ok(parts[0]!.data.equals(inp.crops![0]!.jpeg) && parts[1]!.data.equals(inp.crops![1]!.jpeg));
    assert.deepEqual(validatePackageMetadata(JSON.parse(JSON.stringify(pkg.metadata))), []);
  });

  test("'frame+crops': the context frame is the 'image' part, then the crops", async () => {
    const inp = await input('frame+crops');
    const parts = packageParts(buildPackage(inp));
    assert.deepEqual(parts.map((p) => p.name), ['image', 'crop-0', 'crop-1']);
    assert.ok(parts[0]!.data.equals(inp.jpeg!));
  });

  test('the schema refuses crops without content, an image in crops mode, crops mode without crops', async () => {
    const frame = makePackage('cam-x', 1, await makeJpeg(1)).metadata;
    const crops = buildPackage(await input('crops')).metadata;
    assert.notDeepEqual(validatePackageMetadata({ ...frame, crops: crops.crops }), []);
    assert.notDeepEqual(validatePackageMetadata({ ...crops, image: frame.image }), []);
    assert.notDeepEqual(validatePackageMetadata({ ...crops, crops: [] }), []);
    const noCrops = { ...(await input('crops')), crops: [] };
    assert.throws(() => buildPackage(noCrops), { name: 'TypeError', message: /^Expected non-empty array for crops but received/ });
  });

  test('cropTrackIds: the selected objects plus every qualifying (S1) track of the frame that does not touch the border', () => {
    const box = (cx: number, w: number, score = 0.9) => ({ cx, cy: 240, w, h: w, angle: 0, classId: 2, label: 'car', score });
    // Track 3 touches the left border (x ≤ 0): not cropped unless selected.
    const tracks = [
      { trackId: 1, box: box(100, 50) },
      { trackId: 2, box: box(300, 50) },
      { trackId: 3, box: box(10, 50) },
    ];
    assert.deepEqual(cropTrackIds([1], tracks, 640, 480, 0.5), [1, 2]);
    assert.deepEqual(cropTrackIds([3], tracks, 640, 480, 0.5), [1, 2, 3]);
    // No memory across packages: a track cropped before, at the same size, is cropped again (a track is not an object).
    assert.deepEqual(cropTrackIds([], [{ trackId: 2, box: box(300, 50) }], 640, 480, 0.5), [2]);
    assert.deepEqual(cropTrackIds([], [{ trackId: 2, box: box(300, 50) }], 640, 480, 0.5), [2]);
    // The right border: x + w ≥ W − 1 touches.
    assert.deepEqual(cropTrackIds([], [{ trackId: 4, box: box(614.5, 50) }, { trackId: 5, box: box(613.5, 50) }], 640, 480, 0.5), [5]);
    // S1's score: exactly minScore1 qualifies, below does not — unless selected.
    const weak = [
      { trackId: 6, box: box(200, 40, 0.5) },
      { trackId: 7, box: box(400, 40, 0.49) },
    ];
    assert.deepEqual(cropTrackIds([], weak, 640, 480, 0.5), [6]);
    assert.deepEqual(cropTrackIds([7], weak, 640, 480, 0.5), [6, 7]);
  });
});

describe('the receiver stores crops', () => {
  let rcv: Receiver;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bestshot-content-'));
    rcv = await startReceiver({ dir, token: TOKEN });
  });
  after(async () => {
    await rcv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function post(pkg: UploadPackage): Promise<{ status: number; body: Record<string, unknown> }> {
    const { contentType, body } = encodeMultipart(pkg);
    const res = await fetch(`${rcv.url}/packages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  for (const content of ['crops', 'frame+crops'] as const) {
    test(`'${content}': stored, each crop served as crop-N.jpg byte for byte`, async () => {
      const inp = await input(content);
      const pkg = buildPackage(inp);
      assert.deepEqual(await post(pkg), { status: 201, body: { stored: true, key: pkg.idempotencyKey } });
      for (const [i, c] of inp.crops!.entries()) {
        const res = await fetch(`${rcv.url}/packages/${encodeURIComponent(pkg.idempotencyKey)}/crop-${i}.jpg`, { headers: { authorization: `Bearer ${TOKEN}` } });
        assert.equal(res.status, 200);
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(c.jpeg));
      }
      const meta = JSON.parse(readFileSync(join(dir, 'packages', encodeURIComponent(pkg.idempotencyKey), 'metadata.json'), 'utf8'));
      assert.deepEqual(meta.crops, pkg.metadata.crops);
    });
  }

  test('the browse page shows the crops (the first crop as the image of a crops-only package)', async () => {
    const html = await (await fetch(`${rcv.url}/browse`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    assert.match(html, /<a href="\/packages\/cam-c%3A1\/crop-0\.jpg"><img src="\/packages\/cam-c%3A1\/crop-0\.jpg" alt="cam-c:1"><\/a><div class="crops">/);
    assert.match(html, /<a href="\/packages\/cam-c%3A2\/image\.jpg"><img src="\/packages\/cam-c%3A2\/image\.jpg" alt="cam-c:2"><\/a><div class="crops"><a href="\/packages\/cam-c%3A2\/crop-0\.jpg">/);
  });

  test('a crop part that does not match its metadata is refused (400)', async () => {
    const pkg = buildPackage({ ...(await input('crops')), imageId: 11 });
    const bad: UploadPackage = { ...pkg, jpeg: Buffer.concat([pkg.jpeg.subarray(0, pkg.jpeg.length - 1), Buffer.from([0])]) };
    const r = await post(bad);
    assert.equal(r.status, 400);
    assert.match(String(r.body.error), /crop-1 sha256 does not match metadata/);
  });
});
