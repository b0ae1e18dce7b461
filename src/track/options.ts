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
import { invalidParameterError, outOfRangeError } from '../errors.js';

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
}

export interface ResolvedTrackerOptions {
  matchThreshold: number;
  lowMatchThreshold: number;
  unconfirmedMatchThreshold: number;
  trackThresh: number;
  newTrackThresh: number;
  lowThresh: number;
  trackBuffer: number;
  frameRate: number;
  fuseScore: boolean;
  minBoxArea: number;
  maxEntriesPerTrack: number;
  /** floor(frameRate / 30 × trackBuffer): frames a lost track survives. */
  maxTimeLost: number;
}

function unit(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidParameterError('number between 0 and 1', name, value);
  if (value < 0 || value > 1) throw outOfRangeError('number between 0 and 1', name, value);
  return value;
}

function positive(name: string, value: unknown, fallback: number, integer: boolean, allowZero = false): number {
  if (value === undefined) return fallback;
  const kind = `${allowZero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}`;
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw invalidParameterError(kind, name, value);
  }
  if (allowZero ? value < 0 : value <= 0) throw outOfRangeError(kind, name, value);
  return value;
}

export function resolveTrackerOptions(options: TrackerOptions = {}): ResolvedTrackerOptions {
  if (typeof options !== 'object' || options === null) throw invalidParameterError('object', 'options', options);
  const known = new Set([
    'matchThreshold', 'lowMatchThreshold', 'unconfirmedMatchThreshold', 'trackThresh', 'newTrackThresh',
    'lowThresh', 'trackBuffer', 'frameRate', 'fuseScore', 'minBoxArea', 'maxEntriesPerTrack',
  ]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TypeError(`Unknown tracker option '${key}'`);
  }
  const trackThresh = unit('trackThresh', options.trackThresh, 0.5);
  const lowThresh = unit('lowThresh', options.lowThresh, 0.1);
  if (lowThresh > trackThresh) {
    throw new RangeError(`Expected lowThresh (${lowThresh}) not above trackThresh (${trackThresh})`);
  }
  if (options.fuseScore !== undefined && typeof options.fuseScore !== 'boolean') {
    throw invalidParameterError('boolean', 'fuseScore', options.fuseScore);
  }
  const trackBuffer = positive('trackBuffer', options.trackBuffer, 30, true, true);
  const frameRate = positive('frameRate', options.frameRate, 30, false);
  return {
    matchThreshold: unit('matchThreshold', options.matchThreshold, 0.2),
    lowMatchThreshold: unit('lowMatchThreshold', options.lowMatchThreshold, 0.5),
    unconfirmedMatchThreshold: unit('unconfirmedMatchThreshold', options.unconfirmedMatchThreshold, 0.3),
    trackThresh,
    newTrackThresh: unit('newTrackThresh', options.newTrackThresh, Math.min(1, trackThresh + 0.1)),
    lowThresh,
    trackBuffer,
    frameRate,
    fuseScore: options.fuseScore ?? true,
    minBoxArea: positive('minBoxArea', options.minBoxArea, 0, false, true),
    maxEntriesPerTrack: positive('maxEntriesPerTrack', options.maxEntriesPerTrack, 600, true),
    maxTimeLost: Math.floor((frameRate / 30) * trackBuffer),
  };
}
