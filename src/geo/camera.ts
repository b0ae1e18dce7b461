/**
 * Pinhole camera with Brown–Conrady distortion on a mount above a flat
 * ground plane (W1).
 *
 * Frames and angles (all documented here once):
 *  - Image: pixel (u, v), u right, v down. Camera axes as OpenCV: x right,
 *    y down, z forward (optical axis).
 *  - World: local ENU at the camera's ground point's vertical — east, north,
 *    up; the camera is `height` metres above the ground plane (up = 0).
 *  - Azimuth of the optical axis = heading (camera position, clockwise from
 *    north) + yaw (clockwise, relative to the vehicle or mount).
 *  - pitch: depression of the optical axis below the horizon (positive looks
 *    down). roll: rotation about the optical axis, positive when the image's
 *    right side is lower (the camera turned clockwise as seen from behind).
 *    Applied in the order yaw → pitch → roll (intrinsic).
 */
import { invalidParameterError, outOfRangeError } from '../errors.js';

export interface Intrinsics {
  fx: number;
  fy: number;
  cx: number;
  cy: number;
}

/** [k1, k2, p1, p2, k3] (OpenCV order); missing trailing terms are 0. */
export type Distortion = readonly number[];

export interface Mount {
  /** Metres above the ground plane. */
  height: number;
  /** Degrees below the horizon. */
  pitch: number;
  /** Degrees, positive = image right side down. */
  roll: number;
  /** Degrees clockwise from the heading. */
  yaw: number;
}

const RAD = Math.PI / 180;

/**
 * Remove lens distortion from a pixel: normalised, undistorted image
 * coordinates (x, y) with z = 1. Fixed-point iteration as OpenCV's
 * undistortPoints, run to convergence (< 1e-14) or 100 steps.
 */
export function undistortPoint(u: number, v: number, k: Intrinsics, d: Distortion = []): [number, number] {
  const x0 = (u - k.cx) / k.fx;
  const y0 = (v - k.cy) / k.fy;
  const k1 = d[0] ?? 0;
  const k2 = d[1] ?? 0;
  const p1 = d[2] ?? 0;
  const p2 = d[3] ?? 0;
  const k3 = d[4] ?? 0;
  if (k1 === 0 && k2 === 0 && p1 === 0 && p2 === 0 && k3 === 0) return [x0, y0];
  let x = x0;
  let y = y0;
  for (let it = 0; it < 100; it++) {
    const r2 = x * x + y * y;
    const icdist = 1 / (1 + ((k3 * r2 + k2) * r2 + k1) * r2);
    const dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
    const dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
    const nx = (x0 - dx) * icdist;
    const ny = (y0 - dy) * icdist;
    const change = Math.abs(nx - x) + Math.abs(ny - y);
    x = nx;
    y = ny;
    if (change < 1e-14) break;
  }
  return [x, y];
}

/** Apply Brown–Conrady distortion to normalised coordinates and map to pixels (the forward model). */
export function distortPoint(x: number, y: number, k: Intrinsics, d: Distortion = []): [number, number] {
  const [k1 = 0, k2 = 0, p1 = 0, p2 = 0, k3 = 0] = d;
  const r2 = x * x + y * y;
  const radial = 1 + ((k3 * r2 + k2) * r2 + k1) * r2;
  const xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
  const yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
  return [k.fx * xd + k.cx, k.fy * yd + k.cy];
}

/**
 * Camera axes in ENU for a mount and heading: rows x, y, z (each [e, n, u]).
 * See the module doc for the conventions.
 */
export function cameraAxes(mount: Mount, headingDeg: number): [[number, number, number], [number, number, number], [number, number, number]] {
  const az = (headingDeg + mount.yaw) * RAD;
  const p = mount.pitch * RAD;
  const r = mount.roll * RAD;
  const f = [Math.sin(az), Math.cos(az), 0];
  const right = [Math.cos(az), -Math.sin(az), 0];
  const sp = Math.sin(p);
  const cp = Math.cos(p);
  const x0 = right;
  const y0 = [-sp * f[0]!, -sp * f[1]!, -cp];
  const z0: [number, number, number] = [cp * f[0]!, cp * f[1]!, -sp];
  const cr = Math.cos(r);
  const sr = Math.sin(r);
  const x: [number, number, number] = [cr * x0[0]! + sr * y0[0]!, cr * x0[1]! + sr * y0[1]!, cr * x0[2]! + sr * y0[2]!];
  const y: [number, number, number] = [-sr * x0[0]! + cr * y0[0]!, -sr * x0[1]! + cr * y0[1]!, -sr * x0[2]! + cr * y0[2]!];
  return [x, y, z0];
}

/**
 * W1: intersect the viewing ray of an undistorted normalised point with the
 * ground plane. Returns [east, north] metres from the point below the camera,
 * or null when the ray does not go down (at or above the horizon).
 */
export function rayToGround(x: number, y: number, mount: Mount, headingDeg: number): [number, number] | null {
  const [ax, ay, az] = cameraAxes(mount, headingDeg);
  const de = x * ax[0] + y * ay[0] + az[0];
  const dn = x * ax[1] + y * ay[1] + az[1];
  const du = x * ax[2] + y * ay[2] + az[2];
  if (!(du < -1e-12)) return null;
  const t = mount.height / -du;
  return [t * de, t * dn];
}

/** W1's ground contact point (a side midpoint) lives with the other box geometry. */
export { groundContactPoint } from '../geometry/box.js';

export function validateIntrinsics(k: unknown, name = 'calibration.intrinsics'): Intrinsics {
  if (typeof k !== 'object' || k === null) throw invalidParameterError('object { fx, fy, cx, cy }', name, k);
  const o = k as Record<string, unknown>;
  for (const key of ['fx', 'fy', 'cx', 'cy']) {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidParameterError('finite number', `${name}.${key}`, v);
    if ((key === 'fx' || key === 'fy') && v <= 0) throw outOfRangeError('positive number', `${name}.${key}`, v);
  }
  return { fx: o.fx as number, fy: o.fy as number, cx: o.cx as number, cy: o.cy as number };
}

export function validateMount(m: unknown, name = 'calibration.mount'): Mount {
  if (typeof m !== 'object' || m === null) throw invalidParameterError('object { height, pitch, roll, yaw }', name, m);
  const o = m as Record<string, unknown>;
  for (const key of ['height', 'pitch', 'roll', 'yaw']) {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidParameterError('finite number', `${name}.${key}`, v);
  }
  if ((o.height as number) <= 0) throw outOfRangeError('positive number', `${name}.height`, o.height);
  return { height: o.height as number, pitch: o.pitch as number, roll: o.roll as number, yaw: o.yaw as number };
}

export function validateDistortion(d: unknown, name = 'calibration.distortion'): Distortion {
  if (!Array.isArray(d) || d.length > 5 || d.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw invalidParameterError('array of up to 5 finite numbers [k1, k2, p1, p2, k3]', name, d);
  }
  return d as number[];
}
