/**
 * Box layouts and overlap (T2). Layouts are named in identifiers: `xyxy`
 * (left, top, right, bottom), `tlwh` (left, top, width, height), `xyah`
 * (centre x, centre y, aspect w/h, height) plus an angle for oriented boxes.
 * All functions are pure.
 */

/** A box as the tracker sees it: centre, size and angle (rad, counter-clockwise). */
export interface OrientedBox {
  cx: number;
  cy: number;
  w: number;
  h: number;
  angle: number;
}

/** Corners of a box as a flat [x0,y0,x1,y1,x2,y2,x3,y3] polygon, counter-clockwise in image axes. */
export function boxCorners(box: OrientedBox): Float64Array {
  const c = Math.cos(box.angle);
  const s = Math.sin(box.angle);
  const hw = box.w / 2;
  const hh = box.h / 2;
  // Local corners (±hw, ±hh) rotated by angle. "Counter-clockwise" follows the
  // Box type: positive angle turns the box counter-clockwise as seen in the
  // image (y down), i.e. x' = x cos + y sin, y' = -x sin + y cos.
  const out = new Float64Array(8);
  const local = [-hw, -hh, hw, -hh, hw, hh, -hw, hh];
  for (let i = 0; i < 4; i++) {
    const x = local[2 * i]!;
    const y = local[2 * i + 1]!;
    out[2 * i] = box.cx + x * c + y * s;
    out[2 * i + 1] = box.cy - x * s + y * c;
  }
  return out;
}

/** Signed area of a flat polygon (shoelace). */
export function polygonArea(poly: ArrayLike<number>, n = poly.length / 2): number {
  let a = 0;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    a += poly[2 * i]! * poly[2 * j + 1]! - poly[2 * j]! * poly[2 * i + 1]!;
  }
  return a / 2;
}

/**
 * Sutherland–Hodgman: clip convex or concave `subject` by convex `clip`
 * (both flat polygons). Returns the flat intersection polygon (may be empty).
 */
export function clipPolygon(subject: ArrayLike<number>, clip: ArrayLike<number>): number[] {
  let output: number[] = Array.from(subject);
  const nClip = clip.length / 2;
  // Orientation of the clip polygon decides which side is "inside".
  const orient = polygonArea(clip) >= 0 ? 1 : -1;
  for (let i = 0; i < nClip && output.length > 0; i++) {
    const ax = clip[2 * i]!;
    const ay = clip[2 * i + 1]!;
    const bx = clip[2 * ((i + 1) % nClip)]!;
    const by = clip[2 * ((i + 1) % nClip) + 1]!;
    const input = output;
    output = [];
    const n = input.length / 2;
    const side = (x: number, y: number): number => orient * ((bx - ax) * (y - ay) - (by - ay) * (x - ax));
    for (let k = 0; k < n; k++) {
      const px = input[2 * k]!;
      const py = input[2 * k + 1]!;
      const qx = input[2 * ((k + 1) % n)]!;
      const qy = input[2 * ((k + 1) % n) + 1]!;
      const sp = side(px, py);
      const sq = side(qx, qy);
      if (sp >= 0) output.push(px, py);
      if ((sp >= 0) !== (sq >= 0)) {
        const t = sp / (sp - sq);
        output.push(px + t * (qx - px), py + t * (qy - py));
      }
    }
  }
  return output;
}

/** IoU of two axis-aligned boxes in xyxy. No "+1" pixel convention. */
export function iouXyxy(ax1: number, ay1: number, ax2: number, ay2: number, bx1: number, by1: number, bx2: number, by2: number): number {
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  if (iw <= 0) return 0;
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (ih <= 0) return 0;
  const inter = iw * ih;
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * IoU of two boxes (T2: "rotated IoU for oriented boxes"). Axis-aligned pairs
 * take the closed form; any non-zero angle goes through polygon clipping.
 */
export function boxIou(a: OrientedBox, b: OrientedBox): number {
  if (a.angle === 0 && b.angle === 0) {
    return iouXyxy(a.cx - a.w / 2, a.cy - a.h / 2, a.cx + a.w / 2, a.cy + a.h / 2, b.cx - b.w / 2, b.cy - b.h / 2, b.cx + b.w / 2, b.cy + b.h / 2);
  }
  // Cheap reject on the circumscribed circles.
  const dx = a.cx - b.cx;
  const dy = a.cy - b.cy;
  const ra = Math.hypot(a.w, a.h) / 2;
  const rb = Math.hypot(b.w, b.h) / 2;
  if (dx * dx + dy * dy >= (ra + rb) * (ra + rb)) return 0;
  const inter = Math.abs(polygonArea(clipPolygon(boxCorners(a), boxCorners(b))));
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** xyah + angle → OrientedBox. */
export function xyahToBox(x: number, y: number, a: number, h: number, angle: number): OrientedBox {
  return { cx: x, cy: y, w: a * h, h, angle };
}

/** tlwh (MOTChallenge rows) → OrientedBox with angle 0. */
export function tlwhToBox(left: number, top: number, w: number, h: number): OrientedBox {
  return { cx: left + w / 2, cy: top + h / 2, w, h, angle: 0 };
}

/**
 * Oriented boxes are ambiguous: (w, h, θ) equals (w, h, θ + π) and
 * (h, w, θ ± π/2). Returns the representation of `box` whose angle is
 * closest to `refAngle`, so the Kalman filter never sees a jump of π/2 when
 * a model's angle range wraps. Axis-aligned boxes (angle 0 and ref 0) pass
 * through unchanged.
 */
export function alignAngle(box: OrientedBox, refAngle: number): OrientedBox {
  if (box.angle === 0 && refAngle === 0) return box;
  const halfPi = Math.PI / 2;
  // k quarter turns bring box.angle nearest to refAngle.
  const k = Math.round((refAngle - box.angle) / halfPi);
  const angle = box.angle + k * halfPi;
  if (k % 2 === 0) return { cx: box.cx, cy: box.cy, w: box.w, h: box.h, angle };
  return { cx: box.cx, cy: box.cy, w: box.h, h: box.w, angle };
}
