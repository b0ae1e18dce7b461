/** Measurements on simulated frames shared by the acquisition tests. */
import type { GroundTruthObject } from '../../src/capture/sim/scene.js';

/** Mean luma profile along x over rows [y0, y1) of packed BGR pixels. */
export function rowProfile(pixels: Uint8Array, width: number, y0: number, y1: number, x0: number, x1: number): number[] {
  const out: number[] = [];
  for (let x = x0; x < x1; x++) {
    let s = 0;
    for (let y = y0; y < y1; y++) {
      const i = (y * width + x) * 3;
      s += (pixels[i]! + 2 * pixels[i + 1]! + pixels[i + 2]!) / 4;
    }
    out.push(s / (y1 - y0));
  }
  return out;
}

/** Variance (px²) of the gradient magnitude of a profile: a box blur of length L adds L²/12. */
export function edgeVariance(profile: number[]): number {
  const g: number[] = [];
  for (let i = 0; i + 1 < profile.length; i++) g.push(Math.abs(profile[i + 1]! - profile[i]!));
  const sum = g.reduce((a, b) => a + b, 0);
  const mu = g.reduce((a, v, i) => a + v * i, 0) / sum;
  return g.reduce((a, v, i) => a + v * (i - mu) ** 2, 0) / sum;
}

/**
 * Motion blur length (px) at the leading vertical edge of a horizontally
 * moving object, from the edge-gradient spread minus that of a sharp render.
 * Rows through the lower body (0.42–0.48 of the box height, clear of the headlight) of a car.
 */
export function leadingEdgeBlur(
  pixels: Uint8Array,
  sharp: Uint8Array,
  width: number,
  o: GroundTruthObject,
  halfWindow = 30,
): number {
  const y0 = Math.round(o.cy - o.h / 2 + 0.42 * o.h);
  const y1 = Math.round(o.cy - o.h / 2 + 0.48 * o.h);
  const edge = Math.round(o.vx >= 0 ? o.cx + o.w / 2 : o.cx - o.w / 2);
  const x0 = edge - halfWindow;
  const x1 = edge + halfWindow;
  const v = edgeVariance(rowProfile(pixels, width, y0, y1, x0, x1));
  const v0 = edgeVariance(rowProfile(sharp, width, y0, y1, x0, x1));
  return Math.sqrt(Math.max(0, 12 * (v - v0)));
}

export function meanOfRows(pixels: Uint8Array, width: number, y0: number, y1: number): number {
  let s = 0;
  for (let i = y0 * width * 3; i < y1 * width * 3; i++) s += pixels[i]!;
  return s / ((y1 - y0) * width * 3);
}

export function maxOf(a: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return m;
}
