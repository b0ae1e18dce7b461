/** A6: the simulated camera responds to exposure like a sensor. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedCamera } from '../../src/capture/sim/camera.js';
import { groundTruthBoxes, laneCenterY } from '../../src/capture/sim/scene.js';
import { leadingEdgeBlur, maxOf, meanOfRows } from './sim-helpers.js';

test('A6 brightness doubles when exposure time doubles', () => {
  const cam = new SimulatedCamera({ seed: 3 });
  const t = 500_000_000n;
  const a = cam.render(t, { exposureTimeUs: 2000, gain: 1 });
  const b = cam.render(t, { exposureTimeUs: 4000, gain: 1 });
  assert.ok(maxOf(b.pixels) < 255, 'no saturation at the longer exposure');
  const ratio = b.meanLuma / a.meanLuma;
  assert.ok(Math.abs(ratio - 2) < 0.03, `mean luma ratio ${ratio}`);
  // Same on a static region (sky and buildings), where no object moves.
  const sky = meanOfRows(b.pixels, cam.width, 0, 100) / meanOfRows(a.pixels, cam.width, 0, 100);
  assert.ok(Math.abs(sky - 2) < 0.03, `static region ratio ${sky}`);
  // Gain acts like time: 2000 µs × gain 2 ≈ 4000 µs × gain 1 in brightness.
  const c = cam.render(t, { exposureTimeUs: 2000, gain: 2 });
  assert.ok(Math.abs(c.meanLuma / b.meanLuma - 1) < 0.01, `time × gain product: ${c.meanLuma} vs ${b.meanLuma}`);
});

test('A6 brightness saturates at 255', () => {
  const cam = new SimulatedCamera({ seed: 3 });
  const f = cam.render(0n, { exposureTimeUs: 30000, gain: 8 });
  assert.equal(maxOf(f.pixels), 255);
  assert.ok(f.meanLuma > 240, `mean ${f.meanLuma}`);
});

test('A6 noise sigma grows in proportion to gain at equal brightness', () => {
  const cam = new SimulatedCamera({ seed: 5, readNoise: 1 });
  const sigma = (timeUs: number, gain: number): number => {
    const a = cam.render(100_000_000n, { exposureTimeUs: timeUs, gain });
    const b = cam.render(200_000_000n, { exposureTimeUs: timeUs, gain });
    // Rows 0..100 hold only static background: the difference is noise only.
    let s = 0;
    let n = 0;
    for (let i = 0; i < 100 * cam.width * 3; i++) {
      const d = a.pixels[i]! - b.pixels[i]!;
      s += d * d;
      n++;
    }
    return Math.sqrt(s / n / 2);
  };
  const s2 = sigma(4000, 2);
  const s8 = sigma(1000, 8);
  assert.ok(Math.abs(s2 - 2) < 0.2, `sigma at gain 2: ${s2}`);
  assert.ok(Math.abs(s8 - 8) < 0.6, `sigma at gain 8: ${s8}`);
  assert.ok(Math.abs(s8 / s2 - 4) < 0.4, `ratio ${s8 / s2}`);
});

test('A6 renders are deterministic for a seed and differ across seeds', () => {
  const a = new SimulatedCamera({ seed: 7 }).render(123_000_000n, { exposureTimeUs: 5000, gain: 3 });
  const b = new SimulatedCamera({ seed: 7 }).render(123_000_000n, { exposureTimeUs: 5000, gain: 3 });
  const c = new SimulatedCamera({ seed: 8 }).render(123_000_000n, { exposureTimeUs: 5000, gain: 3 });
  assert.deepEqual(a.pixels, b.pixels);
  assert.notDeepEqual(a.pixels, c.pixels);
});

test('A6 motion blur length equals speed × exposure time', () => {
  const y = laneCenterY(360, 2);
  const cam = new SimulatedCamera({ seed: 2, readNoise: 0, objects: [{ id: 1, cls: 'car', x: 300, y, vx: 800, vy: 0, color: [0.2, 0.8, 0.9] }] });
  const t = 100_000_000n; // car at x = 380
  const sharp = cam.render(t, { exposureTimeUs: 1, gain: 9000 }).pixels;
  for (const timeUs of [2000, 4000, 8000, 16000]) {
    const f = cam.render(t, { exposureTimeUs: timeUs, gain: 9000 / timeUs });
    const o = f.objects[0]!;
    const blur = leadingEdgeBlur(f.pixels, sharp, cam.width, o);
    const expected = (800 * timeUs) / 1e6;
    assert.ok(Math.abs(blur - expected) < 0.1 * expected + 0.6, `T=${timeUs} µs: blur ${blur.toFixed(2)} px, expected ${expected}`);
  }
});

test('A6 ground truth: boxes follow the motion, wrap as new passes, report clipping', () => {
  const cam = new SimulatedCamera({
    objects: [
      { id: 10, cls: 'truck', x: 100, y: 200, vx: 100, vy: 0 },
      { id: 11, cls: 'pedestrian', x: 320, y: 300, vx: 0, vy: -20, w: 20, h: 50 },
    ],
  });
  const f = cam.render(1_000_000_000n);
  const truck = f.objects.find((o) => o.id === 10)!;
  const ped = f.objects.find((o) => o.id === 11)!;
  assert.equal(truck.cls, 'truck');
  assert.ok(Math.abs(truck.cx - 200) < 1e-9 && truck.cy === 200);
  assert.ok(Math.abs(truck.w - 0.24 * 640) < 1e-9 && Math.abs(truck.h - 0.19 * 360) < 1e-9);
  assert.equal(truck.speedPxPerS, 100);
  assert.equal(truck.inFrame, 1);
  assert.deepEqual([ped.cx, ped.cy, ped.w, ped.h, ped.pass], [320, 280, 20, 50, 0]);
  // At t = 5.5 s the truck's centre is at 650: partly outside (clipped).
  const g = cam.render(5_500_000_000n).objects.find((o) => o.id === 10)!;
  const w = 0.24 * 640;
  assert.ok(Math.abs(g.inFrame - (640 - (650 - w / 2)) / w) < 1e-9, `inFrame ${g.inFrame}`);
  // Far later it has re-entered from the left as pass 1.
  const span = 640 + w + 80;
  const h = cam.render(BigInt(Math.round(((span + 100) / 100) * 1e9))).objects.find((o) => o.id === 10)!;
  assert.equal(h.pass, 1);
  assert.ok(Math.abs(h.cx - 200) < 1e-6, `re-entered at ${h.cx}`);
});

test('A6 auto exposure converges to its target; the camera reports what it applied', () => {
  const cam = new SimulatedCamera({ seed: 4 });
  const frames = [];
  for (let i = 0; i < 10; i++) {
    const before = cam.reading();
    const f = cam.capture();
    assert.equal(f.exposure.exposureTimeUs, before.exposureTimeUs);
    assert.equal(f.exposure.gain, before.gain);
    assert.equal(f.exposure.mode, 'auto');
    frames.push(f);
  }
  assert.ok(frames[0]!.meanLuma < 40, 'starts dark (2 ms at gain 1)');
  assert.ok(Math.abs(frames[9]!.meanLuma - 110) < 3, `settles at the target: ${frames[9]!.meanLuma}`);
  assert.equal(frames[9]!.aeSettled, true);
  cam.setManual(1000, 99);
  const m = cam.capture();
  assert.deepEqual(m.exposure, { mode: 'manual', exposureTimeUs: 1000, gain: 16 }, 'gain clamped to the sensor range');
  assert.deepEqual(cam.metadataFor(m.ptsNs)?.exposure, m.exposure);
});

test('A6 frames reach consumers through the appsrc FrameSource with their metadata', async () => {
  const cam = new SimulatedCamera({ width: 320, height: 180, fps: 30, seed: 9 });
  try {
    const source = cam.openSource();
    for (let i = 0; i < 3; i++) {
      const sim = cam.step();
      const frame = await source.next();
      assert.ok(frame);
      assert.equal(frame.width, 320);
      assert.equal(frame.height, 180);
      assert.equal(frame.ptsNs, sim.ptsNs);
      assert.deepEqual(frame.pixels, sim.pixels);
      assert.ok(frame.captureRealtimeNs > 1_600_000_000_000_000_000n, 'wall-clock capture time');
      const meta = cam.metadataFor(frame.ptsNs);
      assert.equal(meta?.index, i);
      assert.deepEqual(meta?.objects, sim.objects);
    }
  } finally {
    cam.close();
  }
});

test('A6 invalid options give exact errors', () => {
  assert.throws(() => new SimulatedCamera({ width: 0 }), { name: 'RangeError', message: 'Expected positive integer for width but received 0 of type number' });
  assert.throws(() => new SimulatedCamera({ fps: Number('x') }), { name: 'TypeError', message: 'Expected positive number for fps but received NaN of type number' });
  assert.throws(() => new SimulatedCamera({ objects: [{ id: 1, cls: 'bus' as 'car', x: 0, y: 0, vx: 0, vy: 0 }] }), {
    name: 'TypeError',
    message: "Expected one of 'car', 'truck', 'bicycle', 'pedestrian' for objects[0].cls but received 'bus' of type string",
  });
  assert.throws(() => new SimulatedCamera({ capabilities: { exposureTimeUs: [100, 10], gain: [1, 2] } }), {
    name: 'TypeError',
    message: 'Expected [min, max] with 0 < min <= max for capabilities.exposureTimeUs but received an array',
  });
});

test('A6 ground truth as COCO detection boxes, clipped to the image', () => {
  const objects = [
    { id: 1, pass: 0, cls: 'car' as const, cx: 20, cy: 100, w: 80, h: 40, inFrame: 0.75, occluded: 0, speedPxPerS: 0, vx: 0, vy: 0 },
    { id: 2, pass: 0, cls: 'pedestrian' as const, cx: -30, cy: 100, w: 20, h: 50, inFrame: 0, occluded: 0, speedPxPerS: 0, vx: 0, vy: 0 },
  ];
  assert.deepEqual(groundTruthBoxes(objects, 640, 360), [{ cx: 30, cy: 100, w: 60, h: 40, angle: 0, classId: 2, label: 'car', score: 1 }]);
});
