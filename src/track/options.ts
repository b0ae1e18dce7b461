/**
 * Tracker options (SPEC T2 parameter table plus ByteTrack's own thresholds),
 * validated once at construction.
 *
 * Thresholds on matching are similarities (IoU, or IoU × detection score when
 * `fuseScore`): a pair can match when its similarity is above the threshold.
 * Upstream ByteTrack states them as costs, cost = 1 − similarity:
 * matchThreshold 0.2 ≙ match_thresh 0.8, lowMatchThreshold 0.5 ≙ 0.5,
 * unconfirmedMatchThreshold 0.3 ≙ 0.7.
 */
import { invalidParameterError, outOfRangeError, optionalNumber } from '../errors.js';
import type { KalmanLayout } from './kalman.js';

/**
 * T1 class groups: boxes match tracks of the same group. 'default' is SPEC
 * T1's vehicle (car, truck, bus, motorcycle), person and bicycle; 'none' is
 * the seed's same-class rule; or lists of labels, one list per group. A
 * label outside every group is its own group.
 */
export type ClassGroups = 'none' | 'default' | readonly (readonly string[])[];

/** SPEC T1's default groups, by label (the model's class names). */
export const DEFAULT_CLASS_GROUPS: readonly (readonly string[])[] = [['car', 'truck', 'bus', 'motorcycle'], ['person'], ['bicycle']];

export interface TrackerOptions {
  /**
   * T2 matchThreshold: first-stage (high-score detections vs tracked and lost
   * tracks) similarity a match must exceed. Default 0.2 (upstream
   * match_thresh 0.8). Lower: keeps identities through fast motion and frame
   * drops, but may join nearby objects; higher: fewer wrong joins, more
   * fragments.
   */
  matchThreshold?: number;
  /**
   * Second-stage (low-score detections vs still-unmatched tracked tracks)
   * IoU a match must exceed. Default 0.5 (upstream's fixed 0.5).
   */
  lowMatchThreshold?: number;
  /** Similarity needed to confirm a one-frame (unconfirmed) track. Default 0.3 (upstream 0.7 cost). */
  unconfirmedMatchThreshold?: number;
  /**
   * Score splitting high from low detections (upstream track_thresh).
   * Default 0.5. Higher: fewer false tracks, more reliance on the second stage.
   */
  trackThresh?: number;
  /**
   * Score a detection needs to start a new track (upstream det_thresh).
   * Default trackThresh + 0.1. Higher: fewer spurious tracks, later starts.
   */
  newTrackThresh?: number;
  /** Detections at or below this score are ignored (upstream 0.1). Default 0.1. */
  lowThresh?: number;
  /**
   * T2 trackBuffer: frames a lost track is kept for re-identification, at 30
   * frames/s. The buffer in frames is floor(frameRate / 30 × trackBuffer),
   * as upstream. Default 30. Longer: re-finds objects after longer
   * occlusions, more chance of a wrong re-find and more memory.
   */
  trackBuffer?: number;
  /** Frame rate the tracker is fed at (scales trackBuffer). Default 30. */
  frameRate?: number;
  /**
   * Capture period in ns of the frames' `timestampNs` (SPEC A5: 1e9 /
   * captureHz). When set, a frame arriving k periods after the previous one
   * (frames dropped between them) advances the tracker k frames: every track
   * is predicted k constant-velocity steps and the lost-track buffer (T2)
   * counts the dropped frames too (src/track/frame-steps.ts). Frames that
   * carry the capture grid's tick (FrameDetections.gridTick) advance the
   * frame counter (buffer, ages) by ticks and the prediction by time.
   * Default 0: every update() is one frame, as upstream. The runtime sets it
   * from captureHz; with no frame dropped it changes nothing.
   */
  framePeriodNs?: number;
  /**
   * Multiply IoU by the detection score before matching (upstream fuse_score,
   * on unless mot20). Default true. Favours confident detections in crowds.
   */
  fuseScore?: boolean;
  /**
   * update() does not report tracks whose (filtered) box area w×h is at most
   * this, as upstream's tools/track.py filters its output; they stay tracked.
   * Default 0 (report all).
   */
  minBoxArea?: number;
  /**
   * T3: most entries kept per track; the oldest are dropped beyond it, which
   * bounds memory for objects that stay in view. Default 600 (60 s at 10 Hz).
   */
  maxEntriesPerTrack?: number;
  /**
   * T1 class groups (see {@link ClassGroups}). Default 'default': a vehicle
   * whose detected class flickers between car and truck stays one track;
   * the track's label is the score-weighted vote of its entries.
   */
  classGroups?: ClassGroups;
  /**
   * Kalman state: 'xyah' (ByteTrack: aspect ratio, noise from the height) or
   * 'xywh' (BoT-SORT: width and height, noise from each). Default 'xyah'.
   */
  kalman?: KalmanLayout;
  /**
   * OC-SORT's observation-centric momentum (OCM): weight of the agreement
   * between a track's direction of motion (from its own observations
   * `momentumDeltaT` frames apart) and the direction to a candidate box, added
   * to the first-stage similarity (× detection score). 0 turns it off.
   * Default 0 (off; OC-SORT's own inertia is 0.2). Higher: fewer swaps between crossing
   * objects, may refuse a real turn.
   */
  momentum?: number;
  /** Frames between the two observations OCM's direction is taken from. Default 3 (OC-SORT's delta_t). */
  momentumDeltaT?: number;
  /**
   * OC-SORT's observation-centric re-update (ORU): when a lost track is
   * found again, its Kalman state is rewound to the last observation and
   * re-run along a straight virtual trajectory to the new box, instead of
   * keeping the velocity that drifted during the gap. Default false.
   */
  reupdate?: boolean;
  /**
   * OC-SORT's observation-centric recovery (OCR): high-score boxes left
   * after both stages are matched once more to the unmatched tracks' last
   * observed boxes (IoU > matchThreshold) — an object that stopped or turned
   * while occluded is found where it was last seen. Default false.
   */
  recovery?: boolean;
  /**
   * New-track rule: a high-score box left unmatched does not start a track
   * when it overlaps a box matched in this frame of the same class group by
   * IoU above this (the detector's NMS is per class, so one vehicle can give
   * a car and a truck box). Default 0.45 (YOLOX's NMS IoU). 1 turns it off.
   */
  duplicateIou?: number;
  /**
   * New-track rule: consecutive matched frames before a new track is
   * confirmed and reported (SORT's and OC-SORT's min_hits). 2 is ByteTrack
   * (born, then confirmed by the next frame's match); 3 is SORT/OC-SORT's
   * default. A track born on the first frame is confirmed at once either way.
   * Higher: fewer short false tracks, each object reported later.
   */
  minHits?: number;
  /**
   * Graded new-track rule: an unmatched box scored above trackThresh but
   * below newTrackThresh starts a *tentative* track, confirmed only after
   * this many consecutive matches (SORT's min_hits 3); a box at or above
   * newTrackThresh starts a track confirmed by `minHits`. 0 = ByteTrack's
   * rule (such a box starts no track). Default 3: with BoT-SORT's
   * newTrackThresh 0.7, an object a small detector sees at 0.6–0.7 still
   * gets a track, one that has to persist first.
   */
  tentativeMinHits?: number;
  /**
   * NSA Kalman (Du et al., GIAOTracker, ICCVW 2021; used by StrongSORT): the
   * measurement noise of each update is scaled by 1 − detection score (each
   * std × (1 − score), as StrongSORT's code), so a confident box moves the
   * state more and a doubtful one less. Default false.
   */
  nsa?: boolean;
  /**
   * Which tracks the high-score boxes are offered to first. 'joint'
   * (ByteTrack, default): tracked and lost tracks in one assignment.
   * 'after': tracked tracks first, lost tracks only get the boxes left over.
   * 'cascade' (DeepSORT's matching cascade): after the tracked tracks, lost
   * tracks level by level in order of frames since their last match (the
   * most recently seen first), each level with the boxes left over.
   */
  lostMatching?: LostMatching;
  /**
   * BoostTrack's similarity boost (Stanojević & Todorović, MVA 2024): in the
   * first association each pair that passes the IoU gate gains
   * 0.5·conf·IoU + 0.25·Mahalanobis similarity + 0.25·conf·shape similarity
   * (conf = detection score × tracklet confidence). Default false.
   */
  boost?: boolean;
  /**
   * BoostTrack's detection-confidence boost of likely objects (DLO): a box
   * counts as high-score when coef × its best IoU with a predicted track of
   * its class group exceeds trackThresh, even if its own score does not
   * (BoostTrack's coef 0.65 on MOT17). 0 = off (default).
   */
  confidenceBoost?: number;
  /**
   * Hybrid-SORT's height-modulated IoU (Yang et al., AAAI 2024) in both
   * association stages: IoU × (vertical overlap / vertical union). Default false.
   */
  heightIou?: boolean;
  /**
   * Hybrid-SORT's track confidence modelling (TCM) weight: a pair's cost grows
   * by weight × |the track's linearly predicted score − the box's score|, in
   * both stages (Hybrid-SORT 1.0). 0 = off (default).
   */
  scoreCue?: number;
  /**
   * SparseTrack's depth cascade matching (Liu et al., arXiv 2306.05238):
   * tracks and boxes are cut into this many pseudo-depth levels (bottom edge
   * height) and matched level by level from the nearest, leftovers carried
   * to the next level; in both stages. 1 = off (default).
   */
  depthLevels?: number;
  /**
   * Lost-track consistency gate: a lost track may take a box only if the
   * box's height is within this factor of its last observed box and the box
   * does not lie behind the track's direction of motion (more than half a
   * width from where it was last seen). 0 = off (default).
   */
  lostGate?: number;
  /**
   * A lost track is re-found only by a box scored at least this (0 = off,
   * default): a partial or merged box, typically scored lower, cannot hand a
   * lost identity to another object.
   */
  lostMinScore?: number;
  /**
   * A lost track survives at most as many frames as it was matched (birth included), never longer
   * than the buffer: Norfair's hit counter (tryolabs/norfair `hit_counter_max`). A track seen for
   * three frames is gone after three frames lost instead of the buffer's 30. false = off (default).
   */
  hitLifetime?: boolean;
}

/** Order of the first association for lost tracks (see TrackerOptions.lostMatching). */
export type LostMatching = 'joint' | 'after' | 'cascade';

export interface ResolvedTrackerOptions {
  matchThreshold: number;
  lowMatchThreshold: number;
  unconfirmedMatchThreshold: number;
  trackThresh: number;
  newTrackThresh: number;
  lowThresh: number;
  trackBuffer: number;
  frameRate: number;
  framePeriodNs: number;
  fuseScore: boolean;
  minBoxArea: number;
  maxEntriesPerTrack: number;
  classGroups: ClassGroups;
  kalman: KalmanLayout;
  momentum: number;
  momentumDeltaT: number;
  reupdate: boolean;
  recovery: boolean;
  duplicateIou: number;
  minHits: number;
  tentativeMinHits: number;
  nsa: boolean;
  lostMatching: LostMatching;
  boost: boolean;
  confidenceBoost: number;
  heightIou: boolean;
  scoreCue: number;
  depthLevels: number;
  lostGate: number;
  lostMinScore: number;
  hitLifetime: boolean;
  /** floor(frameRate / 30 × trackBuffer): frames a lost track survives. */
  maxTimeLost: number;
}

/**
 * The seed's tracker: ByteTrack exactly (same-class matching, its Kalman
 * filter, no OC-SORT stages, no new-track rule) — the reference the options
 * are measured against, and what `classGroups: none` plus these restores.
 */
export const BYTETRACK_OPTIONS: Readonly<TrackerOptions> = {
  trackThresh: 0.5,
  classGroups: 'none',
  kalman: 'xyah',
  momentum: 0,
  reupdate: false,
  recovery: false,
  duplicateIou: 1,
  minHits: 2,
  tentativeMinHits: 0,
};

function classGroupsOption(value: unknown): ClassGroups {
  if (value === undefined) return 'default';
  if (value === 'none' || value === 'default') return value;
  const ok = Array.isArray(value) && value.every((g) => Array.isArray(g) && g.length > 0 && g.every((l) => typeof l === 'string' && l.length > 0));
  if (!ok) throw invalidParameterError("'none', 'default' or lists of class labels", 'classGroups', value);
  const seen = new Set<string>();
  for (const label of (value as string[][]).flat()) {
    if (seen.has(label)) throw new RangeError(`Expected each label in one class group only for classGroups but '${label}' is in two`);
    seen.add(label);
  }
  return value as string[][];
}

function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidParameterError('boolean', name, value);
  return value;
}

function unit(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidParameterError('number between 0 and 1', name, value);
  if (value < 0 || value > 1) throw outOfRangeError('number between 0 and 1', name, value);
  return value;
}

function kalmanOption(value: unknown): KalmanLayout {
  if (value === undefined) return 'xywh';
  if (value !== 'xyah' && value !== 'xywh') throw invalidParameterError("'xyah' or 'xywh'", 'kalman', value);
  return value;
}

function lostMatchingOption(value: unknown): LostMatching {
  if (value === undefined) return 'joint';
  if (value !== 'joint' && value !== 'after' && value !== 'cascade') throw invalidParameterError("'joint', 'after' or 'cascade'", 'lostMatching', value);
  return value;
}

function lostGateOption(value: unknown): number {
  const v = optionalNumber('non-negative number', 'lostGate', value, 0);
  if (v !== 0 && v < 1) throw outOfRangeError('0 (off) or a height ratio of at least 1', 'lostGate', v);
  return v;
}

export function resolveTrackerOptions(options: TrackerOptions = {}): ResolvedTrackerOptions {
  if (typeof options !== 'object' || options === null) throw invalidParameterError('object', 'options', options);
  const known = new Set([
    'matchThreshold', 'lowMatchThreshold', 'unconfirmedMatchThreshold', 'trackThresh', 'newTrackThresh',
    'lowThresh', 'trackBuffer', 'frameRate', 'framePeriodNs', 'fuseScore', 'minBoxArea', 'maxEntriesPerTrack',
    'classGroups', 'kalman', 'momentum', 'momentumDeltaT', 'reupdate', 'recovery', 'duplicateIou', 'minHits', 'tentativeMinHits',
    'nsa', 'lostMatching', 'boost', 'confidenceBoost', 'heightIou', 'scoreCue', 'depthLevels', 'lostGate', 'lostMinScore', 'hitLifetime',
  ]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TypeError(`Unknown tracker option '${key}'`);
  }
  // Defaults, fixed by rule rather than fitted: ByteTrack's published
  // defaults (SPEC T2 says matching follows ByteTrack) with SPEC T1's class
  // groups and the duplicate-box rule. BoT-SORT's thresholds and Kalman state
  // and OC-SORT's stages are options, measured in docs/tracking.md.
  const trackThresh = unit('trackThresh', options.trackThresh, 0.6);
  const lowThresh = unit('lowThresh', options.lowThresh, 0.1);
  if (lowThresh > trackThresh) {
    throw new RangeError(`Expected lowThresh (${lowThresh}) not above trackThresh (${trackThresh})`);
  }
  if (options.fuseScore !== undefined && typeof options.fuseScore !== 'boolean') {
    throw invalidParameterError('boolean', 'fuseScore', options.fuseScore);
  }
  const trackBuffer = optionalNumber('non-negative integer', 'trackBuffer', options.trackBuffer, 30);
  const frameRate = optionalNumber('positive number', 'frameRate', options.frameRate, 30);
  return {
    matchThreshold: unit('matchThreshold', options.matchThreshold, 0.2),
    lowMatchThreshold: unit('lowMatchThreshold', options.lowMatchThreshold, 0.5),
    unconfirmedMatchThreshold: unit('unconfirmedMatchThreshold', options.unconfirmedMatchThreshold, 0.3),
    trackThresh,
    newTrackThresh: unit('newTrackThresh', options.newTrackThresh, Math.min(1, trackThresh + 0.1)),
    lowThresh,
    trackBuffer,
    frameRate,
    framePeriodNs: optionalNumber('non-negative number', 'framePeriodNs', options.framePeriodNs, 0),
    fuseScore: options.fuseScore ?? true,
    minBoxArea: optionalNumber('non-negative number', 'minBoxArea', options.minBoxArea, 0),
    maxEntriesPerTrack: optionalNumber('positive integer', 'maxEntriesPerTrack', options.maxEntriesPerTrack, 600),
    classGroups: classGroupsOption(options.classGroups),
    kalman: kalmanOption(options.kalman),
    momentum: optionalNumber('non-negative number', 'momentum', options.momentum, 0),
    momentumDeltaT: optionalNumber('positive integer', 'momentumDeltaT', options.momentumDeltaT, 3),
    reupdate: booleanOption('reupdate', options.reupdate, false),
    recovery: booleanOption('recovery', options.recovery, false),
    duplicateIou: unit('duplicateIou', options.duplicateIou, 0.45),
    minHits: optionalNumber('positive integer', 'minHits', options.minHits, 2),
    tentativeMinHits: optionalNumber('non-negative integer', 'tentativeMinHits', options.tentativeMinHits, 3),
    nsa: booleanOption('nsa', options.nsa, false),
    lostMatching: lostMatchingOption(options.lostMatching),
    boost: booleanOption('boost', options.boost, false),
    confidenceBoost: unit('confidenceBoost', options.confidenceBoost, 0),
    heightIou: booleanOption('heightIou', options.heightIou, false),
    scoreCue: optionalNumber('non-negative number', 'scoreCue', options.scoreCue, 0),
    depthLevels: optionalNumber('positive integer', 'depthLevels', options.depthLevels, 1),
    lostGate: lostGateOption(options.lostGate),
    lostMinScore: unit('lostMinScore', options.lostMinScore, 0),
    hitLifetime: booleanOption('hitLifetime', options.hitLifetime, false),
    maxTimeLost: Math.floor((frameRate / 30) * trackBuffer),
  };
}
