/** T2: the Kalman filter against hand-computed values and against upstream's dense-matrix algebra. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Matrix, inverse } from 'ml-matrix';
import { denseCovariance, kalmanInitiate, kalmanPredict, kalmanUpdate } from '../../src/track/kalman.js';

const close = (a: number, b: number, tol = 1e-9, what = ''): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what} ${a} vs ${b}`);

test('T2 Kalman initiate/predict/update equal hand-computed values', () => {
  // Box centre (100, 200), aspect 0.5, height 80.
  const { mean, covariance } = kalmanInitiate([100, 200, 0.5, 80, 0]);
  assert.deepEqual(Array.from(mean), [100, 200, 0.5, 80, 0, 0, 0, 0, 0, 0]);
  // Initial std: position 2·h/20 = 8 (var 64), velocity 10·h/160 = 5 (var 25).
  close(covariance[0]!, 64);
  close(covariance[2]!, 25);
  close(covariance[6]!, 1e-4); // aspect 1e-2²
  close(covariance[8]!, 1e-10); // aspect velocity 1e-5²
  kalmanPredict(mean, covariance);
  // Process noise std: h/20 = 4 (var 16), h/160 = 0.5 (var 0.25). P' = F P Fᵀ + Q.
  close(covariance[0]!, 64 + 25 + 16, 1e-12, 'Ppp');
  close(covariance[1]!, 25, 1e-12, 'Ppv');
  close(covariance[2]!, 25.25, 1e-12, 'Pvv');
  // Measurement 10 px to the right; R = (h/20)² = 16, S = 121.
  kalmanUpdate(mean, covariance, [110, 200, 0.5, 80, 0]);
  close(mean[0]!, 100 + (10 * 105) / 121, 1e-12, 'x');
  close(mean[5]!, (10 * 25) / 121, 1e-12, 'vx');
  close(mean[1]!, 200, 1e-12, 'y');
  close(covariance[0]!, (105 * 16) / 121, 1e-12, 'Ppp after');
  close(covariance[1]!, (25 * 16) / 121, 1e-12, 'Ppv after');
  close(covariance[2]!, 25.25 - 625 / 121, 1e-12, 'Pvv after');
  // Constant velocity: the next prediction moves by the estimated velocity.
  const before = mean[0]!;
  kalmanPredict(mean, covariance);
  close(mean[0]!, before + (10 * 25) / 121, 1e-12, 'x predicted');
});

/** Upstream's KalmanFilter (yolox/tracker/kalman_filter.py), dense, extended to 5 measured coordinates. */
class DenseKalman {
  static F = (() => {
    const f = Matrix.eye(10, 10);
    for (let i = 0; i < 5; i++) f.set(i, 5 + i, 1);
    return f;
  })();
  static H = Matrix.eye(5, 10);
  static posStd(h: number): number[] { return [h / 20, h / 20, 1e-2, h / 20, 1e-2]; }
  static velStd(h: number): number[] { return [h / 160, h / 160, 1e-5, h / 160, 1e-3]; }
  static measStd(h: number): number[] { return [h / 20, h / 20, 1e-1, h / 20, 5e-2]; }
  static predict(mean: Matrix, cov: Matrix): [Matrix, Matrix] {
    const h = mean.get(0, 3);
    const q = Matrix.diag([...DenseKalman.posStd(h), ...DenseKalman.velStd(h)].map((s) => s * s));
    return [mean.mmul(DenseKalman.F.transpose()), DenseKalman.F.mmul(cov).mmul(DenseKalman.F.transpose()).add(q)];
  }
  static update(mean: Matrix, cov: Matrix, z: number[]): [Matrix, Matrix] {
    const h = mean.get(0, 3);
    const r = Matrix.diag(DenseKalman.measStd(h).map((s) => s * s));
    const s = DenseKalman.H.mmul(cov).mmul(DenseKalman.H.transpose()).add(r);
    const k = cov.mmul(DenseKalman.H.transpose()).mmul(inverse(s));
    const innov = new Matrix([z]).sub(mean.mmul(DenseKalman.H.transpose()));
    return [mean.add(innov.mmul(k.transpose())), cov.sub(k.mmul(s).mmul(k.transpose()))];
  }
}

test('T2 block-diagonal filter equals the dense 10×10 algebra over a random walk', () => {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const z0 = [320, 240, 0.4, 120, 0.3];
  const { mean, covariance } = kalmanInitiate(z0);
  let dm = new Matrix([Array.from(mean)]);
  let dc = new Matrix(Array.from({ length: 10 }, (_, i) => Array.from(denseCovariance(covariance).subarray(i * 10, i * 10 + 10))));
  for (let step = 0; step < 50; step++) {
    kalmanPredict(mean, covariance);
    [dm, dc] = DenseKalman.predict(dm, dc);
    if (step % 7 !== 3) {
      const z = [320 + step * 3 + 5 * rnd(), 240 + 2 * rnd(), 0.4 + 0.02 * rnd(), 120 + step + 4 * rnd(), 0.3 + 0.01 * step];
      kalmanUpdate(mean, covariance, z);
      [dm, dc] = DenseKalman.update(dm, dc, z);
    }
    for (let i = 0; i < 10; i++) close(mean[i]!, dm.get(0, i), 1e-9, `mean[${i}] step ${step}`);
    const dense = denseCovariance(covariance);
    for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) close(dense[i * 10 + j]!, dc.get(i, j), 1e-8, `P[${i}][${j}] step ${step}`);
  }
});

test('T2 predict and update write to out arrays and leave inputs alone when asked', () => {
  const { mean, covariance } = kalmanInitiate([10, 20, 1, 30, 0]);
  const m0 = Float64Array.from(mean);
  const c0 = Float64Array.from(covariance);
  const outM = new Float64Array(10);
  const outC = new Float64Array(15);
  kalmanPredict(mean, covariance, outM, outC);
  assert.deepEqual(mean, m0);
  assert.deepEqual(covariance, c0);
  assert.notDeepEqual(outC, c0);
});

test('NSA Kalman: the measurement std is scaled by 1 − detection score (GIAOTracker, StrongSORT)', () => {
  const run = (confidence?: number): Float64Array => {
    const { mean, covariance } = kalmanInitiate([100, 200, 0.5, 80, 0]);
    kalmanPredict(mean, covariance);
    kalmanUpdate(mean, covariance, [110, 200, 0.5, 80, 0], mean, covariance, 'xyah', confidence);
    return mean;
  };
  // Predicted Ppp 105; R = ((1 − c)·h/20)²: c = 0.5 → R = 4, S = 109.
  close(run(0.5)[0]!, 100 + (10 * 105) / 109, 1e-12, 'x at score 0.5');
  close(run(0)[0]!, run()[0]!, 1e-12, 'score 0 is the plain filter');
  close(run(1)[0]!, 110, 1e-12, 'score 1 takes the measurement');
  assert.ok(run(0.9)[0]! > run(0.5)[0]!, 'a more confident box pulls harder');
});
