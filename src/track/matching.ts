/**
 * Cost matrices for association (T1, T2): 1 − IoU between the tracks'
 * predicted boxes and the detections, +Infinity across class groups (T1),
 * upstream's fuse_score, and OC-SORT's observation-centric momentum.
 */
import { boxIou, iouAxisAligned } from '../geometry/box.js';
import type { Box } from '../types.js';
import type { TrackState } from './track-state.js';

/**
 * Row-major tracks × detections cost 1 − IoU (rotated IoU when either box is
 * oriented); +Infinity where the class groups differ (T1: boxes are matched
 * only to tracks of the same class group; `groups[j]` is detection j's).
 * Optionally multiplies IoU by the detection score first (upstream
 * fuse_score: cost = 1 − IoU × score). With `heightModulated` the IoU is
 * Hybrid-SORT's height-modulated IoU (Yang et al., AAAI 2024): IoU × the
 * overlap of the two boxes' vertical extents over their union, a weak cue
 * that keeps people of different heights or depths apart.
 */
export function iouCost(
  tracks: readonly TrackState[],
  detections: readonly Box[],
  groups: ArrayLike<number>,
  fuseScore: boolean,
  out?: Float64Array,
  heightModulated = false,
): Float64Array {
  const n = tracks.length;
  const m = detections.length;
  // A caller-owned scratch buffer avoids garbage on every frame.
  const cost = out && out.length >= n * m ? out.subarray(0, n * m) : new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const t = tracks[i]!;
    // Predicted box straight from the Kalman mean [x, y, a|w, h, θ].
    const mean = t.mean;
    const th = mean[3]!;
    const tw = t.layout === 'xyah' ? mean[2]! * th : mean[2]!;
    const tcx = mean[0]!;
    const tcy = mean[1]!;
    const tAxis = mean[4] === 0;
    const tx1 = tcx - tw / 2;
    const ty1 = tcy - th / 2;
    const tx2 = tcx + tw / 2;
    const ty2 = tcy + th / 2;
    const tArea = tw * th;
    const group = t.group;
    for (let j = 0; j < m; j++) {
      const d = detections[j]!;
      if (groups[j] !== group) {
        cost[i * m + j] = Infinity;
        continue;
      }
      let iou: number;
      if (tAxis && d.angle === 0) {
        // Inline axis-aligned IoU: the hot path of every frame.
        const iw = Math.min(tx2, d.cx + d.w / 2) - Math.max(tx1, d.cx - d.w / 2);
        const ih = Math.min(ty2, d.cy + d.h / 2) - Math.max(ty1, d.cy - d.h / 2);
        if (iw <= 0 || ih <= 0) iou = 0;
        else {
          const inter = iw * ih;
          const union = tArea + d.w * d.h - inter;
          iou = union > 0 ? inter / union : 0;
          // Hybrid-SORT's height-modulated IoU: × vertical overlap / vertical extent of both.
          if (heightModulated) iou *= ih / (Math.max(ty2, d.cy + d.h / 2) - Math.min(ty1, d.cy - d.h / 2));
        }
      } else {
        iou = boxIou(t.box, d);
        if (heightModulated) iou *= heightIou(t.box, d);
      }
      cost[i * m + j] = 1 - (fuseScore ? iou * d.score : iou);
    }
  }
  return cost;
}

/** Hybrid-SORT's height IoU: overlap of the vertical extents over their union (axis-aligned extents). */
export function heightIou(a: Box | { cy: number; h: number }, b: Box | { cy: number; h: number }): number {
  const inter = Math.min(a.cy + a.h / 2, b.cy + b.h / 2) - Math.max(a.cy - a.h / 2, b.cy - b.h / 2);
  if (inter <= 0) return 0;
  return inter / (Math.max(a.cy + a.h / 2, b.cy + b.h / 2) - Math.min(a.cy - a.h / 2, b.cy - b.h / 2));
}

/**
 * OC-SORT's observation-centric recovery (OCR) costs: 1 − IoU between each
 * track's last observed box (not its prediction) and each detection,
 * +Infinity across class groups.
 */
export function lastObservationCost(tracks: readonly TrackState[], detections: readonly Box[], groups: ArrayLike<number>): Float64Array {
  const cost = new Float64Array(tracks.length * detections.length);
  for (let i = 0; i < tracks.length; i++) {
    const t = tracks[i]!;
    const o = t.lastObservation;
    for (let j = 0; j < detections.length; j++) {
      const d = detections[j]!;
      const iou = groups[j] !== t.group ? -Infinity : o.angle === 0 && d.angle === 0 ? iouAxisAligned(o, d) : boxIou(o, d);
      cost[i * detections.length + j] = iou === -Infinity ? Infinity : 1 - iou;
    }
  }
  return cost;
}

/**
 * OC-SORT's observation-centric momentum (OCM), in place on a cost matrix
 * from {@link iouCost}: for every pair that passes the gate (cost < thresh)
 * the cost drops by weight × score × (π/2 − |Δθ|)/π, where Δθ is the angle
 * between the track's direction of motion and the direction from its
 * anchor observation to the detection (OC-SORT associate(): "angle_diff_cost"
 * × detection score × inertia). The result stays below `thresh`, so the gate
 * is still IoU's alone, as OC-SORT filters matches on IoU after assignment.
 */
export function addMomentum(cost: Float64Array, tracks: readonly TrackState[], detections: readonly Box[], frameId: number, weight: number, thresh: number): void {
  if (weight === 0) return;
  const m = detections.length;
  for (let i = 0; i < tracks.length; i++) {
    const t = tracks[i]!;
    const vx = t.direction[0]!;
    const vy = t.direction[1]!;
    if (vx === 0 && vy === 0) continue;
    const a = t.anchor(frameId);
    for (let j = 0; j < m; j++) {
      const c = cost[i * m + j]!;
      if (!(c < thresh)) continue;
      const d = detections[j]!;
      const dx = d.cx - a.cx;
      const dy = d.cy - a.cy;
      const norm = Math.hypot(dx, dy) + 1e-6;
      const cos = Math.max(-1, Math.min(1, (vx * dx + vy * dy) / norm));
      const term = (Math.PI / 2 - Math.acos(cos)) / Math.PI;
      cost[i * m + j] = Math.min(c - weight * term * d.score, thresh - 1e-9);
    }
  }
}
