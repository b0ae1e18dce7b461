/**
 * One tracked object: its Kalman state, its lifecycle state and its entries
 * (T3). Mirrors upstream's STrack; the tracker (byte-tracker.ts) drives the
 * transitions.
 */
import type { Box, Track, TrackEntry } from '../types.js';
import { type OrientedBox, alignAngle } from '../geometry/box.js';
import { VH_INDEX, kalmanInitiate, kalmanPredict, kalmanUpdate } from './kalman.js';

export type TrackLifecycle = 'tracked' | 'lost' | 'removed';

/** Measurement vector [x, y, a, h, θ] of a box, its angle aligned to `refAngle`; written into `out` when given. */
export function boxToMeasurement(box: OrientedBox, refAngle = 0, out: Float64Array = new Float64Array(5)): Float64Array {
  const b = alignAngle(box, refAngle);
  out[0] = b.cx;
  out[1] = b.cy;
  out[2] = b.w / b.h;
  out[3] = b.h;
  out[4] = b.angle;
  return out;
}

const measurementScratch = new Float64Array(5);

export class TrackState implements Track {
  readonly trackId: number;
  readonly classId: number;
  readonly entries: TrackEntry[] = [];
  state: TrackLifecycle = 'tracked';
  /** Upstream is_activated: confirmed (matched on two frames, or born on the first frame). */
  isActivated: boolean;
  /** Score of the last matched detection. */
  score: number;
  /** Frame counter of the last match (upstream frame_id / end_frame). */
  frameId: number;
  readonly startFrame: number;
  /** Consecutive matched frames since (re)activation (upstream tracklet_len). */
  trackletLen = 0;
  mean: Float64Array;
  covariance: Float64Array;

  constructor(trackId: number, detection: Box, frameId: number) {
    this.trackId = trackId;
    this.classId = detection.classId;
    this.score = detection.score;
    this.frameId = frameId;
    this.startFrame = frameId;
    // Upstream activate(): confirmed at once only on the first frame.
    this.isActivated = frameId === 1;
    const { mean, covariance } = kalmanInitiate(boxToMeasurement(detection));
    this.mean = mean;
    this.covariance = covariance;
  }

  /** The filtered box (Kalman mean) — what upstream writes as the track's tlwh. */
  get box(): OrientedBox {
    const m = this.mean;
    return { cx: m[0]!, cy: m[1]!, w: m[2]! * m[3]!, h: m[3]!, angle: m[4]! };
  }

  /** Upstream predict(): a track not currently tracked has its height velocity zeroed first. */
  predict(): void {
    if (this.state !== 'tracked') this.mean[VH_INDEX] = 0;
    kalmanPredict(this.mean, this.covariance);
  }

  /** Upstream update() (tracked) and re_activate() (lost → tracked, tracklet restarts). */
  match(detection: Box, frameId: number): void {
    const reactivated = this.state !== 'tracked';
    kalmanUpdate(this.mean, this.covariance, boxToMeasurement(detection, this.mean[4]!, measurementScratch));
    this.trackletLen = reactivated ? 0 : this.trackletLen + 1;
    this.state = 'tracked';
    this.isActivated = true;
    this.frameId = frameId;
    this.score = detection.score;
  }

  /** T3: append an entry, dropping the oldest beyond `max`. */
  addEntry(entry: TrackEntry, max: number): void {
    this.entries.push(entry);
    while (this.entries.length > max) this.entries.shift();
  }
}
