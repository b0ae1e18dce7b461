/**
 * The exposure rules as pure functions (A1, A2, A4). The state machine that
 * calls them is controller.ts.
 */
import { outOfRangeError, requireNumber } from '../../errors.js';
import type { CameraCapabilities } from '../control/types.js';
import { yuvCoefficients, type YuvMatrix } from '../yuv.js';

export interface ManualExposureParams {
  /** T_manual, µs. Default 1000: short enough to freeze a car at 50 km/h to ~1 px at 640 px width; shorter needs more gain (noise). */
  manualTimeUs: number;
  /** T_manual_max, µs. Default 4000: how far A4 may lengthen the time when gain is at its maximum (brightness kept, blur grows). */
  manualMaxTimeUs: number;
}

export const DEFAULT_MANUAL_PARAMS: Readonly<ManualExposureParams> = { manualTimeUs: 1000, manualMaxTimeUs: 4000 };

export interface ManualSetting {
  exposureTimeUs: number;
  gain: number;
  /** s_manual of A2 before clamping. */
  wantedGain: number;
  /** A4: which end of the sensor's gain range clamped the gain, if any. */
  gainClamped: 'max' | 'min' | null;
  /** A4: time raised above T_manual (≤ T_manual_max) because gain hit its maximum. */
  timeLengthened: boolean;
  /** Time lowered below T_manual because gain hit its minimum (keeps brightness; less blur). */
  timeShortened: boolean;
  /** Achieved exposure product / AE's product: 1 when brightness is preserved. */
  brightnessRatio: number;
}

export function validateManualParams(p: ManualExposureParams): ManualExposureParams {
  requireNumber('positive number', 'manualTimeUs', p.manualTimeUs);
  requireNumber('positive number', 'manualMaxTimeUs', p.manualMaxTimeUs);
  if (p.manualMaxTimeUs < p.manualTimeUs) {
    throw outOfRangeError(`number >= manualTimeUs (${p.manualTimeUs})`, 'manualMaxTimeUs', p.manualMaxTimeUs);
  }
  return p;
}

/** A2: s_manual = t_ae × s_ae / T_manual (brightness ∝ time × sensitivity is preserved). */
export function manualGain(tAeUs: number, sAe: number, manualTimeUs: number): number {
  return (requireNumber('positive number', 'tAe', tAeUs) * requireNumber('positive number', 'sAe', sAe)) / requireNumber('positive number', 'manualTimeUs', manualTimeUs);
}

/**
 * A2 + A4: the manual setting for an AE reading (t_ae µs, s_ae gain).
 * Gain outside the sensor range is clamped (A4). At the maximum, time grows
 * up to T_manual_max (and the sensor's own maximum) to keep brightness; what
 * is still missing shows as brightnessRatio < 1. At the minimum, time shrinks
 * (down to the sensor minimum) so the image is not brighter than AE's — an
 * addition to the SPEC's text: same brightness, less blur.
 */
export function manualSetting(tAeUs: number, sAe: number, params: ManualExposureParams, caps: CameraCapabilities): ManualSetting {
  validateManualParams(params);
  const product = requireNumber('positive number', 'tAe', tAeUs) * requireNumber('positive number', 'sAe', sAe);
  const [tMin, tMax] = caps.exposureTimeUs;
  const [gMin, gMax] = caps.gain;
  const tManual = Math.min(tMax, Math.max(tMin, params.manualTimeUs));
  const wantedGain = product / tManual;
  let gain = wantedGain;
  let time = tManual;
  let gainClamped: ManualSetting['gainClamped'] = null;
  if (wantedGain > gMax) {
    gain = gMax;
    gainClamped = 'max';
    time = Math.min(product / gMax, params.manualMaxTimeUs, tMax);
  } else if (wantedGain < gMin) {
    gain = gMin;
    gainClamped = 'min';
    time = Math.max(product / gMin, tMin);
  }
  return {
    exposureTimeUs: time,
    gain,
    wantedGain,
    gainClamped,
    timeLengthened: time > tManual,
    timeShortened: time < tManual,
    brightnessRatio: (time * gain) / product,
  };
}

/** One metering sample of the AE settle detector. */
export interface MeterSample {
  meanLuma: number;
  /** Reported time × gain; NaN when the back end does not report it. */
  exposureProduct: number;
}

/**
 * A1/A3 settle test: the last `frames` samples agree within `tolerance`
 * (relative spread, max − min over mean) in mean brightness and, where
 * reported, in exposure product.
 */
export function isAeSettled(samples: readonly MeterSample[], frames: number, tolerance: number): boolean {
  if (samples.length < frames) return false;
  const recent = samples.slice(samples.length - frames);
  const spread = (xs: number[]): number => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    return mean > 0 ? (Math.max(...xs) - Math.min(...xs)) / mean : Infinity;
  };
  if (spread(recent.map((s) => s.meanLuma)) > tolerance) return false;
  const products = recent.map((s) => s.exposureProduct);
  if (products.every((p) => Number.isFinite(p))) return spread(products) <= tolerance;
  return true;
}

/**
 * Mean luma ((B + 2G + R) / 4) of packed BGR/RGB pixels, sampling every
 * `step`-th pixel of every `step`-th row (metering needs no more).
 */
export function meanLuma(pixels: Uint8Array, width: number, height: number, stride = width * 3, step = 4): number {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < height; y += step) {
    const row = y * stride;
    for (let x = 0; x < width; x += step) {
      const i = row + x * 3;
      sum += pixels[i]! + 2 * pixels[i + 1]! + pixels[i + 2]!;
      n++;
    }
  }
  return n > 0 ? sum / (4 * n) : 0;
}

/**
 * {@link meanLuma} of an I420 frame (tight planes), the same (B + 2G + R) / 4
 * of the same samples, each converted from Y'CbCr with the frame's matrix.
 */
export function meanLumaI420(pixels: Uint8Array, width: number, height: number, matrix?: YuvMatrix, step = 4): number {
  const k = yuvCoefficients(matrix);
  const cw = Math.ceil(width / 2);
  const uBase = width * height;
  const vBase = uBase + cw * Math.ceil(height / 2);
  const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);
  let sum = 0;
  let n = 0;
  for (let y = 0; y < height; y += step) {
    const row = y * width;
    const cRow = (y >> 1) * cw;
    for (let x = 0; x < width; x += step) {
      const l = (pixels[row + x]! - k.yOffset) * k.yGain;
      const u = pixels[uBase + cRow + (x >> 1)]! - 128;
      const v = pixels[vBase + cRow + (x >> 1)]! - 128;
      sum += clamp(l + k.bU * u) + 2 * clamp(l - k.gU * u - k.gV * v) + clamp(l + k.rV * v);
      n++;
    }
  }
  return n > 0 ? sum / (4 * n) : 0;
}
