/**
 * W1: box → ground point → WGS84. `createProjector(calibration)` returns the
 * function the tracker takes as `deps.project` (T3 stores its result in each
 * entry's worldPosition).
 */
import { invalidParameterError, outOfRangeError } from '../errors.js';
import type { Box, CameraPosition, FrameDetections, WorldPosition } from '../types.js';
import {
  type Distortion,
  type Intrinsics,
  type Mount,
  groundContactPoint,
  rayToGround,
  undistortPoint,
  validateDistortion,
  validateIntrinsics,
  validateMount,
} from './camera.js';
import { applyHomography } from './homography.js';
import { enuToGeodetic } from './wgs84.js';

/**
 * Camera calibration (the shape of the config's `calibration` section).
 * Either intrinsics + mount (+ distortion), or a homography (+ optionally
 * intrinsics and distortion to undistort pixels before it).
 */
export interface Calibration {
  intrinsics?: Intrinsics;
  /** [k1, k2, p1, p2, k3]. Default none. */
  distortion?: Distortion;
  /** Mount height (m) and pitch, roll, yaw (degrees); see camera.ts for the conventions. */
  mount?: Mount;
  /**
   * Row-major 3×3 image → ground homography (ground in metres east, north of
   * the point below the camera, in the ENU frame — so for a fixed camera
   * only; see fitGroundHomography). Used instead of the ray model when set.
   */
  homography?: readonly number[] | Float64Array;
  /**
   * Camera position used when a frame carries none (a roadside camera whose
   * position is only in the config). Default none: such frames get null.
   */
  cameraPosition?: CameraPosition;
  /**
   * Ground points farther than this (metres) are dropped (null): near the
   * horizon a pixel spans many metres and the position means little. Default
   * 500. Raise for long-range cameras on flat ground; lower to keep only
   * positions with small pixel-to-metre error.
   */
  maxDistance?: number;
}

export type Projector = (box: Box, frame: FrameDetections) => WorldPosition | null;

/** W1 for an image point: [east, north] metres from the point below the camera, or null. */
export type GroundMapper = (u: number, v: number, headingDeg: number) => [number, number] | null;

export function createGroundMapper(calibration: Calibration): GroundMapper {
  if (typeof calibration !== 'object' || calibration === null) throw invalidParameterError('object', 'calibration', calibration);
  const k = calibration.intrinsics === undefined ? undefined : validateIntrinsics(calibration.intrinsics);
  const d = calibration.distortion === undefined ? [] : validateDistortion(calibration.distortion);
  if (calibration.homography !== undefined) {
    const h = calibration.homography;
    if (h.length !== 9 || !Array.from(h).every((x) => Number.isFinite(x))) {
      throw invalidParameterError('array of 9 finite numbers (row-major 3×3)', 'calibration.homography', h);
    }
    const hh = Float64Array.from(h);
    return (u, v) => {
      if (k && d.length > 0) {
        const [x, y] = undistortPoint(u, v, k, d);
        return applyHomography(hh, k.fx * x + k.cx, k.fy * y + k.cy);
      }
      return applyHomography(hh, u, v);
    };
  }
  if (!k || calibration.mount === undefined) {
    throw new TypeError('Expected calibration.intrinsics and calibration.mount, or calibration.homography');
  }
  const mount = validateMount(calibration.mount);
  return (u, v, heading) => {
    const [x, y] = undistortPoint(u, v, k, d);
    return rayToGround(x, y, mount, heading);
  };
}

/**
 * W1: project a box's ground contact point (bottom centre; lowest edge
 * midpoint for oriented boxes) to the ground plane and then to WGS84 from
 * the frame's camera position (lat, lon, alt of the camera; heading clockwise
 * from north). Returns null when the point is at or above the horizon,
 * farther than maxDistance, or when no camera position is known.
 */
export function createProjector(calibration: Calibration): Projector {
  const mapper = createGroundMapper(calibration);
  const maxDistance = calibration.maxDistance ?? 500;
  if (typeof maxDistance !== 'number' || !(maxDistance > 0)) throw outOfRangeError('positive number', 'calibration.maxDistance', maxDistance);
  const mountHeight = calibration.mount?.height ?? 0;
  return (box, frame) => {
    const position = frame.cameraPosition ?? calibration.cameraPosition;
    if (!position) return null;
    const [u, v] = groundContactPoint(box);
    const ground = mapper(u, v, position.heading);
    if (!ground) return null;
    const [east, north] = ground;
    if (!(Math.hypot(east, north) <= maxDistance)) return null;
    const g = enuToGeodetic(position, east, north, -mountHeight);
    return { lat: g.lat, lon: g.lon, alt: g.alt, east, north };
  };
}
