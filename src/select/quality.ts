/**
 * The image quality of one candidate: how good an image of this object this
 * frame would give the cloud (docs/selection.md "Image quality"). Six terms,
 * each in (0, 1], combined as a weighted geometric product
 *
 *   quality = size^wSize × score^wScore × sharpness^wSharpness
 *           × exposure^wExposure × edge^wEdge × unoccluded^wOcclusion
 *
 * so a term's weight is how many "size doublings" a doubling of it is worth,
 * and with the default weights (size 1, score 2) an image without pixels is
 * ranked by area × score², the order 'shared-best' always used. A box that is
 * clipped — S3 edge distance below minEdge1, or touching the border
 * (Frigate's veto) — or scores below S1's minScore1 is not *good*: every good
 * candidate ranks above every candidate that is not, whatever the product.
 *
 * Terms:
 * - size: box area / image area;
 * - score: the detector score (D1);
 * - sharpness: s / (s + {@link SHARPNESS_HALF}) of the crop's size-normalised
 *   sharpness s (crop-stats.ts); 1 without pixels (neutral);
 * - exposure: (1 − clipped-highlight − crushed-shadow fraction) ×
 *   (1 − |mean − 128| / 256); 1 without pixels;
 * - edge: S3 edge distance / edgeFull (S5's minEdge2), clamped to [0, 1];
 * - unoccluded: 1 − the fraction of the box covered by *nearer* boxes of the
 *   frame (a box whose bottom edge is lower in the image stands nearer on the
 *   road, so it is the occluder), clamped to [0, 1].
 * Each term is floored at {@link TERM_FLOOR} so one zero does not erase the
 * others' order.
 */
import { edgeDistance, touchesEdge } from '../geometry/box.js';
import type { Box } from '../types.js';
import type { CropStats } from './crop-stats.js';

export interface QualityWeights {
  size: number;
  score: number;
  sharpness: number;
  exposure: number;
  edge: number;
  occlusion: number;
}

/** The defaults, fixed before any evaluation (the rule of docs/evaluation.md "Choosing parameters"). */
export const DEFAULT_QUALITY_WEIGHTS: Readonly<QualityWeights> = Object.freeze({ size: 1, score: 2, sharpness: 1, exposure: 1, edge: 0.5, occlusion: 1 });

/** Sharpness at which the sharpness term is 0.5. */
export const SHARPNESS_HALF = 0.5;
/** No term goes below this. */
export const TERM_FLOOR = 1e-3;

export interface QualityTerms {
  size: number;
  score: number;
  sharpness: number;
  exposure: number;
  edge: number;
  occlusion: number;
}

export interface Quality {
  /** Unclipped (S3 edge ≥ minEdge1, not touching the border) and score ≥ minScore1. */
  good: boolean;
  terms: QualityTerms;
  /** The weighted product of the terms. */
  q: number;
  area: number;
  score: number;
  /** The crop's size-normalised sharpness; NaN without pixels. */
  sharpness: number;
}

export interface QualityParams {
  /** S2's minEdge1 (clipped below it). */
  minEdge1: number;
  /** S1's minScore1; a policy with confidentScore passes the higher of the two. */
  minScore1: number;
  /** Edge distance at which the edge term reaches 1 (S5's minEdge2). */
  edgeFull: number;
}

const floor = (v: number): number => (Number.isFinite(v) ? Math.min(1, Math.max(TERM_FLOOR, v)) : TERM_FLOOR);

/** Sharpness term of a crop's size-normalised sharpness; 1 when unknown. */
export function sharpnessTerm(s: number | undefined): number {
  return s === undefined || !Number.isFinite(s) ? 1 : floor(s / (s + SHARPNESS_HALF));
}

/** Exposure term of a crop's measures; 1 when unknown. */
export function exposureTerm(c: CropStats | undefined): number {
  if (c === undefined) return 1;
  return floor((1 - c.highlights - c.shadows) * (1 - Math.abs(c.mean - 128) / 256));
}

/** Edge term: S3 edge distance over edgeFull, clamped. */
export function edgeTerm(box: Box, width: number, height: number, edgeFull: number): number {
  return floor(edgeFull > 0 ? edgeDistance(box, width, height) / edgeFull : 1);
}

/** Axis-aligned overlap area of two boxes. */
function overlap(a: Box, b: Box): number {
  const ix = Math.min(a.cx + a.w / 2, b.cx + b.w / 2) - Math.max(a.cx - a.w / 2, b.cx - b.w / 2);
  const iy = Math.min(a.cy + a.h / 2, b.cy + b.h / 2) - Math.max(a.cy - a.h / 2, b.cy - b.h / 2);
  return ix > 0 && iy > 0 ? ix * iy : 0;
}

/**
 * Fraction of `box` covered by nearer boxes among `others` (bottom edge
 * lower in the image; `box` itself is skipped by identity). Overlaps are
 * summed, so the fraction is an upper bound when occluders overlap each other.
 */
export function occludedFraction(box: Box, others: readonly Box[]): number {
  const a = box.w * box.h;
  if (!(a > 0)) return 0;
  const bottom = box.cy + box.h / 2;
  let covered = 0;
  for (const o of others) {
    if (o === box || o.cy + o.h / 2 <= bottom) continue;
    covered += overlap(box, o);
  }
  return Math.min(1, covered / a);
}

/** The six terms of one candidate. */
export function qualityTerms(box: Box, width: number, height: number, others: readonly Box[], crop: CropStats | undefined, params: QualityParams): QualityTerms {
  return {
    size: floor((box.w * box.h) / (width * height)),
    score: floor(box.score),
    sharpness: sharpnessTerm(crop?.sharpness),
    exposure: exposureTerm(crop),
    edge: edgeTerm(box, width, height, params.edgeFull),
    occlusion: floor(1 - occludedFraction(box, others)),
  };
}

/** The weighted geometric product of the terms. */
export function qualityScore(t: QualityTerms, w: QualityWeights): number {
  return Math.exp(
    w.size * Math.log(t.size) +
      w.score * Math.log(t.score) +
      w.sharpness * Math.log(t.sharpness) +
      w.exposure * Math.log(t.exposure) +
      w.edge * Math.log(t.edge) +
      w.occlusion * Math.log(t.occlusion),
  );
}

/** The quality of one candidate (see the module comment). */
export function quality(
  box: Box,
  width: number,
  height: number,
  others: readonly Box[],
  crop: CropStats | undefined,
  params: QualityParams,
  weights: QualityWeights = DEFAULT_QUALITY_WEIGHTS,
): Quality {
  const terms = qualityTerms(box, width, height, others, crop, params);
  const good = edgeDistance(box, width, height) >= params.minEdge1 && !touchesEdge(box, width, height) && box.score >= params.minScore1;
  return { good, terms, q: qualityScore(terms, weights), area: box.w * box.h, score: box.score, sharpness: crop?.sharpness ?? NaN };
}

/** Quality order: good before not good, then q. Positive when a is better. */
export function compareQuality(a: Pick<Quality, 'good' | 'q'>, b: Pick<Quality, 'good' | 'q'>): number {
  if (a.good !== b.good) return a.good ? 1 : -1;
  return a.q - b.q;
}
