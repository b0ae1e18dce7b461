/**
 * npm run bench -- cameras [--seconds 20] [--counts 1,2,4] [--sizes 640x360,1280x720] [--decoder-threads N]
 *
 * Several cameras in one service process (issue 18.3): 1, 2 and 4 cameras,
 * each a different traffic clip transcoded to 640×360 and to 1280×720, read
 * at its real rate (looping), taken at 10 Hz, through the whole pipeline
 * (detect → track → select → JPEG → queue → upload) to a reference receiver
 * on loopback in this process. The service runs in its own process, so its
 * CPU and RSS are its own. Per camera: frames, drops, end-to-end p50/p99
 * (capture → packages handed to the uploader); per run: CPU cores, RSS at
 * the end and its peak, packages the receiver acknowledged.
 * Goals (2 cores, CPU inference): four cameras 0 drops, p99 < 150 ms, RSS ≤ 600 MiB.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRAFFIC_CLIPS_DIR } from '../src/paths.js';
import { compiledIsCurrent, ensureCompiled, LoopbackReceiver, runServiceChild } from './service-runner.js';
import { BenchArgsError, benchArgs, benchChoice, benchNumber, benchNumbers, fmt, machine, writeResult } from './util.js';

const USAGE = `npm run bench -- cameras [--seconds 20] [--counts 1,2,4] [--sizes 640x360,1280x720] [--decoder-threads N] [--pixel-format i420|bgr] [--tsx]
  --seconds N          seconds per run (default 20)
  --counts 1,2,4       numbers of cameras, one run each (default 1,2,4)
  --sizes WxH,...      clip sizes, one run each (default 640x360,1280x720)
  --decoder-threads N  every camera's cameras[].decoderThreads (0 = the decoder's default)
  --pixel-format F     every camera's cameras[].pixelFormat: i420 (the default) or bgr
  --tsx                run the service through tsx even when dist/ is current
Writes benchmarks/results/cameras.json.`;

export const CAMERA_CLIPS = ['suburban-street-elevated.mp4', 'intersection-elevated-motorbikes.mp4', 'town-centre-pedestrians.mp4', 'overhead-lane-cars.mp4'];

/** A clip scaled to width×height H.264 (its first `frames` frames, default 300), transcoded once into the temp dir. */
export function scaledClip(name: string, width: number, height: number, frames = 300): string {
  const dir = join(tmpdir(), 'bestshot-bench');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${name.replace(/\.\w+$/, '')}-${width}x${height}${frames === 300 ? '' : `-${frames}f`}.mp4`);
  if (!existsSync(out)) {
    console.log(`transcoding ${name} to ${width}x${height} H.264 (once) ...`);
    const args = [
      '-q', 'filesrc', `location=${join(TRAFFIC_CLIPS_DIR, name)}`, '!', 'decodebin', '!', 'identity', `eos-after=${frames}`, '!', 'videoconvert', '!',
      'videoscale', '!', `video/x-raw,width=${width},height=${height},pixel-aspect-ratio=1/1`, '!', 'x264enc', 'speed-preset=veryfast', 'tune=zerolatency', '!',
      'h264parse', '!', 'mp4mux', '!', 'filesink', `location=${out}.${process.pid}.tmp`,
    ];
    // mp4mux now and then refuses a buffer without PTS at the cut (seen once here, with a 24-frame cut): one more try.
    try {
      execFileSync('gst-launch-1.0', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      execFileSync('gst-launch-1.0', args);
    }
    execFileSync('mv', [`${out}.${process.pid}.tmp`, out]);
  }
  return out;
}

export interface CamerasRow {
  size: string;
  cameras: number;
  perCamera: Array<{ id: string; clip: string; processed: number; dropped: number; p50Ms: number; p99Ms: number; packages: number }>;
  dropped: number;
  worstP99Ms: number;
  cores: number;
  rssMiB: number;
  peakRssMiB: number;
  delivered: number;
  seconds: number;
  compiled: boolean;
  stages: { detectP50Ms: number; detectP99Ms: number; trackSelectP99Ms: number };
  eventLoopDelayP99Ms: number;
  /** The machine's 1-minute load average before and after the run (2 cores: above 2 means other jobs were waiting too). */
  loadAvg1: [number, number];
}

export async function runCameras(opts: {
  seconds: number;
  counts: number[];
  sizes: Array<[number, number]>;
  compiled?: boolean;
  /** Extra per-camera config keys (e.g. { decoderThreads: 1 }). */
  camera?: Record<string, unknown>;
  log?: (s: string) => void;
}): Promise<CamerasRow[]> {
  const log = opts.log ?? console.log;
  const rows: CamerasRow[] = [];
  const rcv = await LoopbackReceiver.start();
  try {
    for (const [w, h] of opts.sizes) {
      const clips = CAMERA_CLIPS.map((c) => scaledClip(c, w, h));
      for (const n of opts.counts) {
        const cameras = Array.from({ length: n }, (_, i) => ({ id: `cam${i + 1}`, clip: clips[i % clips.length]! }));
        const r = await runServiceChild(rcv, { cameras, captureHz: 10, seconds: opts.seconds, loop: true, camera: opts.camera }, opts.compiled === undefined ? {} : { compiled: opts.compiled });
        const row: CamerasRow = {
          size: `${w}x${h}`,
          cameras: n,
          perCamera: r.cameras.map((c, i) => ({
            id: c.id,
            clip: CAMERA_CLIPS[i % CAMERA_CLIPS.length]!,
            processed: c.processed,
            dropped: c.dropped,
            p50Ms: c.endToEnd.p50,
            p99Ms: c.endToEnd.p99,
            packages: c.packages,
          })),
          dropped: r.cameras.reduce((a, c) => a + c.dropped, 0),
          worstP99Ms: Math.max(...r.cameras.map((c) => c.endToEnd.p99)),
          cores: r.cores,
          rssMiB: r.finalRssMiB,
          peakRssMiB: r.peakRssMiB,
          delivered: r.delivered,
          seconds: r.seconds,
          compiled: r.compiled,
          stages: { detectP50Ms: r.stages.detect.p50, detectP99Ms: r.stages.detect.p99, trackSelectP99Ms: r.stages.trackSelect.p99 },
          eventLoopDelayP99Ms: r.eventLoopDelayMs.p99,
          loadAvg1: r.loadAvg1,
        };
        rows.push(row);
        log(`${row.size} × ${n} camera(s): CPU ${fmt(row.cores, 2)} cores, RSS ${fmt(row.rssMiB, 0)} MiB (peak ${row.peakRssMiB}), ${row.delivered} packages acknowledged; machine load ${r.loadAvg1.join(' → ')}`);
        log(
          `  stages (all cameras): detect p50 ${fmt(r.stages.detect.p50, 1)} p99 ${fmt(r.stages.detect.p99, 1)} ms, track+select p50 ${fmt(r.stages.trackSelect.p50, 1)} p99 ${fmt(r.stages.trackSelect.p99, 1)} ms; ` +
            `event-loop delay p99 ${fmt(r.eventLoopDelayMs.p99, 1)} ms, max ${fmt(r.eventLoopDelayMs.max, 1)} ms`,
        );
        for (const c of row.perCamera) {
          log(`  ${c.id} ${c.clip.padEnd(38)} ${String(c.processed).padStart(4)} frames, ${c.dropped} dropped, e2e p50 ${fmt(c.p50Ms, 1)} ms p99 ${fmt(c.p99Ms, 1)} ms, ${c.packages} packages`);
        }
      }
    }
  } finally {
    await rcv.close();
  }
  return rows;
}

export default async function main(args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, {
    seconds: { type: 'string' },
    counts: { type: 'string' },
    sizes: { type: 'string' },
    'decoder-threads': { type: 'string' },
    'pixel-format': { type: 'string' },
    tsx: { type: 'boolean' },
  });
  const tsx = values.tsx === true;
  const seconds = benchNumber('positive number', '--seconds', values.seconds, 20);
  const counts = benchNumbers('positive integer', '--counts', values.counts ?? '1,2,4');
  const sizes = (values.sizes ?? '640x360,1280x720').split(',').map((s) => {
    const wh = s.split('x');
    if (wh.length !== 2) throw new BenchArgsError(`Expected WxH sizes for --sizes but received '${s}'`);
    return wh.map((x) => benchNumber('positive integer', '--sizes', x, 0)) as [number, number];
  });
  // --decoder-threads N: every camera's cameras[].decoderThreads (the memory it saves per 1280×720 camera, docs/performance.md).
  const decoderThreads = values['decoder-threads'] === undefined ? undefined : benchNumber('non-negative integer', '--decoder-threads', values['decoder-threads'], 0);
  // --pixel-format bgr|i420: every camera's cameras[].pixelFormat (the default is i420).
  const pixelFormat = values['pixel-format'] === undefined ? undefined : benchChoice('--pixel-format', values['pixel-format'], ['i420', 'bgr'], 'i420');
  if (!tsx) ensureCompiled();
  console.log(`machine: ${machine()} (2 cores shared with other jobs: figures are from a loaded machine)`);
  console.log(
    `cameras at 10 Hz each, clips at real rate (looping), ${seconds} s per run, service in its own process (${compiledIsCurrent() && !tsx ? 'compiled dist/' : 'TypeScript through tsx: build with npx tsc -p . for the figures a unit sees'}), receiver on loopback\n`,
  );
  const camera = decoderThreads === undefined && pixelFormat === undefined ? undefined : { ...(decoderThreads === undefined ? {} : { decoderThreads }), ...(pixelFormat === undefined ? {} : { pixelFormat }) };
  const rows = await runCameras({ seconds, counts, sizes, camera, ...(tsx ? { compiled: false } : {}) });
  const four = rows.filter((r) => r.cameras === 4);
  for (const r of four) {
    console.log(
      `\n${r.size} four cameras: ${r.dropped} dropped (goal 0), worst p99 ${fmt(r.worstP99Ms, 1)} ms (goal < 150), RSS ${fmt(r.rssMiB, 0)} MiB (goal ≤ 600)`,
    );
  }
  const name = camera === undefined ? 'cameras' : `cameras${decoderThreads === undefined ? '' : `-decoder-threads-${decoderThreads}`}${pixelFormat === undefined ? '' : `-${pixelFormat}`}`;
  console.log(`\nwritten ${writeResult(name, { seconds, camera, rows })}`);
}
