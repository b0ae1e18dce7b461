/**
 * npm run bench -- detect [--runs N] [--clip file]
 *
 * Detection stage latency per frame (D1) for YOLOX-Nano at 416×416 on CPU,
 * with 1 and 2 intra-op threads:
 * - preprocess: the native letterbox tensor built inside the capture
 *   pipeline, measured as (decode with tensor − decode without) per frame;
 * - inference: session.run;
 * - postprocess: decode + NMS + un-letterbox;
 * - detect = inference + postprocess; stage = preprocess + detect;
 * - end-to-end frames/s: capture with tensor → detect, one after another;
 * - model.fitInput: inference on the frame's window of the input against the
 *   whole declared input, alternating frame by frame.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../src/capture/index.js';
import { Detector, DetectorPool, TRAFFIC_CLASSES, fitWindow, letterboxTensor, tensorOptionsFor, type DetectorInput, type PackedImage } from '../src/detect/index.js';
import { TRAFFIC_CLIPS_DIR } from '../src/paths.js';
import { BenchArgsError, benchArgs, benchNumber, fmt, machine, summary, writeResult } from './util.js';

const USAGE = `npm run bench -- detect [--runs N] [--clip file]
  --runs N     timed frames per setting (default 300)
  --clip file  clip in the shared traffic clips folder (default suburban-street-elevated.mp4)
Writes benchmarks/results/detect.json.`;

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

async function decodeAll(path: string, withTensor: boolean, maxFrames: number, manifest: Detector['manifest']): Promise<{ ms: number; frames: number }> {
  const t0 = now();
  const src = openCapture({ source: { type: 'file', path }, tensor: withTensor ? tensorOptionsFor(manifest) : undefined });
  let frames = 0;
  try {
    for await (const f of src) {
      void f;
      if (++frames >= maxFrames) break;
    }
  } finally {
    src.close();
  }
  return { ms: now() - t0, frames };
}

export default async function (args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, { runs: { type: 'string' }, clip: { type: 'string', default: 'suburban-street-elevated.mp4' } });
  const runs = benchNumber('positive integer', '--runs', values.runs, 300);
  const clip = join(TRAFFIC_CLIPS_DIR, values.clip);
  if (!existsSync(clip)) throw new BenchArgsError(`no such clip: ${clip} (--clip)`);
  console.log(`detect benchmark — ${machine()}, load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`clip ${values.clip}, ${runs} timed frames per setting, YOLOX-Nano 416x416, CPU provider, traffic classes\n`);

  // Frames to time on: real tensors from the clip (every 3rd frame, cycled).
  const probe = await Detector.create({ providers: ['cpu'], warmupRuns: 0, logger: () => {} });
  const manifest = probe.manifest;
  await probe.close();
  const inputs: DetectorInput[] = [];
  const images: PackedImage[] = [];
  {
    const src = openCapture({ source: { type: 'file', path: clip }, format: 'BGR', tensor: tensorOptionsFor(manifest) });
    let i = 0;
    for await (const f of src) {
      if (i++ % 3 === 0) inputs.push({ tensor: f.tensor!, letterbox: f.letterbox!, frameWidth: f.width, frameHeight: f.height });
      if (images.length < 30) images.push({ width: f.width, height: f.height, stride: f.stride, format: 'BGR', pixels: f.pixels });
      if (inputs.length >= 100) break;
    }
    src.close();
  }

  // Preprocess: the same decode with and without the letterbox tensor (best of 3 each).
  const decodeFrames = 300;
  const best = async (t: boolean): Promise<{ ms: number; frames: number }> => {
    let b = { ms: Infinity, frames: 0 };
    for (let k = 0; k < 3; k++) {
      const r = await decodeAll(clip, t, decodeFrames, manifest);
      if (r.ms < b.ms) b = r;
    }
    return b;
  };
  const plain = await best(false);
  const withTensor = await best(true);
  const preMs = Math.max(0, (withTensor.ms - plain.ms) / withTensor.frames);
  console.log(
    `preprocess (native letterbox in the capture pipeline): ${fmt(preMs)} ms/frame ` +
      `(decode ${fmt(plain.ms / plain.frames)} ms/frame without tensor, ${fmt(withTensor.ms / withTensor.frames)} with)`,
  );

  const jsTimes: number[] = [];
  const out = new Float32Array(3 * manifest.input.width * manifest.input.height);
  for (let k = 0; k < 100; k++) {
    const t0 = now();
    letterboxTensor(images[k % images.length]!, manifest, out);
    jsTimes.push(now() - t0);
  }
  const js = summary(jsTimes.slice(10));
  console.log(`  for comparison, letterboxTensor in JavaScript: p50 ${fmt(js.p50)} ms  p99 ${fmt(js.p99)} ms`);
  const results: Record<string, unknown> = { clip: values.clip, runs, preprocessMsPerFrame: preMs, jsLetterbox: js };
  for (const threads of [1, 2]) {
    const d = await Detector.create({ providers: ['cpu'], intraOpNumThreads: threads, classes: [...TRAFFIC_CLASSES], warmupRuns: 5, logger: () => {} });
    const inf: number[] = [];
    const post: number[] = [];
    const total: number[] = [];
    let boxes = 0;
    for (let k = 0; k < runs; k++) {
      const input = inputs[k % inputs.length]!;
      const t0 = now();
      const raw = await d.infer([input]);
      const t1 = now();
      const out = d.postprocess(raw, [input]);
      const t2 = now();
      boxes += out[0]!.length;
      inf.push(t1 - t0);
      post.push(t2 - t1);
      total.push(t2 - t0);
    }
    // End to end: capture (decode + letterbox) → detect, sequentially.
    const e0 = now();
    let frames = 0;
    const src = openCapture({ source: { type: 'file', path: clip }, tensor: tensorOptionsFor(d.manifest) });
    for await (const f of src) {
      await d.detect({ tensor: f.tensor!, letterbox: f.letterbox!, frameWidth: f.width, frameHeight: f.height });
      if (++frames >= 150) break;
    }
    src.close();
    const fps = frames / ((now() - e0) / 1000);
    await d.close();
    const si = summary(inf);
    const sp = summary(post);
    const st = summary(total);
    const stage = { p50: st.p50 + preMs, p99: st.p99 + preMs };
    console.log(`\nintra-op threads ${threads}:`);
    console.log(`  inference    p50 ${fmt(si.p50)} ms  p99 ${fmt(si.p99)} ms  mean ${fmt(si.mean)} ms`);
    console.log(`  postprocess  p50 ${fmt(sp.p50, 3)} ms  p99 ${fmt(sp.p99, 3)} ms  (${fmt(boxes / runs, 1)} boxes/frame)`);
    console.log(`  detect       p50 ${fmt(st.p50)} ms  p99 ${fmt(st.p99)} ms  → ${fmt(1000 / st.mean, 1)} frames/s (inference + post)`);
    console.log(`  stage        p50 ${fmt(stage.p50)} ms  p99 ${fmt(stage.p99)} ms  (preprocess + detect; target p99 < 100 ms: ${stage.p99 < 100 ? 'met' : 'MISSED'})`);
    console.log(`  end to end   ${fmt(fps, 1)} frames/s (capture with tensor → detect, sequential, ${frames} frames)`);
    console.log(`  postprocess target p99 < 2 ms: ${sp.p99 < 2 ? 'met' : 'MISSED'}`);
    results[`threads${threads}`] = { inference: si, postprocess: sp, detect: st, stage, endToEndFps: fps, boxesPerFrame: boxes / runs };
  }
  // model.fitInput: the same frames on the whole declared input (the window's peer, same run).
  {
    const fitted = await Detector.create({ providers: ['cpu'], intraOpNumThreads: 1, classes: [...TRAFFIC_CLASSES], warmupRuns: 5, logger: () => {} });
    const whole = await Detector.create({ providers: ['cpu'], intraOpNumThreads: 1, classes: [...TRAFFIC_CLASSES], warmupRuns: 5, fitInput: false, logger: () => {} });
    const times: Record<'fit' | 'whole', number[]> = { fit: [], whole: [] };
    // Alternating, so that both see the same load.
    for (let k = 0; k < Math.min(runs, 200); k++) {
      for (const [name, d] of [
        ['fit', fitted],
        ['whole', whole],
      ] as const) {
        const t0 = now();
        await d.infer([inputs[k % inputs.length]!]);
        times[name].push(now() - t0);
      }
    }
    const f = summary(times.fit);
    const w = summary(times.whole);
    const i0 = inputs[0]!;
    const win = fitWindow(i0.frameWidth, i0.frameHeight, fitted.manifest.input.width, fitted.manifest.input.height, fitted.manifest.input.placement, 32);
    console.log(
      `\nmodel.fitInput (1 thread, alternating): the frame's ${win.width}x${win.height} window p50 ${fmt(f.p50)} ms, the whole ${fitted.manifest.input.width}x${fitted.manifest.input.height} input p50 ${fmt(w.p50)} ms = ${fmt(f.p50 / w.p50, 3)}× (fitsInput ${fitted.fitsInput})`,
    );
    results.fitInput = { window: [win.width, win.height], fit: f, whole: w, ratio: f.p50 / w.p50, fitsInput: fitted.fitsInput };
    await fitted.close();
    await whole.close();
  }
  // Worker threads (DetectorPool): throughput with frames in flight, and how
  // long the main event loop is held (in-thread session.run holds it).
  const shared = inputs.slice(0, 20).map((x) => {
    const t = new Float32Array(new SharedArrayBuffer(x.tensor.byteLength));
    t.set(x.tensor);
    return { ...x, tensor: t };
  });
  for (const [workers, threads] of [
    [1, 2],
    [2, 1],
  ] as const) {
    const pool = await DetectorPool.create({ providers: ['cpu'], workers, intraOpNumThreads: threads, classes: [...TRAFFIC_CLASSES], warmupRuns: 3, logger: () => {} });
    let last = now();
    let maxLag = 0;
    const timer = setInterval(() => {
      const n = now();
      maxLag = Math.max(maxLag, n - last - 5);
      last = n;
    }, 5);
    const n = Math.min(runs, 200);
    const t0 = now();
    let next = 0;
    await Promise.all(
      Array.from({ length: workers * 2 }, async () => {
        while (next < n) {
          const k = next++;
          await pool.detect(shared[k % shared.length]!);
        }
      }),
    );
    const fps = n / ((now() - t0) / 1000);
    clearInterval(timer);
    await pool.close();
    console.log(`
DetectorPool ${workers} worker(s) × ${threads} intra-op thread(s): ${fmt(fps, 1)} frames/s, main event loop held at most ${fmt(maxLag, 1)} ms`);
    results[`pool${workers}x${threads}`] = { fps, maxLoopLagMs: maxLag };
  }
  {
    const d = await Detector.create({ providers: ['cpu'], intraOpNumThreads: 2, warmupRuns: 3, logger: () => {} });
    let last = now();
    let maxLag = 0;
    const timer = setInterval(() => {
      const n = now();
      maxLag = Math.max(maxLag, n - last - 5);
      last = n;
    }, 5);
    for (let k = 0; k < 50; k++) await d.detect(inputs[k % inputs.length]!);
    clearInterval(timer);
    await d.close();
    console.log(`in-thread Detector (for comparison): main event loop held at most ${fmt(maxLag, 1)} ms`);
    results.inThreadMaxLoopLagMs = maxLag;
  }

  results.loadAverage = loadavg();
  console.log(`\nload average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')} (other processes share these cores: p99 reflects them)`);
  console.log(`result: ${writeResult('detect', results)}`);
}
