/**
 * The selection rules of SPEC.md (S1–S6) as small pure functions, exactly as
 * the SPEC states them (≥ where it says ≥, > where it says >). The per-camera
 * {@link Selector} (selector.ts) applies them to every track each frame.
 */
import { invalidParameterError, outOfRangeError } from '../errors.js';
import { edgeDistance } from '../geometry/box.js';
import type { Box, Track, TrackEntry } from '../types.js';

/** S3's side midpoints and edge distance live with the other box geometry. */
export { edgeDistance, sideMidpoints } from '../geometry/box.js';

/** S5's route: one type for selection and upload (src/types.ts). */
import type { Route } from '../types.js';

export type { Route };

/**
 * Per-camera selection parameters (SPEC "Parameters and defaults").
 * All are configurable per camera.
 */
export interface SelectionParams {
  /**
   * S1: minimum box width (px) of a non-first sighting. Default 32.
   * Raising it ignores small, distant objects (fewer uploads, later first
   * good image); lowering it lets tiny boxes become bests.
   */
  minWidth: number;
  /** S1: minimum box height (px) of a non-first sighting. Default 32. Trade-off as {@link minWidth}. */
  minHeight: number;
  /**
   * S1: minimum score of a non-first sighting to qualify. Default 0.5.
   * Raising it drops uncertain detections (fewer uploads, may miss objects the
   * detector is unsure about); lowering it uploads more doubtful images.
   */
  minScore1: number;
  /**
   * S5: minimum score of an immediate upload. Default 0.7. Normally above
   * minScore1. Raising it sends fewer images at once (more go through the
   * cache queue, later); lowering it spends more live uplink.
   */
  minScore2: number;
  /**
   * S2: minimum edge distance (px, S3) of a better image. Default 8.
   * Raising it rejects images of objects near the border (cut-off objects);
   * lowering it accepts them. Negative values accept boxes outside the image.
   */
  minEdge1: number;
  /**
   * S5: an immediate upload needs an edge distance strictly above this (px).
   * Default 32. Normally above minEdge1. Raising it routes more to the queue.
   */
  minEdge2: number;
  /**
   * S5: an immediate upload needs box area / image area strictly above this.
   * Default 0.02. Raising it sends only large (near) objects at once.
   */
  minAreaRatio: number;
}

/** SPEC defaults. */
export const DEFAULT_SELECTION_PARAMS: Readonly<SelectionParams> = Object.freeze({
  minWidth: 32,
  minHeight: 32,
  minScore1: 0.5,
  minScore2: 0.7,
  minEdge1: 8,
  minEdge2: 32,
  minAreaRatio: 0.02,
});

/** The S1–S5 parameter names. */
export const SELECTION_PARAM_NAMES = Object.freeze(Object.keys(DEFAULT_SELECTION_PARAMS) as (keyof SelectionParams)[]);

const PARAM_KINDS: Record<keyof SelectionParams, 'unit' | 'nonNegative' | 'finite'> = {
  minWidth: 'nonNegative',
  minHeight: 'nonNegative',
  minScore1: 'unit',
  minScore2: 'unit',
  minEdge1: 'finite',
  minEdge2: 'finite',
  minAreaRatio: 'unit',
};

const EXPECTED: Record<'unit' | 'nonNegative' | 'finite', string> = {
  unit: 'number between 0 and 1',
  nonNegative: 'non-negative number',
  finite: 'finite number',
};

/**
 * Validate (partial) selection parameters and fill the defaults.
 * Throws TypeError for a wrong type or an unknown key and RangeError for a
 * number out of range, e.g.
 * "Expected number between 0 and 1 for minScore1 but received 'x' of type string".
 */
export function validateSelectionParams(input: unknown = {}): SelectionParams {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidParameterError('object', 'selection parameters', input);
  }
  const names = Object.keys(PARAM_KINDS) as (keyof SelectionParams)[];
  for (const key of Object.keys(input)) {
    if (!(names as string[]).includes(key)) {
      throw invalidParameterError(`one of ${names.join(', ')}`, 'selection parameter name', key);
    }
  }
  const out: SelectionParams = { ...DEFAULT_SELECTION_PARAMS };
  const record = input as Record<string, unknown>;
  for (const name of names) {
    const value = record[name];
    if (value === undefined) continue;
    const kind = PARAM_KINDS[name];
    const expected = EXPECTED[kind];
    if (typeof value !== 'number') throw invalidParameterError(expected, name, value);
    const ok =
      Number.isFinite(value) &&
      (kind === 'finite' || (kind === 'nonNegative' && value >= 0) || (kind === 'unit' && value >= 0 && value <= 1));
    if (!ok) throw outOfRangeError(expected, name, value);
    out[name] = value;
  }
  return out;
}

/** Box area in px² (`area(box) = w × h`, used by S2 and S5). */
export function area(box: Pick<Box, 'w' | 'h'>): number {
  return box.w * box.h;
}

/** The parameters S1 reads. */
export type QualifyParams = Pick<SelectionParams, 'minWidth' | 'minHeight' | 'minScore1'>;

/**
 * S1 qualification. `e` = the track's last entry, `n` = its entry count.
 * Not in this frame (`e.timestamp ≠ frameTimestampNs`, or no entries) → false;
 * `n = 1` → true (first sighting); `n > 1` → `e.box.h ≥ minHeight` and
 * `e.box.w ≥ minWidth` and `e.score ≥ minScore1`.
 *
 * `n` defaults to `track.entries.length` (the tracker must then keep at least
 * the last two entries; a capped history is fine). The {@link Selector}
 * passes `n = 1` for a track it has never seen, see its `firstSighting`.
 */
export function qualifies(
  track: Pick<Track, 'entries'>,
  frameTimestampNs: bigint,
  params: QualifyParams,
  n: number = track.entries.length,
): boolean {
  if (track.entries.length === 0) return false;
  const e = track.entries[track.entries.length - 1]!;
  if (e.timestampNs !== frameTimestampNs) return false;
  if (n === 1) return true;
  return e.box.h >= params.minHeight && e.box.w >= params.minWidth && e.box.score >= params.minScore1;
}

/** The parameters S2 reads. */
export type BetterParams = Pick<SelectionParams, 'minEdge1'>;

/**
 * S2 quality comparison of the current entry `e` against `p`, the object's
 * entry at its previous best image (same camera, so the same image size).
 * Better only if all hold: `edge(e) ≥ edge(p)` and `edge(e) ≥ minEdge1`;
 * `e.score ≥ p.score`; `e.exposureMode = manual`; `area(e) ≥ area(p)`.
 */
export function isBetter(
  e: Pick<TrackEntry, 'box' | 'exposureMode'>,
  p: Pick<TrackEntry, 'box'>,
  width: number,
  height: number,
  params: BetterParams,
): boolean {
  const edgeE = edgeDistance(e.box, width, height);
  const edgeP = edgeDistance(p.box, width, height);
  return (
    edgeE >= edgeP &&
    edgeE >= params.minEdge1 &&
    e.box.score >= p.box.score &&
    e.exposureMode === 'manual' &&
    area(e.box) >= area(p.box)
  );
}

/**
 * S2 with the S6 resolution: a qualifying track with no previous best
 * (`p` undefined — a new object) takes this frame as its first best, i.e. it
 * is treated as better, so every object yields at least one image. The
 * literal reading (never send an object whose previous best image does not
 * contain it) is rejected by SPEC S6.
 */
export function isBetterOrFirst(
  e: Pick<TrackEntry, 'box' | 'exposureMode'>,
  p: Pick<TrackEntry, 'box'> | undefined,
  width: number,
  height: number,
  params: BetterParams,
): boolean {
  if (p === undefined) return true; // S6
  return isBetter(e, p, width, height, params);
}

/** The parameters S5 reads. */
export type RouteParams = Pick<SelectionParams, 'minAreaRatio' | 'minScore2' | 'minEdge2'>;

/**
 * S5 immediate or cached: immediate if all hold: `area(e) / (width × height) >
 * minAreaRatio`; `e.score ≥ minScore2`; `edge(e) > minEdge2`. Otherwise cached.
 */
export function routeFor(e: Pick<TrackEntry, 'box'>, width: number, height: number, params: RouteParams): Route {
  const immediate =
    area(e.box) / (width * height) > params.minAreaRatio &&
    e.box.score >= params.minScore2 &&
    edgeDistance(e.box, width, height) > params.minEdge2;
  return immediate ? 'immediate' : 'cached';
}
