/**
 * What the pixels of a box's crop say about the image the cloud would get
 * (docs/selection.md "Image quality"): sharpness and exposure. Pure functions
 * over a packed 8-bit frame; per-pixel work, so they run in the camera's
 * tracking worker (src/runtime/camera-worker.ts, on the frame ring's
 * shared-memory view, STYLE 8) or in the evaluation, never on the main thread.
 */
import type { RawImage } from '../capture/jpeg.js';
import { yuvCoefficients, type YuvMatrix } from '../capture/yuv.js';
import { invalidParameterError, outOfRangeError } from '../errors.js';

/**
 * An 8-bit frame: packed, 1 channel (grey) or 3 (BGR, or RGB with `format`);
 * or, with `format` 'I420', tight Y, U, V planes (capture/options.ts
 * PixelFormat; `channels` and `stride` are then ignored).
 */
export interface CropImage {
  width: number;
  height: number;
  /** Bytes per row; default width × channels. */
  stride?: number;
  channels: 1 | 3;
  /** Channel order of a 3-channel image, or I420 planes. Default 'BGR'. */
  format?: 'BGR' | 'RGB' | 'I420';
  /** I420: Y'CbCr → R'G'B' (default BT.601, limited range). */
  yuv?: YuvMatrix;
  pixels: Uint8Array;
}

/** The measures of one crop. */
export interface CropStats {
  /**
   * Size-normalised sharpness: the variance of the Laplacian (kernel
   * [0 1 0; 1 −4 1; 0 1 0]) of the grey crop resampled by area averaging to
   * at most {@link SHARPNESS_GRID}² cells, over the variance of that
   * resampled crop (so neither the object's size in pixels nor its contrast
   * moves it). 0 for a flat or perfectly smooth crop; white noise ≈ 20; real
   * objects ≈ 0.1–3. NaN for crops smaller than 3×3.
   */
  sharpness: number;
  /** Fraction of the crop's pixels with a channel at or above {@link HIGHLIGHT_LEVEL} (clipped highlights). */
  highlights: number;
  /** Fraction of the crop's pixels with grey at or below {@link SHADOW_LEVEL} (crushed shadows). */
  shadows: number;
  /** Mean grey level, 0..255. */
  mean: number;
}

/** Cells per side the crop is resampled to before the Laplacian (the size normalisation). */
export const SHARPNESS_GRID = 64;
/** A channel at or above this is a clipped highlight. */
export const HIGHLIGHT_LEVEL = 250;
/** Grey at or below this is a crushed shadow. */
export const SHADOW_LEVEL = 5;

/** An axis-aligned box by centre and size, px. */
export interface CropBox {
  cx: number;
  cy: number;
  w: number;
  h: number;
}

function checkImage(image: CropImage): number {
  if (image === null || typeof image !== 'object') throw invalidParameterError('object', 'image', image);
  const { width, height, channels, pixels } = image;
  if (!Number.isSafeInteger(width) || width <= 0) throw outOfRangeError('positive integer', 'image.width', width);
  if (!Number.isSafeInteger(height) || height <= 0) throw outOfRangeError('positive integer', 'image.height', height);
  if (image.format === 'I420') {
    if (!(pixels instanceof Uint8Array)) throw invalidParameterError('Uint8Array', 'image.pixels', pixels);
    const bytes = width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
    if (pixels.length < bytes) throw outOfRangeError(`at least ${bytes} bytes`, 'image.pixels.length', pixels.length);
    return width;
  }
  if (channels !== 1 && channels !== 3) throw invalidParameterError('1 or 3', 'image.channels', channels);
  const stride = image.stride ?? width * channels;
  if (!(pixels instanceof Uint8Array)) throw invalidParameterError('Uint8Array', 'image.pixels', pixels);
  if (pixels.length < stride * (height - 1) + width * channels) throw outOfRangeError(`at least ${stride * (height - 1) + width * channels} bytes`, 'image.pixels.length', pixels.length);
  return stride;
}

/**
 * The pixels cropStats reads for `box` (rounded outwards, clamped to the
 * image: left, top, width, height) and its resample grid (at most
 * SHARPNESS_GRID cells per side, never upsampled); null when nothing of the
 * box is inside.
 */
export function cropWindow(width: number, height: number, box: CropBox): { x0: number; y0: number; w: number; h: number; gw: number; gh: number } | null {
  const x0 = Math.max(0, Math.floor(box.cx - box.w / 2));
  const y0 = Math.max(0, Math.floor(box.cy - box.h / 2));
  const w = Math.min(width, Math.ceil(box.cx + box.w / 2)) - x0;
  const h = Math.min(height, Math.ceil(box.cy + box.h / 2)) - y0;
  if (w <= 0 || h <= 0) return null;
  return { x0, y0, w, h, gw: Math.min(w, SHARPNESS_GRID), gh: Math.min(h, SHARPNESS_GRID) };
}

/**
 * Sharpness and exposure of the crop of `box` (rounded outwards, clamped to
 * the image). A box wholly outside the image gives NaN sharpness and zeros.
 */
export function cropStats(image: CropImage, box: CropBox): CropStats {
  const stride = checkImage(image);
  const { channels, pixels } = image;
  const window = cropWindow(image.width, image.height, box);
  if (window === null) return { sharpness: NaN, highlights: 0, shadows: 0, mean: 0 };
  const { x0, y0, w, h, gw, gh } = window;
  const sum = new Float64Array(gw * gh);
  const count = new Uint32Array(gw * gh);
  if (image.format === 'I420') {
    const totals = new Float64Array(3);
    accumulateI420(image, x0, y0, w, h, gw, gh, sum, count, totals);
    const n = w * h;
    return { sharpness: gridSharpness(sum, count, gw, gh), highlights: totals[0]! / n, shadows: totals[1]! / n, mean: totals[2]! / n };
  }
  const rIdx = image.format === 'RGB' ? 0 : 2;
  const bIdx = image.format === 'RGB' ? 2 : 0;
  let high = 0;
  let low = 0;
  let total = 0;
  for (let y = 0; y < h; y++) {
    const row = (y0 + y) * stride;
    const gy = Math.min(gh - 1, Math.floor((y * gh) / h));
    for (let x = 0; x < w; x++) {
      const i = row + (x0 + x) * channels;
      let grey: number;
      if (channels === 1) {
        grey = pixels[i]!;
        if (grey >= HIGHLIGHT_LEVEL) high++;
      } else {
        const b = pixels[i + bIdx]!;
        const g = pixels[i + 1]!;
        const r = pixels[i + rIdx]!;
        grey = 0.114 * b + 0.587 * g + 0.299 * r;
        if (b >= HIGHLIGHT_LEVEL || g >= HIGHLIGHT_LEVEL || r >= HIGHLIGHT_LEVEL) high++;
      }
      if (grey <= SHADOW_LEVEL) low++;
      total += grey;
      const k = gy * gw + Math.min(gw - 1, Math.floor((x * gw) / w));
      sum[k]! += grey;
      count[k]!++;
    }
  }
  const n = w * h;
  return { sharpness: gridSharpness(sum, count, gw, gh), highlights: high / n, shadows: low / n, mean: total / n };
}

/**
 * cropStats' per-pixel pass for I420 frames, the runtime's format. Grey is
 * the decoder's luma (for BT.601 exactly the BGR weighted sum); a highlight
 * is a converted channel at the clip level. It does the arithmetic of the
 * one-pixel-at-a-time pass (test/helpers/crop-stats-reference.ts) in the
 * same order, so every figure is that pass's bit for bit, 1.3–2.2× as fast
 * (a 1280×720 frame's crops took 2–3 ms of the tracking worker a frame;
 * `npm run bench -- crop-stats`). Each cell's sum is carried in a
 * register along its run of pixels (the same additions in the same order,
 * without a store and reload per pixel); luma's level and grey come from a
 * table of the 256 codes; the three-channel highlight test runs only where
 * the luma reaches the chroma sample's bound, below which no channel can
 * reach the clip level. The work is done a row at a time by a small function
 * that V8 optimises whole: a loop optimised on the stack (OSR) was thrown
 * away at the first untrained operation after it, crop after crop.
 * `totals` receives [highlights, shadows, sum of grey].
 */
function accumulateI420(image: CropImage, x0: number, y0: number, w: number, h: number, gw: number, gh: number, sum: Float64Array, count: Uint32Array, totals: Float64Array): void {
  const { width, height, pixels } = image;
  const { yOffset, yGain, rV, gU, gV, bU } = yuvCoefficients(image.yuv);
  const cw = Math.ceil(width / 2);
  const uBase = width * height;
  const vBase = uBase + cw * Math.ceil(height / 2);
  const levelOf = new Float64Array(256);
  const greyOf = new Float64Array(256);
  for (let code = 0; code < 256; code++) {
    levelOf[code] = (code - yOffset) * yGain;
    greyOf[code] = Math.min(255, Math.max(0, levelOf[code]!));
  }
  // The crop's column where each grid cell starts (a cell is a run of whole columns).
  const cellStart = new Int32Array(gw + 1);
  for (let x = 0, cell = -1; x < w; x++) {
    const c = Math.min(gw - 1, Math.floor((x * gw) / w));
    while (cell < c) cellStart[++cell] = x;
  }
  cellStart[gw] = w;
  const c0 = x0 >> 1;
  const nc = ((x0 + w - 1) >> 1) - c0 + 1;
  // Per chroma sample of the current row pair: rV·V', gU·U', gV·V', bU·U' and the luma bound.
  const chroma = new Float64Array(5 * nc);
  let chromaRow = -1;
  for (let y = 0; y < h; y++) {
    const cRow = ((y0 + y) >> 1) * cw;
    if (cRow !== chromaRow) {
      chromaRow = cRow;
      chromaTerms(pixels, uBase + cRow + c0, vBase + cRow + c0, nc, rV, gU, gV, bU, chroma);
    }
    const cellRow = Math.min(gh - 1, Math.floor((y * gh) / h)) * gw;
    accumulateI420Row(pixels, (y0 + y) * width + x0, x0 & 1, levelOf, greyOf, chroma, cellStart, gw, cellRow, sum, count, totals);
  }
}

function chromaTerms(pixels: Uint8Array, u0: number, v0: number, nc: number, rV: number, gU: number, gV: number, bU: number, out: Float64Array): void {
  for (let j = 0; j < nc; j++) {
    const u = pixels[u0 + j]! - 128;
    const v = pixels[v0 + j]! - 128;
    const r = rV * v;
    const gu = gU * u;
    const gv = gV * v;
    const b = bU * u;
    out[5 * j] = r;
    out[5 * j + 1] = gu;
    out[5 * j + 2] = gv;
    out[5 * j + 3] = b;
    // Below this, every channel stays under the clip level by far more than rounding moves it.
    out[5 * j + 4] = HIGHLIGHT_LEVEL - Math.max(r, b, -(gu + gv)) - 1e-6;
  }
}

function accumulateI420Row(
  pixels: Uint8Array,
  row: number,
  odd: number,
  levelOf: Float64Array,
  greyOf: Float64Array,
  chroma: Float64Array,
  cellStart: Int32Array,
  gw: number,
  cellRow: number,
  sum: Float64Array,
  count: Uint32Array,
  totals: Float64Array,
): void {
  let high = totals[0]!;
  let low = totals[1]!;
  let total = totals[2]!;
  for (let cell = 0; cell < gw; cell++) {
    const start = cellStart[cell]!;
    const end = cellStart[cell + 1]!;
    let cellSum = sum[cellRow + cell]!;
    for (let x = start; x < end; x++) {
      const code = pixels[row + x]!;
      const l = levelOf[code]!;
      const grey = greyOf[code]!;
      const j = 5 * ((x + odd) >> 1);
      if (l >= chroma[j + 4]! && (l + chroma[j]! >= HIGHLIGHT_LEVEL || l - chroma[j + 1]! - chroma[j + 2]! >= HIGHLIGHT_LEVEL || l + chroma[j + 3]! >= HIGHLIGHT_LEVEL)) high++;
      if (grey <= SHADOW_LEVEL) low++;
      total += grey;
      cellSum += grey;
    }
    sum[cellRow + cell] = cellSum;
    count[cellRow + cell]! += end - start;
  }
  totals[0] = high;
  totals[1] = low;
  totals[2] = total;
}

/** Laplacian variance over the variance of the resampled grid (interior cells); exported for the tests' reference pass. */
export function gridSharpness(sum: Float64Array, count: Uint32Array, gw: number, gh: number): number {
  if (gw < 3 || gh < 3) return NaN;
  const g = new Float64Array(gw * gh);
  let s = 0;
  let ss = 0;
  for (let k = 0; k < g.length; k++) {
    const v = sum[k]! / Math.max(1, count[k]!);
    g[k] = v;
    s += v;
    ss += v * v;
  }
  const variance = ss / g.length - (s / g.length) ** 2;
  if (!(variance > 1e-9)) return 0;
  let ls = 0;
  let lss = 0;
  let m = 0;
  for (let y = 1; y < gh - 1; y++) {
    for (let x = 1; x < gw - 1; x++) {
      const k = y * gw + x;
      const lap = g[k - 1]! + g[k + 1]! + g[k - gw]! + g[k + gw]! - 4 * g[k]!;
      ls += lap;
      lss += lap * lap;
      m++;
    }
  }
  return Math.max(0, lss / m - (ls / m) ** 2) / variance;
}

/** {@link cropStats} of every box of a frame, in order. */
export function frameCropStats(image: CropImage, boxes: readonly CropBox[]): CropStats[] {
  return boxes.map((b) => cropStats(image, b));
}

/** An integer pixel rectangle of a frame: left, top, width, height. */
export interface CropRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Default margin of an upload crop, as a fraction of the box's size on each side. */
export const CROP_MARGIN = 0.15;

/**
 * The rectangle an upload crop of `box` takes (upload.content 'crops' and
 * 'frame+crops'): the box's axis-aligned extent grown by `margin` × its width
 * and height on each side, rounded outwards, clamped to the frame; null when
 * nothing of it is inside.
 */
export function cropRectWithMargin(box: CropBox & { angle?: number }, width: number, height: number, margin = CROP_MARGIN): CropRect | null {
  const c = Math.abs(Math.cos(box.angle ?? 0));
  const s = Math.abs(Math.sin(box.angle ?? 0));
  const bw = box.w * c + box.h * s; // axis-aligned extent of an oriented box
  const bh = box.w * s + box.h * c;
  const x0 = Math.max(0, Math.floor(box.cx - bw / 2 - margin * bw));
  const y0 = Math.max(0, Math.floor(box.cy - bh / 2 - margin * bh));
  const x1 = Math.min(width, Math.ceil(box.cx + bw / 2 + margin * bw));
  const y1 = Math.min(height, Math.ceil(box.cy + bh / 2 + margin * bh));
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

/**
 * The rectangle a crop of an I420 frame takes: `r` with its left and top
 * moved to even pixels (grown by one where moved), so the crop's chroma
 * samples are the frame's own.
 */
export function chromaAlignedRect(r: CropRect): CropRect {
  const x = r.x & ~1;
  const y = r.y & ~1;
  return { x, y, width: r.width + (r.x - x), height: r.height + (r.y - y) };
}

/**
 * A tight I420 copy of rectangle `r` (left and top even: {@link chromaAlignedRect})
 * of a tight I420 frame of `width` × `height` (row copies only).
 */
export function copyRectI420(pixels: Uint8Array, width: number, height: number, r: CropRect): Uint8Array {
  if (r.x % 2 !== 0 || r.y % 2 !== 0) throw invalidParameterError('even left and top (chromaAlignedRect)', 'rect', r);
  const cw = Math.ceil(width / 2);
  const rcw = Math.ceil(r.width / 2);
  const rch = Math.ceil(r.height / 2);
  const out = new Uint8Array(r.width * r.height + 2 * rcw * rch);
  for (let y = 0; y < r.height; y++) {
    const from = (r.y + y) * width + r.x;
    out.set(pixels.subarray(from, from + r.width), y * r.width);
  }
  const planes = [width * height, width * height + cw * Math.ceil(height / 2)];
  for (let p = 0; p < 2; p++) {
    const outBase = r.width * r.height + p * rcw * rch;
    for (let y = 0; y < rch; y++) {
      const from = planes[p]! + (r.y / 2 + y) * cw + r.x / 2;
      out.set(pixels.subarray(from, from + rcw), outBase + y * rcw);
    }
  }
  return out;
}

/** A tight copy of a rectangle of a packed 3-channel frame (row copies only). */
export function copyRect(pixels: Uint8Array, stride: number, r: CropRect): Uint8Array {
  const out = new Uint8Array(r.width * r.height * 3);
  for (let y = 0; y < r.height; y++) {
    const from = (r.y + y) * stride + r.x * 3;
    out.set(pixels.subarray(from, from + r.width * 3), y * r.width * 3);
  }
  return out;
}

/**
 * The image of an upload crop of `box` from a tight frame (packed rows or
 * I420 planes; row copies only), ready for the JPEG encoder, and the
 * rectangle it covers: for I420 the box with its left and top moved to even
 * pixels ({@link chromaAlignedRect}), so the package's rectangle is the crop's.
 */
export function cutCrop(frame: RawImage, box: CropRect): { rect: CropRect; image: RawImage } {
  const i420 = frame.format === 'I420';
  const rect = i420 ? chromaAlignedRect(box) : box;
  const pixels = i420 ? copyRectI420(frame.pixels, frame.width, frame.height, rect) : copyRect(frame.pixels, frame.width * 3, rect);
  return { rect, image: { width: rect.width, height: rect.height, format: frame.format, ...(frame.yuv ? { yuv: frame.yuv } : {}), pixels } };
}
