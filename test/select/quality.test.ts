import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_QUALITY_WEIGHTS,
  compareQuality,
  cropStats,
  edgeDistance,
  exposureTerm,
  occludedFraction,
  quality,
  qualityScore,
  sharpnessTerm,
  type CropImage,
} from '../../src/select/index.js';
import type { Box } from '../../src/types.js';

const W = 400;
const H = 300;
const box = (cx: number, cy: number, w: number, h: number, score = 0.9): Box => ({ cx, cy, w, h, angle: 0, classId: 2, label: 'car', score });
const PARAMS = { minEdge1: 8, minScore1: 0.5, edgeFull: 32 };

/** A deterministic textured grey-ish BGR frame (xorshift noise on a gradient). */
function textured(): CropImage {
  const pixels = new Uint8Array(W * H * 3);
  let s = 12345;
  for (let i = 0; i < W * H; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const v = 60 + ((s >>> 0) % 120); // 60..179: nothing clipped
    pixels[3 * i] = v;
    pixels[3 * i + 1] = v;
    pixels[3 * i + 2] = v;
  }
  return { width: W, height: H, channels: 3, pixels };
}

/** 5×5 box blur of every channel. */
function blurred(img: CropImage): CropImage {
  const out = new Uint8Array(img.pixels.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        let n = 0;
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            s += img.pixels[(yy * W + xx) * 3 + c]!;
            n++;
          }
        }
        out[(y * W + x) * 3 + c] = Math.round(s / n);
      }
    }
  }
  return { ...img, pixels: out };
}

/** Every channel + delta, clamped (an over- or under-exposed copy). */
function shifted(img: CropImage, delta: number): CropImage {
  return { ...img, pixels: img.pixels.map((v) => Math.max(0, Math.min(255, v + delta))) };
}

describe('crop measures (select/crop-stats.ts)', () => {
  const img = textured();
  const b = box(200, 150, 120, 100);

  it('a blurred copy of a crop is less sharp, and scores lower', () => {
    const sharp = cropStats(img, b);
    const blur = cropStats(blurred(img), b);
    assert.ok(sharp.sharpness > 2 * blur.sharpness, `${sharp.sharpness} vs ${blur.sharpness}`);
    const qs = quality(b, W, H, [b], sharp, PARAMS);
    const qb = quality(b, W, H, [b], blur, PARAMS);
    assert.ok(compareQuality(qs, qb) > 0);
    assert.ok(qs.terms.sharpness > qb.terms.sharpness);
  });

  it('sharpness is size-normalised: the same texture at 2× (pixel-doubled) measures the same', () => {
    const small = new Uint8Array(64 * 64);
    for (let i = 0; i < small.length; i++) small[i] = img.pixels[3 * (Math.floor(i / 64) * W + (i % 64))]!;
    const big = new Uint8Array(128 * 128);
    for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) big[y * 128 + x] = small[(y >> 1) * 64 + (x >> 1)]!;
    const a = cropStats({ width: 64, height: 64, channels: 1, pixels: small }, box(32, 32, 64, 64));
    const c = cropStats({ width: 128, height: 128, channels: 1, pixels: big }, box(64, 64, 128, 128));
    assert.ok(Math.abs(a.sharpness - c.sharpness) < 1e-9, `${a.sharpness} vs ${c.sharpness}`);
    // ...and a contrast change does not move it (exposure has its own term).
    const halfContrast = cropStats({ width: 64, height: 64, channels: 1, pixels: small.map((v) => 64 + (v >> 1)) }, box(32, 32, 64, 64));
    assert.ok(Math.abs(halfContrast.sharpness - a.sharpness) / a.sharpness < 0.05);
  });

  it('an over-exposed copy has clipped highlights and scores lower; an under-exposed one crushed shadows', () => {
    const normal = cropStats(img, b);
    const over = cropStats(shifted(img, 110), b);
    const under = cropStats(shifted(img, -110), b);
    assert.equal(normal.highlights, 0);
    assert.equal(normal.shadows, 0);
    assert.ok(over.highlights > 0.3, `${over.highlights}`);
    assert.ok(under.shadows > 0.3, `${under.shadows}`);
    assert.ok(over.mean > normal.mean && under.mean < normal.mean);
    assert.ok(exposureTerm(over) < exposureTerm(normal) && exposureTerm(under) < exposureTerm(normal));
    const qn = quality(b, W, H, [b], normal, PARAMS).q;
    assert.ok(quality(b, W, H, [b], over, PARAMS).q < qn);
    assert.ok(quality(b, W, H, [b], under, PARAMS).q < qn);
  });

  it('a flat crop has sharpness 0; a crop under 3×3 or outside the image NaN', () => {
    const flat: CropImage = { width: 10, height: 10, channels: 1, pixels: new Uint8Array(100).fill(90) };
    assert.equal(cropStats(flat, box(5, 5, 10, 10)).sharpness, 0);
    assert.ok(Number.isNaN(cropStats(flat, box(5, 5, 2, 2)).sharpness));
    assert.ok(Number.isNaN(cropStats(flat, box(50, 50, 4, 4)).sharpness));
  });

  it('rejects a pixel buffer too small for the image', () => {
    assert.throws(() => cropStats({ width: 10, height: 10, channels: 3, pixels: new Uint8Array(10) }, box(5, 5, 4, 4)), {
      name: 'RangeError',
      message: 'Expected at least 300 bytes for image.pixels.length but received 10 of type number',
    });
  });
});

describe('quality terms and score (select/quality.ts)', () => {
  it('a clipped box (S3 edge < minEdge1, or touching the border) is not good and ranks below any unclipped one', () => {
    const clipped = box(54, 150, 100, 100, 0.95); // left side 4 px from the border
    const whole = box(200, 150, 40, 40, 0.6);
    assert.ok(edgeDistance(clipped, W, H) < PARAMS.minEdge1);
    const qc = quality(clipped, W, H, [], undefined, PARAMS);
    const qw = quality(whole, W, H, [], undefined, PARAMS);
    assert.equal(qc.good, false);
    assert.equal(qw.good, true);
    assert.ok(qc.q > qw.q, 'larger and surer, by the product alone');
    assert.ok(compareQuality(qw, qc) > 0, 'but the unclipped one ranks first');
    assert.ok(qc.terms.edge < qw.terms.edge);
    assert.equal(quality(box(50, 150, 100, 100, 0.95), W, H, [], undefined, PARAMS).good, false); // on the border
  });

  it('a score below minScore1 is not good', () => {
    assert.equal(quality(box(200, 150, 50, 50, 0.4), W, H, [], undefined, PARAMS).good, false);
  });

  it('larger and surer score higher; without pixels the order is area × score² (the defaults)', () => {
    const a = quality(box(200, 150, 50, 50, 0.8), W, H, [], undefined, PARAMS);
    const b = quality(box(200, 150, 60, 60, 0.8), W, H, [], undefined, PARAMS);
    const c = quality(box(200, 150, 60, 60, 0.9), W, H, [], undefined, PARAMS);
    assert.ok(b.q > a.q && c.q > b.q);
    assert.ok(Math.abs(c.q / b.q - (0.9 / 0.8) ** 2) < 1e-9);
    assert.ok(Math.abs(b.q / a.q - (60 * 60) / (50 * 50)) < 1e-9);
  });

  it('occlusion: only nearer boxes (bottom edge lower) occlude; the covered fraction lowers the score', () => {
    const far = box(200, 100, 100, 100);
    const nearer = box(250, 150, 100, 100); // bottom 200 > 150, overlap 50×50
    assert.equal(occludedFraction(far, [far, nearer]), 0.25);
    assert.equal(occludedFraction(nearer, [far, nearer]), 0);
    const alone = quality(far, W, H, [far], undefined, PARAMS);
    const hidden = quality(far, W, H, [far, nearer], undefined, PARAMS);
    assert.equal(hidden.terms.occlusion, 0.75);
    assert.ok(hidden.q < alone.q);
  });

  it('edge term: S3 edge distance over edgeFull (minEdge2), 1 beyond it', () => {
    assert.equal(quality(box(200, 150, 40, 40), W, H, [], undefined, PARAMS).terms.edge, 1);
    assert.equal(quality(box(36, 150, 40, 40), W, H, [], undefined, PARAMS).terms.edge, 16 / 32);
  });

  it('terms without pixels are neutral; sharpness term is s / (s + 0.5)', () => {
    assert.equal(sharpnessTerm(undefined), 1);
    assert.equal(sharpnessTerm(NaN), 1);
    assert.equal(sharpnessTerm(0.5), 0.5);
    assert.equal(exposureTerm(undefined), 1);
  });

  it('weights are exponents: weight 0 ignores a term, the product is the weighted geometric form', () => {
    const t = { size: 0.1, score: 0.8, sharpness: 0.5, exposure: 0.9, edge: 1, occlusion: 0.75 };
    const w = { ...DEFAULT_QUALITY_WEIGHTS };
    const expected = 0.1 * 0.8 ** 2 * 0.5 * 0.9 * 1 * 0.75;
    assert.ok(Math.abs(qualityScore(t, w) - expected) < 1e-12);
    assert.ok(Math.abs(qualityScore({ ...t, sharpness: 0.01 }, { ...w, sharpness: 0 }) - expected / 0.5) < 1e-12);
  });
});
