/**
 * 'budget' with upload.content 'crops', as a user runs it: `bestshot replay`
 * of a real clip with the real model into the real receiver. A budget crops
 * package shows only the objects the policy paid for (SelectionPolicy.cropsOf
 * 'selected'), the runtime charges crops (not whole frames) when
 * budgetCropBytesPerPixel is unset (config/adapters.ts, CROP_BYTES_PER_PIXEL),
 * and what it stores stays within the budget over the clip (stream time):
 * the bytes the crops took, not the estimate (1.8 B per box pixel, which
 * the crops of suburban-street-elevated exceed by ~1.4×: it stored 860 kB
 * against a budget of 754 kB before the camera reported its bytes back).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { replayClip } from '../helpers/replay.js';
import { TRAFFIC_CLIPS_DIR } from '../../src/paths.js';
import type { PackageMetadata } from '../../src/upload/index.js';

const CLIP = join(TRAFFIC_CLIPS_DIR, 'intersection-elevated-motorbikes.mp4');
const BUDGET_BYTES_PER_S = 20_000;

for (const clip of [CLIP, join(TRAFFIC_CLIPS_DIR, 'suburban-street-elevated.mp4')]) test(`budget + crops (${basename(clip)}): each package crops what it paid for, within the budget, many more packages than whole frames would afford`, { timeout: 300_000 }, () => {
  const { out, packages: root } = replayClip(clip, {
    cameraId: 'tight',
    camera: `selection: { policy: budget, budgetBytesPerS: ${BUDGET_BYTES_PER_S} }`,
    upload: '{ sendHz: 50, content: crops }',
  });
  const metas = readdirSync(root).map((k) => JSON.parse(readFileSync(join(root, k, 'metadata.json'), 'utf8')) as PackageMetadata);
  assert.ok(metas.length > 0, 'nothing stored');
  let bytes = 0;
  let largest = 0;
  for (const m of metas) {
    assert.equal(m.content, 'crops');
    assert.equal(m.image, null, 'a crops package carries no frame');
    // Only what it paid for: the crops are exactly the selected objects.
    assert.deepEqual(m.crops!.map((c) => c.trackId).sort((a, b) => a - b), [...(m.selection?.trackIds ?? [])].sort((a, b) => a - b));
    const b = m.crops!.reduce((a, c) => a + c.bytes, 0);
    bytes += b;
    largest = Math.max(largest, b);
  }
  // The clip's length in stream time: the frames taken on the 10 Hz grid.
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { framesProcessed: number };
  const spanS = summary.framesProcessed / 10;
  // The bucket starts empty and may go one package into debt; it pays what the camera reports each package took.
  assert.ok(bytes <= BUDGET_BYTES_PER_S * spanS + largest, `${bytes} B stored over ${spanS.toFixed(1)} s, the largest package ${largest} B`);
  // Charged as whole frames (0.15 B per pixel), the same budget would have afforded a handful of packages.
  const frameCost = 0.15 * metas[0]!.width * metas[0]!.height;
  const affordableFrames = (BUDGET_BYTES_PER_S * (spanS + 1)) / frameCost + 1;
  assert.ok(metas.length > 2 * affordableFrames, `${metas.length} packages; whole frames would afford ${affordableFrames.toFixed(1)}`);
});
