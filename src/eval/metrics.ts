/**
 * Evaluation metrics (docs/evaluation.md), each a small pure function with
 * hand-checkable answers (test/eval/metrics.test.ts): IoU and one-to-one
 * matching of ground truth to tracked boxes, clipping, area ratio, sharpness
 * (variance of the Laplacian on a grey crop) and time summaries.
 * IoU and SPEC S3's `edgeDistance` are the one box geometry (src/geometry/box.ts).
 */
import { invalidParameterError, outOfRangeError } from '../errors.js';
import { iouAxisAligned as iou } from '../geometry/box.js';
import type { CropImage } from '../select/crop-stats.js';
import { yuvCoefficients } from '../capture/yuv.js';

export type { CropImage };

/** An axis-aligned box by centre and size, pixels. */
export interface CenterBox {
  cx: number;
  cy: number;
  w: number;
  h: number;
}

/** Intersection over union of two axis-aligned boxes; 0 when either is empty (the one box geometry). */
export { iouAxisAligned as iou } from '../geometry/box.js';

/** One ground-truth ↔ prediction pair of a frame. */
export interface BoxMatch {
  gt: number;
  pred: number;
  iou: number;
}

/**
 * One-to-one matching of ground-truth boxes to predicted boxes of one frame:
 * greedy on IoU, highest first (ties: lower gt index, then lower pred index),
 * pairs with IoU ≥ `minIou` only (default 0.5, the "matched").
 * Greedy equals the optimal assignment whenever no box overlaps two others
 * above the threshold, the normal case at IoU ≥ 0.5.
 */
export function matchBoxes(gt: readonly CenterBox[], pred: readonly CenterBox[], minIou = 0.5): BoxMatch[] {
  if (typeof minIou !== 'number' || Number.isNaN(minIou)) throw invalidParameterError('number between 0 and 1', 'minIou', minIou);
  if (minIou < 0 || minIou > 1) throw outOfRangeError('number between 0 and 1', 'minIou', minIou);
  const pairs: BoxMatch[] = [];
  for (let g = 0; g < gt.length; g++) {
    for (let p = 0; p < pred.length; p++) {
      const v = iou(gt[g]!, pred[p]!);
      if (v >= minIou && v > 0) pairs.push({ gt: g, pred: p, iou: v });
    }
  }
  pairs.sort((x, y) => y.iou - x.iou || x.gt - y.gt || x.pred - y.pred);
  const usedG = new Set<number>();
  const usedP = new Set<number>();
  const out: BoxMatch[] = [];
  for (const m of pairs) {
    if (usedG.has(m.gt) || usedP.has(m.pred)) continue;
    usedG.add(m.gt);
    usedP.add(m.pred);
    out.push(m);
  }
  return out.sort((x, y) => x.gt - y.gt);
}

/**
 * Unclipped: the whole box lies inside the W×H image with at least `marginPx`
 * to every border (default 1 px: a box that touches the border is taken as cut
 * off by it).
 */
export function isUnclipped(box: CenterBox, width: number, height: number, marginPx = 1): boolean {
  return (
    box.cx - box.w / 2 >= marginPx &&
    box.cy - box.h / 2 >= marginPx &&
    box.cx + box.w / 2 <= width - marginPx &&
    box.cy + box.h / 2 <= height - marginPx
  );
}

/** Area of the part of a box inside the W×H image. */
export function areaInImage(box: CenterBox, width: number, height: number): number {
  const ix = Math.min(box.cx + box.w / 2, width) - Math.max(box.cx - box.w / 2, 0);
  const iy = Math.min(box.cy + box.h / 2, height) - Math.max(box.cy - box.h / 2, 0);
  return ix > 0 && iy > 0 ? ix * iy : 0;
}

/**
 * Quality by size: the box's area over the object's largest unclipped area in
 * the sequence (1 = the image shows the object as large as it ever was seen
 * whole). NaN when the object is never seen unclipped.
 */
export function areaRatio(boxArea: number, largestUnclippedArea: number): number {
  return largestUnclippedArea > 0 ? boxArea / largestUnclippedArea : NaN;
}

/** An integer pixel rectangle [x0, x1) × [y0, y1). */
export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The pixel rectangle of a box, rounded outwards and clamped to the image. */
export function cropRect(box: CenterBox, width: number, height: number): PixelRect {
  return {
    x0: Math.max(0, Math.floor(box.cx - box.w / 2)),
    y0: Math.max(0, Math.floor(box.cy - box.h / 2)),
    x1: Math.min(width, Math.ceil(box.cx + box.w / 2)),
    y1: Math.min(height, Math.ceil(box.cy + box.h / 2)),
  };
}

/**
 * Sharpness: the variance of the Laplacian (4-neighbour kernel
 * [0 1 0; 1 −4 1; 0 1 0], OpenCV's ksize=1) over the grey crop, grey =
 * 0.299 R + 0.587 G + 0.114 B (an I420 frame: its luma, stretched to 0..255). The Laplacian is taken at the crop's interior
 * pixels only (no padding), so the crop's surroundings never leak in. Higher
 * is sharper; it grows with contrast and texture, so compare it between images
 * of the same object. NaN for crops smaller than 3×3.
 */
export function laplacianVariance(image: CropImage, rect: PixelRect = { x0: 0, y0: 0, x1: image.width, y1: image.height }): number {
  const { width, height, channels, pixels } = image;
  const stride = image.stride ?? width * channels;
  const x0 = Math.max(0, Math.floor(rect.x0));
  const y0 = Math.max(0, Math.floor(rect.y0));
  const x1 = Math.min(width, Math.ceil(rect.x1));
  const y1 = Math.min(height, Math.ceil(rect.y1));
  const w = x1 - x0;
  const h = y1 - y0;
  if (w < 3 || h < 3) return NaN;
  const grey = new Float64Array(w * h);
  // I420: grey is the Y plane on the 0..255 scale (crop-stats.ts does the same).
  const i420 = image.format === 'I420' ? yuvCoefficients(image.yuv) : undefined;
  for (let y = 0; y < h; y++) {
    const row = (y0 + y) * (i420 ? width : stride);
    for (let x = 0; x < w; x++) {
      if (i420) {
        grey[y * w + x] = (pixels[row + x0 + x]! - i420.yOffset) * i420.yGain;
        continue;
      }
      const i = row + (x0 + x) * channels;
      grey[y * w + x] = channels === 1 ? pixels[i]! : 0.114 * pixels[i]! + 0.587 * pixels[i + 1]! + 0.299 * pixels[i + 2]!;
    }
  }
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const k = y * w + x;
      const lap = grey[k - 1]! + grey[k + 1]! + grey[k - w]! + grey[k + w]! - 4 * grey[k]!;
      sum += lap;
      sumSq += lap * lap;
      n++;
    }
  }
  const mean = sum / n;
  return Math.max(0, sumSq / n - mean * mean);
}

/** Mean of the finite values; NaN when there are none. */
export function mean(values: readonly number[]): number {
  let s = 0;
  let n = 0;
  for (const v of values) {
    if (Number.isFinite(v)) {
      s += v;
      n++;
    }
  }
  return n > 0 ? s / n : NaN;
}

/** Nearest-rank percentile of the finite values (p in 0..100); NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const idx = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1));
  return v[idx]!;
}
