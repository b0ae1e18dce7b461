/**
 * Drawing detections into packed BGR/RGB pixels (for `bestshot detect
 * --annotate` and the README images): box outlines (rotated where the box
 * has an angle) and a label tag "CAR 0.87" in a 3×5 pixel font scaled ×2.
 */
import type { Box } from '../types.js';
import { boxCorners } from '../geometry/box.js';

export interface AnnotatableImage {
  width: number;
  height: number;
  /** Bytes per row; default width × 3. */
  stride?: number;
  format: 'BGR' | 'RGB';
  pixels: Uint8Array;
}

export interface AnnotateOptions {
  /** Outline thickness in pixels. Default 2. */
  thickness?: number;
  /** Draw "LABEL score" tags. Default true. */
  labels?: boolean;
}

/** A distinct colour per class id, as [r, g, b]. */
export function classColor(classId: number): [number, number, number] {
  const palette: Array<[number, number, number]> = [
    [255, 56, 56], [255, 157, 151], [255, 112, 31], [255, 178, 29], [207, 210, 49], [72, 249, 10], [146, 204, 23], [61, 219, 134],
    [26, 147, 52], [0, 212, 187], [44, 153, 168], [0, 194, 255], [52, 69, 147], [100, 115, 255], [0, 24, 236], [132, 56, 255],
    [82, 0, 133], [203, 56, 255], [255, 149, 200], [255, 55, 199],
  ];
  return palette[((classId % palette.length) + palette.length) % palette.length]!;
}

// 3×5 glyphs, rows top to bottom, 3 bits each (MSB = left).
const GLYPHS: Record<string, number[]> = {
  A: [2, 5, 7, 5, 5], B: [6, 5, 6, 5, 6], C: [3, 4, 4, 4, 3], D: [6, 5, 5, 5, 6], E: [7, 4, 6, 4, 7], F: [7, 4, 6, 4, 4],
  G: [3, 4, 5, 5, 3], H: [5, 5, 7, 5, 5], I: [7, 2, 2, 2, 7], J: [1, 1, 1, 5, 2], K: [5, 5, 6, 5, 5], L: [4, 4, 4, 4, 7],
  M: [5, 7, 7, 5, 5], N: [6, 5, 5, 5, 5], O: [2, 5, 5, 5, 2], P: [6, 5, 6, 4, 4], Q: [2, 5, 5, 6, 3], R: [6, 5, 6, 5, 5],
  S: [3, 4, 2, 1, 6], T: [7, 2, 2, 2, 2], U: [5, 5, 5, 5, 7], V: [5, 5, 5, 5, 2], W: [5, 5, 7, 7, 5], X: [5, 5, 2, 5, 5],
  Y: [5, 5, 2, 2, 2], Z: [7, 1, 2, 4, 7], '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [6, 1, 2, 4, 7], '3': [6, 1, 2, 1, 6],
  '4': [5, 5, 7, 1, 1], '5': [7, 4, 6, 1, 6], '6': [3, 4, 7, 5, 7], '7': [7, 1, 2, 2, 2], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 6],
  '.': [0, 0, 0, 0, 2], '-': [0, 0, 7, 0, 0], ' ': [0, 0, 0, 0, 0],
};
const SCALE = 2;

class Canvas {
  readonly stride: number;
  constructor(
    readonly img: AnnotatableImage,
  ) {
    this.stride = img.stride ?? img.width * 3;
  }
  set(x: number, y: number, rgb: readonly [number, number, number]): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.img.width || y >= this.img.height) return;
    const o = y * this.stride + x * 3;
    const p = this.img.pixels;
    if (this.img.format === 'BGR') {
      p[o] = rgb[2];
      p[o + 1] = rgb[1];
      p[o + 2] = rgb[0];
    } else {
      p[o] = rgb[0];
      p[o + 1] = rgb[1];
      p[o + 2] = rgb[2];
    }
  }
  fill(x0: number, y0: number, w: number, h: number, rgb: readonly [number, number, number]): void {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) this.set(x, y, rgb);
  }
  line(x0: number, y0: number, x1: number, y1: number, t: number, rgb: readonly [number, number, number]): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const r = (t - 1) / 2;
    for (let i = 0; i <= steps; i++) {
      const x = x0 + ((x1 - x0) * i) / steps;
      const y = y0 + ((y1 - y0) * i) / steps;
      for (let dy = -Math.floor(r); dy <= Math.ceil(r); dy++) for (let dx = -Math.floor(r); dx <= Math.ceil(r); dx++) this.set(x + dx, y + dy, rgb);
    }
  }
  text(x0: number, y0: number, s: string, rgb: readonly [number, number, number]): void {
    let x = x0;
    for (const ch of s.toUpperCase()) {
      const g = GLYPHS[ch] ?? GLYPHS[' ']!;
      for (let row = 0; row < 5; row++) {
        for (let col = 0; col < 3; col++) if (g[row]! & (4 >> col)) this.fill(x + col * SCALE, y0 + row * SCALE, SCALE, SCALE, rgb);
      }
      x += 4 * SCALE;
    }
  }
}

/** Draw boxes into the image's pixels, in place. */
export function annotate(image: AnnotatableImage, boxes: readonly Box[], options: AnnotateOptions = {}): void {
  const t = options.thickness ?? 2;
  const c = new Canvas(image);
  for (const b of boxes) {
    const rgb = classColor(b.classId);
    const pts = boxCorners(b);
    for (let i = 0; i < 4; i++) {
      const k = (i + 1) % 4;
      c.line(pts[2 * i]!, pts[2 * i + 1]!, pts[2 * k]!, pts[2 * k + 1]!, t, rgb);
    }
  }
  if (options.labels === false) return;
  for (const b of boxes) {
    const rgb = classColor(b.classId);
    const text = `${b.label} ${b.score.toFixed(2)}`;
    const tw = text.length * 4 * SCALE + SCALE;
    const th = 7 * SCALE;
    const left = Math.max(0, Math.min(image.width - tw, Math.round(b.cx - b.w / 2)));
    let top = Math.round(b.cy - b.h / 2) - th;
    if (top < 0) top = Math.max(0, Math.round(b.cy - b.h / 2));
    c.fill(left, top, tw, th, rgb);
    const dark = rgb[0] * 0.299 + rgb[1] * 0.587 + rgb[2] * 0.114 > 140;
    c.text(left + SCALE, top + SCALE, text, dark ? [0, 0, 0] : [255, 255, 255]);
  }
}
