/**
 * One service process for the memory and multi-camera benchmarks
 * (benchmarks/memory.ts, benchmarks/cameras.ts) and the RSS-trend test:
 * its own process, so its RSS is the service's alone (the receiver runs in
 * the parent). argv[2] is a JSON ChildSpec; the result goes back over IPC.
 */
import { readFileSync } from 'node:fs';
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
  captured: number;
  processed: number;
  skipped: number;
  dropped: number;
  droppedByReason: Record<string, number>;
  packages: number;
  endToEnd: ReturnType<typeof summary>;
}

export interface ChildResult {
  cameras: CameraResult[];
  /** CPU cores busy over the run (user + system / wall). */
  cores: number;
  seconds: number;
  peakRssMiB: number;
  finalRssMiB: number;
  /** [seconds since start, RSS MiB] every sampleMs. */
  rssSamples: Array<[number, number]>;
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
  const lat = new Map<string, number[]>(spec.cameras.map((c) => [c.id, []]));
  svc.on('frame', (id, r) => lat.get(id)!.push(r.latency.total));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const samples: Array<[number, number]> = [];
  let peak = 0;
  const sample = (): void => {
    const rss = process.memoryUsage().rss / 2 ** 20;
    peak = Math.max(peak, rss);
    samples.push([Math.round((performance.now() - t0) / 100) / 10, Math.round(rss * 10) / 10]);
  };
  const timer = setInterval(sample, spec.sampleMs ?? 500);
  await Promise.race([svc.done(), new Promise((r) => setTimeout(r, spec.seconds * 1000))]);
  clearInterval(timer);
  sample();
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  const memory = memoryMiB();
  const smaps = smapsRollup();
  const cameras: CameraResult[] = [];
  await svc.stop();
  for (const cam of spec.cameras) {
    const s = svc.cameras.get(cam.id)!.runner!.stats;
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
    cameras.push({
      id: cam.id,
      captured: s.captured,
      processed: s.processed,
      skipped: s.skipped,
      dropped,
      droppedByReason: { ...s.dropped },
      packages: s.packages.immediate + s.packages.cached,
      endToEnd: summary(lat.get(cam.id)!),
    });
  }
  const result: ChildResult = {
    cameras,
    cores: (c.user + c.system) / 1e6 / seconds,
    seconds,
    peakRssMiB: Math.round(peak),
    finalRssMiB: samples[samples.length - 1]![1],
    rssSamples: samples,
    memory,
    smaps,
  };
  process.send!(result);
  process.disconnect();
}

await main();
