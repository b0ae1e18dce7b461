/**
 * Kalman filter of ByteTrack (yolox/tracker/kalman_filter.py) as pure
 * functions over Float64Array, extended by an angle for oriented boxes (T2).
 *
 * State (10): [x, y, a, h, θ, vx, vy, va, vh, vθ] — centre, aspect w/h,
 * height, angle and their velocities; constant velocity, dt = 1 frame.
 * Measurement (5): [x, y, a, h, θ].
 *
 * Upstream's matrices are F = [[I, I], [0, I]], H = [I, 0] with diagonal
 * process and measurement noise and a diagonal initial covariance. Under
 * those the covariance stays block-diagonal per coordinate: each of the five
 * coordinates is an independent (position, velocity) filter with a 2×2
 * covariance. Storing the five 2×2 blocks — [Ppp, Ppv, Pvv] per coordinate,
 * 15 numbers — gives the same result as upstream's 8×8 algebra (to rounding)
 * at a fraction of the cost; test/track/kalman.test.ts checks it against a
 * dense implementation. The noise scales with the box height as upstream
 * (std weights 1/20 position, 1/160 velocity). For axis-aligned boxes the
 * angle coordinate stays 0 and does not influence the other four.
 *
 * Layout 'xywh' is BoT-SORT's filter (NirAharon/BoT-SORT
 * tracker/kalman_filter.py): state [x, y, w, h, θ, …] with the width itself
 * filtered instead of the aspect ratio, and noise proportional to the width
 * for x and w and to the height for y and h. Upstream's aspect noise (fixed
 * 1e-2) keeps ByteTrack's box width from following an object that grows or
 * shrinks; BoT-SORT reports better localisation and fewer switches with it.
 * The block structure is the same, so both layouts share these functions.
 */

/** Kalman state layout: ByteTrack's [x, y, aspect, h] or BoT-SORT's [x, y, w, h], each plus an angle. */
export type KalmanLayout = 'xyah' | 'xywh';

export const STATE_DIM = 10;
export const MEAS_DIM = 5;
export const COV_SIZE = 15;

/** Upstream's std weights. */
export const STD_WEIGHT_POSITION = 1 / 20;
export const STD_WEIGHT_VELOCITY = 1 / 160;
/** Aspect-ratio noise, as upstream: initiate/predict position 1e-2, velocity 1e-5; measurement 1e-1. */
const ASPECT_STD_POS = 1e-2;
const ASPECT_STD_VEL = 1e-5;
const ASPECT_STD_MEAS = 1e-1;
/**
 * Angle noise (radians) — our extension for oriented boxes, not in upstream:
 * initial 0.1 rad, process 0.01 rad / 0.001 rad·frame⁻¹, measurement 0.05 rad.
 */
const ANGLE_STD_INIT = 0.1;
const ANGLE_STD_POS = 1e-2;
const ANGLE_STD_VEL = 1e-3;
const ANGLE_STD_MEAS = 5e-2;
const ANGLE_STD_INIT_VEL = 1e-2;

/** Index of the height velocity, zeroed before predicting a lost track (upstream mean_state[7]). */
export const VH_INDEX = 8;
/** Index of the width velocity ('xywh'), zeroed with VH_INDEX for a lost track as BoT-SORT does. */
export const VW_INDEX = 7;

/** Position and velocity std of coordinate i for a box of width w and height h (initiate/predict). */
function processStd(i: number, w: number, h: number, layout: KalmanLayout): [number, number] {
  if (i === 4) return [ANGLE_STD_POS, ANGLE_STD_VEL];
  if (layout === 'xyah') {
    if (i === 2) return [ASPECT_STD_POS, ASPECT_STD_VEL];
    return [STD_WEIGHT_POSITION * h, STD_WEIGHT_VELOCITY * h];
  }
  const scale = i === 0 || i === 2 ? w : h;
  return [STD_WEIGHT_POSITION * scale, STD_WEIGHT_VELOCITY * scale];
}

/** Width of a state or measurement vector in either layout. */
function widthOf(v: ArrayLike<number>, layout: KalmanLayout): number {
  return layout === 'xyah' ? v[2]! * v[3]! : v[2]!;
}

/**
 * Create the mean and covariance of a new track from a measurement
 * [x, y, a, h, θ] ('xyah') or [x, y, w, h, θ] ('xywh') (upstream initiate:
 * twice the position std, ten times the velocity std; fixed aspect terms).
 */
export function kalmanInitiate(measurement: ArrayLike<number>, layout: KalmanLayout = 'xyah'): { mean: Float64Array; covariance: Float64Array } {
  const mean = new Float64Array(STATE_DIM);
  for (let i = 0; i < MEAS_DIM; i++) mean[i] = measurement[i]!;
  const w = widthOf(measurement, layout);
  const h = measurement[3]!;
  const covariance = new Float64Array(COV_SIZE);
  for (let i = 0; i < MEAS_DIM; i++) {
    let sp: number;
    let sv: number;
    if (i === 4) [sp, sv] = [ANGLE_STD_INIT, ANGLE_STD_INIT_VEL];
    else if (layout === 'xyah' && i === 2) [sp, sv] = [ASPECT_STD_POS, ASPECT_STD_VEL];
    else {
      const [p, v] = processStd(i, w, h, layout);
      [sp, sv] = [2 * p, 10 * v];
    }
    covariance[3 * i] = sp * sp;
    covariance[3 * i + 1] = 0;
    covariance[3 * i + 2] = sv * sv;
  }
  return { mean, covariance };
}

/**
 * One constant-velocity step (upstream predict): x ← F x, P ← F P Fᵀ + Q,
 * Q from the box size before the step. Writes into outMean/outCov (default:
 * in place) and returns them.
 */
export function kalmanPredict(
  mean: Float64Array,
  covariance: Float64Array,
  outMean: Float64Array = mean,
  outCov: Float64Array = covariance,
  layout: KalmanLayout = 'xyah',
): { mean: Float64Array; covariance: Float64Array } {
  const w = widthOf(mean, layout);
  const h = mean[3]!;
  for (let i = 0; i < MEAS_DIM; i++) {
    const [qp, qv] = processStd(i, w, h, layout);
    const v = mean[5 + i]!;
    outMean[i] = mean[i]! + v;
    outMean[5 + i] = v;
    const ppp = covariance[3 * i]!;
    const ppv = covariance[3 * i + 1]!;
    const pvv = covariance[3 * i + 2]!;
    outCov[3 * i] = ppp + 2 * ppv + pvv + qp * qp;
    outCov[3 * i + 1] = ppv + pvv;
    outCov[3 * i + 2] = pvv + qv * qv;
  }
  return { mean: outMean, covariance: outCov };
}

/**
 * Correct with a measurement in the layout's order (upstream update: project
 * with R from the predicted size, gain K = P Hᵀ S⁻¹, x ← x + K (z − H x),
 * P ← P − K S Kᵀ). Writes into outMean/outCov (default: in place). With a
 * `confidence` (the detection score) the measurement noise is NSA's
 * (Du et al., GIAOTracker, ICCVW 2021; StrongSORT's kalman_filter.project):
 * each measurement std is multiplied by 1 − confidence, so a confident box
 * pulls the state harder than a doubtful one.
 */
export function kalmanUpdate(
  mean: Float64Array,
  covariance: Float64Array,
  measurement: ArrayLike<number>,
  outMean: Float64Array = mean,
  outCov: Float64Array = covariance,
  layout: KalmanLayout = 'xyah',
  confidence?: number,
): { mean: Float64Array; covariance: Float64Array } {
  const w = widthOf(mean, layout);
  const h = mean[3]!;
  // NSA (GIAOTracker; StrongSORT's project()): every measurement std × (1 − detection score).
  const nsa = confidence === undefined ? 1 : 1 - Math.min(1, Math.max(0, confidence));
  for (let i = 0; i < MEAS_DIM; i++) {
    const scale = layout === 'xywh' && (i === 0 || i === 2) ? w : h;
    const r = nsa * (i === 4 ? ANGLE_STD_MEAS : layout === 'xyah' && i === 2 ? ASPECT_STD_MEAS : STD_WEIGHT_POSITION * scale);
    const ppp = covariance[3 * i]!;
    const ppv = covariance[3 * i + 1]!;
    const pvv = covariance[3 * i + 2]!;
    const s = ppp + r * r;
    const kp = ppp / s;
    const kv = ppv / s;
    const innovation = measurement[i]! - mean[i]!;
    outMean[i] = mean[i]! + kp * innovation;
    outMean[5 + i] = mean[5 + i]! + kv * innovation;
    outCov[3 * i] = ppp - kp * ppp;
    outCov[3 * i + 1] = ppv - kp * ppv;
    outCov[3 * i + 2] = pvv - kv * ppv;
  }
  return { mean: outMean, covariance: outCov };
}

/** Expand the 15-number block form into the dense 10×10 covariance (row-major), for inspection and tests. */
export function denseCovariance(covariance: Float64Array): Float64Array {
  const out = new Float64Array(STATE_DIM * STATE_DIM);
  for (let i = 0; i < MEAS_DIM; i++) {
    out[i * STATE_DIM + i] = covariance[3 * i]!;
    out[i * STATE_DIM + 5 + i] = covariance[3 * i + 1]!;
    out[(5 + i) * STATE_DIM + i] = covariance[3 * i + 1]!;
    out[(5 + i) * STATE_DIM + 5 + i] = covariance[3 * i + 2]!;
  }
  return out;
}
