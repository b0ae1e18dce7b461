/**
 * npm run bench -- capture [--no-tensor] [--out NAME]
 *
 * Frames/s pulled into Node and per-frame latency for a 1280×720 H.264 clip
 * (made here from a shared clip, transcoded with GStreamer), RSS at start and
 * end, and in the same run the rate of the same decode pipeline ending in
 * fakesink under gst-launch-1.0: the ceiling, one per pixel format (decode
 * to BGR, and decode to I420, which from an H.264 decoder is no conversion).
 * Goals: ≥ 0.9× the ceiling for frames, ≥ 0.95× for frames + the 416×416
 * detector tensor with slots; the runtime's mode is I420 + tensor + slots
 * (config cameras[].pixelFormat, docs/performance.md "I420 frames"), held
 * to the I420 ceiling. `--out NAME` writes results/NAME.json instead of
 * capture.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture, type PixelFormat } from '../src/capture/index.js';
import { TRAFFIC_CLIPS_DIR } from '../src/paths.js';
import { BenchArgsError, benchArgs, fmt, machine, summary, writeResult } from './util.js';

const USAGE = `npm run bench -- capture [--no-tensor] [--out NAME]
  --no-tensor  skip the runs with the 416x416 detector tensor
  --out NAME   write benchmarks/results/NAME.json instead of capture.json`;

/**
 * The 1280×720 H.264 clip of the capture, memory and pipeline benchmarks, with
 * square pixels: the shared clip is 640×352, and videoscale kept its display
 * aspect by giving the 1280×720 frames a pixel aspect of 45:44 unless the caps
 * ask for 1:1. Since the capture scales non-square recordings to square pixels
 * (src/capture/options.ts), the runtime then scaled every frame of that clip
 * to 1309×720 while the gst-launch ceiling decoded 1280×720: the capture
 * ratios compared a scaling pipeline with one that does not scale (I420 frames
 * 0.63× the ceiling instead of 0.99×). `frames` (tests) stops after that many.
 */
export function make720pClip(frames?: number): string {
  const dir = join(tmpdir(), 'bestshot-bench');
  mkdirSync(dir, { recursive: true });
  // A new name: the clip cached by earlier versions (pixel aspect 45:44) is not reused.
  const out = join(dir, frames === undefined ? 'suburban-720p-square.mp4' : `suburban-720p-square-${frames}f.mp4`);
  if (!existsSync(out)) {
    if (frames === undefined) console.log('transcoding suburban-street-elevated.mp4 to 1280x720 H.264 (once) ...');
    const stop = frames === undefined ? [] : ['identity', `eos-after=${frames}`, '!'];
    execFileSync('gst-launch-1.0', [
      '-q', 'filesrc', `location=${join(TRAFFIC_CLIPS_DIR, 'suburban-street-elevated.mp4')}`, '!', 'decodebin', '!', ...stop, 'videoconvert', '!',
      'videoscale', '!', 'video/x-raw,width=1280,height=720,pixel-aspect-ratio=1/1', '!', 'x264enc', 'speed-preset=veryfast', 'tune=zerolatency', '!',
      'h264parse', '!', 'mp4mux', '!', 'filesink', `location=${out}.tmp`,
    ]);
    execFileSync('mv', [`${out}.tmp`, out]);
  }
  return out;
}

function ceilingFps(path: string, frames: number, format: PixelFormat): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('gst-launch-1.0', ['-q', 'filesrc', `location=${path}`, '!', 'decodebin', '!', 'videoconvert', 'n-threads=2', '!', `video/x-raw,format=${format}`, '!', 'fakesink', 'sync=false'], { stdio: 'ignore' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error('gst-launch-1.0 ceiling run failed');
  return frames / s;
}

async function pullRuns(path: string, withTensor: boolean, pixelSlots = 0, runs = 3, format: PixelFormat = 'BGR'): Promise<{ fps: number[]; lat: number[]; frames: number; size: string }> {
  const fps: number[] = [];
  let best: number[] = [];
  let bestFps = 0;
  let frames = 0;
  let size = '';
  for (let run = 0; run < runs; run++) {
    const source = openCapture({
      source: { type: 'file', path },
      tensor: withTensor ? { width: 416, height: 416, channelOrder: 'bgr', placement: 'topleft', padValue: 114, scale: 1 } : undefined,
      pixelSlots,
      format,
    });
    const lat: number[] = [];
    let n = 0;
    const t0 = performance.now();
    for (;;) {
      const a = performance.now();
      const f = await source.next();
      if (f === null) break;
      if (n === 0) size = `${f.width}x${f.height}`;
      lat.push(performance.now() - a);
      source.releaseTensor(f);
      source.releasePixels(f);
      n++;
    }
    const rate = n / ((performance.now() - t0) / 1000);
    source.close();
    frames = n;
    fps.push(rate);
    if (rate > bestFps) {
      bestFps = rate;
      best = lat;
    }
  }
  return { fps, lat: best, frames, size };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function main(args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, { 'no-tensor': { type: 'boolean' }, out: { type: 'string' } });
  const out = values.out ?? 'capture';
  if (!/^[\w.-]+$/.test(out)) throw new BenchArgsError(`Expected a file name (letters, digits, . _ -) for --out but received '${out}'`);
  const path = make720pClip();
  // The machine's 1-minute load before and after: other jobs on the same cores show here.
  const loadBefore = loadavg()[0]!;
  const rssStart = process.memoryUsage().rss;
  // The ceiling is taken at the start, the middle and the end, so that a change of load on
  // the shared cores during the run moves the ceiling and the pulls alike.
  const ceilings: Record<'BGR' | 'I420', number[]> = { BGR: [], I420: [] };
  const takeCeilings = (): void => {
    for (const f of ['BGR', 'I420'] as const) ceilings[f].push(ceilingFps(path, frames, f));
  };
  const noTensor = values['no-tensor'] === true;
  const first = await pullRuns(path, false, 0, 1);
  const frames = first.frames;
  // gst-launch decodes 1280x720: a capture that delivers another size does other work, and the ratios would not compare.
  if (first.size !== '1280x720') throw new Error(`the capture delivers ${first.size} frames of ${path}, gst-launch 1280x720: the ratios would compare different work`);
  takeCeilings();
  const plain = await pullRuns(path, false);
  const tensor = noTensor ? undefined : await pullRuns(path, true);
  const i420Slotted = await pullRuns(path, false, 8, 3, 'I420');
  takeCeilings();
  const plainSlotted = await pullRuns(path, false, 8);
  const slotted = noTensor ? undefined : await pullRuns(path, true, 8);
  const i420Tensor = noTensor ? undefined : await pullRuns(path, true, 8, 3, 'I420');
  takeCeilings();
  const rssEnd = process.memoryUsage().rss;
  const ceiling = { BGR: median(ceilings.BGR), I420: median(ceilings.I420) };
  console.log(`machine: ${machine()}`);
  for (const f of ['BGR', 'I420'] as const) {
    console.log(`clip: 1280x720 H.264, ${frames} frames; gst-launch ceiling, decode to ${f}: ${fmt(ceiling[f], 1)} frames/s to fakesink (median of 3: ${ceilings[f].map((c) => fmt(c, 1)).join(', ')})`);
  }
  const rows: Record<string, unknown> = {};
  for (const [name, r, format] of [
    ['BGR frames, a new buffer each', plain, 'BGR'],
    ['BGR frames, 8 reused pixel slots', plainSlotted, 'BGR'],
    ['BGR + 416x416 tensor, new buffers', tensor, 'BGR'],
    ['BGR + 416x416 tensor, 8 pixel slots', slotted, 'BGR'],
    ['I420 frames, 8 reused pixel slots', i420Slotted, 'I420'],
    ['I420 + 416x416 tensor, 8 pixel slots', i420Tensor, 'I420'],
  ] as const) {
    if (!r) continue;
    const lat = summary(r.lat);
    const nodeFps = median(r.fps);
    const c = ceiling[format];
    const goal = name.includes('tensor') && name.includes('slots') ? '0.95' : '0.9';
    console.log(`${name.padEnd(40)} ${fmt(nodeFps, 1)} frames/s (runs ${r.fps.map((f) => fmt(f, 1)).join(', ')}) = ${fmt(nodeFps / c, 3)} × the ${format} ceiling (goal ≥ ${goal}); next() wait p50 ${fmt(lat.p50)} ms, p99 ${fmt(lat.p99)} ms`);
    rows[name] = { nodeFps, ratio: nodeFps / c, ceiling: format, runs: r.fps, latencyMs: lat };
  }
  const loadAvg1 = [loadBefore, loadavg()[0]!].map((l) => Math.round(l * 100) / 100);
  console.log(`RSS: start ${fmt(rssStart / 2 ** 20, 0)} MiB, end ${fmt(rssEnd / 2 ** 20, 0)} MiB; load average (1 min) before ${loadAvg1[0]}, after ${loadAvg1[1]}`);
  const file = writeResult(out, {
    frames,
    ceilingFps: ceiling.BGR,
    ceilingRuns: ceilings.BGR,
    ceilingI420Fps: ceiling.I420,
    ceilingI420Runs: ceilings.I420,
    results: rows,
    rssStartMiB: rssStart / 2 ** 20,
    rssEndMiB: rssEnd / 2 ** 20,
    loadAvg1,
  });
  console.log(`written ${file}`);
}
