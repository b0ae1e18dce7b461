/**
 * npm run bench -- capture-rate [--seconds 5] [--fps 60]
 *
 * A5 fixed-rate capture: a live videotestsrc at 60 fps (640×360) read at
 * captureHz 10, 15 and 30. Prints the interval jitter — deviation of the
 * interval between consecutive taken frames' capture timestamps from the
 * period, p50/p99/max — and the skipped-frame counts against the expected
 * fps / captureHz − 1 per frame. Then the simulated camera (640×360, 30 fps,
 * rendered in real time with the exposure controller running) at 10 Hz, and
 * the simulated camera's render time per frame.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../src/capture/frame-source.js';
import { FixedRateCapture, type FrameSourceLike } from '../src/capture/fixed-rate.js';
import { ImageIdAllocator } from '../src/capture/image-ids.js';
import { SimulatedCamera } from '../src/capture/sim/camera.js';
import { SimulatedCameraControl } from '../src/capture/control/simulated.js';
import { ExposureController } from '../src/capture/exposure/controller.js';
import { benchArgs, benchNumber, fmt, machine, summary, writeResult } from './util.js';

const USAGE = `npm run bench -- capture-rate [--seconds 5] [--fps 60]
  --seconds N  seconds measured per captureHz (default 5)
  --fps N      frame rate of the live videotestsrc (default 60)
Writes benchmarks/results/capture-rate.json.`;

interface RateResult {
  source: string;
  captureHz: number;
  frames: number;
  jitterMs: ReturnType<typeof summary>;
  skipped: number;
  expectedSkippedPerFrame: number;
  skippedPerFrame: number;
  lateTicks: number;
}

async function measure(source: FrameSourceLike, label: string, hz: number, seconds: number, sourceFps: number, stateDir: string, exposure?: ExposureController): Promise<RateResult> {
  const frc = new FixedRateCapture({ source, cameraId: `bench-${hz}`, captureHz: hz, ids: ImageIdAllocator.open({ stateDir, cameraId: `bench-${hz}` }), exposure });
  // Warm-up: the first frames of a live pipeline arrive irregularly.
  for (let i = 0; i < 3; i++) await frc.next();
  const warm = frc.stats();
  const n = Math.round(seconds * hz);
  const deviations: number[] = [];
  let prev: bigint | undefined;
  for (let i = 0; i < n; i++) {
    const f = await frc.next();
    if (!f) break;
    if (prev !== undefined) deviations.push(Math.abs(Number(f.monotonicNs - prev) / 1e6 - 1000 / hz));
    prev = f.monotonicNs;
  }
  const st = frc.stats();
  const frames = st.captured - warm.captured;
  const skipped = st.skipped - warm.skipped;
  return {
    source: label,
    captureHz: hz,
    frames,
    jitterMs: summary(deviations),
    skipped,
    expectedSkippedPerFrame: sourceFps / hz - 1,
    skippedPerFrame: skipped / Math.max(1, frames - 1),
    lateTicks: st.lateTicks - warm.lateTicks,
  };
}

export default async function (args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, { seconds: { type: 'string' }, fps: { type: 'string' } });
  const seconds = benchNumber('positive number', '--seconds', values.seconds, 5);
  const fps = benchNumber('positive integer', '--fps', values.fps, 60);
  const stateDir = mkdtempSync(join(tmpdir(), 'bestshot-bench-'));
  const results: RateResult[] = [];
  console.log(`capture-rate on ${machine()}`);
  try {
    for (const hz of [10, 15, 30]) {
      const src = openCapture({ source: { type: 'test', pattern: 'ball', width: 640, height: 360, framerate: fps, live: true } });
      try {
        results.push(await measure(src, `videotestsrc ${fps} fps`, hz, seconds, fps, stateDir));
      } finally {
        src.close();
      }
    }
    const cam = new SimulatedCamera({ fps: 30 });
    const ctl = new ExposureController({ control: new SimulatedCameraControl(cam) });
    const src = cam.openSource();
    cam.start();
    try {
      results.push(await measure(src, 'simulated camera 30 fps', 10, seconds, 30, stateDir, ctl));
    } finally {
      cam.close();
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
  console.log('source                    Hz  frames  jitter p50 / p99 / max ms   skipped/frame (expected)  late ticks');
  for (const r of results) {
    console.log(
      `${r.source.padEnd(25)} ${String(r.captureHz).padStart(2)}  ${String(r.frames).padStart(6)}  ${fmt(r.jitterMs.p50).padStart(6)} / ${fmt(r.jitterMs.p99).padStart(6)} / ${fmt(r.jitterMs.max).padStart(6)}    ${fmt(r.skippedPerFrame).padStart(6)} (${fmt(r.expectedSkippedPerFrame)})            ${r.lateTicks}`,
    );
  }
  // Simulated camera render cost (A6: must sustain 10 Hz at 640×360).
  const cam = new SimulatedCamera();
  const times: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    cam.capture();
    times.push(performance.now() - t0);
  }
  const render = summary(times.slice(10));
  console.log(`simulated camera render 640×360: p50 ${fmt(render.p50)} ms, p99 ${fmt(render.p99)} ms (${fmt(1000 / render.p50, 0)} frames/s on one core)`);
  const file = writeResult('capture-rate', { seconds, sourceFps: fps, results, simRenderMs: render });
  console.log(`wrote ${file}`);
}
