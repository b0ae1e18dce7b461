/**
 * The per-camera best-shot selector: SPEC S1–S7 applied to every track each
 * frame. Pure state machine over tracks — no pixels, no I/O (STYLE 8): the
 * caller moves frame ids and builds/sends packages from the result.
 */
import { InvalidStateError, invalidParameterError, outOfRangeError } from '../errors.js';
import type { Box, Track, TrackEntry } from '../types.js';
import type { CropStats } from './crop-stats.js';
import {
  isBetterOrFirst,
  qualifies,
  routeFor,
  validateSelectionParams,
  type Route,
  type SelectionParams,
} from './rules.js';

/** The identity of the frame being examined (what the selector needs of it). */
export interface SelectorFrame {
  /** Unique, increasing per camera (A5). */
  imageId: number;
  timestampNs: bigint;
  width: number;
  height: number;
  /**
   * Crop measures of this frame's boxes (crop-stats.ts), keyed by the box
   * object the tracker put in the entry; absent without pixels. Read by the
   * quality-ranking policies only; S1–S7 never read pixels.
   */
  crops?: ReadonlyMap<Box, CropStats>;
}

/** S7: a track's previous best image. */
export interface BestImage {
  imageId: number;
  timestampNs: bigint;
  /** The track's entry in that image (`p` of S2). */
  entry: TrackEntry;
}

/** One track that selected this frame (S4): its best moved here. */
export interface TrackSelection {
  trackId: number;
  /** The best before this frame; null for a new object (S6). */
  previous: BestImage | null;
  /** The new best: this frame. */
  best: BestImage;
  /** What S5 says about this track's entry alone. */
  route: Route;
}

/** S4: the one upload a frame can cause. */
export interface FrameUpload {
  imageId: number;
  timestampNs: bigint;
  /** S5, resolved over the selecting tracks (see {@link RouteResolution}). */
  route: Route;
  /** Tracks that selected the frame, in the order examined. */
  trackIds: number[];
}

/** The result of examining one frame. */
export interface SelectionResult {
  imageId: number;
  timestampNs: bigint;
  /** S4: at most one upload per frame; null when no track selected it. */
  upload: FrameUpload | null;
  /** Every track whose best became this frame (S4, S7), in examination order. */
  selections: TrackSelection[];
}

/**
 * When several tracks select the same frame with different S5 routes.
 * - `'any-immediate'` (default): the frame is sent immediately if any
 *   selecting track's entry satisfies S5 — the result does not depend on the
 *   order in which the tracker lists tracks, and an object that deserves an
 *   immediate image gets it even when another object marked the frame first.
 * - `'first'`: the SPEC's literal reading — the first track (in the given
 *   order) to select the frame marks it and its entry decides S5.
 */
export type RouteResolution = 'any-immediate' | 'first';

/**
 * What counts as the first sighting (`n = 1`) of S1.
 * - `'first-seen'` (default): the first frame in which the selector sees the
 *   track (it has no S7 state for it yet), whatever `entries.length` is.
 *   ByteTrack reports a track only once it is confirmed, on its second match,
 *   so the object's literal first entry is never offered to selection; this
 *   treats the first entry that is offered as the first sighting, so every
 *   object the tracker reports yields at least one image (S6's intent).
 * - `'entry-count'`: the SPEC's literal `n = track.entries.length`. With a
 *   tracker that reports tracks from their first entry both are the same.
 */
export type FirstSighting = 'first-seen' | 'entry-count';

export interface SelectorOptions {
  /** Default 'first-seen'. See {@link FirstSighting}. */
  firstSighting?: FirstSighting;
  /** Selection parameters; missing ones take SPEC defaults. Validated. */
  params?: Partial<SelectionParams>;
  /** Default 'any-immediate'. See {@link RouteResolution}. */
  routeResolution?: RouteResolution;
}

function validateFrame(frame: SelectorFrame): void {
  if (frame === null || typeof frame !== 'object') throw invalidParameterError('object', 'frame', frame);
  if (typeof frame.imageId !== 'number') throw invalidParameterError('integer', 'frame.imageId', frame.imageId);
  if (!Number.isSafeInteger(frame.imageId)) throw outOfRangeError('integer', 'frame.imageId', frame.imageId);
  if (typeof frame.timestampNs !== 'bigint') throw invalidParameterError('bigint', 'frame.timestampNs', frame.timestampNs);
  for (const key of ['width', 'height'] as const) {
    const v = frame[key];
    if (typeof v !== 'number') throw invalidParameterError('positive integer', `frame.${key}`, v);
    if (!Number.isSafeInteger(v) || v <= 0) throw outOfRangeError('positive integer', `frame.${key}`, v);
  }
}

/**
 * Per-camera best-shot selector (S1–S7). Call {@link update} once per frame
 * with the tracker's tracks for that frame, and {@link forget} with the ids
 * the tracker removed. One owner (thread) per camera.
 */
export class Selector {
  readonly params: Readonly<SelectionParams>;
  readonly routeResolution: RouteResolution;
  readonly firstSighting: FirstSighting;
  /** S7: trackId → previous best (kept here so S2 works when the tracker caps entries). */
  #bests = new Map<number, BestImage>();
  #lastImageId: number | null = null;
  #lastTimestampNs: bigint | null = null;

  constructor(options: SelectorOptions = {}) {
    this.params = Object.freeze(validateSelectionParams(options.params ?? {}));
    const resolution = options.routeResolution ?? 'any-immediate';
    if (resolution !== 'any-immediate' && resolution !== 'first') {
      throw invalidParameterError("one of 'any-immediate', 'first'", 'routeResolution', resolution);
    }
    this.routeResolution = resolution;
    const first = options.firstSighting ?? 'first-seen';
    if (first !== 'first-seen' && first !== 'entry-count') {
      throw invalidParameterError("one of 'first-seen', 'entry-count'", 'firstSighting', first);
    }
    this.firstSighting = first;
  }

  /**
   * Examine one frame (S1–S7). `tracks` are the tracker's tracks after its
   * update for this frame (tracks not seen in this frame are simply not
   * qualified, S1). Frames must come in increasing imageId and timestamp
   * order: each frame is examined once, which is what makes the S4 mark hold.
   */
  update(frame: SelectorFrame, tracks: readonly Track[]): SelectionResult {
    validateFrame(frame);
    if (this.#lastImageId !== null && frame.imageId <= this.#lastImageId) {
      throw new InvalidStateError(
        `Frame imageId ${frame.imageId} is not after the previous frame's imageId ${this.#lastImageId}`,
      );
    }
    if (this.#lastTimestampNs !== null && frame.timestampNs < this.#lastTimestampNs) {
      throw new InvalidStateError(
        `Frame timestamp ${frame.timestampNs} is before the previous frame's timestamp ${this.#lastTimestampNs}`,
      );
    }
    this.#lastImageId = frame.imageId;
    this.#lastTimestampNs = frame.timestampNs;

    const selections: TrackSelection[] = [];
    const seen = new Set<number>();
    let marked = false; // S4 upload mark of this frame
    let route: Route = 'cached';
    for (const track of tracks) {
      if (seen.has(track.trackId)) {
        throw new InvalidStateError(`Track ${track.trackId} is listed twice for frame ${frame.imageId}`);
      }
      seen.add(track.trackId);
      const previous = this.#bests.get(track.trackId) ?? null;
      const n = this.firstSighting === 'first-seen' && previous === null ? 1 : track.entries.length;
      if (!qualifies(track, frame.timestampNs, this.params, n)) continue; // S1
      const e = track.entries[track.entries.length - 1]!; // qualifies (S1) saw this frame's entry
      // S2 with S6: p is the entry at the previous best's timestamp, kept here (S7).
      if (!isBetterOrFirst(e, previous?.entry, frame.width, frame.height, this.params)) continue;
      const best: BestImage = { imageId: frame.imageId, timestampNs: frame.timestampNs, entry: e };
      this.#bests.set(track.trackId, best); // S4: the best becomes this frame, marked or not
      const trackRoute = routeFor(e, frame.width, frame.height, this.params); // S5
      selections.push({ trackId: track.trackId, previous, best, route: trackRoute });
      if (!marked) {
        marked = true;
        route = trackRoute;
      } else if (this.routeResolution === 'any-immediate' && trackRoute === 'immediate') {
        route = 'immediate';
      }
    }
    const upload: FrameUpload | null = marked
      ? { imageId: frame.imageId, timestampNs: frame.timestampNs, route, trackIds: selections.map((s) => s.trackId) }
      : null;
    return { imageId: frame.imageId, timestampNs: frame.timestampNs, upload, selections };
  }

  /**
   * Track end: forget the S7 state of these tracks (the tracker removed them).
   * Returns the bests that were forgotten, so the caller can release their
   * frames (A5). Unknown ids are ignored.
   */
  forget(trackIds: Iterable<number>): { trackId: number; best: BestImage }[] {
    const out: { trackId: number; best: BestImage }[] = [];
    for (const trackId of trackIds) {
      const best = this.#bests.get(trackId);
      if (best === undefined) continue;
      this.#bests.delete(trackId);
      out.push({ trackId, best });
    }
    return out;
  }

  /** Forget every track not in `liveTrackIds` (alternative to {@link forget}). */
  retainOnly(liveTrackIds: Iterable<number>): { trackId: number; best: BestImage }[] {
    const live = new Set(liveTrackIds);
    return this.forget([...this.#bests.keys()].filter((id) => !live.has(id)));
  }

  /** S7: the current best of a track, if any. */
  bestOf(trackId: number): BestImage | undefined {
    return this.#bests.get(trackId);
  }

  /** Ids of the tracks that have a best. */
  trackIds(): number[] {
    return [...this.#bests.keys()];
  }

  /** Number of tracks with a best. */
  get size(): number {
    return this.#bests.size;
  }

  /** Forget everything (new stream); returns the forgotten bests. */
  reset(): { trackId: number; best: BestImage }[] {
    const out = this.forget([...this.#bests.keys()]);
    this.#lastImageId = null;
    this.#lastTimestampNs = null;
    return out;
  }
}
