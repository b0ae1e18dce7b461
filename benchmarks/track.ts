/**
 * npm run bench -- track [--frames N]: ByteTracker.update() time per frame at
 * 10, 50 and 200 objects per frame (synthetic smooth motion on 1920×1080, as
 * ANCHORS.md's measurement of the official Python ByteTrack), with and
 * without the W1 projector, plus the TUD sequences from det.txt. Prints
 * p50/p99 and the speed-up over the Python figures in ANCHORS.md.
 */
import { BYTETRACK_OPTIONS, ByteTracker, type TrackerOptions } from '../src/track/index.js';
import { createProjector } from '../src/geo/index.js';
import { trackMotSequence } from '../src/mot/index.js';
import { sharedPath } from '../src/paths.js';
import type { Box, FrameDetections } from '../src/types.js';
import { loadavg } from 'node:os';
import { benchArgs, benchNumber, fmt, machine, summary, writeResult } from './util.js';

const USAGE = `npm run bench -- track [--frames N]
  --frames N  timed frames per setting, after 200 warm-up (default 3000)
Writes benchmarks/results/track.json.`;

/** Official ByteTrack update() median / p99 ms on a 2-core VM (ANCHORS.md). */
const PYTHON: Record<number, { p50: number; p99: number; note: string }> = {
  10: { p50: 0.85, p99: 1.5, note: 'Python figure is at ~5 boxes' },
  50: { p50: 5.3, p99: 10.9, note: '' },
  200: { p50: 27, p99: 50, note: '' },
};

interface Obj {
  x: number;
  y: number;
  vx: number;
  vy: number;
  w: number;
  h: number;
  score: number;
}

function scene(n: number, seed: number): { step: () => Box[] } {
  let s = seed >>> 0;
  const r = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const objs: Obj[] = Array.from({ length: n }, () => {
    const h = 60 + r() * 160;
    return { x: r() * 1920, y: r() * 1080, vx: (r() - 0.5) * 12, vy: (r() - 0.5) * 6, w: h * (0.35 + r() * 0.2), h, score: 0.3 + r() * 0.69 };
  });
  return {
    step(): Box[] {
      const boxes: Box[] = [];
      for (const o of objs) {
        o.x += o.vx;
        o.y += o.vy;
        if (o.x < 0 || o.x > 1920) o.vx = -o.vx;
        if (o.y < 0 || o.y > 1080) o.vy = -o.vy;
        // Detector jitter and an occasional miss (5 %).
        if (r() < 0.05) continue;
        boxes.push({ cx: o.x + (r() - 0.5) * 2, cy: o.y + (r() - 0.5) * 2, w: o.w * (0.97 + r() * 0.06), h: o.h * (0.97 + r() * 0.06), angle: 0, classId: 0, label: 'person', score: Math.min(0.99, Math.max(0.05, o.score + (r() - 0.5) * 0.1)) });
      }
      return boxes;
    },
  };
}

/**
 * Wall time per update(). On a shared VM the tail (p99, max) includes time
 * this process was pre-empted by others; the load average is printed with
 * the figures for that reason. (process.cpuUsage() was tried and ticks at
 * ~4 ms here, too coarse for per-frame figures.)
 */
function run(n: number, frames: number, withProjector: boolean, options: TrackerOptions = {}): number[] {
  const project = withProjector
    ? createProjector({ intrinsics: { fx: 1400, fy: 1400, cx: 960, cy: 540 }, distortion: [-0.2, 0.05, 0, 0, 0], mount: { height: 8, pitch: 15, roll: 0, yaw: 0 } })
    : undefined;
  const tracker = new ByteTracker(options, { project });
  const sc = scene(n, 1234 + n);
  const times: number[] = [];
  const warmup = 200;
  for (let f = 1; f <= frames + warmup; f++) {
    const frame: FrameDetections = {
      cameraId: 'bench',
      imageId: f,
      timestampNs: BigInt(f) * 33_333_333n,
      exposureMode: 'manual',
      cameraPosition: { lat: 48.1, lon: 11.5, alt: 530, heading: 45 },
      width: 1920,
      height: 1080,
      boxes: sc.step(),
    };
    const t0 = process.hrtime.bigint();
    tracker.update(frame);
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (f > warmup) times.push(dt);
  }
  return times;
}

export default async function (args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, { frames: { type: 'string' } });
  const frames = benchNumber('positive integer', '--frames', values.frames, 3000);
  console.log(`ByteTracker.update() per frame — ${machine()}\n${frames} frames after 200 warm-up, synthetic smooth motion 1920×1080, 5 % misses\n`);
  const results: Record<string, unknown> = {};
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('objects  projector  p50 ms  p90 ms  p99 ms  max ms | Python p50/p99  speed-up p50/p99');
  for (const n of [10, 50, 200]) {
    for (const withProjector of [false, true]) {
      const s = summary(run(n, frames, withProjector));
      const py = PYTHON[n]!;
      const ratio = withProjector ? '' : `${fmt(py.p50, 2)} / ${fmt(py.p99, 1)}`.padEnd(16) + `${fmt(py.p50 / s.p50, 1)}× / ${fmt(py.p99 / s.p99, 1)}×${py.note ? ` (${py.note})` : ''}`;
      console.log(
        `${String(n).padStart(7)}  ${(withProjector ? 'W1' : '-').padEnd(9)}  ${fmt(s.p50, 3).padStart(6)}  ${fmt(s.p90, 3).padStart(6)}  ${fmt(s.p99, 3).padStart(6)}  ${fmt(s.max, 1).padStart(6)} | ${ratio}`,
      );
      results[`${n}${withProjector ? '+W1' : ''}`] = { ...s, pythonP50: py.p50, pythonP99: py.p99, speedupP50: py.p50 / s.p50, speedupP99: py.p99 / s.p99 };
    }
  }
  // The same input replayed 3 times: a frame's own cost is the minimum of its three times;
  // pre-emption by other processes rarely hits the same frame in all three runs.
  console.log('\nPer-frame minimum over 3 identical replays (removes pre-emption by other processes):');
  console.log('objects  p50 ms  p99 ms  max ms  frames > 1 ms in all 3 runs');
  for (const n of [10, 50, 200]) {
    const runs = [run(n, frames, false), run(n, frames, false), run(n, frames, false)];
    const perFrameMin = runs[0]!.map((_, k) => Math.min(runs[0]![k]!, runs[1]![k]!, runs[2]![k]!));
    const s = summary(perFrameMin);
    const over = perFrameMin.filter((x) => x > 1).length;
    console.log(`${String(n).padStart(7)}  ${fmt(s.p50, 3).padStart(6)}  ${fmt(s.p99, 3).padStart(6)}  ${fmt(s.max, 3).padStart(6)}  ${over}`);
    results[`${n}-min3`] = { ...s, framesOver1ms: over };
    // The seed's ByteTrack on the same input, same run: what the default options cost on top.
    const seedRuns = [0, 1, 2].map(() => run(n, frames, false, BYTETRACK_OPTIONS));
    const seed = summary(seedRuns[0]!.map((_, k) => Math.min(seedRuns[0]![k]!, seedRuns[1]![k]!, seedRuns[2]![k]!)));
    console.log(`${'  seed'.padEnd(7)}  ${fmt(seed.p50, 3).padStart(6)}  ${fmt(seed.p99, 3).padStart(6)}  ${fmt(seed.max, 3).padStart(6)}  (ByteTrack preset; defaults/seed p50 ${fmt(s.p50 / seed.p50, 2)}×)`);
    results[`${n}-min3-seed`] = { ...seed, defaultsOverSeedP50: s.p50 / seed.p50 };
  }
  console.log('\nMOT15 sequences from SORT det.txt (default options):');
  for (const seq of ['mot15-TUD-Campus', 'mot15-TUD-Stadtmitte']) {
    const all: number[] = [];
    for (let rep = 0; rep < 20; rep++) all.push(...trackMotSequence(sharedPath(seq)).updateMs);
    const s = summary(all);
    console.log(`  ${seq.padEnd(22)} p50 ${fmt(s.p50, 3)} ms  p99 ${fmt(s.p99, 3)} ms  (${s.n} frame updates)`);
    results[seq] = s;
  }
  const r50 = results['50'] as { p99: number };
  const m50 = results['50-min3'] as { p99: number };
  console.log(
    `\ntarget p99 < 1 ms at 50 objects: single run ${fmt(r50.p99, 3)} ms (${r50.p99 < 1 ? 'met' : 'NOT met'}), per-frame min of 3 ${fmt(m50.p99, 3)} ms (${m50.p99 < 1 ? 'met' : 'NOT met'}); load average now ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log(`written ${writeResult('track', { frames, results })}`);
}
