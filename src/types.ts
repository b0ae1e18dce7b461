/**
 * The data model of SPEC.md ("Data model"). Shared by every stage; kept free
 * of pixels where it can be so frames move as ids, not buffers (STYLE 8).
 * Timestamps are nanoseconds as bigint: wall-clock ns exceed 2^53.
 */

export type ExposureMode = 'auto' | 'manual';

/** How an upload travels (S5): sent now (U1) or appended to the cache queue (U2). Selection decides it, upload carries it out. */
export type Route = 'immediate' | 'cached';

/** WGS84 position of the camera plus its heading (degrees clockwise from north). */
export interface CameraPosition {
  lat: number;
  lon: number;
  alt: number;
  heading: number;
}

/** Exposure state a frame was taken with (A1–A5). */
export interface ExposureInfo {
  mode: ExposureMode;
  exposureTimeUs: number;
  /** Analog gain (linear) or ISO, whatever the back end reports. */
  gain: number;
}

/** A detection box (SPEC "Detection box", D1). Pixel units of the full frame. */
export interface Box {
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** Radians, counter-clockwise; 0 for axis-aligned models. */
  angle: number;
  classId: number;
  label: string;
  /** Maximum class probability. */
  score: number;
}

/**
 * A5: the tick of the captureHz grid a frame was taken for. `grid` names the
 * grid (each opening of a camera, each replayed input starts its own, with
 * ticks from 0); `index` counts its ticks. Two frames of one grid are
 * `index` difference periods apart, whatever their timestamps say (a 12.5
 * fps source on a 10 Hz grid has 80 and 160 ms gaps with no tick missed).
 */
export interface GridTick {
  grid: number;
  index: number;
}

/** D2: the boxes of one frame with the frame's identity. */
export interface FrameDetections {
  cameraId: string;
  imageId: number;
  timestampNs: bigint;
  exposureMode: ExposureMode;
  cameraPosition: CameraPosition | null;
  width: number;
  height: number;
  boxes: Box[];
  /**
   * The captureHz tick the frame was taken for (A5; absent when unknown).
   * The tracker counts the frame periods since the previous frame by it
   * (T2, src/track/frame-steps.ts), frames dropped after the grid included.
   */
  gridTick?: GridTick;
}

/** W1: ground point of an object. */
export interface WorldPosition {
  lat: number;
  lon: number;
  alt: number;
  /** Offset from the camera in metres, local ENU. */
  east: number;
  north: number;
}

/** T3: one entry per frame in which the object was matched. */
export interface TrackEntry {
  timestampNs: bigint;
  imageId: number;
  exposureMode: ExposureMode;
  cameraPosition: CameraPosition | null;
  box: Box;
  worldPosition: WorldPosition | null;
  /**
   * T1: the track's label when this entry was added — the score-weighted vote
   * over its entries so far (`box` keeps the class detected in this frame).
   * Absent for entries not made by the tracker.
   */
  trackLabel?: { classId: number; label: string };
}

export interface Track {
  /** Unique per camera, never reused. */
  trackId: number;
  classId: number;
  entries: TrackEntry[];
}
