/**
 * One service process for the memory and multi-camera benchmarks
 * (benchmarks/memory.ts, benchmarks/cameras.ts) and the RSS-trend test:
 * its own process, so its RSS is the service's alone (the receiver runs in
 * the parent). argv[2] is a JSON ChildSpec; the result goes back over IPC.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseConfig } from '../src/config/index.js';
import { BestshotService, type RuntimeLogger } from '../src/runtime/service.js';
import { summary } from './util.js';

export interface ChildSpec {
  dir: string;
  endpoint: string;
  token: string;
  cameras: Array<{ id: string; clip: string }>;
  captureHz: number;
  /** Seconds of running after the service started (warm-up included). */
  seconds: number;
  /** Loop the file sources (long runs). */
  loop?: boolean;
  /** Extra YAML lines under `model:` (e.g. `workers: 1`). */
  model?: Record<string, unknown>;
  /** Extra YAML under each camera (e.g. ringSeconds). */
  camera?: Record<string, unknown>;
  /** RSS sample period, ms. Default 500. */
  sampleMs?: number;
}

export interface CameraResult {
  id: string;
  processed: number;
  skipped: number;
  dropped: number;
  droppedByReason: Record<string, number>;
  packages: number;
  endToEnd: ReturnType<typeof summary>;
}

export interface ChildResult {
  cameras: CameraResult[];
  /** Packages acknowledged by the receiver in this run (immediate + cached sends). */
  delivered: number;
  /** All cameras together: capture → boxes, and boxes → tracked and selected, ms. */
  stages: { detect: ReturnType<typeof summary>; trackSelect: ReturnType<typeof summary> };
  /** The main thread's event-loop delay over the run. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** CPU cores busy over the run (user + system / wall). */
  cores: number;
  seconds: number;
  peakRssMiB: number;
  finalRssMiB: number;
  /** [seconds since start, RSS MiB] every sampleMs. */
  rssSamples: Array<[number, number]>;
  /** [seconds, V8 heap used, external, ArrayBuffers] MiB, at the same times. */
  memorySamples: Array<[number, number, number, number]>;
  memory: Record<string, number>;
  smaps: Record<string, number>;
}

const silent: RuntimeLogger = { debug() {}, info() {}, warn() {}, error: (m, f) => console.error(m, f) };

function yamlObj(o: Record<string, unknown> | undefined): string {
  if (!o) return '';
  return Object.entries(o)
    .map(([k, v]) => `, ${k}: ${JSON.stringify(v)}`)
    .join('');
}

export function smapsRollup(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+) kB/.exec(line);
      if (m) out[m[1]!] = Math.round(Number(m[2]) / 1024);
    }
  } catch {
    // not Linux
  }
  return out;
}

export function memoryMiB(): Record<string, number> {
  const m = process.memoryUsage();
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round((v / 2 ** 20) * 10) / 10]));
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]!) as ChildSpec;
  const cams = spec.cameras
    .map(
      (c) => `  - { id: ${c.id}, source: { type: file, path: ${JSON.stringify(c.clip)}, realtime: true, loop: ${spec.loop ?? false} }, captureHz: ${spec.captureHz}, position: { type: none }${yamlObj(spec.camera)} }`,
    )
    .join('\n');
  const { config } = parseConfig(
    `version: 1
model: { providers: [cpu]${yamlObj(spec.model)} }
cameras:
${cams}
queue: { path: ${spec.dir}/queue.sqlite, synchronous: normal }
upload: { endpoint: ${JSON.stringify(spec.endpoint)}, token: ${JSON.stringify(spec.token)}, sendHz: 50 }
metrics: { enabled: false }
stateDir: ${spec.dir}/state
`,
    { baseDir: spec.dir },
  );
  const svc = await BestshotService.start({ config, mode: 'live', logger: silent });
  // Counted from events: a looping file source gets a new runner (fresh stats) at every restart.
  const lat = new Map<string, number[]>(spec.cameras.map((c) => [c.id, []]));
  const detectLat: number[] = [];
  const trackLat: number[] = [];
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const counts = new Map(spec.cameras.map((c) => [c.id, { skipped: 0, dropped: {} as Record<string, number>, packages: 0 }]));
  svc.on('frame', (id, r) => {
    lat.get(id)!.push(r.latency.total);
    detectLat.push(r.latency.detect);
    trackLat.push(r.latency.track - r.latency.detect);
  });
  svc.on('skip', (id, n) => (counts.get(id)!.skipped += n));
  svc.on('drop', (id, reason, n) => {
    const d = counts.get(id)!.dropped;
    d[reason] = (d[reason] ?? 0) + n;
  });
  svc.on('upload', (u) => counts.get(u.cameraId)!.packages++);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const samples: Array<[number, number]> = [];
  const parts: Array<[number, number, number, number]> = [];
  let peak = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    const rss = m.rss / 2 ** 20;
    const t = Math.round((performance.now() - t0) / 100) / 10;
    peak = Math.max(peak, rss);
    samples.push([t, Math.round(rss * 10) / 10]);
    parts.push([t, Math.round(m.heapUsed / 2 ** 20), Math.round(m.external / 2 ** 20), Math.round(m.arrayBuffers / 2 ** 20)]);
  };
  const timer = setInterval(sample, spec.sampleMs ?? 500);
  await Promise.race([svc.done(), new Promise((r) => setTimeout(r, spec.seconds * 1000))]);
  clearInterval(timer);
  sample();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const memory = memoryMiB();
  const smaps = smapsRollup();
  const cameras: CameraResult[] = [];
  await svc.stop();
  const run = svc.runCounts();
  for (const cam of spec.cameras) {
    const c = counts.get(cam.id)!;
    const dropped = Object.values(c.dropped).reduce((a, b) => a + b, 0);
    const l = lat.get(cam.id)!;
    cameras.push({
      id: cam.id,
      processed: l.length,
      skipped: c.skipped,
      dropped,
      droppedByReason: c.dropped,
      packages: c.packages,
      endToEnd: summary(l),
    });
  }
  const result: ChildResult = {
    cameras,
    delivered: run.sentImmediate + run.sentCached,
    stages: { detect: summary(detectLat), trackSelect: summary(trackLat) },
    eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    cores: (cpu.user + cpu.system) / 1e6 / seconds,
    seconds,
    peakRssMiB: Math.round(peak),
    finalRssMiB: samples[samples.length - 1]![1],
    rssSamples: samples,
    memorySamples: parts,
    memory,
    smaps,
  };
  process.send!(result);
  process.disconnect();
}

// Only when run as the child process (the memory helpers above are imported by other benchmarks).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
