/**
 * What the pixels of a box's crop say about the image the cloud would get
 * (docs/selection.md "Image quality"): sharpness and exposure. Pure functions
 * over a packed 8-bit frame; per-pixel work, so they run in the camera's
 * tracking worker (src/runtime/camera-worker.ts, on the frame ring's
 * shared-memory view, STYLE 8) or in the evaluation, never on the main thread.
 */
import { invalidParameterError, outOfRangeError } from '../errors.js';

/** A packed 8-bit frame: 1 channel (grey) or 3 (BGR, or RGB with `format`). */
export interface CropImage {
  width: number;
  height: number;
  /** Bytes per row; default width × channels. */
  stride?: number;
  channels: 1 | 3;
  /** Channel order of a 3-channel image. Default 'BGR'. */
  format?: 'BGR' | 'RGB';
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
  if (channels !== 1 && channels !== 3) throw invalidParameterError('1 or 3', 'image.channels', channels);
  const stride = image.stride ?? width * channels;
  if (!(pixels instanceof Uint8Array)) throw invalidParameterError('Uint8Array', 'image.pixels', pixels);
  if (pixels.length < stride * (height - 1) + width * channels) throw outOfRangeError(`at least ${stride * (height - 1) + width * channels} bytes`, 'image.pixels.length', pixels.length);
  return stride;
}

/**
 * Sharpness and exposure of the crop of `box` (rounded outwards, clamped to
 * the image). A box wholly outside the image gives NaN sharpness and zeros.
 */
export function cropStats(image: CropImage, box: CropBox): CropStats {
  const stride = checkImage(image);
  const { width, height, channels, pixels } = image;
  const x0 = Math.max(0, Math.floor(box.cx - box.w / 2));
  const y0 = Math.max(0, Math.floor(box.cy - box.h / 2));
  const x1 = Math.min(width, Math.ceil(box.cx + box.w / 2));
  const y1 = Math.min(height, Math.ceil(box.cy + box.h / 2));
  const w = x1 - x0;
  const h = y1 - y0;
  if (w <= 0 || h <= 0) return { sharpness: NaN, highlights: 0, shadows: 0, mean: 0 };
  // Resample grid: at most SHARPNESS_GRID cells per side, never upsampled.
  const gw = Math.min(w, SHARPNESS_GRID);
  const gh = Math.min(h, SHARPNESS_GRID);
  const sum = new Float64Array(gw * gh);
  const count = new Uint32Array(gw * gh);
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

/** Laplacian variance over the variance of the resampled grid (interior cells). */
function gridSharpness(sum: Float64Array, count: Uint32Array, gw: number, gh: number): number {
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

/** A tight copy of a rectangle of a packed 3-channel frame (row copies only). */
export function copyRect(pixels: Uint8Array, stride: number, r: CropRect): Uint8Array {
  const out = new Uint8Array(r.width * r.height * 3);
  for (let y = 0; y < r.height; y++) {
    const from = (r.y + y) * stride + r.x * 3;
    out.set(pixels.subarray(from, from + r.width * 3), y * r.width * 3);
  }
  return out;
}
