/**
 * Camera control (A6): the one interface the exposure controller (A1–A4)
 * drives, with a back end per camera kind: simulated (exact), Argus
 * (nvarguscamerasrc properties) and V4L2/UVC (v4l2-ctl controls).
 */
import type { ExposureInfo, ExposureMode } from '../../types.js';

export type CameraBackend = 'simulated' | 'argus' | 'v4l2';

/** Ranges the sensor accepts. Values outside are clamped by the back end. */
export interface CameraCapabilities {
  /** Exposure time range, µs [min, max]. */
  exposureTimeUs: readonly [number, number];
  /** Analog gain range, linear [min, max]. */
  gain: readonly [number, number];
}

/**
 * Where a reading's numbers come from:
 * - 'reported': read back from the camera (exact for the simulated camera);
 * - 'requested': what was last set in manual mode (the camera does not report);
 * - 'unknown': AE runs and the platform does not report its choice; the
 *   exposure controller then estimates it from measured brightness.
 */
export type ReadingSource = 'reported' | 'requested' | 'unknown';

export interface ExposureReading {
  mode: ExposureMode;
  exposureTimeUs: number;
  gain: number;
  /** The camera's own AE claims to have converged (informational; not all back ends know). */
  settled?: boolean;
  source: ReadingSource;
}

/** The subset of FrameSource that camera controls need (a fake records calls in tests). */
export interface PropertyTarget {
  setProperty(element: string, name: string, value: string | number | boolean): void;
  getProperty(element: string, name: string): string | null;
}

export interface CameraControl {
  readonly backend: CameraBackend;
  /**
   * Frames between a setting and the first frame that shows it. The
   * controller tags frames in that window 'auto' (conservative) unless the
   * back end reports per-frame exposure.
   */
  readonly applyLatencyFrames: number;
  capabilities(): CameraCapabilities;
  /** A1/A3: hand exposure to the camera's AE. */
  setAuto(): Promise<void>;
  /** A2: fixed exposure time (µs) and gain; clamped to capabilities(). */
  setManual(exposureTimeUs: number, gain: number): Promise<void>;
  read(): Promise<ExposureReading>;
  /** Exact exposure of a delivered frame, where the platform reports it (simulated: always). */
  frameExposure?(frame: { ptsNs: bigint }): ExposureInfo | undefined;
}

export function clampTo(range: readonly [number, number], v: number): number {
  return Math.min(range[1], Math.max(range[0], v));
}
