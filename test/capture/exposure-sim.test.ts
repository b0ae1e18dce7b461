/**
 * A1–A5 with the simulated camera: the exposure controller drives the
 * simulated camera's control while frames travel through the appsrc
 * FrameSource, with a controllable clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedCameraControl } from '../../src/capture/control/simulated.js';
import type { CameraControl, ExposureReading } from '../../src/capture/control/types.js';
import { ExposureController, type ExposureEvent } from '../../src/capture/exposure/controller.js';
import { SimulatedCamera, type SimFrame, type SimulatedCameraOptions } from '../../src/capture/sim/camera.js';
import { laneCenterY } from '../../src/capture/sim/scene.js';
import type { ExposureInfo } from '../../src/types.js';
import { leadingEdgeBlur } from './sim-helpers.js';

interface Step {
  sim: SimFrame;
  tag: ExposureInfo;
  nowMs: number;
}

/** A camera + controller harness: each step renders, pushes, pulls and observes one frame. */
async function harness(
  camOptions: SimulatedCameraOptions,
  wrap: (c: SimulatedCameraControl) => CameraControl = (c) => c,
  ctlOptions: { remeterPeriodMs?: number; manualTimeUs?: number; aeSettleMaxFrames?: number } = {},
) {
  const cam = new SimulatedCamera({ width: 320, height: 180, ...camOptions });
  const events: ExposureEvent[] = [];
  const clock = { now: 0 };
  const ctl = new ExposureController({ control: wrap(new SimulatedCameraControl(cam)), clock: () => clock.now, log: (e) => events.push(e), ...ctlOptions });
  await ctl.start();
  const source = cam.openSource();
  const steps: Step[] = [];
  const step = async (advanceMs = 100): Promise<Step> => {
    const sim = cam.step();
    const frame = await source.next();
    assert.ok(frame);
    assert.equal(frame.ptsNs, sim.ptsNs);
    const tag = await ctl.observe(frame);
    const s = { sim, tag, nowMs: clock.now };
    steps.push(s);
    clock.now += advanceMs;
    return s;
  };
  const until = async (pred: () => boolean, max = 60): Promise<void> => {
    for (let i = 0; i < max && !pred(); i++) await step();
    assert.ok(pred(), 'condition not reached');
  };
  return { cam, ctl, events, clock, steps, step, until, close: () => cam.close() };
}

test('A1/A2 AE settles, then manual with s_manual = t_ae × s_ae / T_manual; brightness kept within 5%', async () => {
  const h = await harness({ seed: 11 });
  try {
    await h.until(() => h.ctl.state === 'manual');
    const sw = h.events.find((e) => e.type === 'switch' && e.to === 'manual');
    assert.ok(sw && sw.type === 'switch' && sw.to === 'manual');
    assert.equal(sw.reason, 'settled');
    // t_ae, s_ae are what the camera applied to the last AE frame.
    const lastAe = h.steps.at(-1)!.sim;
    assert.equal(lastAe.exposure.mode, 'auto');
    assert.equal(sw.ae.source, 'reported');
    const expectedGain = (sw.ae.exposureTimeUs * sw.ae.gain) / 1000;
    assert.equal(sw.setting.exposureTimeUs, 1000);
    assert.ok(Math.abs(sw.setting.gain - expectedGain) < 1e-9);
    assert.ok(Math.abs(sw.ae.exposureTimeUs * sw.ae.gain - lastAe.exposure.exposureTimeUs * lastAe.exposure.gain) / (sw.ae.exposureTimeUs * sw.ae.gain) < 0.03);
    const first = await h.step();
    assert.deepEqual(first.sim.exposure, { mode: 'manual', exposureTimeUs: 1000, gain: sw.setting.gain });
    const change = first.sim.meanLuma / lastAe.meanLuma - 1;
    assert.ok(Math.abs(change) < 0.05, `brightness changed by ${(change * 100).toFixed(2)} %`);
    assert.deepEqual(h.events[0], { type: 'switch', to: 'auto', reason: 'start', atMs: 0 });
  } finally {
    h.close();
  }
});

test("A5 'auto' tags on exactly the AE frames (per-frame metadata)", async () => {
  const h = await harness({ seed: 12 }, undefined, { remeterPeriodMs: 3000 });
  try {
    for (let i = 0; i < 80; i++) await h.step();
    assert.ok(h.ctl.stats().remeterings >= 2, 'went through re-metering');
    for (const s of h.steps) assert.deepEqual(s.tag, s.sim.exposure, `frame ${s.sim.index}`);
    const auto = h.steps.filter((s) => s.tag.mode === 'auto').length;
    assert.ok(auto > 10 && auto < 70, `${auto} auto frames`);
    assert.equal(h.ctl.stats().autoFrames, auto);
    assert.equal(h.ctl.stats().manualFrames, 80 - auto);
  } finally {
    h.close();
  }
});

test("A5 without per-frame metadata the tags are conservative: no AE frame is tagged 'manual'", async () => {
  const latency = 2;
  const h = await harness({ seed: 13 }, (c) => ({
    backend: c.backend,
    applyLatencyFrames: latency,
    capabilities: () => c.capabilities(),
    setAuto: () => c.setAuto(),
    setManual: (t, g) => c.setManual(t, g),
    read: () => c.read(),
  }), { remeterPeriodMs: 2000 });
  try {
    for (let i = 0; i < 80; i++) await h.step();
    let late = 0;
    for (const s of h.steps) {
      if (s.sim.exposure.mode === 'auto') assert.equal(s.tag.mode, 'auto', `AE frame ${s.sim.index} tagged manual`);
      else if (s.tag.mode === 'auto') late++;
      else assert.deepEqual(s.tag, s.sim.exposure);
    }
    // Exactly `latency` manual frames per switch are held back as 'auto'.
    assert.equal(late, latency * h.ctl.stats().switchesToManual);
  } finally {
    h.close();
  }
});

test('A3 re-metering on schedule with a controllable clock', async () => {
  const h = await harness({ seed: 14 });
  try {
    await h.until(() => h.ctl.state === 'manual');
    const manualAt = h.steps.at(-1)!.nowMs;
    // 59.9 s later: still manual.
    h.clock.now = manualAt + 59_900;
    let s = await h.step(0);
    assert.equal(h.ctl.state, 'manual');
    assert.equal(s.tag.mode, 'manual');
    // At 60 s: this frame is still manual, then AE takes over.
    h.clock.now = manualAt + 60_000;
    s = await h.step();
    assert.equal(s.tag.mode, 'manual');
    assert.equal(h.ctl.state, 'metering');
    const remeter = h.events.filter((e) => e.type === 'switch' && e.to === 'auto');
    assert.deepEqual(remeter.at(-1), { type: 'switch', to: 'auto', reason: 'remeter', atMs: manualAt + 60_000 });
    s = await h.step();
    assert.equal(s.tag.mode, 'auto');
    assert.equal(s.sim.exposure.mode, 'auto');
    await h.until(() => h.ctl.state === 'manual');
    const st = h.ctl.stats();
    assert.deepEqual([st.remeterings, st.switchesToAuto, st.switchesToManual], [1, 2, 2]);
  } finally {
    h.close();
  }
});

test('A3 aeSettle timeout: AE that never settles is read after 1 s anyway', async () => {
  // An overshooting AE (correction exponent 2.1) oscillates and does not settle.
  const h = await harness({ seed: 15, ae: { damping: 2.1 } });
  try {
    await h.until(() => h.ctl.state === 'manual', 30);
    const sw = h.events.find((e) => e.type === 'switch' && e.to === 'manual');
    assert.ok(sw && sw.type === 'switch' && sw.to === 'manual');
    assert.equal(sw.reason, 'settle-timeout');
    assert.equal(sw.atMs, 1000);
    assert.equal(h.ctl.stats().settleTimeouts, 1);
  } finally {
    h.close();
  }
});

test('A3 aeSettle as a frame count (aeSettleFrames in the config) replaces the 1 s timeout, shorter or longer', async () => {
  for (const frames of [3, 20]) {
    // An AE that never settles: only the count ends the wait. The clock moves 100 ms a frame, so 20 frames is 2 s, past aeSettle's 1 s.
    const h = await harness({ seed: 15, ae: { damping: 2.1 } }, (c) => c, { aeSettleMaxFrames: frames });
    try {
      await h.until(() => h.ctl.state === 'manual', 40);
      const sw = h.events.find((e) => e.type === 'switch' && e.to === 'manual');
      assert.ok(sw && sw.type === 'switch' && sw.to === 'manual');
      assert.equal(sw.reason, 'settle-timeout');
      // Frames still in flight from before the switch to AE do not count (applyLatencyFrames).
      assert.equal(h.steps.length, frames + h.ctl.control.applyLatencyFrames, `${frames} frames`);
    } finally {
      h.close();
    }
  }
});

test('A4 clamping at the sensor limits in a dark and a bright scene, logged and counted', async () => {
  // Dark: AE needs ~20 ms × 4.7; gain 94 wanted, 16 allowed, time stops at 4000 µs.
  const dark = await harness({ seed: 16, fullScaleExposure: 88000 });
  try {
    await dark.until(() => dark.ctl.state === 'manual');
    const last = dark.steps.at(-1)!.sim;
    const clamp = dark.events.find((e) => e.type === 'clamp');
    assert.ok(clamp && clamp.type === 'clamp');
    assert.equal(clamp.setting.gainClamped, 'max');
    assert.equal(clamp.setting.gain, 16);
    assert.equal(clamp.setting.exposureTimeUs, 4000);
    assert.equal(clamp.setting.timeLengthened, true);
    const st = dark.ctl.stats();
    assert.deepEqual([st.gainClampedMax, st.timeLengthened, st.gainClampedMin], [1, 1, 0]);
    const first = await dark.step();
    assert.deepEqual(first.sim.exposure, { mode: 'manual', exposureTimeUs: 4000, gain: 16 });
    // The logged brightness ratio is what the image shows.
    const ratio = first.sim.meanLuma / last.meanLuma;
    assert.ok(Math.abs(ratio - clamp.setting.brightnessRatio) < 0.05, `ratio ${ratio} vs ${clamp.setting.brightnessRatio}`);
  } finally {
    dark.close();
  }
  // Bright: AE picks ~300 µs at gain 1; s_manual < 1 → gain 1, time shortened, brightness kept.
  const bright = await harness({ seed: 17, fullScaleExposure: 300 });
  try {
    await bright.until(() => bright.ctl.state === 'manual');
    const last = bright.steps.at(-1)!.sim;
    const st = bright.ctl.stats();
    assert.equal(st.gainClampedMin, 1);
    assert.equal(st.lastSetting?.gain, 1);
    assert.ok(st.lastSetting!.exposureTimeUs < 1000);
    const first = await bright.step();
    assert.ok(Math.abs(first.sim.meanLuma / last.meanLuma - 1) < 0.05);
  } finally {
    bright.close();
  }
});

test('A2 brightness kept while motion blur of a moving car drops by t_ae / T_manual', async () => {
  const y = laneCenterY(180, 2);
  // A fast car (2000 px/s) so both blur lengths are well above a pixel; no noise.
  const h = await harness({
    seed: 18,
    readNoise: 0,
    objects: [{ id: 1, cls: 'car', x: 20, y, vx: 2000, vy: 0, w: 90, h: 40, color: [0.2, 0.8, 0.9] }],
    fps: 100,
  });
  try {
    await h.until(() => h.ctl.state === 'manual');
    const ae = h.steps.at(-1)!.sim;
    const man = (await h.step()).sim;
    const blurOf = (f: SimFrame): number => {
      const o = f.objects[0]!;
      assert.ok(o.cx - o.w / 2 > 40 && o.cx + o.w / 2 < 320 - 40, `car inside the frame at frame ${f.index} (cx ${o.cx})`);
      const product = f.exposure.exposureTimeUs * f.exposure.gain;
      const sharp = h.cam.render(f.ptsNs, { exposureTimeUs: 0.01, gain: product / 0.01 }).pixels;
      return leadingEdgeBlur(f.pixels, sharp, f.width, o, 40);
    };
    const bAe = blurOf(ae);
    const bMan = blurOf(man);
    const expectedAe = 2000 * ae.exposure.exposureTimeUs * 1e-6;
    const expectedMan = 2000 * man.exposure.exposureTimeUs * 1e-6;
    assert.ok(Math.abs(bAe - expectedAe) < 0.1 * expectedAe, `AE blur ${bAe} vs ${expectedAe}`);
    assert.ok(Math.abs(bMan - expectedMan) < 0.1 * expectedMan + 0.6, `manual blur ${bMan} vs ${expectedMan}`);
    const factor = bAe / bMan;
    const expectedFactor = ae.exposure.exposureTimeUs / man.exposure.exposureTimeUs;
    assert.ok(expectedFactor > 5, `expected factor ${expectedFactor}`);
    assert.ok(Math.abs(factor / expectedFactor - 1) < 0.2, `blur dropped ${factor.toFixed(2)}× (expected ${expectedFactor.toFixed(2)}×)`);
    assert.ok(Math.abs(man.meanLuma / ae.meanLuma - 1) < 0.05);
  } finally {
    h.close();
  }
});

test("A1 back ends that cannot report AE's choice: estimated from brightness with a probe", async () => {
  const h = await harness({ seed: 19 }, (c) => ({
    backend: c.backend,
    applyLatencyFrames: 0,
    capabilities: () => c.capabilities(),
    setAuto: () => c.setAuto(),
    setManual: (t, g) => c.setManual(t, g),
    read: async (): Promise<ExposureReading> => {
      const r = await c.read();
      return r.mode === 'auto' ? { mode: 'auto', exposureTimeUs: NaN, gain: NaN, source: 'unknown' } : { ...r, source: 'requested' };
    },
  }));
  try {
    await h.until(() => h.ctl.state === 'manual');
    const sw = h.events.find((e) => e.type === 'switch' && e.to === 'manual');
    assert.ok(sw && sw.type === 'switch' && sw.to === 'manual');
    assert.equal(sw.ae.source, 'estimated');
    assert.ok(h.events.some((e) => e.type === 'probe'));
    const aeFrames = h.steps.filter((s) => s.sim.exposure.mode === 'auto');
    const truth = aeFrames.at(-1)!.sim.exposure;
    const truthGain = (truth.exposureTimeUs * truth.gain) / 1000;
    assert.ok(Math.abs(sw.setting.gain / truthGain - 1) < 0.05, `estimated ${sw.setting.gain} vs true ${truthGain}`);
    // Probe frames are never offered as manual frames.
    for (const s of h.steps) if (s.sim.exposure.gain !== sw.setting.gain) assert.equal(s.tag.mode, 'auto');
  } finally {
    h.close();
  }
});

test('ExposureController option errors are exact', () => {
  const cam = new SimulatedCamera({ width: 32, height: 32 });
  const control = new SimulatedCameraControl(cam);
  assert.throws(() => new ExposureController({ control, aeSettleFrames: 1 }), {
    name: 'TypeError',
    message: 'Expected integer >= 2 for aeSettleFrames but received 1 of type number',
  });
  assert.throws(() => new ExposureController({ control, aeSettleMaxFrames: 0 }), {
    name: 'TypeError',
    message: 'Expected positive integer for aeSettleMaxFrames but received 0 of type number',
  });
  assert.throws(() => new ExposureController({ control, remeterPeriodMs: -5 }), {
    name: 'RangeError',
    message: 'Expected positive number for remeterPeriodMs but received -5 of type number',
  });
  assert.throws(() => new ExposureController({ control: {} as CameraControl }), {
    name: 'TypeError',
    message: 'Expected CameraControl for control but received a value of type object',
  });
});
