/**
 * npm run bench -- pipeline [--policy spec|shared-best|…] [--held-frames jpeg|pixels] [--pixel-format i420|bgr] [--pairs N]
 *
 * The whole pipeline (capture → detect → track → select → JPEG → upload to
 * the reference receiver) on a real clip and on a 720p transcode of it:
 *  1. the bare detector in a loop (2 inference workers, 2 frames in flight,
 *     frames captured in the pipeline's pixel format): the ceiling, measured
 *     in the same run;
 *  2. live at 10 Hz (the file paced at its own rate, frames taken on the
 *     10 Hz grid, late frames dropped before detection): per-stage and
 *     end-to-end latency p50/p99, drop rate;
 *  3. the highest sustained rate: every frame of the clip, offline (nothing
 *     dropped), frames/s — and its ratio to the bare detector, the runs
 *     alternating with bare loops (--pairs, median ratio). captureHz is
 *     the clip's own frame rate: A5's grid then takes every frame, and T2's
 *     lost-track buffer (trackBuffer periods of 1/captureHz) keeps its
 *     meaning. A captureHz far above the clip's rate (1000 here until
 *     2026-12-07) made that buffer 30 ms, shorter than one frame gap: every
 *     missed detection ended its track, and the run built a package for
 *     every second frame (449 of 905, 69 at the clip's rate).
 * CPU (cores busy) and RSS for each run. Targets on this 2-core machine:
 * 10 Hz with zero drops and end-to-end p99 < 100 ms; sustained ≥ 0.9 × bare (issue 18).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../src/capture/index.js';
import { parseConfig } from '../src/config/index.js';
import { DetectorPool, tensorOptionsFor } from '../src/detect/index.js';
import { BestshotService, detectorPoolOptions, type RuntimeLogger } from '../src/runtime/service.js';
import { TRAFFIC_CLIPS_DIR } from '../src/paths.js';
import { POLICY_NAMES } from '../src/select/index.js';
import { make720pClip } from './capture.js';
import { benchArgs, benchChoice, benchNumber, fmt, machine, summary, writeResult } from './util.js';

const USAGE = `npm run bench -- pipeline [--policy spec|shared-best|…] [--held-frames jpeg|pixels] [--pixel-format i420|bgr] [--pairs N]
  --policy P        selection.policy: ${POLICY_NAMES.join(', ')} (default spec)
  --held-frames H   cameras[].heldFrames: jpeg (default) or pixels
  --pixel-format F  cameras[].pixelFormat: i420 (default) or bgr
  --pairs N         sustained runs, each between two bare detector runs (default 3)
Writes benchmarks/results/pipeline.json.`;

const silent: RuntimeLogger = { debug() {}, info() {}, warn() {}, error() {} };

function configFor(clip: string, realtime: boolean, captureHz: number, dir: string, policy = 'spec', heldFrames = 'jpeg', pixelFormat = 'i420') {
  return parseConfig(
    `version: 1
model: { providers: [cpu], intraOpThreads: 2, workers: 2 }
cameras:
  - id: bench
    source: { type: file, path: ${clip}, realtime: ${realtime} }
    captureHz: ${captureHz}
    position: { type: none }
    heldFrames: ${heldFrames}
    pixelFormat: ${pixelFormat}
    selection: { policy: ${policy} }
queue: { path: ${dir}/queue.sqlite, synchronous: normal }
receiver: { embedded: true, port: 0, dir: ${dir}/receiver }
upload: { sendHz: 50 }
metrics: { enabled: false }
stateDir: ${dir}/state
`,
    { baseDir: dir },
  ).config;
}

class Usage {
  #cpu = process.cpuUsage();
  #t = performance.now();
  #rss = 0;
  #timer = setInterval(() => (this.#rss = Math.max(this.#rss, process.memoryUsage().rss)), 200);
  end(): { cores: number; rssMiB: number; seconds: number } {
    clearInterval(this.#timer);
    const c = process.cpuUsage(this.#cpu);
    const s = (performance.now() - this.#t) / 1000;
    return { cores: (c.user + c.system) / 1e6 / s, rssMiB: Math.max(this.#rss, process.memoryUsage().rss) / 2 ** 20, seconds: s };
  }
}

async function bareDetector(clip: string, pixelFormat: string): Promise<{ fps: number; frames: number }> {
  const cfg = configFor(clip, false, 10, mkdtempSync(join(tmpdir(), 'bestshot-bench-')));
  const pool = await DetectorPool.create(detectorPoolOptions(cfg, 2, silent));
  const source = openCapture({ source: { type: 'file', path: clip }, format: pixelFormat === 'bgr' ? 'BGR' : 'I420', tensor: tensorOptionsFor(pool.manifest), tensorSlots: 4 });
  const inflight: Promise<unknown>[] = [];
  let n = 0;
  const t0 = performance.now();
  for await (const f of source) {
    inflight.push(pool.detect({ tensor: f.tensor!, letterbox: f.letterbox!, frameWidth: f.width, frameHeight: f.height }).then(() => source.releaseTensor(f)));
    if (inflight.length >= 2) await inflight.shift();
    n++;
  }
  await Promise.all(inflight);
  const fps = n / ((performance.now() - t0) / 1000);
  source.close();
  await pool.close();
  return { fps, frames: n };
}

/** The clip's own frame rate (frames/s): its first frame's duration, else its first timestamps. */
async function clipFrameRate(clip: string): Promise<number> {
  const source = openCapture({ source: { type: 'file', path: clip }, format: 'I420' });
  const pts: bigint[] = [];
  let durationNs = -1n;
  try {
    for await (const f of source) {
      if (durationNs <= 0n) durationNs = f.durationNs;
      pts.push(f.ptsNs);
      source.releasePixels(f);
      if (pts.length === 3) break;
    }
  } finally {
    source.close();
  }
  const periodNs = durationNs > 0n ? Number(durationNs) : pts.length >= 3 && pts[0]! >= 0n ? Number(pts[2]! - pts[0]!) / 2 : -1;
  if (!(periodNs > 0)) throw new Error(`${clip}: no frame rate (timestamps ${pts.join(', ')}, duration ${durationNs})`);
  return Math.round((1e9 / periodNs) * 1000) / 1000;
}

async function pipelineRun(clip: string, mode: 'live' | 'offline', captureHz: number, policy: string, heldFrames: string, pixelFormat: string) {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-bench-'));
  const cfg = configFor(clip, mode === 'live', captureHz, dir, policy, heldFrames, pixelFormat);
  const svc = await BestshotService.start({ config: cfg, mode, logger: silent });
  const detect: number[] = [];
  const track: number[] = [];
  const total: number[] = [];
  svc.on('frame', (_c, r) => {
    detect.push(r.latency.detect);
    track.push(r.latency.track - r.latency.detect);
    total.push(r.latency.total);
  });
  const usage = new Usage();
  await svc.done();
  const u = usage.end();
  const s = svc.cameras.get('bench')!.runner!.stats;
  await svc.stop();
  const dropped = s.dropped.busy + s.dropped['detect-error'] + s.dropped['track-error'];
  return {
    processed: s.processed,
    taken: s.processed + dropped,
    dropped,
    dropRate: dropped / Math.max(1, s.processed + dropped),
    fps: s.processed / u.seconds,
    latency: { detect: summary(detect), trackSelect: summary(track), endToEnd: summary(total) },
    packages: s.packages,
    ...u,
  };
}

export default async function main(args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, { policy: { type: 'string' }, 'held-frames': { type: 'string' }, 'pixel-format': { type: 'string' }, pairs: { type: 'string' } });
  const pairs = benchNumber('positive integer', '--pairs', values.pairs, 3);
  const policy: string = benchChoice('--policy', values.policy, POLICY_NAMES, 'spec');
  const heldFrames: string = benchChoice('--held-frames', values['held-frames'], ['jpeg', 'pixels'], 'jpeg');
  const pixelFormat: string = benchChoice('--pixel-format', values['pixel-format'], ['i420', 'bgr'], 'i420');
  const clips: Array<[string, string]> = [
    ['suburban-street-elevated.mp4 (640x352)', join(TRAFFIC_CLIPS_DIR, 'suburban-street-elevated.mp4')],
    ['suburban 720p transcode (1280x720)', make720pClip()],
  ];
  const results: Record<string, unknown> = {};
  console.log(`machine: ${machine()}; YOLOX-Nano 416x416 on CPU, 2 inference workers; selection policy ${policy}, held frames as ${heldFrames}, frames in ${pixelFormat}; the reference receiver runs in the same process\n`);
  for (const [name, clip] of clips) {
    const live = await pipelineRun(clip, 'live', 10, policy, heldFrames, pixelFormat);
    const clipHz = await clipFrameRate(clip);
    // On a shared VM the machine's speed drifts by 10–20 % within a minute, so
    // the bare loop and the pipeline alternate (bare, pipeline, bare, …) and
    // each pipeline run is compared with the faster of the bare runs beside
    // it (conservative); the median of those ratios is the figure.
    const bares = [await bareDetector(clip, pixelFormat)];
    const runs: Array<Awaited<ReturnType<typeof pipelineRun>>> = [];
    for (let i = 0; i < pairs; i++) {
      runs.push(await pipelineRun(clip, 'offline', clipHz, policy, heldFrames, pixelFormat));
      bares.push(await bareDetector(clip, pixelFormat));
    }
    const ratios = runs.map((r, i) => ({ i, bare: Math.max(bares[i]!.fps, bares[i + 1]!.fps), ratio: r.fps / Math.max(bares[i]!.fps, bares[i + 1]!.fps) }));
    const median = [...ratios].sort((a, b) => a.ratio - b.ratio)[(ratios.length - 1) >> 1]!;
    const max = runs[median.i]!;
    results[name] = {
      bareDetectorFps: median.bare,
      live10Hz: live,
      sustained: { ...max, captureHz: clipHz },
      sustainedOverBare: median.ratio,
      alternation: { bareFps: bares.map((b) => b.fps), sustainedFps: runs.map((r) => r.fps), ratios: ratios.map((r) => r.ratio) },
    };
    const l = live.latency;
    console.log(`${name}`);
    console.log(`  live 10 Hz:           ${live.processed} frames, dropped ${live.dropped} (${fmt(100 * live.dropRate, 1)} %), CPU ${fmt(live.cores, 2)} cores, RSS ${fmt(live.rssMiB, 0)} MiB`);
    console.log(`    detect      p50 ${fmt(l.detect.p50, 1)} ms  p99 ${fmt(l.detect.p99, 1)} ms   (capture → boxes)`);
    console.log(`    track+sel.  p50 ${fmt(l.trackSelect.p50, 1)} ms  p99 ${fmt(l.trackSelect.p99, 1)} ms`);
    console.log(`    end to end  p50 ${fmt(l.endToEnd.p50, 1)} ms  p99 ${fmt(l.endToEnd.p99, 1)} ms   (capture → package handed to the uploader; target p99 < 100)`);
    console.log(`  bare detector loop:   ${bares.map((b) => fmt(b.fps, 1)).join(', ')} frames/s (${bares[0]!.frames} frames a run)`);
    console.log(`  sustained (offline, every frame at the clip's ${fmt(clipHz, 1)} frames/s): ${runs.map((r) => fmt(r.fps, 1)).join(', ')} frames/s; over the faster bare run beside each: ${ratios.map((r) => fmt(r.ratio, 3)).join(', ')}`);
    console.log(`    median ${fmt(median.ratio, 3)} × bare detector (target ≥ 0.9): ${max.processed} frames, ${max.packages.immediate + max.packages.cached} packages, CPU ${fmt(max.cores, 2)} cores, RSS ${fmt(max.rssMiB, 0)} MiB`);
    console.log(`    end to end  p50 ${fmt(max.latency.endToEnd.p50, 1)} ms  p99 ${fmt(max.latency.endToEnd.p99, 1)} ms\n`);
  }
  console.log(`written ${writeResult(`pipeline${policy === 'spec' ? '' : `-${policy}`}${heldFrames === 'jpeg' ? '' : `-held-${heldFrames}`}`, { policy, heldFrames, ...results })}`);
}
