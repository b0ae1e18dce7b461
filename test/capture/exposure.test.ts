/** A1, A2, A4: the exposure rules as pure functions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAeSettled, manualGain, manualSetting, meanLuma } from '../../src/capture/exposure/rules.js';

const caps = { exposureTimeUs: [30, 33000], gain: [1, 16] } as const;
const params = { manualTimeUs: 1000, manualMaxTimeUs: 4000 };

test('A2 s_manual = t_ae × s_ae / T_manual for several AE readings', () => {
  const cases: [number, number, number, number][] = [
    // t_ae µs, s_ae, T_manual µs, s_manual
    [10000, 1, 1000, 10],
    [8000, 1.5, 1000, 12],
    [20000, 0.5, 1000, 10],
    [4000, 2, 500, 16],
    [12500, 1, 2500, 5],
  ];
  for (const [tAe, sAe, tManual, expected] of cases) {
    assert.equal(manualGain(tAe, sAe, tManual), expected);
    const s = manualSetting(tAe, sAe, { manualTimeUs: tManual, manualMaxTimeUs: 4000 }, caps);
    assert.deepEqual(
      { t: s.exposureTimeUs, g: s.gain, clamp: s.gainClamped, ratio: s.brightnessRatio },
      { t: tManual, g: expected, clamp: null, ratio: 1 },
      `AE ${tAe} µs × ${sAe}`,
    );
  }
});

test('A4 gain above the sensor maximum is clamped and time lengthened up to T_manual_max', () => {
  // 20 ms × 2 = 40000: gain 40 wanted, 16 allowed, time 2500 µs keeps brightness.
  const a = manualSetting(20000, 2, params, caps);
  assert.deepEqual([a.exposureTimeUs, a.gain, a.wantedGain, a.gainClamped, a.timeLengthened, a.brightnessRatio], [2500, 16, 40, 'max', true, 1]);
  // 33 ms × 4 = 132000: time stops at T_manual_max = 4000 µs; 64000/132000 of the brightness remains.
  const b = manualSetting(33000, 4, params, caps);
  assert.deepEqual([b.exposureTimeUs, b.gain, b.gainClamped, b.timeLengthened], [4000, 16, 'max', true]);
  assert.ok(Math.abs(b.brightnessRatio - 64000 / 132000) < 1e-12);
  // The sensor's own maximum time also bounds the lengthening.
  const c = manualSetting(33000, 4, { manualTimeUs: 1000, manualMaxTimeUs: 50000 }, { exposureTimeUs: [30, 6000], gain: [1, 16] });
  assert.equal(c.exposureTimeUs, 6000);
});

test('A4 gain below the sensor minimum is clamped; time shortens so brightness is kept', () => {
  const s = manualSetting(500, 1, params, caps);
  assert.deepEqual([s.exposureTimeUs, s.gain, s.wantedGain, s.gainClamped, s.timeShortened, s.brightnessRatio], [500, 1, 0.5, 'min', true, 1]);
  // Down to the sensor's minimum time at most.
  const t = manualSetting(20, 1, params, caps);
  assert.deepEqual([t.exposureTimeUs, t.gain], [30, 1]);
  assert.equal(t.brightnessRatio, 1.5);
});

test('A2 bad readings and parameters give exact errors', () => {
  assert.throws(() => manualGain(0, 1, 1000), { name: 'RangeError', message: 'Expected positive number for tAe but received 0 of type number' });
  assert.throws(() => manualSetting(1000, Number.NaN, params, caps), {
    name: 'TypeError',
    message: 'Expected positive number for sAe but received NaN of type number',
  });
  assert.throws(() => manualSetting(1000, 1, { manualTimeUs: 1000, manualMaxTimeUs: 500 }, caps), {
    name: 'RangeError',
    message: 'Expected number >= manualTimeUs (1000) for manualMaxTimeUs but received 500 of type number',
  });
});

test('A1 settle detection: K frames stable within tolerance in brightness and exposure', () => {
  const s = (meanLuma: number, exposureProduct: number) => ({ meanLuma, exposureProduct });
  const converging = [s(20, 2000), s(80, 8000), s(104, 11000), s(109, 11600), s(110, 11690), s(110, 11695), s(110.2, 11696), s(110.1, 11695)];
  assert.equal(isAeSettled(converging.slice(0, 6), 5, 0.03), false, 'still moving');
  assert.equal(isAeSettled(converging, 5, 0.03), true);
  assert.equal(isAeSettled(converging.slice(-3), 5, 0.03), false, 'fewer than K frames');
  // Brightness stable but exposure still changing (AE trading time for gain): not settled.
  const trading = [s(110, 10000), s(110, 10500), s(110, 11000), s(110, 11500), s(110, 12000)];
  assert.equal(isAeSettled(trading, 5, 0.03), false);
  // Back ends that do not report exposure: brightness alone decides.
  assert.equal(isAeSettled([s(110, NaN), s(111, NaN), s(110, NaN)], 3, 0.03), true);
});

test('meanLuma meters packed BGR with (B + 2G + R) / 4', () => {
  const px = new Uint8Array(8 * 8 * 3);
  for (let i = 0; i < px.length; i += 3) {
    px[i] = 40;
    px[i + 1] = 100;
    px[i + 2] = 200;
  }
  assert.equal(meanLuma(px, 8, 8), 110);
  assert.equal(meanLuma(px, 8, 8, 24, 1), 110);
});
