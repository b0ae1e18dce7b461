/**
 * One tracked object: its Kalman state, its lifecycle state, its entries
 * (T3), its class-group label vote (T1) and the observations OC-SORT's
 * stages read (last box, direction of motion, the state to rewind to).
 * Mirrors upstream's STrack; the tracker (byte-tracker.ts) drives the
 * transitions.
 */
import { type OrientedBox, alignAngle } from '../geometry/box.js';
import type { Box, Track, TrackEntry } from '../types.js';
import { type KalmanLayout, VH_INDEX, VW_INDEX, kalmanInitiate, kalmanPredict, kalmanUpdate } from './kalman.js';

export type TrackLifecycle = 'tracked' | 'lost' | 'removed';

/**
 * Measurement vector of a box, its angle aligned to `refAngle`: [x, y, a, h, θ]
 * ('xyah') or [x, y, w, h, θ] ('xywh'); written into `out` when given.
 */
export function boxToMeasurement(box: OrientedBox, refAngle = 0, out: Float64Array = new Float64Array(5), layout: KalmanLayout = 'xyah'): Float64Array {
  const b = alignAngle(box, refAngle);
  out[0] = b.cx;
  out[1] = b.cy;
  out[2] = layout === 'xyah' ? b.w / b.h : b.w;
  out[3] = b.h;
  out[4] = b.angle;
  return out;
}

const measurementScratch = new Float64Array(5);

/** What a track needs to know at birth besides the box. */
export interface TrackInit {
  /** T1 class group of the first box. */
  group: number;
  layout: KalmanLayout;
  /** OCM: frames between the observations the direction of motion is taken from. */
  deltaT: number;
  /**
   * Consecutive matches since birth before the track is confirmed: the
   * tracker's minHits, or tentativeMinHits for a box scored below
   * newTrackThresh (the graded new-track rule). Default 2 (ByteTrack).
   */
  minHits?: number;
}

export class TrackState implements Track {
  readonly trackId: number;
  /** T1: the class group every box of this track belongs to. */
  readonly group: number;
  readonly entries: TrackEntry[] = [];
  state: TrackLifecycle = 'tracked';
  /** Upstream is_activated: confirmed (matched on two frames, or born on the first frame). */
  isActivated: boolean;
  /** Score of the last matched detection. */
  score: number;
  /** Score of the matched detection before the last (= score after the first match); Hybrid-SORT's TCM extrapolates from the two. */
  previousScore: number;
  /** Frame counter of the last match (upstream frame_id / end_frame). */
  frameId: number;
  readonly startFrame: number;
  /** Consecutive matched frames since (re)activation (upstream tracklet_len). */
  trackletLen = 0;
  /** Frames matched in all (birth included): Norfair's hit counter, for TrackerOptions.hitLifetime. */
  hits = 1;
  mean: Float64Array;
  covariance: Float64Array;
  readonly layout: KalmanLayout;
  /** OCR/ORU: the last matched detection box. */
  lastObservation: Box;
  /** OCM: unit direction of motion (x, y) from the observations, (0, 0) until there are two. */
  readonly direction = new Float64Array(2);
  /** OCM: centres of the last deltaT observations with their frames, oldest first. */
  private readonly recent: Array<{ frame: number; cx: number; cy: number }> = [];
  private readonly deltaT: number;
  /** ORU: the state one prediction after the last observation (saved at the first missed frame). */
  private readonly savedMean = new Float64Array(10);
  private readonly savedCovariance = new Float64Array(15);
  private saved = false;
  /** T1 vote: score sum per detected class, with its label. */
  private readonly votes: Array<{ classId: number; label: string; weight: number }> = [];
  private voted = 0;
  /** Consecutive matches since birth that confirm this track (TrackInit.minHits). */
  private readonly minHits: number;

  constructor(trackId: number, detection: Box, frameId: number, init: TrackInit = { group: detection.classId, layout: 'xyah', deltaT: 3 }) {
    this.trackId = trackId;
    this.group = init.group;
    this.layout = init.layout;
    this.deltaT = init.deltaT;
    this.minHits = init.minHits ?? 2;
    this.score = detection.score;
    this.previousScore = detection.score;
    this.frameId = frameId;
    this.startFrame = frameId;
    // Upstream activate(): confirmed at once only on the first frame.
    this.isActivated = frameId === 1;
    const { mean, covariance } = kalmanInitiate(boxToMeasurement(detection, 0, undefined, this.layout), this.layout);
    this.mean = mean;
    this.covariance = covariance;
    this.lastObservation = detection;
    this.observe(detection, frameId);
  }

  /** T1: the track's class, the score-weighted vote over its matched boxes (ties: the class seen first). */
  get classId(): number {
    return this.votes[this.voted]!.classId;
  }

  /** T1: the label of {@link classId}. */
  get label(): string {
    return this.votes[this.voted]!.label;
  }

  /** The filtered box (Kalman mean) — what upstream writes as the track's tlwh. */
  get box(): OrientedBox {
    const m = this.mean;
    const w = this.layout === 'xyah' ? m[2]! * m[3]! : m[2]!;
    return { cx: m[0]!, cy: m[1]!, w, h: m[3]!, angle: m[4]! };
  }

  /**
   * Upstream predict(): a track not currently tracked has its height velocity
   * (and, for 'xywh', its width velocity, as BoT-SORT) zeroed first. `frameId`
   * is the frame being predicted; the first prediction after the last match
   * is what ORU rewinds to. `steps` > 1: frames were dropped before this
   * one (src/track/frame-steps.ts), and the track moves one
   * constant-velocity step per frame period — the same steps, noise
   * included, as if each dropped frame had been processed without a box for
   * this track, except that a tracked track keeps its size velocity (it was
   * not missed, only not looked at).
   */
  predict(frameId = this.frameId + 1, steps = 1): void {
    for (let k = steps - 1; k >= 0; k--) {
      if (this.state !== 'tracked') {
        this.mean[VH_INDEX] = 0;
        if (this.layout === 'xywh') this.mean[VW_INDEX] = 0;
      }
      kalmanPredict(this.mean, this.covariance, this.mean, this.covariance, this.layout);
      if (frameId - k === this.frameId + 1) {
        this.savedMean.set(this.mean);
        this.savedCovariance.set(this.covariance);
        this.saved = true;
      }
    }
  }

  /**
   * Upstream update() (tracked) and re_activate() (lost → tracked, tracklet
   * restarts). With `reupdate` (OC-SORT's ORU) a track matched after a gap
   * of g > 1 frames is rewound to the state predicted one frame after its
   * last observation and re-run through g virtual observations on the
   * straight line from that observation to this box (update, predict, …,
   * update), so the velocity is the one the observations imply. With `nsa`
   * the update's measurement noise is scaled by 1 − detection score (NSA
   * Kalman, see kalmanUpdate); ORU's virtual observations keep the plain noise.
   */
  match(detection: Box, frameId: number, reupdate = false, nsa = false): void {
    const reactivated = this.state !== 'tracked';
    const gap = frameId - this.frameId;
    if (reupdate && gap > 1 && this.saved) {
      this.mean.set(this.savedMean);
      this.covariance.set(this.savedCovariance);
      const a = alignAngle(this.lastObservation, this.mean[4]!);
      const b = alignAngle(detection, this.mean[4]!);
      for (let i = 1; i <= gap; i++) {
        const f = i / gap;
        const virtual: OrientedBox = {
          cx: a.cx + f * (b.cx - a.cx),
          cy: a.cy + f * (b.cy - a.cy),
          w: a.w + f * (b.w - a.w),
          h: a.h + f * (b.h - a.h),
          angle: a.angle + f * (b.angle - a.angle),
        };
        kalmanUpdate(this.mean, this.covariance, boxToMeasurement(virtual, this.mean[4]!, measurementScratch, this.layout), this.mean, this.covariance, this.layout);
        if (i < gap) kalmanPredict(this.mean, this.covariance, this.mean, this.covariance, this.layout);
      }
    } else {
      const m = boxToMeasurement(detection, this.mean[4]!, measurementScratch, this.layout);
      kalmanUpdate(this.mean, this.covariance, m, this.mean, this.covariance, this.layout, nsa ? detection.score : undefined);
    }
    this.trackletLen = reactivated ? 0 : this.trackletLen + 1;
    this.hits++;
    this.state = 'tracked';
    // Confirmed after minHits consecutive matches since birth (ByteTrack: 2;
    // a tentative birth needs more, see TrackInit.minHits).
    this.isActivated = this.isActivated || this.trackletLen + 1 >= this.minHits;
    this.frameId = frameId;
    this.previousScore = this.score;
    this.score = detection.score;
    this.saved = false;
    this.lastObservation = detection;
    this.observe(detection, frameId);
  }

  /**
   * OCM: centre of the observation the direction to a candidate is measured
   * from at `frameId` — the oldest of this track's observations within the
   * last deltaT frames, else its last observation (OC-SORT k_previous_obs).
   */
  anchor(frameId: number): { cx: number; cy: number } {
    for (const o of this.recent) if (o.frame >= frameId - this.deltaT && o.frame < frameId) return o;
    return this.recent[this.recent.length - 1]!;
  }

  /** T3: append an entry, dropping the oldest beyond `max`; it carries the track's vote so far (T1). */
  addEntry(entry: TrackEntry, max: number): void {
    entry.trackLabel = { classId: this.classId, label: this.label };
    this.entries.push(entry);
    while (this.entries.length > max) this.entries.shift();
  }

  /** Record a matched box: T1 vote, OCM direction and recent observations. */
  private observe(box: Box, frameId: number): void {
    let k = this.votes.findIndex((v) => v.classId === box.classId);
    if (k < 0) {
      k = this.votes.length;
      this.votes.push({ classId: box.classId, label: box.label, weight: 0 });
    }
    this.votes[k]!.weight += box.score;
    if (this.votes[k]!.weight > this.votes[this.voted]!.weight) this.voted = k;
    if (this.recent.length > 0) {
      const from = this.anchor(frameId);
      const dx = box.cx - from.cx;
      const dy = box.cy - from.cy;
      const norm = Math.hypot(dx, dy) + 1e-6;
      this.direction[0] = dx / norm;
      this.direction[1] = dy / norm;
    }
    this.recent.push({ frame: frameId, cx: box.cx, cy: box.cy });
    while (this.recent.length > this.deltaT) this.recent.shift();
  }
}
