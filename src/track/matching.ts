/**
 * Cost matrices for association (T1, T2): 1 − IoU between the tracks'
 * predicted boxes and the detections, +Infinity across classes (T1), and
 * upstream's fuse_score.
 */
import type { Box } from '../types.js';
import { boxIou } from '../geometry/box.js';
import type { TrackState } from './track-state.js';

/**
 * Row-major tracks × detections cost 1 − IoU (rotated IoU when either box is
 * oriented); +Infinity where the classes differ (T1: boxes are matched only to
 * tracks of the same class). Optionally multiplies IoU by the detection
 * score first (upstream fuse_score: cost = 1 − IoU × score).
 */
export function iouCost(tracks: readonly TrackState[], detections: readonly Box[], fuseScore: boolean, out?: Float64Array): Float64Array {
  const n = tracks.length;
  const m = detections.length;
  // A caller-owned scratch buffer avoids garbage on every frame.
  const cost = out && out.length >= n * m ? out.subarray(0, n * m) : new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const t = tracks[i]!;
    // Predicted box straight from the Kalman mean [x, y, a, h, θ].
    const mean = t.mean;
    const th = mean[3]!;
    const tw = mean[2]! * th;
    const tcx = mean[0]!;
    const tcy = mean[1]!;
    const tAxis = mean[4] === 0;
    const tx1 = tcx - tw / 2;
    const ty1 = tcy - th / 2;
    const tx2 = tcx + tw / 2;
    const ty2 = tcy + th / 2;
    const tArea = tw * th;
    for (let j = 0; j < m; j++) {
      const d = detections[j]!;
      if (d.classId !== t.classId) {
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
        }
      } else {
        iou = boxIou(t.box, d);
      }
      cost[i * m + j] = 1 - (fuseScore ? iou * d.score : iou);
    }
  }
  return cost;
}
