/**
 * What the policy families share: the options every policy takes, the frames
 * a policy holds, and the candidate quality (quality.ts) of an entry in a frame.
 */
import { iouAxisAligned } from '../../geometry/box.js';
import type { Box, Track, TrackEntry } from '../../types.js';
import type { FrameRefs } from '../frame-ring.js';
import { policyOption, type PolicyName, type PolicyTuning } from '../options.js';
import { entryAt, NO_REFS, type SelectedObject } from '../policy.js';
import { quality, type Quality, type QualityParams, type QualityWeights } from '../quality.js';
import { validateSelectionParams, type SelectionParams } from '../rules.js';
import type { FirstSighting, RouteResolution, SelectorFrame } from '../selector.js';

/**
 * Options of `createPolicy`: the S1/S2/S5 parameters, the S4/S5 resolution,
 * the frame references, and the policies' own options (one definition:
 * options.ts `POLICY_OPTIONS`, each with its default per policy).
 */
export interface PolicyOptions extends PolicyTuning {
  /** S1/S2/S5 parameters; SPEC defaults. */
  params?: Partial<SelectionParams>;
  /** S4/S5 resolution when several objects select one frame. Default 'any-immediate'. */
  routeResolution?: RouteResolution;
  /** S1 first sighting ('spec', 'replace-queued'). Default 'first-seen'. */
  firstSighting?: FirstSighting;
  /** Frame references (a FrameRing). Default: none (evaluation without pixels). */
  refs?: FrameRefs;
  /**
   * 'budget': keep every package's value in `counters.sends` (the
   * evaluation's value-over-time curve). Default off: it grows by one entry
   * per package for as long as the policy lives (a camera's whole run).
   */
  recordSends?: boolean;
}

export function secondsToNs(s: number): bigint {
  return BigInt(Math.round(s * 1e9));
}

/** Tracks with an entry in this frame, with that entry. */
export function visibleObjects(frame: SelectorFrame, tracks: readonly Track[]): SelectedObject[] {
  const out: SelectedObject[] = [];
  for (const track of tracks) {
    const entry = entryAt(track, frame.timestampNs);
    if (entry !== undefined) out.push({ trackId: track.trackId, entry });
  }
  return out;
}

/** A frame a policy holds for one of its tracks (one reference per holder). */
export interface Held {
  imageId: number;
  timestampNs: bigint;
  entry: TrackEntry;
  width: number;
  height: number;
  /** The entry's candidate quality, for the policies that rank by it. */
  quality?: Quality;
}

/**
 * Group held frames of ending/due tracks into one upload per image (S4's
 * "one upload per frame" carried over to held frames).
 */
export function groupByImage(items: { trackId: number; held: Held }[]): Map<number, { held: Held; selected: SelectedObject[] }> {
  const groups = new Map<number, { held: Held; selected: SelectedObject[] }>();
  for (const { trackId, held } of items) {
    let g = groups.get(held.imageId);
    if (g === undefined) {
      g = { held, selected: [] };
      groups.set(held.imageId, g);
    }
    g.selected.push({ trackId, entry: held.entry });
  }
  return groups;
}

/** The quality weights of a policy, from its options (defaults per policy in options.ts). */
export function qualityWeights(policy: PolicyName, o: PolicyTuning): QualityWeights {
  return {
    size: policyOption('weightSize', policy, o.weightSize),
    score: policyOption('weightScore', policy, o.weightScore),
    sharpness: policyOption('weightSharpness', policy, o.weightSharpness),
    exposure: policyOption('weightExposure', policy, o.weightExposure),
    edge: policyOption('weightEdge', policy, o.weightEdge),
    occlusion: policyOption('weightOcclusion', policy, o.weightOcclusion),
  };
}

/** The quality parameters S1/S2/S5 give: clipped below minEdge1, unqualified below minScore1, edge term full at minEdge2. */
export function qualityParams(p: SelectionParams): QualityParams {
  return { minEdge1: p.minEdge1, minScore1: p.minScore1, edgeFull: p.minEdge2 };
}

/** Candidate quality of every visible object of a frame (the frame's crop measures where it carries them). */
export function frameQualities(
  frame: SelectorFrame,
  objects: readonly SelectedObject[],
  params: QualityParams,
  weights: QualityWeights,
): Map<number, { entry: TrackEntry; quality: Quality }> {
  const boxes: Box[] = objects.map((o) => o.entry.box);
  const out = new Map<number, { entry: TrackEntry; quality: Quality }>();
  for (const o of objects) {
    out.set(o.trackId, { entry: o.entry, quality: quality(o.entry.box, frame.width, frame.height, boxes, frame.crops?.get(o.entry.box), params, weights) });
  }
  return out;
}

/** What the policies that hold candidates for a deadline ('shared-best', 'deadline-cover') read alike from their options. */
export interface HoldingOptions {
  refs: FrameRefs;
  params: SelectionParams;
  qp: QualityParams;
  weights: QualityWeights;
  maxLatencyNs: bigint;
  /** shareCandidates: candidate frames kept per object. */
  k: number;
  segmentGap: number;
  /**
   * confidentScore, never below S1's minScore1: the detection score a view needs to be a good image
   * (`qp.minScore1`) and to continue its object's chain of views (segmentGapFrames).
   */
  confident: number;
}

/**
 * segmentResumeIoU: whether a track whose chain of qualifying entries broke resumes in place, IoU ≥
 * `minIou` with its last qualifying box — the same still object (a parked car's detector blinks),
 * no new segment. 0 = off: every break of segmentGapFrames starts a segment.
 */
export function resumesInPlace(lastBox: Box | null, box: Box, minIou: number): boolean {
  return minIou > 0 && lastBox !== null && iouAxisAligned(lastBox, box) >= minIou;
}

export function holdingOptions(name: PolicyName, options: PolicyOptions): HoldingOptions {
  const params = validateSelectionParams(options.params ?? {});
  const confident = Math.max(params.minScore1, policyOption('confidentScore', name, options.confidentScore));
  return {
    refs: options.refs ?? NO_REFS,
    params,
    qp: { ...qualityParams(params), minScore1: confident },
    confident,
    weights: qualityWeights(name, options),
    maxLatencyNs: secondsToNs(policyOption('maxLatencyS', name, options.maxLatencyS)),
    k: policyOption('shareCandidates', name, options.shareCandidates),
    segmentGap: policyOption('segmentGapFrames', name, options.segmentGapFrames),
  };
}
