/**
 * cropStats on I420 frames (the runtime's pixel format) is a faster pass
 * than the one-pixel-at-a-time form in test/helpers/crop-stats-reference.ts
 * (cells summed in registers, luma tables, a chroma bound before the
 * three-channel highlight test). Its figures feed the quality score and so
 * the selection: they must be the reference's bit for bit, on made frames
 * that hit every branch (highlights near the clip level, crushed shadows,
 * odd crop edges, every YUV matrix) and on real frames decoded by GStreamer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openCapture } from '../../src/capture/index.js';
import type { YuvMatrix } from '../../src/capture/yuv.js';
import { TRAFFIC_CLIPS_DIR } from '../../src/paths.js';
import { cropStats, type CropBox, type CropImage } from '../../src/select/crop-stats.js';
import { cropStatsI420Reference } from '../helpers/crop-stats-reference.js';

const FIELDS = ['sharpness', 'highlights', 'shadows', 'mean'] as const;

function assertSame(image: CropImage, box: CropBox, what: string): void {
  const fast = cropStats(image, box);
  const ref = cropStatsI420Reference(image, box);
  for (const k of FIELDS) assert.ok(Object.is(fast[k], ref[k]), `${what} ${JSON.stringify(box)} ${k}: ${fast[k]} vs the reference's ${ref[k]}`);
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const MATRICES: Array<YuvMatrix | undefined> = [
  undefined,
  { kr: 0.299, kb: 0.114, fullRange: false },
  { kr: 0.2126, kb: 0.0722, fullRange: false },
  { kr: 0.299, kb: 0.114, fullRange: true },
  { kr: 0.2126, kb: 0.0722, fullRange: true },
];

test('I420 crop statistics are the reference pass bit for bit on made frames (every branch, every matrix)', () => {
  const rand = rng(18);
  let highlighted = 0;
  let shadowed = 0;
  for (let t = 0; t < 600; t++) {
    const width = 3 + Math.floor(rand() * 200);
    const height = 3 + Math.floor(rand() * 150);
    const pixels = new Uint8Array(width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2));
    // Bright frames put luma and chroma near the clip level, dark ones near the shadow level.
    const kind = t % 3;
    for (let i = 0; i < pixels.length; i++) pixels[i] = kind === 0 ? 220 + Math.floor(rand() * 36) : kind === 1 ? Math.floor(rand() * 24) : Math.floor(rand() * 256);
    const yuv = MATRICES[t % MATRICES.length];
    const image: CropImage = { width, height, channels: 3, format: 'I420', pixels, ...(yuv ? { yuv } : {}) };
    for (let b = 0; b < 4; b++) {
      const box = { cx: rand() * width * 1.2 - 0.1 * width, cy: rand() * height * 1.2 - 0.1 * height, w: 1 + rand() * width, h: 1 + rand() * height };
      assertSame(image, box, `frame ${t} (${width}×${height})`);
      const s = cropStatsI420Reference(image, box);
      if (s.highlights > 0) highlighted++;
      if (s.shadows > 0) shadowed++;
    }
  }
  // The made frames did reach both exposure branches.
  assert.ok(highlighted > 200 && shadowed > 200, `${highlighted} crops with highlights, ${shadowed} with shadows`);
});

test('I420 crop statistics are the reference pass bit for bit on real decoded frames', async () => {
  for (const clip of ['town-centre-pedestrians.mp4', 'suburban-street-elevated.mp4']) {
    const source = openCapture({ source: { type: 'file', path: join(TRAFFIC_CLIPS_DIR, clip) }, format: 'I420' });
    let n = 0;
    try {
      for await (const f of source) {
        if (n++ % 20 === 0) {
          assert.equal(f.format, 'I420');
          const image: CropImage = { width: f.width, height: f.height, channels: 3, format: 'I420', pixels: f.pixels, ...(f.yuv ? { yuv: f.yuv } : {}) };
          const rand = rng(n);
          for (let b = 0; b < 6; b++) {
            const w = 8 + rand() * f.width * 0.5;
            const h = 8 + rand() * f.height * 0.5;
            assertSame(image, { cx: rand() * f.width, cy: rand() * f.height, w, h }, `${clip} frame ${n}`);
          }
          assertSame(image, { cx: f.width / 2, cy: f.height / 2, w: f.width, h: f.height }, `${clip} frame ${n}, whole`);
        }
        source.releasePixels(f);
        if (n >= 100) break;
      }
    } finally {
      source.close();
    }
    assert.ok(n >= 100, `${clip}: ${n} frames`);
  }
});
