/**
 * npm run bench -- memory [--seconds 20] [--720p] [--only 0,5] [--repeat 3] [--tsx]
 *
 * Where one camera's RSS goes (docs/performance.md): the service runs one camera at
 * 10 Hz (a file source at real rate) in its own process, uploading to a
 * receiver in this process; each variant toggles one part (inference
 * workers, the ORT CPU arena, memory patterns, the frame ring), so the
 * difference between rows is that part's cost. Each row: RSS at the end and
 * its peak, V8 heap, ArrayBuffers (pixel slots and tensors are shared
 * memory, counted there), smaps_rollup anonymous memory, and the run's
 * drops and end-to-end p99 (the speed the memory buys).
 */
import { join } from 'node:path';
import { TRAFFIC_CLIPS_DIR } from '../src/paths.js';
import { make720pClip } from './capture.js';
import { compiledIsCurrent, ensureCompiled, LoopbackReceiver, runServiceChild } from './service-runner.js';
import { BenchArgsError, benchArgs, benchNumber, fmt, machine, writeResult } from './util.js';

interface Variant {
  name: string;
  env?: Record<string, string>;
  model?: Record<string, unknown>;
  camera?: Record<string, unknown>;
}

export const MEMORY_VARIANTS: Variant[] = [
  // Earlier rounds' settings, for the record (each row names what differs from today's defaults).
  { name: 'before issue 18: 2 workers × 1 thread, 2 s ring, held pixels', model: { workers: 2, intraOpThreads: 2 }, camera: { ringSeconds: 2, heldFrames: 'pixels' } },
  { name: '2 workers × 1 thread', model: { workers: 2, intraOpThreads: 2 } },
  { name: '1 worker × 2 threads', model: { intraOpThreads: 2 } },
  { name: 'defaults + 2 s ring', model: {}, camera: { ringSeconds: 2 } },
  { name: 'defaults + arena off', model: { cpuMemArena: false } },
  { name: 'defaults (1 worker × 1 thread, 0.5 s ring, held frames as JPEG, 2 malloc arenas, 128 KiB mmap threshold, I420 frames)', model: {} },
  { name: 'defaults + memPattern off', model: { memPattern: false } },
  { name: 'previous defaults: 1 s ring, held pixels, glibc arenas (16)', model: {}, camera: { ringSeconds: 1, heldFrames: 'pixels' }, env: { MALLOC_ARENA_MAX: '16' } },
  { name: 'defaults + decoderThreads 1', model: {}, camera: { decoderThreads: 1 } },
  { name: 'defaults + held pixels', model: {}, camera: { heldFrames: 'pixels' } },
  { name: 'defaults + 1 s ring', model: {}, camera: { ringSeconds: 1 } },
  { name: 'defaults + glibc arenas (MALLOC_ARENA_MAX=16)', model: {}, env: { MALLOC_ARENA_MAX: '16' } },
  { name: 'previous defaults: BGR frames (pixelFormat bgr)', model: {}, camera: { pixelFormat: 'bgr' } },
  { name: 'defaults + fixed mmap threshold 256 KiB', model: {}, env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=262144' } },
  { name: 'defaults + mmap threshold 32 MiB (the most glibc raises it to)', model: {}, env: { MALLOC_MMAP_THRESHOLD_: '33554432' } },
  { name: 'defaults + fixed mmap threshold 64 KiB', model: {}, env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' } },
  { name: 'defaults + mmap threshold 128 KiB from process start (GLIBC_TUNABLES)', model: {}, env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' } },
];

const USAGE = `npm run bench -- memory [--seconds 20] [--720p] [--only 0,5] [--repeat 3] [--tsx]
  --seconds N   seconds per variant (default 20)
  --720p        a 1280x720 transcode of the clip instead of the 640x352 clip (writes memory-720p.json; --clip 720p says the same)
  --only IDS    comma-separated variant ids to run (default all), from:
${MEMORY_VARIANTS.map((v, i) => `                ${String(i).padStart(2)}  ${v.name}`).join('\n')}
  --repeat N    runs of each variant, round the variants (default 1; writes memory-repeatN.json)
  --tsx         run the service through tsx even when dist/ is current
Writes benchmarks/results/memory.json.`;

export default async function main(args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, {
    seconds: { type: 'string' },
    '720p': { type: 'boolean' },
    clip: { type: 'string' },
    only: { type: 'string' },
    repeat: { type: 'string' },
    tsx: { type: 'boolean' },
  });
  const seconds = benchNumber('positive number', '--seconds', values.seconds, 20);
  // `--clip 720p` (this file's header said so before --720p) is the same as --720p; no other clip is offered.
  if (values.clip !== undefined && values.clip !== '720p') throw new BenchArgsError(`Expected 720p for --clip but received '${values.clip}'`);
  const is720p = values['720p'] === true || values.clip === '720p';
  const ids = MEMORY_VARIANTS.map((_, i) => String(i));
  const picked = values.only?.split(',');
  const unknown = picked?.filter((id) => !ids.includes(id)) ?? [];
  if (unknown.length > 0) {
    throw new BenchArgsError(`--only ${values.only}: no variant ${unknown.map((id) => `'${id}'`).join(', ')}; the ids are 0 to ${ids.length - 1} (npm run bench -- memory --help names them)`);
  }
  const variants = picked ? MEMORY_VARIANTS.filter((_, i) => picked.includes(String(i))) : MEMORY_VARIANTS;
  const repeat = benchNumber('positive integer', '--repeat', values.repeat, 1);
  const tsx = values.tsx === true;
  const clip = is720p ? make720pClip() : join(TRAFFIC_CLIPS_DIR, 'suburban-street-elevated.mp4');
  if (!tsx) ensureCompiled();
  console.log(`machine: ${machine()} (2 cores shared with other jobs: figures are from a loaded machine)`);
  console.log(`one camera at 10 Hz, ${clip.split('/').pop()} at real rate, ${seconds} s per variant, service in its own process (${compiledIsCurrent() && !tsx ? 'compiled dist/' : 'TypeScript through tsx'})\n`);
  const rcv = await LoopbackReceiver.start();
  const rows: Array<Record<string, unknown>> = [];
  try {
    // Repeats go round the variants (not one variant N times in a row), so drift of the machine's load spreads over all of them.
    for (let k = 0; k < repeat; k++) for (const v of variants) {
      const r = await runServiceChild(rcv, { cameras: [{ id: 'cam1', clip }], captureHz: 10, seconds, loop: true, model: v.model, camera: v.camera }, { env: v.env, ...(tsx ? { compiled: false } : {}) });
      const cam = r.cameras[0]!;
      const row = {
        variant: v.name,
        compiled: r.compiled,
        model: v.model,
        rssMiB: r.finalRssMiB,
        peakRssMiB: r.peakRssMiB,
        heapUsedMiB: r.memory.heapUsed ?? NaN,
        heapTotalMiB: r.memory.heapTotal ?? NaN,
        arrayBuffersMiB: r.memory.arrayBuffers ?? NaN,
        externalMiB: r.memory.external,
        anonymousMiB: r.smaps.Anonymous,
        fileBackedMiB: (r.smaps.Rss ?? 0) - (r.smaps.Anonymous ?? 0),
        cores: r.cores,
        processed: cam.processed,
        dropped: cam.dropped,
        p50Ms: cam.endToEnd.p50,
        p99Ms: cam.endToEnd.p99,
        loadAvg1: r.loadAvg1,
      };
      rows.push(row);
      console.log(
        `${v.name.padEnd(52)} RSS ${fmt(row.rssMiB, 0)} MiB (peak ${row.peakRssMiB}), heap ${fmt(row.heapUsedMiB, 0)}/${fmt(row.heapTotalMiB, 0)}, ` +
          `ArrayBuffers ${fmt(row.arrayBuffersMiB, 0)}, anon ${row.anonymousMiB}, file ${row.fileBackedMiB}; ` +
          `${cam.processed} frames, ${cam.dropped} dropped, e2e p50 ${fmt(cam.endToEnd.p50, 1)} p99 ${fmt(cam.endToEnd.p99, 1)} ms, CPU ${fmt(r.cores, 2)}`,
      );
    }
  } finally {
    await rcv.close();
  }
  const spread = variants.map((v) => {
    const mine = rows.filter((r) => r.variant === v.name);
    const rss = mine.map((r) => r.rssMiB as number).sort((a, b) => a - b);
    const p99 = mine.map((r) => r.p99Ms as number).sort((a, b) => a - b);
    return { variant: v.name, runs: rss.length, rssMedianMiB: rss[Math.floor((rss.length - 1) / 2)]!, rssMinMiB: rss[0]!, rssMaxMiB: rss[rss.length - 1]!, p99MedianMs: p99[Math.floor((p99.length - 1) / 2)]! };
  });
  if (repeat > 1) {
    console.log(`\nmedian of ${repeat} runs (min–max):`);
    for (const x of spread) console.log(`${x.variant.padEnd(52)} RSS ${fmt(x.rssMedianMiB, 0)} MiB (${fmt(x.rssMinMiB, 0)}–${fmt(x.rssMaxMiB, 0)}), e2e p99 median ${fmt(x.p99MedianMs, 1)} ms`);
  }
  console.log(`\nwritten ${writeResult(is720p ? 'memory-720p' : repeat > 1 ? `memory-repeat${repeat}` : 'memory', { seconds, clip, repeat, spread, rows })}`);
}
