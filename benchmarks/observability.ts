/**
 * npm run bench -- observability: costs of the config loader, the structured
 * logger and the metrics registry, the parts every frame or every start pays.
 */
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/log.js';
import { createMetrics, STAGES } from '../src/prometheus.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { BenchArgsError, benchArgs, benchNumber, fmt, machine, summary, writeResult } from './util.js';

const USAGE = `npm run bench -- observability [runs]
  runs  loadConfig(config/example.yaml) calls timed, the first 10 a warm-up (default 200)
Writes benchmarks/results/observability.json.`;

function perCallUs(n: number, fn: (i: number) => void): number[] {
  const out: number[] = [];
  const batch = 1000;
  for (let b = 0; b < n / batch; b++) {
    const s = performance.now();
    for (let i = 0; i < batch; i++) fn(b * batch + i);
    out.push(((performance.now() - s) / batch) * 1000);
  }
  return out;
}

export default async function (args: string[]): Promise<void> {
  const { positionals: p } = benchArgs(args, USAGE, {}, ['runs']);
  const runs = benchNumber('positive integer', 'runs', p[0], 200);
  if (runs <= 10) throw new BenchArgsError(`Expected an integer above 10 for runs (the first 10 are a warm-up) but received '${p[0]}'`);
  console.log(`machine: ${machine()}`);
  const env = { ...process.env, BESTSHOT_UPLOAD_TOKEN: 'bench' };
  const example = join(PROJECT_ROOT, 'config', 'example.yaml');
  const load: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    await loadConfig(example, { env });
    load.push(performance.now() - s);
  }
  const L = summary(load.slice(10));
  console.log(`loadConfig(config/example.yaml, 6 cameras): p50 ${fmt(L.p50)} ms  p99 ${fmt(L.p99)} ms  (n=${L.n}, after 10 warm-up)`);

  const log = createLogger({ stream: { write() {} } });
  const json = summary(perCallUs(200_000, (i) => log.info('frame', { camera: 'gate', imageId: i, latencyMs: 12.5 })));
  const off = summary(perCallUs(200_000, (i) => log.debug('frame', { camera: 'gate', imageId: i })));
  console.log(`logger JSON line (3 fields): p50 ${fmt(json.p50)} µs  p99 ${fmt(json.p99)} µs per line (per-1000 batches)`);
  console.log(`logger call below level:     p50 ${fmt(off.p50, 3)} µs  p99 ${fmt(off.p99, 3)} µs`);

  const m = createMetrics();
  const obs = summary(perCallUs(200_000, (i) => m.observeStageMs('gate', 'detect', i % 100)));
  console.log(`histogram observe:           p50 ${fmt(obs.p50)} µs  p99 ${fmt(obs.p99)} µs`);
  for (const cam of ['a', 'b', 'c', 'd']) {
    for (const st of STAGES) m.observeStageMs(cam, st, 5);
    m.framesCaptured.inc({ camera: cam });
  }
  const scrape: number[] = [];
  for (let i = 0; i < 110; i++) {
    const s = performance.now();
    await m.registry.metrics();
    scrape.push(performance.now() - s);
  }
  const S = summary(scrape.slice(10));
  console.log(`/metrics render (4 cameras × 7 stages + process metrics): p50 ${fmt(S.p50)} ms  p99 ${fmt(S.p99)} ms`);
  const file = writeResult('observability', { loadConfigMs: L, logLineUs: json, logDisabledUs: off, observeUs: obs, scrapeMs: S });
  console.log(`wrote ${file}`);
}
