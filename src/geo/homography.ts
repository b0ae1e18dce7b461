/**
 * Ground-plane homography (W1 calibration helper, for users without
 * intrinsics): fitted from four or more pixel ↔ ground point pairs by the
 * normalised direct linear transform (Hartley & Zisserman, Alg. 4.2) — a
 * least-squares fit when there are more than four pairs.
 */
import { EigenvalueDecomposition, Matrix, inverse } from 'ml-matrix';
import { invalidParameterError } from '../errors.js';

export interface PointPair {
  /** Pixel [u, v]. */
  pixel: readonly [number, number];
  /** Ground [east, north] metres from the point below the camera. */
  ground: readonly [number, number];
}

/** Row-major 3×3. */
export type Homography = Float64Array;

/** Similarity transform moving the centroid to 0 and the mean distance to √2. */
function normaliser(points: ReadonlyArray<readonly [number, number]>): Matrix {
  let mx = 0;
  let my = 0;
  for (const [x, y] of points) {
    mx += x;
    my += y;
  }
  mx /= points.length;
  my /= points.length;
  let d = 0;
  for (const [x, y] of points) d += Math.hypot(x - mx, y - my);
  d /= points.length;
  const s = d > 0 ? Math.SQRT2 / d : 1;
  return new Matrix([
    [s, 0, -s * mx],
    [0, s, -s * my],
    [0, 0, 1],
  ]);
}

function apply(m: Matrix, x: number, y: number): [number, number] {
  const w = m.get(2, 0) * x + m.get(2, 1) * y + m.get(2, 2);
  return [(m.get(0, 0) * x + m.get(0, 1) * y + m.get(0, 2)) / w, (m.get(1, 0) * x + m.get(1, 1) * y + m.get(1, 2)) / w];
}

/**
 * Fit the image → ground homography H (ground ~ H · [u, v, 1]) from ≥ 4
 * pairs. Throws RangeError when the points are degenerate (fewer than four
 * in general position, e.g. three on a line among four).
 */
export function fitGroundHomography(pairs: readonly PointPair[]): Homography {
  if (!Array.isArray(pairs) || pairs.length < 4) {
    throw invalidParameterError('array of at least 4 point pairs', 'pairs', Array.isArray(pairs) ? pairs.length : pairs);
  }
  pairs.forEach((p, k) => {
    const ok = (a: unknown): boolean => Array.isArray(a) && a.length === 2 && a.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!p || !ok(p.pixel) || !ok(p.ground)) throw invalidParameterError('{ pixel: [u, v], ground: [east, north] } of finite numbers', `pairs[${k}]`, p);
  });
  const t1 = normaliser(pairs.map((p) => p.pixel));
  const t2 = normaliser(pairs.map((p) => p.ground));
  const ata = new Matrix(9, 9);
  for (const p of pairs) {
    const [x, y] = apply(t1, p.pixel[0], p.pixel[1]);
    const [gx, gy] = apply(t2, p.ground[0], p.ground[1]);
    const rows = [
      [-x, -y, -1, 0, 0, 0, gx * x, gx * y, gx],
      [0, 0, 0, -x, -y, -1, gy * x, gy * y, gy],
    ];
    for (const r of rows) for (let i = 0; i < 9; i++) for (let j = 0; j < 9; j++) ata.set(i, j, ata.get(i, j) + r[i]! * r[j]!);
  }
  // Minimiser of |A h| with |h| = 1: eigenvector of AᵀA for the smallest eigenvalue.
  const evd = new EigenvalueDecomposition(ata, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const largest = order[8]![0];
  // A second (near) null direction means the pairs do not fix H.
  if (order[1]![0] <= 1e-10 * largest) {
    throw new RangeError('Expected at least 4 point pairs in general position (no 3 on a line) for pairs');
  }
  const v = evd.eigenvectorMatrix.getColumn(order[0]![1]);
  const hn = new Matrix([v.slice(0, 3), v.slice(3, 6), v.slice(6, 9)]);
  const h = inverse(t2).mmul(hn).mmul(t1);
  const out = Float64Array.from(h.to1DArray());
  const scale = out[8]! !== 0 ? out[8]! : 1;
  for (let i = 0; i < 9; i++) out[i] = out[i]! / scale;
  return out;
}

/** Map a pixel through an image → ground homography; null where w ≤ 0 (behind the horizon line). */
export function applyHomography(h: ArrayLike<number>, u: number, v: number): [number, number] | null {
  const w = h[6]! * u + h[7]! * v + h[8]!;
  if (!(Math.abs(w) > 1e-12)) return null;
  return [(h[0]! * u + h[1]! * v + h[2]!) / w, (h[3]! * u + h[4]! * v + h[5]!) / w];
}
