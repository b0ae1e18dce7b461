/**
 * npm run bench -- pipeline [--policy spec|shared-best|…] [--held-frames jpeg|pixels] [--pixel-format i420|bgr]
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
 *     dropped), frames/s — and its ratio to the bare detector.
 * CPU (cores busy) and RSS for each run. Targets on this 2-core machine:
 * 10 Hz with zero drops and end-to-end p99 < 100 ms; sustained ≥ 0.85 × bare.
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
import { benchArgs, benchChoice, fmt, machine, summary, writeResult } from './util.js';

const USAGE = `npm run bench -- pipeline [--policy spec|shared-best|…] [--held-frames jpeg|pixels] [--pixel-format i420|bgr]
  --policy P        selection.policy: ${POLICY_NAMES.join(', ')} (default spec)
  --held-frames H   cameras[].heldFrames: jpeg (default) or pixels
  --pixel-format F  cameras[].pixelFormat: i420 (default) or bgr
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
  const { values } = benchArgs(args, USAGE, { policy: { type: 'string' }, 'held-frames': { type: 'string' }, 'pixel-format': { type: 'string' } });
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
    // The bare loop runs before and after the pipeline; the faster of the two is
    // the reference (conservative against the machine's drift during the run).
    const bareBefore = await bareDetector(clip, pixelFormat);
    const live = await pipelineRun(clip, 'live', 10, policy, heldFrames, pixelFormat);
    const max = await pipelineRun(clip, 'offline', 1000, policy, heldFrames, pixelFormat);
    const bareAfter = await bareDetector(clip, pixelFormat);
    const bare = bareAfter.fps > bareBefore.fps ? bareAfter : bareBefore;
    results[name] = { bareDetectorFps: bare.fps, live10Hz: live, sustained: max, sustainedOverBare: max.fps / bare.fps };
    const l = live.latency;
    console.log(`${name}`);
    console.log(`  bare detector loop:   ${fmt(bare.fps, 1)} frames/s (${bare.frames} frames; before ${fmt(bareBefore.fps, 1)}, after ${fmt(bareAfter.fps, 1)})`);
    console.log(`  live 10 Hz:           ${live.processed} frames, dropped ${live.dropped} (${fmt(100 * live.dropRate, 1)} %), CPU ${fmt(live.cores, 2)} cores, RSS ${fmt(live.rssMiB, 0)} MiB`);
    console.log(`    detect      p50 ${fmt(l.detect.p50, 1)} ms  p99 ${fmt(l.detect.p99, 1)} ms   (capture → boxes)`);
    console.log(`    track+sel.  p50 ${fmt(l.trackSelect.p50, 1)} ms  p99 ${fmt(l.trackSelect.p99, 1)} ms`);
    console.log(`    end to end  p50 ${fmt(l.endToEnd.p50, 1)} ms  p99 ${fmt(l.endToEnd.p99, 1)} ms   (capture → package handed to the uploader; target p99 < 100)`);
    console.log(`  sustained (offline):  ${fmt(max.fps, 1)} frames/s = ${fmt(max.fps / bare.fps, 3)} × bare detector (target ≥ 0.85), CPU ${fmt(max.cores, 2)} cores, RSS ${fmt(max.rssMiB, 0)} MiB`);
    console.log(`    end to end  p50 ${fmt(max.latency.endToEnd.p50, 1)} ms  p99 ${fmt(max.latency.endToEnd.p99, 1)} ms\n`);
  }
  console.log(`written ${writeResult(`pipeline${policy === 'spec' ? '' : `-${policy}`}${heldFrames === 'jpeg' ? '' : `-held-${heldFrames}`}`, { policy, heldFrames, ...results })}`);
}
