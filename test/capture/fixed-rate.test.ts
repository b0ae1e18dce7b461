/** A5: fixed-rate capture, persistent imageIds, exposure tags and positions on frames. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SimulatedCameraControl } from '../../src/capture/control/simulated.js';
import { ExposureController } from '../../src/capture/exposure/controller.js';
import { FixedRateCapture, StreamGrid, TickGrid, capturePeriodNs, framesSkippedBetween, type CaptureClock, type FrameSourceLike } from '../../src/capture/fixed-rate.js';
import type { CapturedFrame } from '../../src/capture/frame-source.js';
import { ImageIdAllocator } from '../../src/capture/image-ids.js';
import { CameraClock } from '../../src/capture/timestamps.js';
import { FixedPosition } from '../../src/capture/position/fixed.js';
import { SimulatedCamera } from '../../src/capture/sim/camera.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-ids-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('A5 imageIds are monotonic and never reused across restarts', () => {
  const stateDir = join(dir, 'restart');
  const seen: number[] = [];
  for (const count of [5, 1, 12, 0, 7]) {
    const ids = ImageIdAllocator.open({ stateDir, cameraId: 'cam-1', blockSize: 4 });
    for (let i = 0; i < count; i++) seen.push(ids.next());
    // The persisted high-water mark always covers every id handed out.
    if (count > 0) {
      const state = JSON.parse(readFileSync(ids.path, 'utf8')) as { reservedUpTo: number };
      assert.ok(state.reservedUpTo > seen.at(-1)!);
    }
  }
  assert.equal(seen[0], 1);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `id ${seen[i]} after ${seen[i - 1]}`);
  // Another camera has its own sequence.
  assert.equal(ImageIdAllocator.open({ stateDir, cameraId: 'cam-2' }).next(), 1);
});

test('A5 firstId: a camera with no state starts there (a service passes the clock); one with state continues from it', () => {
  const stateDir = join(dir, 'first-id');
  const clock = 1_796_000_000_000;
  const ids = ImageIdAllocator.open({ stateDir, cameraId: 'cam-reimaged', firstId: clock });
  assert.deepEqual([ids.next(), ids.next()], [clock, clock + 1]);
  // The state decides once it exists: a lower firstId (a clock set back) never goes below it.
  const reopened = ImageIdAllocator.open({ stateDir, cameraId: 'cam-reimaged', firstId: 5 });
  assert.ok(reopened.next() > clock + 1);
  assert.throws(() => ImageIdAllocator.open({ stateDir, cameraId: 'cam-x', firstId: 0 }), {
    name: 'TypeError',
    message: 'Expected positive safe integer for firstId but received 0 of type number',
  });
});

test('T2 trackIds: a state file of their own; cover() keeps the saved mark half a block above the ids the tracker handed out', () => {
  const stateDir = join(dir, 'track-ids');
  const ids = ImageIdAllocator.open({ stateDir, cameraId: 'cam-t', kind: 'trackid', blockSize: 100 });
  assert.equal(ids.path, join(stateDir, 'cam-t.trackid.json'));
  ids.reserve();
  assert.equal(ids.next(), 1);
  const saved = (): number => (JSON.parse(readFileSync(ids.path, 'utf8')) as { reservedUpTo: number }).reservedUpTo;
  // The tracking worker counted up to 70 (next id 71): within half a block of the mark 101, so a block more is saved.
  ids.cover(71);
  assert.equal(saved(), 171);
  ids.cover(80); // 80 + 50 ≤ 171: no write
  assert.equal(saved(), 171);
  // A restart continues above every id handed out; imageIds of the camera are untouched.
  assert.ok(ImageIdAllocator.open({ stateDir, cameraId: 'cam-t', kind: 'trackid' }).next() > 80);
  assert.equal(ImageIdAllocator.open({ stateDir, cameraId: 'cam-t' }).next(), 1);
});

test('A5 imageIds survive a hard crash (SIGKILL) without reuse', async () => {
  const stateDir = join(dir, 'crash');
  const script = `
    import { ImageIdAllocator } from ${JSON.stringify(new URL('../../src/capture/image-ids.ts', import.meta.url).pathname)};
    const ids = ImageIdAllocator.open({ stateDir: ${JSON.stringify(stateDir)}, cameraId: 'cam', blockSize: 50 });
    setInterval(() => { for (let i = 0; i < 7; i++) process.stdout.write(ids.next() + '\\n'); }, 1);
  `;
  let maxSeen = 0;
  for (let round = 0; round < 2; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 300 && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    const ids = out.split('\n').filter(Boolean).map(Number);
    assert.ok(ids.length >= 300);
    assert.ok(ids[0]! > maxSeen, `round ${round} starts at ${ids[0]} after ${maxSeen}`);
    maxSeen = Math.max(...ids);
  }
  const next = ImageIdAllocator.open({ stateDir, cameraId: 'cam', blockSize: 50 }).next();
  assert.ok(next > maxSeen, `${next} > ${maxSeen}`);
});

test('A5 imageId errors are exact', () => {
  assert.throws(() => ImageIdAllocator.open({ stateDir: dir, cameraId: '../x' }), {
    name: 'TypeError',
    message: "Expected 1-64 characters of A-Z a-z 0-9 . _ - for cameraId but received '../x' of type string",
  });
  writeFileSync(join(dir, 'bad.imageid.json'), '{"cameraId":"bad","reservedUpTo":');
  assert.throws(() => ImageIdAllocator.open({ stateDir: dir, cameraId: 'bad' }), {
    name: 'CaptureError',
    message: `Corrupt imageId state file ${join(dir, 'bad.imageid.json')}: not JSON (refusing to risk reusing ids; restore or remove it knowingly)`,
  });
  assert.throws(() => new FixedRateCapture({ source: { next: async () => null }, cameraId: 'c', ids: { next: () => 1 }, captureHz: 'fast' as unknown as number }), {
    name: 'TypeError',
    message: "Expected positive number for captureHz but received 'fast' of type string",
  });
});

function fakeFrame(ptsNs: bigint, realtimeNs: bigint): CapturedFrame {
  return {
    sequence: 0,
    width: 4,
    height: 2,
    stride: 12,
    format: 'BGR',
    ptsNs,
    durationNs: 10_000_000n,
    captureRealtimeNs: realtimeNs,
    captureMonotonicNs: ptsNs,
    pixels: new Uint8Array(24),
    tensorSlot: -1,
  } as CapturedFrame;
}

test('A5 ticks on a fixed grid; late ticks and skipped frames are counted (controlled clock)', async () => {
  let now = 1_000_000_000n;
  const sleeps: bigint[] = [];
  const clock: CaptureClock = {
    nowNs: () => now,
    sleepUntil: async (ns) => {
      sleeps.push(ns);
      now = ns;
    },
  };
  // A 100 fps camera: the frame at a tick is the newest one, pts = floor(now / 10 ms).
  const source: FrameSourceLike = { next: async () => fakeFrame((now / 10_000_000n) * 10_000_000n, 1_700_000_000_000_000_000n + now) };
  const asked: bigint[] = [];
  const frc = new FixedRateCapture({
    source,
    cameraId: 'grid',
    ids: { next: (() => { let i = 100; return () => i++; })() },
    captureHz: 10,
    exposure: { mode: 'manual', exposureTimeUs: 1000, gain: 4 },
    position: { state: 'fixed', positionAt: (t) => (asked.push(t), { lat: 1, lon: 2, alt: 3, heading: 4 }), close: () => {} },
    clock,
  });
  const a = (await frc.next())!;
  const b = (await frc.next())!;
  assert.deepEqual(sleeps, [1_100_000_000n]);
  assert.equal(b.skippedBefore, 9, '100 fps camera at 10 Hz: 9 of 10 frames skipped');
  assert.deepEqual([a.imageId, b.imageId], [100, 101]);
  assert.deepEqual(b.exposure, { mode: 'manual', exposureTimeUs: 1000, gain: 4 });
  assert.deepEqual(b.cameraPosition, { lat: 1, lon: 2, alt: 3, heading: 4 });
  assert.equal(asked.at(-1), b.timestampNs);
  // The consumer stalls 350 ms: the ticks at 1.2 s and 1.3 s are missed; the 1.4 s tick is taken at once (1.45 s).
  now += 350_000_000n;
  const c = (await frc.next())!;
  assert.equal(frc.stats().lateTicks, 2);
  assert.equal(now, 1_400_000_000n + 50_000_000n, 'no sleep: the grid continues at the current tick');
  assert.equal(c.skippedBefore, 34);
  await frc.next();
  assert.equal(sleeps.at(-1), 1_500_000_000n, 'back on the 100 ms grid');
  assert.deepEqual(frc.stats(), { captureHz: 10, captured: 4, skipped: 9 + 34 + 4, lateTicks: 2 });
});

test('A5 fixed-rate capture: timestamps strictly increase over a backward step of the wall clock, positions at the wall clock', async () => {
  let now = 1_000_000_000n;
  const clock: CaptureClock = { nowNs: () => now, sleepUntil: async (ns) => void (now = ns) };
  let n = 0;
  // The wall clock steps back 1 h after the third frame (an NTP correction).
  const source: FrameSourceLike = { next: async () => fakeFrame(now, 1_700_000_000_000_000_000n + now - (n++ >= 3 ? 3_600_000_000_000n : 0n)) };
  const asked: bigint[] = [];
  const steps: bigint[] = [];
  const frc = new FixedRateCapture({
    source,
    cameraId: 'step',
    ids: { next: (() => { let i = 1; return () => i++; })() },
    position: { state: 'fixed', positionAt: (t) => (asked.push(t), null), close: () => {} },
    timestamps: new CameraClock({ onStep: (st) => steps.push(st.stepNs) }),
    clock,
  });
  const got = [];
  for (let i = 0; i < 6; i++) got.push((await frc.next())!);
  for (let i = 1; i < got.length; i++) assert.equal(got[i]!.timestampNs - got[i - 1]!.timestampNs, 100_000_000n, `frame ${i}`);
  assert.deepEqual(steps, [-3_600_000_000_000n]);
  assert.equal(asked.at(-1), got.at(-1)!.frame.captureRealtimeNs, 'GNSS positions are looked up at the wall clock');
});

test('A5 fixed-rate capture from a live simulated camera: newest frame per tick, ids, tags, positions', async () => {
  const cam = new SimulatedCamera({ width: 320, height: 180, fps: 30, seed: 21 });
  const ctl = new ExposureController({ control: new SimulatedCameraControl(cam), remeterPeriodMs: 600 });
  const position = new FixedPosition({ lat: 48.1, lon: 11.5, alt: 520, heading: 90 });
  const stateDir = join(dir, 'live');
  const source = cam.openSource();
  cam.start();
  try {
    const frc = new FixedRateCapture({ source, cameraId: 'sim', ids: ImageIdAllocator.open({ stateDir, cameraId: 'sim' }), exposure: ctl, position });
    const got = [];
    for (let i = 0; i < 20; i++) got.push((await frc.next())!);
    let prevIndex: number | undefined;
    let prevPts = 0n;
    let skipped = 0;
    for (const [i, f] of got.entries()) {
      assert.equal(f.imageId, i + 1);
      const meta = cam.metadataFor(f.frame.ptsNs);
      assert.ok(meta, 'frame produced by the camera');
      // Exposure tags are exactly what the camera applied to that frame.
      assert.deepEqual(f.exposure, meta.exposure);
      assert.deepEqual(f.cameraPosition, { lat: 48.1, lon: 11.5, alt: 520, heading: 90 });
      if (prevIndex !== undefined) {
        assert.ok(meta.index > prevIndex);
        // Skipped = camera frames between the two taken ones, by timestamp (A5).
        // Not compared with the render count: the simulated camera stamps each
        // frame with its render time, and on a loaded machine a late timer
        // renders two frames close together, so the render count can exceed
        // what the timestamps span; two frames rendered closer than half a
        // period apart have none between them (never −1).
        assert.equal(f.skippedBefore, Math.max(0, Math.round(Number(f.frame.ptsNs - prevPts) / Number(cam.periodNs)) - 1));
        assert.ok(f.timestampNs > got[i - 1]!.timestampNs);
      }
      skipped += f.skippedBefore;
      prevIndex = meta.index;
      prevPts = f.frame.ptsNs;
    }
    const st = frc.stats();
    assert.equal(st.captured, 20);
    assert.equal(st.skipped, skipped);
    assert.ok(st.skipped > 0, 'a 30 fps camera read at 10 Hz skips frames');
    assert.ok(got.some((f) => f.exposure.mode === 'manual') && got.some((f) => f.exposure.mode === 'auto'));
  } finally {
    cam.close();
  }
});

test('A5 on a recording (StreamGrid, the grid the runner and the MOT replay use): the first frame at or after each tick of the stream time', () => {
  const keep = (fps: number, hz: number, frames: number, origin?: bigint): number[] => {
    const grid = new StreamGrid(capturePeriodNs(hz), origin);
    const kept: number[] = [];
    for (let i = 0; i < frames; i++) if (grid.take((BigInt(i) * 1_000_000_000n) / BigInt(fps))) kept.push(i);
    return kept;
  };
  assert.deepEqual(keep(30, 10, 12), [0, 3, 6, 9], '30 fps at 10 Hz: every third frame');
  assert.deepEqual(keep(25, 10, 13), [0, 3, 5, 8, 10], '25 fps at 10 Hz: the frame at or after 0, 100, 200 … ms');
  assert.deepEqual(keep(5, 10, 4), [0, 1, 2, 3], 'a stream slower than captureHz keeps every frame');
  // A gap in the stream (frames lost in the file) does not make the grid fire a burst after it.
  const grid = new StreamGrid(100_000_000n);
  assert.deepEqual([0n, 100_000_000n, 750_000_000n, 760_000_000n, 800_000_000n].map((t) => grid.take(t)), [true, true, true, false, true]);
  // Anchored at an origin (the MOT replay anchors at 0): a first frame before the first tick is skipped.
  const anchored = new StreamGrid(100_000_000n, 50_000_000n);
  assert.deepEqual([0n, 40_000_000n, 60_000_000n].map((t) => anchored.take(t)), [false, false, true]);
});

test('A5 grid ticks (FrameDetections.gridTick): StreamGrid gives each taken frame the latest tick at or before it', () => {
  const ticks = (ptsMs: number[], origin?: bigint): Array<number | null> => {
    const grid = new StreamGrid(100_000_000n, origin);
    return ptsMs.map((ms) => (grid.take(BigInt(ms) * 1_000_000n) ? grid.tick : null));
  };
  // 12.5 fps: taken frames are 160, 80, 80, 80 ms apart, one tick each.
  assert.deepEqual(ticks([0, 80, 160, 240, 320, 400, 480, 560]), [0, null, 1, 2, 3, 4, null, 5]);
  // The stream lacks the frame at 160 ms: the frame at 240 ms is the first after ticks 1 and 2, and is tick 2.
  assert.deepEqual(ticks([0, 80, 240, 320, 400]), [0, null, 2, 3, 4]);
  // Anchored at 0 (the MOT replay): ticks count from the origin.
  assert.deepEqual(ticks([50, 120, 230], 0n), [0, 1, 2]);
  assert.notEqual(new StreamGrid(1n).id, new StreamGrid(1n).id, 'each grid its own id');
});

test('A5 grid ticks on a live camera (TickGrid.tickNow): the tick a frame in hand came in, at least the one waited for', async () => {
  let now = 1_000_000_000n;
  const clock: CaptureClock = { nowNs: () => now, sleepUntil: async (ns) => void (now = ns) };
  const grid = new TickGrid(100_000_000n, clock);
  assert.equal(grid.tickNow(), 0, 'before the first wait');
  await grid.wait(); // t0
  assert.equal(grid.tickNow(), 0);
  await grid.wait(); // sleeps to tick 1; the camera held a frame
  assert.equal(grid.tickNow(), 1);
  now += 110_000_000n; // a camera slower than captureHz: its frame came 110 ms after the tick
  assert.equal(grid.tickNow(), 2, 'the frame arrived in tick 2');
  await grid.wait(); // tick 2 is due already: no sleep
  now += 200_000_000n;
  assert.equal(grid.tickNow(), 4);
});

test('A5 frames skipped between two taken frames: pts gap over the frame period', () => {
  assert.equal(framesSkippedBetween(undefined, 100n, 10n), 0, 'first frame');
  assert.equal(framesSkippedBetween(0n, 10n, 10n), 0, 'consecutive');
  assert.equal(framesSkippedBetween(0n, 100n, 10n), 9);
  assert.equal(framesSkippedBetween(0n, 104n, 10n), 9, 'jitter rounds to the nearest frame');
  assert.equal(framesSkippedBetween(0n, 100n, 0n), 0, 'no known frame period');
  assert.equal(framesSkippedBetween(100n, 50n, 10n), 0, 'time went back (a source restarted)');
  assert.throws(() => capturePeriodNs(0), /captureHz/);
  assert.equal(capturePeriodNs(3), 333_333_333n);
});
