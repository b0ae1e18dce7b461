/**
 * Non-maximum suppression (D1): class-aware greedy NMS over axis-aligned IoU,
 * or rotated IoU (convex polygon clipping) when any box has an angle. Boxes
 * use the SPEC box layout (center, size, angle counter-clockwise on screen).
 */

/** The box fields NMS and IoU read. */
export interface CxcywhaBox {
  cx: number;
  cy: number;
  w: number;
  h: number;
  angle: number;
}

/** IoU of two axis-aligned boxes (angles ignored). */
export function iouAxisAligned(a: CxcywhaBox, b: CxcywhaBox): number {
  const ix = Math.min(a.cx + a.w / 2, b.cx + b.w / 2) - Math.max(a.cx - a.w / 2, b.cx - b.w / 2);
  if (ix <= 0) return 0;
  const iy = Math.min(a.cy + a.h / 2, b.cy + b.h / 2) - Math.max(a.cy - a.h / 2, b.cy - b.h / 2);
  if (iy <= 0) return 0;
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Corners of a box, counter-clockwise on screen starting at the "right-bottom"
 * corner of the unrotated box. Image y points down, so a counter-clockwise
 * turn by `angle` maps the width axis to (cos a, −sin a).
 */
export function boxCorners(b: CxcywhaBox): Array<[number, number]> {
  const c = Math.cos(b.angle);
  const s = Math.sin(b.angle);
  const ux = (c * b.w) / 2;
  const uy = (-s * b.w) / 2;
  const vx = (s * b.h) / 2;
  const vy = (c * b.h) / 2;
  return [
    [b.cx + ux + vx, b.cy + uy + vy],
    [b.cx + ux - vx, b.cy + uy - vy],
    [b.cx - ux - vx, b.cy - uy - vy],
    [b.cx - ux + vx, b.cy - uy + vy],
  ];
}

function signedArea(poly: ReadonlyArray<readonly [number, number]>): number {
  let a = 0;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) a += poly[j]![0] * poly[i]![1] - poly[i]![0] * poly[j]![1];
  return a / 2;
}

/** Area of the intersection of two convex polygons (Sutherland–Hodgman clipping). */
export function convexIntersectionArea(subject: ReadonlyArray<readonly [number, number]>, clip: ReadonlyArray<readonly [number, number]>): number {
  // Orient the clip polygon so "inside" is the left side of each edge.
  const clipPoly = signedArea(clip) < 0 ? [...clip].reverse() : [...clip];
  let output: Array<readonly [number, number]> = [...subject];
  for (let i = 0; i < clipPoly.length && output.length > 0; i++) {
    const [ax, ay] = clipPoly[i]!;
    const [bx, by] = clipPoly[(i + 1) % clipPoly.length]!;
    const side = (p: readonly [number, number]): number => (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax);
    const input = output;
    output = [];
    for (let k = 0; k < input.length; k++) {
      const p = input[k]!;
      const q = input[(k + 1) % input.length]!;
      const sp = side(p);
      const sq = side(q);
      if (sp >= 0) output.push(p);
      if ((sp >= 0) !== (sq >= 0)) {
        const t = sp / (sp - sq);
        output.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
      }
    }
  }
  return output.length < 3 ? 0 : Math.abs(signedArea(output));
}

/** IoU of two oriented boxes. */
export function iouRotated(a: CxcywhaBox, b: CxcywhaBox): number {
  if (a.angle === 0 && b.angle === 0) return iouAxisAligned(a, b);
  // Cheap reject: circumscribed circles apart.
  const ra = Math.hypot(a.w, a.h) / 2;
  const rb = Math.hypot(b.w, b.h) / 2;
  if (Math.hypot(a.cx - b.cx, a.cy - b.cy) >= ra + rb) return 0;
  const inter = convexIntersectionArea(boxCorners(a), boxCorners(b));
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy class-aware NMS: boxes sorted by score; a box is dropped when it
 * overlaps a kept box of the same class by more than `iouThreshold`. Returns
 * the kept boxes, highest score first, at most `maxDetections`.
 */
export function nms<T extends CxcywhaBox & { classId: number; score: number }>(
  boxes: readonly T[],
  iouThreshold: number,
  maxDetections = Infinity,
): T[] {
  const order = [...boxes].sort((a, b) => b.score - a.score);
  const rotated = order.some((b) => b.angle !== 0);
  const iou = rotated ? iouRotated : iouAxisAligned;
  const kept: T[] = [];
  for (const b of order) {
    if (kept.length >= maxDetections) break;
    let keep = true;
    for (const k of kept) {
      if (k.classId === b.classId && iou(k, b) > iouThreshold) {
        keep = false;
        break;
      }
    }
    if (keep) kept.push(b);
  }
  return kept;
}
