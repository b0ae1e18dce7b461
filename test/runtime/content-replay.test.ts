/**
 * upload.content 'frame+crops' end to end: `bestshot replay` of a real clip
 * with the real model, policy 'shared-best' (its quality score reads the
 * crops' pixels in the tracking worker), and the real receiver: every stored
 * package carries a context frame and crops whose rectangles lie in the
 * frame, each crop part stored and a JPEG of the rectangle's size; the
 * context frame scaled down to upload.contextMaxWidth (default 640 px; the
 * clip is 960×540).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openCapture } from '../../src/capture/index.js';
import { validatePackageMetadata, type PackageMetadata } from '../../src/upload/index.js';
import { replayClip } from '../helpers/replay.js';
import { JFIF_420, jpegDimensions, jpegLayout } from '../helpers/jpeg-layout.js';
import { TRAFFIC_CLIPS_DIR } from '../../src/paths.js';

test("replay with upload.content 'frame+crops': crops stored with their rectangles", { timeout: 300_000 }, async () => {
  const { packages: root } = replayClip(join(TRAFFIC_CLIPS_DIR, 'motorway-overpass-light.mp4'), {
    cameraId: 'demo',
    camera: 'selection: { policy: shared-best, maxLatencyS: 2 }',
    upload: '{ sendHz: 20, content: frame+crops, cropJpegQuality: 90, contextJpegQuality: 40 }',
    env: { BESTSHOT_FROM_SOURCE: '1' },
  });
  const keys = readdirSync(root);
  assert.ok(keys.length > 0, 'nothing stored');
  let crops = 0;
  for (const k of keys) {
    const meta = JSON.parse(readFileSync(join(root, k, 'metadata.json'), 'utf8')) as PackageMetadata;
    assert.deepEqual(validatePackageMetadata(meta), []);
    assert.equal(meta.content, 'frame+crops');
    assert.ok(meta.image !== null && readFileSync(join(root, k, 'image.jpg')).length === meta.image.bytes);
    // The context frame: the 960×540 frame at contextMaxWidth's default, 640 px wide; the metadata keeps the frame's size.
    const context = readFileSync(join(root, k, 'image.jpg'));
    assert.deepEqual(jpegDimensions(context), { width: 640, height: 360 });
    assert.deepEqual(jpegLayout(context), JFIF_420);
    assert.deepEqual([meta.width, meta.height], [960, 540]);
    for (const c of meta.crops!) {
      assert.ok(c.x >= 0 && c.y >= 0 && c.x + c.width <= meta.width && c.y + c.height <= meta.height, `crop ${c.part} outside the frame`);
      assert.ok(meta.tracks.some((t) => t.trackId === c.trackId), 'a crop of a track not in the package');
      assert.equal(readFileSync(join(root, k, `${c.part}.jpg`)).length, c.bytes);
      crops++;
    }
  }
  assert.ok(crops >= keys.length, `${crops} crops in ${keys.length} packages`);
  // A crop decodes at its rectangle's size (full resolution).
  const first = JSON.parse(readFileSync(join(root, keys[0]!, 'metadata.json'), 'utf8')) as PackageMetadata;
  const src = openCapture({ source: { type: 'file', path: join(root, keys[0]!, 'crop-0.jpg') } });
  const f = await src.next();
  src.close();
  assert.equal(f?.width, first.crops![0]!.width);
  assert.equal(f?.height, first.crops![0]!.height);
});
