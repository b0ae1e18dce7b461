/**
 * ByteTrack (Zhang et al., ECCV 2022), after ifzhang/ByteTrack
 * yolox/tracker/byte_tracker.py, made class-group-aware (T1), with oriented
 * boxes (T2) and track entries (T3). The numbered steps follow upstream's
 * update(). Options add, each on its own: OC-SORT's observation-centric
 * momentum, re-update and recovery (Cao et al., CVPR 2023,
 * noahcao/OC_SORT), BoT-SORT's width/height Kalman state (Aharon et al.
 * 2022, NirAharon/BoT-SORT) and a new-track rule against duplicate boxes;
 * see docs/tracking.md for what each contributes.
 *
 * Differences from upstream, all deliberate: matching never crosses class
 * groups (T1); IoU has no "+1 pixel" term (cython_bbox adds one); removed tracks are
 * forgotten instead of kept in an ever-growing list (upstream only uses that
 * list to subtract it from the lost list); ids come from an injected
 * allocator; the frame counter is the number of update() calls, or, with
 * `framePeriodNs`, of frame periods between the frames — the capture grid's
 * ticks where the frames carry them, else their timestamps (frames dropped
 * upstream still count, src/track/frame-steps.ts).
 */
import { invalidParameterError } from '../errors.js';
import type { Box, FrameDetections, GridTick, WorldPosition } from '../types.js';
import { type AssignmentResult, linearAssignment } from './assignment.js';
import { type IdAllocator, createIdAllocator } from './ids.js';
import { boxIou } from '../geometry/box.js';
import { type GroupOf, createGroupOf } from './class-groups.js';
import { addScoreCue, addSimilarityBoost, depthLevels, detectionBoost, gateLost } from './cues.js';
import { framePeriodsBetween, framePeriodsSince } from './frame-steps.js';
import { addMomentum, iouCost, lastObservationCost } from './matching.js';
import { type ResolvedTrackerOptions, type TrackerOptions, resolveTrackerOptions } from './options.js';
import { TrackState } from './track-state.js';

export interface TrackerDeps {
  /** Id source for this camera (default: a counter from 1 owned by this tracker). */
  ids?: IdAllocator;
  /** W1: ground position of a matched box; its result goes into the entry. */
  project?: (box: Box, frame: FrameDetections) => WorldPosition | null;
}

export class ByteTracker {
  readonly options: ResolvedTrackerOptions;
  private readonly ids: IdAllocator;
  private readonly project: ((box: Box, frame: FrameDetections) => WorldPosition | null) | undefined;
  private readonly groupOf: GroupOf;
  private tracked: TrackState[] = [];
  private lost: TrackState[] = [];
  private frameId = 0;
  /** Timestamp of the last frame given to update() (framePeriodNs: frame periods since it). */
  private lastTimestampNs: bigint | undefined;
  /** Capture-grid tick of the last frame given to update(), if it carried one (framePeriodNs: ticks since it). */
  private lastGridTick: GridTick | undefined;
  private removedLast: TrackState[] = [];
  /** Scratch for cost matrices, grown as needed (no garbage per frame). */
  private scratch = new Float64Array(1024);

  constructor(options: TrackerOptions = {}, deps: TrackerDeps = {}) {
    this.options = resolveTrackerOptions(options);
    this.ids = deps.ids ?? createIdAllocator();
    this.project = deps.project;
    this.groupOf = createGroupOf(this.options.classGroups);
  }

  /** Frames since construction or reset(): update() calls, or with framePeriodNs the frame periods they span. */
  get frameCount(): number {
    return this.frameId;
  }

  /** All live tracks: tracked (confirmed or not) and lost. */
  get liveTracks(): readonly TrackState[] {
    return [...this.tracked, ...this.lost];
  }

  /** Tracks removed by the last update() (lost for longer than the buffer, or never confirmed). */
  get removedTracks(): readonly TrackState[] {
    return this.removedLast;
  }

  /**
   * Forget every track and restart the frame counter. Ids keep coming from
   * the same allocator, so an id is never reused (data model).
   */
  reset(): void {
    this.tracked = [];
    this.lost = [];
    this.removedLast = [];
    this.frameId = 0;
    this.lastTimestampNs = undefined;
    this.lastGridTick = undefined;
  }

  /**
   * Associate one frame's detections (T1–T3). Returns the confirmed tracks
   * matched in this frame — each has an entry with this frame's timestamp as
   * its last entry — like upstream's output_stracks.
   */
  update(frame: FrameDetections): TrackState[] {
    const o = this.options;
    const boxes = frame.boxes;
    if (!Array.isArray(boxes)) throw invalidParameterError('array', 'frame.boxes', boxes);
    const tick = frame.gridTick;
    if (tick !== undefined && !(Number.isSafeInteger(tick.index) && tick.index >= 0 && Number.isSafeInteger(tick.grid))) {
      throw invalidParameterError('{ grid, index } of integers, index ≥ 0', 'frame.gridTick', tick);
    }
    // T2/A5: the frames since the last frame (1 per call without framePeriodNs, or with no frame dropped)
    // for the frame counter (the lost-track buffer, track ages): the grid's ticks when both frames carry
    // one of the same grid, else the timestamps. The Kalman prediction steps by the time that passed
    // instead: a 12.5 fps source on the 10 Hz grid moves 1.6 periods in its 160 ms gaps with no tick
    // missed, and a 7 fps one the same distance every frame while its ticks go 1, 2, 1, 2 (predicted
    // by ticks, PETS09-S2L1 split 40 % of its objects instead of 23 %: docs/tracking.md).
    const steps = framePeriodsSince(this.lastGridTick, tick, this.lastTimestampNs, frame.timestampNs, o.framePeriodNs);
    const motionSteps = tick === undefined ? steps : framePeriodsBetween(this.lastTimestampNs, frame.timestampNs, o.framePeriodNs);
    this.lastTimestampNs = frame.timestampNs;
    this.lastGridTick = tick;
    this.frameId += steps;
    const frameId = this.frameId;
    // A track unmatched for maxTimeLost + 1 periods is removed anyway; predicting further only costs time
    // (a camera that stalled for minutes must not cost minutes of predict steps).
    const predictSteps = Math.min(motionSteps, o.maxTimeLost + 1);
    const removed: TrackState[] = [];
    // T2: a track whose buffer ran out during the dropped frames would have been removed at one of
    // them (upstream removes after that frame's matching), so it may not match this frame. With one
    // step the previous update() already removed every such track.
    if (steps > 1) {
      this.tracked = this.expire(this.tracked, frameId - 1, removed);
      this.lost = this.expire(this.lost, frameId - 1, removed);
    }

    const unconfirmed: TrackState[] = [];
    const confirmed: TrackState[] = [];
    for (const t of this.tracked) (t.isActivated ? confirmed : unconfirmed).push(t);
    const pool = [...confirmed, ...this.lost];
    for (const t of pool) t.predict(frameId, predictSteps);
    // Upstream never predicts an unconfirmed track (it is one frame old); one kept longer by minHits > 2 is.
    for (const t of unconfirmed) if (t.trackletLen > 0) t.predict(frameId, predictSteps);

    // Step 1: split detections by score (BoostTrack's DLO boost may lift a box that overlaps a
    // predicted track into the high set; the box keeps its own score); T1: each box's class group.
    const high: Box[] = [];
    const low: Box[] = [];
    const highGroups: number[] = [];
    const lowGroups: number[] = [];
    for (let k = 0; k < boxes.length; k++) {
      const b = boxes[k]!;
      if (!(b.w > 0) || !(b.h > 0) || !Number.isFinite(b.cx) || !Number.isFinite(b.cy) || !Number.isFinite(b.angle)) {
        throw invalidParameterError('finite box with positive w and h', `frame.boxes[${k}]`, b);
      }
      if (b.score > o.trackThresh || (o.confidenceBoost > 0 && b.score > o.lowThresh && detectionBoost(b, this.groupOf(b), pool, o.confidenceBoost, iouOfTrack) > o.trackThresh)) {
        high.push(b);
        highGroups.push(this.groupOf(b));
      } else if (b.score > o.lowThresh && b.score < o.trackThresh) {
        low.push(b);
        lowGroups.push(this.groupOf(b));
      }
    }

    const activated: TrackState[] = [];
    const refound: TrackState[] = [];
    const newlyLost: TrackState[] = [];
    const matchedBox = new Map<TrackState, Box>();
    const match = (t: TrackState, d: Box): void => {
      const wasTracked = t.state === 'tracked';
      t.match(d, frameId, o.reupdate, o.nsa);
      matchedBox.set(t, d);
      (wasTracked ? activated : refound).push(t);
    };

    // Step 2: first association, high-score detections vs tracked + lost (+ OCM and the cue options).
    const firstThresh = 1 - o.matchThreshold;
    const firstCost = (tracks: readonly TrackState[], dets: readonly Box[], groups: ArrayLike<number>): Float64Array => {
      const c = iouCost(tracks, dets, groups, o.fuseScore, this.scratch, o.heightIou);
      addMomentum(c, tracks, dets, frameId, o.momentum, firstThresh);
      if (o.boost) addSimilarityBoost(c, tracks, dets, frameId, firstThresh, o.fuseScore);
      if (o.scoreCue > 0) addScoreCue(c, tracks, dets, o.scoreCue, firstThresh);
      if (o.lostGate > 0 || o.lostMinScore > 0) gateLost(c, tracks, dets, o.lostGate, o.lostMinScore);
      return c;
    };
    const need = Math.max(pool.length * high.length, pool.length * low.length, this.tracked.length * (high.length + low.length));
    if (need > this.scratch.length) this.scratch = new Float64Array(Math.max(need, 2 * this.scratch.length));
    // Association order of lost tracks (lostMatching): ByteTrack's one joint assignment, or
    // tracked tracks first and lost tracks with the boxes left over (at once, or DeepSORT's cascade).
    let leftoverIdx: number[];
    if (o.lostMatching === 'joint') {
      const first = this.associate(pool, high, highGroups, 1 - o.matchThreshold, firstCost);
      for (const [i, j] of first.matches) match(pool[i]!, high[j]!);
      leftoverIdx = first.unmatchedCols;
    } else {
      const levels: TrackState[][] = [confirmed];
      if (o.lostMatching === 'after') levels.push(this.lost);
      else {
        // DeepSORT's matching cascade: one level per number of frames since the last match, most recent first.
        const byAge = new Map<number, TrackState[]>();
        for (const t of this.lost) {
          const age = frameId - t.frameId;
          const level = byAge.get(age);
          if (level) level.push(t);
          else byAge.set(age, [t]);
        }
        for (const age of [...byAge.keys()].sort((a, b) => a - b)) levels.push(byAge.get(age)!);
      }
      leftoverIdx = high.map((_, j) => j);
      for (const level of levels) {
        if (level.length === 0 || leftoverIdx.length === 0) continue;
        const dets = leftoverIdx.map((j) => high[j]!);
        const groups = leftoverIdx.map((j) => highGroups[j]!);
        const r = linearAssignment(firstCost(level, dets, groups), level.length, dets.length, 1 - o.matchThreshold);
        for (const [i, j] of r.matches) match(level[i]!, dets[j]!);
        leftoverIdx = r.unmatchedCols.map((j) => leftoverIdx[j]!);
      }
    }

    // Step 3: second association, low-score detections vs the remaining tracked tracks (no score fusion).
    const remaining = pool.filter((t) => t.state === 'tracked' && !matchedBox.has(t));
    const secondCost = (tracks: readonly TrackState[], dets: readonly Box[], groups: ArrayLike<number>): Float64Array => {
      const c = iouCost(tracks, dets, groups, false, this.scratch, o.heightIou);
      if (o.scoreCue > 0) addScoreCue(c, tracks, dets, o.scoreCue, 1 - o.lowMatchThreshold);
      return c;
    };
    const second = this.associate(remaining, low, lowGroups, 1 - o.lowMatchThreshold, secondCost);
    for (const [i, j] of second.matches) match(remaining[i]!, low[j]!);
    for (const i of second.unmatchedRows) {
      const t = remaining[i]!;
      if (t.state !== 'lost') {
        t.state = 'lost';
        newlyLost.push(t);
      }
    }

    // OCR (OC-SORT): high detections still unmatched vs the unmatched tracks' last observed boxes.
    if (o.recovery && leftoverIdx.length > 0) {
      const unmatchedTracks = pool.filter((t) => t.state === 'lost' && !matchedBox.has(t));
      if (unmatchedTracks.length > 0) {
        const dets = leftoverIdx.map((j) => high[j]!);
        const groups = leftoverIdx.map((j) => highGroups[j]!);
        const recovered = linearAssignment(lastObservationCost(unmatchedTracks, dets, groups), unmatchedTracks.length, dets.length, 1 - o.matchThreshold);
        for (const [i, j] of recovered.matches) match(unmatchedTracks[i]!, dets[j]!);
        leftoverIdx = recovered.unmatchedCols.map((j) => leftoverIdx[j]!);
      }
    }

    // Unconfirmed tracks (one frame old) vs the high detections left over.
    const leftover = leftoverIdx.map((j) => high[j]!);
    const leftoverGroups = leftoverIdx.map((j) => highGroups[j]!);
    const cost = iouCost(unconfirmed, leftover, leftoverGroups, o.fuseScore, this.scratch);
    const third = linearAssignment(cost, unconfirmed.length, leftover.length, 1 - o.unconfirmedMatchThreshold);
    for (const [i, j] of third.matches) match(unconfirmed[i]!, leftover[j]!);
    for (const i of third.unmatchedRows) {
      const t = unconfirmed[i]!;
      t.state = 'removed';
      removed.push(t);
    }

    // Step 4: new tracks from confident unmatched detections (T2: fresh unique trackId),
    // except a box that duplicates one matched in this frame (new-track rule, see duplicateIou).
    const births: Array<[Box, number]> = [];
    for (const j of third.unmatchedCols) {
      const d = leftover[j]!;
      const group = leftoverGroups[j]!;
      if (d.score < o.newTrackThresh && o.tentativeMinHits === 0) continue;
      if (o.duplicateIou < 1 && this.duplicates(d, group, matchedBox, births, o.duplicateIou)) continue;
      births.push([d, group]);
    }
    for (const [d, group] of births) {
      // Graded new-track rule: a box below newTrackThresh starts a tentative track.
      const minHits = d.score < o.newTrackThresh ? o.tentativeMinHits : o.minHits;
      const t = new TrackState(this.ids.next(), d, frameId, { group, layout: o.kalman, deltaT: o.momentumDeltaT, minHits });
      matchedBox.set(t, d);
      activated.push(t);
    }

    // Step 5: remove tracks lost for longer than the buffer (T2).
    for (const t of this.lost) {
      if (t.state === 'lost' && frameId - t.frameId > this.lostLimit(t)) {
        t.state = 'removed';
        removed.push(t);
      }
    }

    // Update the lists as upstream (joint/sub_stracks by identity).
    const trackedSet = new Set<TrackState>();
    for (const t of this.tracked) if (t.state === 'tracked') trackedSet.add(t);
    for (const t of activated) trackedSet.add(t);
    for (const t of refound) trackedSet.add(t);
    const lostSet = new Set<TrackState>();
    for (const t of this.lost) if (!trackedSet.has(t) && t.state === 'lost') lostSet.add(t);
    for (const t of newlyLost) if (t.state === 'lost') lostSet.add(t);
    let tracked = [...trackedSet];
    let lost = [...lostSet];
    [tracked, lost] = removeDuplicates(tracked, lost, removed);
    this.tracked = tracked;
    this.lost = lost;
    this.removedLast = removed;

    // T3: every matched box becomes an entry (with W1's world position) of its track.
    for (const [t, box] of matchedBox) {
      if (t.state !== 'tracked') continue;
      t.addEntry(
        {
          timestampNs: frame.timestampNs,
          imageId: frame.imageId,
          exposureMode: frame.exposureMode,
          cameraPosition: frame.cameraPosition,
          box,
          worldPosition: this.project ? this.project(box, frame) : null,
        },
        o.maxEntriesPerTrack,
      );
    }

    const out: TrackState[] = [];
    for (const t of this.tracked) {
      if (!t.isActivated) continue;
      if (o.minBoxArea > 0) {
        const b = t.box;
        if (b.w * b.h <= o.minBoxArea) continue;
      }
      out.push(t);
    }
    return out;
  }

  /**
   * One association (T2): the thresholded optimal assignment of `costOf`'s
   * matrix, or, with depthLevels > 1, SparseTrack's depth cascade matching
   * (DCM): tracks (predicted boxes) and boxes are each cut into pseudo-depth
   * levels, and level k's tracks and boxes, plus those left unmatched by
   * level k − 1, are matched before level k + 1. Indices refer to `tracks` and `dets`.
   */
  private associate(
    tracks: readonly TrackState[],
    dets: readonly Box[],
    groups: readonly number[],
    thresh: number,
    costOf: (tracks: readonly TrackState[], dets: readonly Box[], groups: ArrayLike<number>) => Float64Array,
  ): AssignmentResult {
    const levels = this.options.depthLevels;
    if (levels <= 1 || tracks.length === 0 || dets.length === 0) return linearAssignment(costOf(tracks, dets, groups), tracks.length, dets.length, thresh);
    const trackLevel = depthLevels(tracks.map((t) => t.mean[1]! + t.mean[3]! / 2), levels);
    const detLevel = depthLevels(dets.map((d) => d.cy + d.h / 2), levels);
    const result: AssignmentResult = { matches: [], unmatchedRows: [], unmatchedCols: [] };
    let rows: number[] = [];
    let cols: number[] = [];
    for (let level = 0; level < levels; level++) {
      for (let i = 0; i < tracks.length; i++) if (trackLevel[i] === level) rows.push(i);
      for (let j = 0; j < dets.length; j++) if (detLevel[j] === level) cols.push(j);
      if (rows.length === 0 || cols.length === 0) continue;
      const r = linearAssignment(
        costOf(rows.map((i) => tracks[i]!), cols.map((j) => dets[j]!), cols.map((j) => groups[j]!)),
        rows.length,
        cols.length,
        thresh,
      );
      for (const [i, j] of r.matches) result.matches.push([rows[i]!, cols[j]!]);
      rows = r.unmatchedRows.map((i) => rows[i]!);
      cols = r.unmatchedCols.map((j) => cols[j]!);
    }
    result.unmatchedRows = rows;
    result.unmatchedCols = cols;
    return result;
  }

  /** Frames a lost track survives (T2's buffer; with hitLifetime, at most its matched frames). */
  private lostLimit(t: TrackState): number {
    return this.options.hitLifetime ? Math.min(this.options.maxTimeLost, t.hits) : this.options.maxTimeLost;
  }

  /** Confirmed tracks unmatched for more than maxTimeLost frames at `lastFrame` move to `removed` (T2); the rest are returned. */
  private expire(tracks: TrackState[], lastFrame: number, removed: TrackState[]): TrackState[] {
    return tracks.filter((t) => {
      if (!t.isActivated || lastFrame - t.frameId <= this.lostLimit(t)) return true;
      t.state = 'removed';
      removed.push(t);
      return false;
    });
  }

  /** New-track rule: `d` overlaps a box matched (or born) in this frame of its class group by IoU above `maxIou`. */
  private duplicates(d: Box, group: number, matched: ReadonlyMap<TrackState, Box>, births: ReadonlyArray<[Box, number]>, maxIou: number): boolean {
    for (const [t, b] of matched) if (t.group === group && boxIou(b, d) > maxIou) return true;
    for (const [b, g] of births) if (g === group && boxIou(b, d) > maxIou) return true;
    return false;
  }
}

/** IoU of a track's predicted box with a box (BoostTrack's DLO boost). */
const iouOfTrack = (t: TrackState, d: Box): number => boxIou(t.box, d);

/**
 * Upstream remove_duplicate_stracks: a tracked and a lost track of the same
 * class group overlapping with IoU > 0.85 are one object; the one with the
 * shorter history is dropped (and reported as removed).
 */
function removeDuplicates(tracked: TrackState[], lost: TrackState[], removed: TrackState[]): [TrackState[], TrackState[]] {
  if (tracked.length === 0 || lost.length === 0) return [tracked, lost];
  const dropA = new Set<number>();
  const dropB = new Set<number>();
  for (let p = 0; p < tracked.length; p++) {
    const a = tracked[p]!;
    for (let q = 0; q < lost.length; q++) {
      const b = lost[q]!;
      if (a.group !== b.group || !(boxIou(a.box, b.box) > 0.85)) continue;
      const timeP = a.frameId - a.startFrame;
      const timeQ = b.frameId - b.startFrame;
      if (timeP > timeQ) dropB.add(q);
      else dropA.add(p);
    }
  }
  if (dropA.size === 0 && dropB.size === 0) return [tracked, lost];
  const keepA = tracked.filter((t, i) => {
    if (!dropA.has(i)) return true;
    t.state = 'removed';
    removed.push(t);
    return false;
  });
  const keepB = lost.filter((t, i) => {
    if (!dropB.has(i)) return true;
    t.state = 'removed';
    removed.push(t);
    return false;
  });
  return [keepA, keepB];
}

