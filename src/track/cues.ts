/**
 * Appearance-free association cues from published trackers, each an option
 * (SPEC T2: the match score stays IoU-gated; these only re-rank the pairs that
 * pass the gate, or forbid some). All work in place on a row-major
 * tracks × detections cost matrix from {@link iouCost} (cost = 1 − similarity)
 * whose entries below `thresh` are the allowed pairs:
 *
 * - {@link addSimilarityBoost}: BoostTrack's similarity boost (Stanojević &
 *   Todorović, "BoostTrack: boosting the similarity measure and detection
 *   confidence for improved multiple object tracking", MVA 2024).
 * - {@link detectionBoost}: BoostTrack's detection-confidence boost of likely
 *   objects (DLO).
 * - {@link addScoreCue}: Hybrid-SORT's track confidence modelling (TCM, Yang
 *   et al., "Hybrid-SORT: Weak Cues Matter for Online Multi-Object Tracking",
 *   AAAI 2024).
 * - {@link gateLost}: a direction and size consistency gate for lost tracks
 *   (ours, see docs/tracking.md).
 * - {@link depthLevels}: SparseTrack's pseudo-depth levels (Liu et al.,
 *   "SparseTrack: Multi-Object Tracking by Performing Scene Decomposition
 *   based on Pseudo-Depth", IEEE TCSVT 2025, arXiv 2306.05238).
 */
import type { Box } from '../types.js';
import type { TrackState } from './track-state.js';

/** BoostTrack's weights (its default_settings: lambda_iou 0.5, lambda_mhd 0.25, lambda_shape 0.25). */
export const BOOST_LAMBDA_IOU = 0.5;
export const BOOST_LAMBDA_MHD = 0.25;
export const BOOST_LAMBDA_SHAPE = 0.25;
/** BoostTrack's Mahalanobis limit: χ² 99 % quantile, 4 degrees of freedom. */
const MHD_LIMIT = 13.2767;

/**
 * BoostTrack's tracklet confidence (KalmanBoxTracker.get_confidence, coef 0.9):
 * 0.9^(7 − age) for a track younger than 7 frames, else 0.9^(frames missed).
 * `age` = frames since birth, `missed` = frames since the last match (≥ 1 after predict).
 */
export function trackletConfidence(age: number, missed: number): number {
  if (age < 7) return 0.9 ** (7 - age);
  return 0.9 ** Math.max(0, missed - 1);
}

/** BoostTrack's shape similarity (v1): exp(−(|Δw| / max w + |Δh| / max w)). */
export function shapeSimilarity(a: { w: number; h: number }, b: { w: number; h: number }): number {
  const mw = Math.max(a.w, b.w);
  return Math.exp(-(Math.abs(a.w - b.w) / mw + Math.abs(a.h - b.h) / mw));
}

/** Squared Mahalanobis distance of a box to a track's predicted state in its first four coordinates (diagonal covariance, as BoostTrack). */
export function mahalanobis2(t: TrackState, d: Box): number {
  const m = t.mean;
  const c = t.covariance;
  const z2 = t.layout === 'xyah' ? d.w / d.h : d.w;
  const dx = d.cx - m[0]!;
  const dy = d.cy - m[1]!;
  const dz = z2 - m[2]!;
  const dh = d.h - m[3]!;
  return (dx * dx) / c[0]! + (dy * dy) / c[3]! + (dz * dz) / c[6]! + (dh * dh) / c[9]!;
}

/**
 * BoostTrack's similarity boost (its associate()): to each pair's similarity
 * add λ_iou·conf·IoU + λ_mhd·MhDSim + λ_shape·conf·ShapeSim, where
 * conf = detection score × tracklet confidence and MhDSim is the softmax over
 * the detections of (limit − Mahalanobis distance), 0 beyond the limit. Only
 * pairs already allowed (cost < thresh) change: the gate stays IoU's (BoostTrack
 * also keeps only matches with IoU above its threshold). `fuseScore` says the
 * costs are 1 − IoU × score (to recover the IoU).
 */
export function addSimilarityBoost(cost: Float64Array, tracks: readonly TrackState[], detections: readonly Box[], frameId: number, thresh: number, fuseScore: boolean): void {
  const m = detections.length;
  if (m === 0) return;
  const mhd = new Float64Array(m);
  for (let i = 0; i < tracks.length; i++) {
    const t = tracks[i]!;
    // Softmax over the detections of (limit − distance), as BoostTrack's MhDist_similarity (temperature 1).
    let sum = 0;
    for (let j = 0; j < m; j++) {
      const dist = Math.min(MHD_LIMIT, mahalanobis2(t, detections[j]!));
      mhd[j] = dist >= MHD_LIMIT ? -1 : Math.exp(MHD_LIMIT - dist);
      sum += Math.exp(MHD_LIMIT - dist);
    }
    const box = t.box;
    const tConf = trackletConfidence(frameId - t.startFrame, frameId - t.frameId);
    for (let j = 0; j < m; j++) {
      const c = cost[i * m + j]!;
      if (!(c < thresh)) continue;
      const d = detections[j]!;
      const iou = fuseScore ? (1 - c) / d.score : 1 - c;
      const conf = d.score * tConf;
      const mhdSim = mhd[j]! < 0 ? 0 : mhd[j]! / sum;
      cost[i * m + j] = c - (BOOST_LAMBDA_IOU * conf * iou + BOOST_LAMBDA_MHD * mhdSim + BOOST_LAMBDA_SHAPE * conf * shapeSimilarity(d, box));
    }
  }
}

/**
 * BoostTrack's detection-confidence boost of likely objects (DLO, plain form):
 * the score a box is split by is max(score, coef × its highest IoU with a
 * predicted track of its class group). The box keeps its own score (S1 reads it).
 */
export function detectionBoost(d: Box, group: number, tracks: readonly TrackState[], coef: number, iou: (a: TrackState, b: Box) => number): number {
  let best = 0;
  for (const t of tracks) if (t.group === group) best = Math.max(best, iou(t, d));
  return Math.max(d.score, coef * best);
}

/**
 * Hybrid-SORT's track confidence modelling (TCM): each allowed pair's cost
 * grows by weight × |predicted track confidence − detection score|, the
 * track's confidence predicted linearly from its last two detection scores
 * (clipped to [0.1, 1]). Capped below `thresh`: the gate stays IoU's, as
 * Hybrid-SORT filters matches on IoU after the assignment.
 */
export function addScoreCue(cost: Float64Array, tracks: readonly TrackState[], detections: readonly Box[], weight: number, thresh: number): void {
  const m = detections.length;
  for (let i = 0; i < tracks.length; i++) {
    const t = tracks[i]!;
    const predicted = Math.min(1, Math.max(0.1, 2 * t.score - t.previousScore));
    for (let j = 0; j < m; j++) {
      const c = cost[i * m + j]!;
      if (!(c < thresh)) continue;
      cost[i * m + j] = Math.min(c + weight * Math.abs(predicted - detections[j]!.score), thresh - 1e-9);
    }
  }
}

/**
 * Lost-track consistency gate (see docs/tracking.md): a lost track may take a
 * box only if the box's height is within a factor `maxRatio` of the track's
 * last observed box, and, when the box lies more than half a box width from
 * that last observation, in the half-plane the track was moving towards
 * (angle to its direction of motion at most 90°). This stops a lost track
 * whose prediction drifted from taking over another object far from, or
 * behind, where it was last seen.
 */
export function gateLost(cost: Float64Array, tracks: readonly TrackState[], detections: readonly Box[], maxRatio: number, minScore = 0): void {
  const m = detections.length;
  for (let i = 0; i < tracks.length; i++) {
    const t = tracks[i]!;
    if (t.state !== 'lost') continue;
    const o = t.lastObservation;
    const vx = t.direction[0]!;
    const vy = t.direction[1]!;
    for (let j = 0; j < m; j++) {
      if (cost[i * m + j] === Infinity) continue;
      const d = detections[j]!;
      const ratio = d.h > o.h ? d.h / o.h : o.h / d.h;
      const dx = d.cx - o.cx;
      const dy = d.cy - o.cy;
      const away = Math.hypot(dx, dy) > 0.5 * o.w && (vx !== 0 || vy !== 0) && vx * dx + vy * dy < 0;
      if ((maxRatio > 0 && (ratio > maxRatio || away)) || d.score < minScore) cost[i * m + j] = Infinity;
    }
  }
}

/**
 * SparseTrack's pseudo-depth levels (get_deep_range): pseudo-depth is the
 * distance of a box's bottom edge from the image bottom, so a larger bottom y
 * is nearer. The range of `bottoms` is cut into `levels` equal slices, level
 * 0 the nearest. Returns the level of each item.
 */
export function depthLevels(bottoms: readonly number[], levels: number): Int32Array {
  const out = new Int32Array(bottoms.length);
  if (bottoms.length === 0 || levels <= 1) return out;
  let lo = Infinity;
  let hi = -Infinity;
  for (const b of bottoms) {
    lo = Math.min(lo, b);
    hi = Math.max(hi, b);
  }
  if (!(hi > lo)) return out;
  const step = (hi - lo) / levels;
  for (let k = 0; k < bottoms.length; k++) out[k] = Math.min(levels - 1, Math.floor((hi - bottoms[k]!) / step));
  return out;
}
