import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  areaInImage,
  areaRatio,
  cropRect,
  greedyCover,
  iou,
  isUnclipped,
  laplacianVariance,
  matchBoxes,
  mean,
  percentile,
  GridSampler,
  type CropImage,
} from '../../src/eval/index.js';

/** Box from corners. */
const xyxy = (x0: number, y0: number, x1: number, y1: number) => ({ cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, w: x1 - x0, h: y1 - y0 });

function grey(width: number, height: number, f: (x: number, y: number) => number): CropImage {
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels[y * width + x] = f(x, y);
  return { width, height, channels: 1, pixels };
}

describe('iou', () => {
  it('is 1 for the same box, 0 for disjoint or touching boxes, 1/3 for a half-shifted box', () => {
    assert.equal(iou(xyxy(0, 0, 10, 10), xyxy(0, 0, 10, 10)), 1);
    assert.equal(iou(xyxy(0, 0, 10, 10), xyxy(10, 0, 20, 10)), 0);
    assert.equal(iou(xyxy(0, 0, 10, 10), xyxy(30, 30, 40, 40)), 0);
    assert.equal(iou(xyxy(0, 0, 10, 10), xyxy(5, 0, 15, 10)), 50 / 150);
  });
});

describe('matchBoxes (coverage: matched = IoU ≥ 0.5, one-to-one)', () => {
  it('counts IoU exactly 0.5 as matched and just below as not', () => {
    assert.deepEqual(matchBoxes([xyxy(0, 0, 10, 10)], [xyxy(0, 0, 10, 20)]), [{ gt: 0, pred: 0, iou: 0.5 }]);
    assert.deepEqual(matchBoxes([xyxy(0, 0, 10, 10)], [xyxy(0, 0, 10, 20.2)]), []);
  });

  it('gives each box to at most one partner, the higher IoU first', () => {
    const gt = [xyxy(0, 0, 10, 10), xyxy(1, 0, 11, 10)];
    const pred = [xyxy(1, 0, 11, 10)];
    // pred 0 matches gt 1 exactly (IoU 1) and gt 0 at 9/11: gt 1 wins, gt 0 stays unmatched.
    assert.deepEqual(matchBoxes(gt, pred), [{ gt: 1, pred: 0, iou: 1 }]);
    const two = matchBoxes(gt, [xyxy(0, 0, 10, 10), xyxy(1, 0, 11, 10)]);
    assert.deepEqual(two.map((m) => [m.gt, m.pred]), [
      [0, 0],
      [1, 1],
    ]);
  });

  it('rejects a bad minIou with the exact message', () => {
    assert.throws(() => matchBoxes([], [], 1.5), { name: 'RangeError', message: 'Expected number between 0 and 1 for minIou but received 1.5 of type number' });
    assert.throws(() => matchBoxes([], [], Number('x')), { name: 'TypeError', message: 'Expected number between 0 and 1 for minIou but received NaN of type number' });
  });
});

describe('isUnclipped / areaInImage / areaRatio', () => {
  it('needs the box inside the image with the margin to every border', () => {
    assert.equal(isUnclipped(xyxy(1, 1, 99, 99), 100, 100), true);
    assert.equal(isUnclipped(xyxy(0.5, 10, 20, 20), 100, 100), false);
    assert.equal(isUnclipped(xyxy(10, 10, 99.5, 20), 100, 100), false);
    assert.equal(isUnclipped(xyxy(0, 0, 100, 100), 100, 100, 0), true);
    assert.equal(isUnclipped(xyxy(-5, 10, 20, 20), 100, 100, 0), false);
  });

  it('areaInImage counts only the part inside', () => {
    assert.equal(areaInImage(xyxy(-10, 0, 10, 10), 100, 100), 100);
    assert.equal(areaInImage(xyxy(200, 0, 210, 10), 100, 100), 0);
  });

  it('areaRatio is the area over the largest unclipped area, NaN without one', () => {
    assert.equal(areaRatio(50, 200), 0.25);
    assert.equal(areaRatio(200, 200), 1);
    assert.ok(Number.isNaN(areaRatio(50, 0)));
  });
});

describe('laplacianVariance (sharpness)', () => {
  it('is 0 on a flat image and on a linear ramp (the Laplacian of a plane is 0)', () => {
    assert.equal(laplacianVariance(grey(10, 10, () => 77)), 0);
    assert.equal(laplacianVariance(grey(12, 9, (x, y) => 3 * x + 5 * y)), 0);
  });

  it('is 1020² on a one-pixel 0/255 checkerboard (every Laplacian is ±4·255)', () => {
    assert.equal(laplacianVariance(grey(10, 10, (x, y) => ((x + y) % 2 ? 255 : 0))), 1020 * 1020);
  });

  it('a blurred edge is less sharp than a hard one', () => {
    const hard = laplacianVariance(grey(20, 20, (x) => (x < 10 ? 0 : 200)));
    const soft = laplacianVariance(grey(20, 20, (x) => Math.max(0, Math.min(200, (x - 5) * 20))));
    assert.ok(hard > soft && soft > 0, `${hard} > ${soft} > 0`);
  });

  it('uses grey = 0.114 B + 0.587 G + 0.299 R on BGR and only the crop', () => {
    const w = 10;
    const h = 10;
    const pixels = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // left half: checkerboard in the green channel only; right half: flat.
        const v = x < 5 && (x + y) % 2 ? 100 : 0;
        pixels.set([0, v, 0], (y * w + x) * 3);
      }
    }
    const img: CropImage = { width: w, height: h, channels: 3, pixels };
    assert.equal(laplacianVariance(img, { x0: 5, y0: 0, x1: 10, y1: 10 }), 0);
    const g = 0.587 * 100;
    assert.ok(Math.abs(laplacianVariance(img, { x0: 0, y0: 0, x1: 4, y1: 10 }) - (4 * g) ** 2) < 1e-6);
  });

  it('honours a padded stride and is NaN below 3×3', () => {
    const pixels = new Uint8Array(16 * 10).fill(9);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) pixels[y * 16 + x] = (x + y) % 2 ? 255 : 0;
    assert.equal(laplacianVariance({ width: 10, height: 10, stride: 16, channels: 1, pixels }), 1020 * 1020);
    assert.ok(Number.isNaN(laplacianVariance(grey(10, 10, () => 0), { x0: 0, y0: 0, x1: 2, y1: 10 })));
  });

  it('cropRect rounds outwards and clamps to the image', () => {
    assert.deepEqual(cropRect({ cx: 5.5, cy: 5, w: 3, h: 20 }, 100, 8), { x0: 4, y0: 0, x1: 7, y1: 8 });
  });
});

describe('summaries', () => {
  it('mean and percentile skip non-finite values', () => {
    assert.equal(mean([1, 2, NaN, 3]), 2);
    assert.ok(Number.isNaN(mean([NaN])));
    assert.equal(percentile([5, 1, 3, 2, 4], 50), 3);
    assert.equal(percentile([5, 1, 3, 2, 4, NaN], 90), 5);
  });

  it('greedyCover picks the frame covering most, then what is left', () => {
    const o = (...ids: string[]) => ids.map((objectId) => ({ objectId }));
    assert.deepEqual(greedyCover([o('a'), o('a', 'b'), o('b', 'c'), o('c')]), [1, 2]);
    // Ties go to the frame with fewer bytes.
    assert.deepEqual(greedyCover([o('a'), o('a')], [900, 100]), [1]);
    assert.deepEqual(greedyCover([o(), o()]), []);
  });
});

describe('GridSampler (A5 on a recording)', () => {
  it('keeps the first frame at or after each 10 Hz tick of a 25 fps stream', () => {
    const s = new GridSampler(10);
    const kept = Array.from({ length: 11 }, (_, i) => BigInt(i) * 40_000_000n).filter((t) => s.take(t));
    assert.deepEqual(kept.map((t) => Number(t / 1_000_000n)), [0, 120, 200, 320, 400]);
  });

  it('keeps every frame of a slower stream and rejects a bad hz', () => {
    const s = new GridSampler(10);
    assert.equal([0n, 200_000_000n, 400_000_000n].filter((t) => s.take(t)).length, 3);
    assert.throws(() => new GridSampler(0), { name: 'RangeError', message: 'Expected positive number for hz but received 0 of type number' });
  });
});
