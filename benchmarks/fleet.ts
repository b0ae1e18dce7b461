/**
 * Fleet load test: `npm run bench -- fleet [sizes=100,1000] [durationS=20] [ratePerUnit=0.2] [consumers=2]`,
 * a size being N or N@rate (e.g. `100@0.2,1000@0.05,1000@0.2`); a 5th argument `head` makes the
 * consumers verify by HEAD instead of GET (result in fleet-head.json).
 *
 * N simulated units (benchmarks/fleet/units.ts: one MQTT connection and one
 * s3+mqtt sink per unit, real roadside JPEGs from docs/img, `ratePerUnit`
 * packages/s each) publish to one mosquitto and one s3rver on loopback;
 * `consumers` real `bestshot ingest` processes share the subscription and one
 * SQLite index (GET + sha256 verification of every object). Reports per N:
 * events/s and MB/s indexed, end-to-end latency p50/p99 (package created at
 * the unit → row indexed, so the unit's own backlog counts), broker, store
 * and consumer RSS and CPU (sampled from /proc), losses (acknowledged but
 * never indexed) and duplicates (indexed twice: impossible by the primary
 * key, so counted as events the consumers dropped by id). Writes
 * benchmarks/results/fleet.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from '../src/paths.js';
import { startMosquitto, startS3rver } from '../test/upload/fleet-servers.js';
import { BenchArgsError, benchArgs, benchChoice, benchNumber, fmt, summary, writeResult } from './util.js';

const USAGE = `npm run bench -- fleet [sizes] [durationS] [ratePerUnit] [consumers] [get|head]
  sizes        comma-separated unit counts, each N or N@rate (packages per unit per second), e.g. 100@0.2,1000@0.05 (default 100,1000)
  durationS    seconds of publishing per size (default 20)
  ratePerUnit  packages per unit per second for a size without @rate (default 0.2)
  consumers    bestshot ingest processes sharing the subscription (default 2)
  get|head     how the consumers verify objects: GET + sha256 (default), or HEAD (writes fleet-head.json)
Writes benchmarks/results/fleet.json (fleet-head.json with head).`;

const UNITS_CHILD = fileURLToPath(new URL('./fleet/units.ts', import.meta.url));
const IMAGES = ['detect-motorway-cctv.jpg', 'detect-overhead-lane-cars.jpg', 'detect-suburban-street-elevated.jpg', 'detect-town-centre-pedestrians.jpg'].map((f) =>
  join(PROJECT_ROOT, 'docs', 'img', f),
);
const BUCKET = 'fleet-bench';
const TICKS = 100; // clock ticks per second (/proc stat units)

interface Usage {
  peakRssMiB: number;
  cpuPct: number;
}

/** Sample /proc/<pid> every second: peak RSS and mean CPU over the run. */
function sampler(pids: Record<string, number[]>): { stop: () => Record<string, Usage> } {
  const read = (pid: number): { cpu: number; rss: number } | undefined => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = (Number(f[11]) + Number(f[12])) / TICKS;
      const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      return { cpu, rss };
    } catch {
      return undefined;
    }
  };
  const t0 = performance.now();
  const cpu0: Record<number, number> = {};
  const last: Record<number, number> = {};
  const peak: Record<string, number> = {};
  for (const list of Object.values(pids)) for (const p of list) cpu0[p] = read(p)?.cpu ?? 0;
  const tick = (): void => {
    for (const [name, list] of Object.entries(pids)) {
      let rss = 0;
      for (const p of list) {
        const r = read(p);
        if (!r) continue;
        rss += r.rss;
        last[p] = r.cpu;
      }
      peak[name] = Math.max(peak[name] ?? 0, rss);
    }
  };
  tick();
  const timer = setInterval(tick, 1000);
  return {
    stop: () => {
      tick();
      clearInterval(timer);
      const wall = (performance.now() - t0) / 1000;
      const out: Record<string, Usage> = {};
      for (const [name, list] of Object.entries(pids)) {
        const cpu = list.reduce((a, p) => a + ((last[p] ?? cpu0[p]!) - cpu0[p]!), 0);
        out[name] = { peakRssMiB: Math.round(peak[name] ?? 0), cpuPct: Math.round((cpu / wall) * 100) };
      }
      return out;
    },
  };
}

function startIngest(brokerUrl: string, s3Url: string, index: string, n: number, verify: string): Promise<ChildProcess> {
  const proc = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'ingest', '--broker', brokerUrl, '--index', index, '--group', 'bench', '--client-id', `bench-ingest-${n}`, '--connections', '8', '--s3-endpoint', s3Url, '--s3-path-style', '--verify', verify],
    {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ingest subscribed to')) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`ingest exited ${code}: ${out}`)));
  });
}

async function run(units: number, durationS: number, rate: number, consumers: number, verify: string) {
  const load0 = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), `bestshot-bench-fleet-${units}-`));
  const broker = await startMosquitto(join(dir, 'mq'), { maxInflight: 100 });
  const store = await startS3rver(join(dir, 's3'), [BUCKET]);
  const index = join(dir, 'index.sqlite');
  const ingest: ChildProcess[] = [];
  for (let i = 0; i < consumers; i++) ingest.push(await startIngest(broker.url, store.url, index, i, verify));
  // One units process per 500 units (their event loops are the edge side of the loopback).
  const procs = Math.max(1, Math.ceil(units / 500));
  const names = Array.from({ length: units }, (_, i) => `unit-${String(i).padStart(5, '0')}`);
  const outs: string[] = [];
  const children: ChildProcess[] = [];
  for (let p = 0; p < procs; p++) {
    const out = join(dir, `units-${p}.json`);
    outs.push(out);
    const slice = names.filter((_, i) => i % procs === p);
    children.push(
      spawn(process.execPath, ['--import', 'tsx', UNITS_CHILD, JSON.stringify({ broker: broker.url, s3: store.url, bucket: BUCKET, units: slice, rate, durationS, out, images: IMAGES })], {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      }),
    );
  }
  const usage = sampler({
    broker: [broker.proc()!.pid!],
    store: [store.proc()!.pid!],
    consumers: ingest.map((c) => c.pid!),
    units: children.map((c) => c.pid!),
  });
  await Promise.all(children.map((c) => once(c, 'exit')));
  const records: Array<[string, number, number, number, number]> = [];
  let failures = 0;
  const reasons: Record<string, number> = {};
  for (const o of outs) {
    const r = JSON.parse(readFileSync(o, 'utf8')) as { records: Array<[string, number, number, number, number]>; failures: number; reasons: Record<string, number> };
    records.push(...r.records);
    failures += r.failures;
    for (const [k, v] of Object.entries(r.reasons)) reasons[k] = (reasons[k] ?? 0) + v;
  }
  // Let the consumers finish what the broker holds (bounded).
  const db = new Database(index, { readonly: true });
  db.pragma('busy_timeout = 5000');
  const count = (): number => db.prepare('SELECT COUNT(*) FROM events').pluck().get() as number;
  const settleEnd = Date.now() + 60000;
  while (count() < records.length && Date.now() < settleEnd) await new Promise((r) => setTimeout(r, 250));
  const use = usage.stop();
  const rows = db.prepare('SELECT id, indexed_at_ms AS t, bytes FROM events').all() as Array<{ id: string; t: number; bytes: number }>;
  const dupEvents = db.prepare('SELECT COALESCE(SUM(count), 0) FROM duplicates').pluck().get() as number;
  const rejected = db.prepare('SELECT COUNT(*) FROM rejected').pluck().get() as number;
  db.close();
  for (const c of ingest) c.kill('SIGTERM');
  await Promise.all(ingest.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
  await Promise.all([broker.stop(), store.stop()]);
  rmSync(dir, { recursive: true, force: true });

  const byId = new Map(rows.map((r) => [r.id, r]));
  const created = new Map(records.map((r) => [r[0], r[1]]));
  const lost = records.filter((r) => !byId.has(r[0])).length;
  const latency = rows.filter((r) => created.has(r.id)).map((r) => r.t - created.get(r.id)!);
  const ackLatency = records.map((r) => r[2] - r[1]);
  const sendMs = summary(records.map((r) => r[2] - r[4]));
  const backlogMs = summary(records.map((r) => r[4] - r[1]));
  const t0 = Math.min(...records.map((r) => r[1]));
  const t1 = Math.max(...rows.map((r) => r.t));
  const wallS = (t1 - t0) / 1000;
  const bytes = rows.reduce((a, r) => a + r.bytes, 0);
  const e2e = summary(latency);
  const ack = summary(ackLatency);
  const result = {
    units,
    ratePerUnit: rate,
    durationS,
    offeredEventsPerS: units * rate,
    packages: records.length,
    indexed: rows.length,
    eventsPerS: Math.round((rows.length / wallS) * 10) / 10,
    mbPerS: Math.round((bytes / wallS / 1e6) * 100) / 100,
    meanImageBytes: Math.round(bytes / Math.max(1, rows.length)),
    e2eMs: { p50: Math.round(e2e.p50), p99: Math.round(e2e.p99), max: Math.round(e2e.max) },
    // created → acknowledged at the unit, split into waiting behind the unit's previous package and the send itself.
    ackMs: { p50: Math.round(ack.p50), p99: Math.round(ack.p99) },
    unitBacklogMs: { p50: Math.round(backlogMs.p50), p99: Math.round(backlogMs.p99) },
    sendMs: { p50: Math.round(sendMs.p50), p99: Math.round(sendMs.p99) },
    lost,
    duplicatesIndexed: rows.length - byId.size,
    duplicateEventsDropped: dupEvents,
    rejected,
    retriedSends: failures,
    retryReasons: reasons,
    usage: use,
    consumers,
    verify,
    // The machine's 1-min load average before and after: other work on the same CPUs inflates latency.
    loadAvg: [Math.round(load0 * 100) / 100, Math.round(loadavg()[0]! * 100) / 100],
  };
  console.log(
    `fleet N=${units}: ${result.packages} packages (${fmt(result.offeredEventsPerS, 0)}/s offered), ${result.eventsPerS} events/s, ${result.mbPerS} MB/s indexed; ` +
      `e2e p50 ${result.e2eMs.p50} ms p99 ${result.e2eMs.p99} ms; lost ${lost}, duplicates ${result.duplicatesIndexed} (${dupEvents} duplicate events dropped by id), rejected ${rejected}; ` +
      `broker ${use.broker!.peakRssMiB} MiB ${use.broker!.cpuPct}% CPU, store ${use.store!.peakRssMiB} MiB ${use.store!.cpuPct}%, consumers ${use.consumers!.peakRssMiB} MiB ${use.consumers!.cpuPct}%, units ${use.units!.peakRssMiB} MiB ${use.units!.cpuPct}%`,
  );
  return result;
}

export default async function bench(args: string[]): Promise<void> {
  const { positionals: p } = benchArgs(args, USAGE, {}, ['sizes', 'durationS', 'ratePerUnit', 'consumers', 'get|head']);
  // Each size is N or N@rate (packages per unit per second), e.g. 100,1000 or 100@0.2,1000@0.05.
  const spec = p[0] ?? '100,1000';
  const durationS = benchNumber('positive number', 'durationS', p[1], 20);
  const rate = benchNumber('positive number', 'ratePerUnit', p[2], 0.2);
  const consumers = benchNumber('positive integer', 'consumers', p[3], 2);
  // How the consumers verify objects: get (GET + sha256, the default) or head (size + stored sha256).
  const verify = benchChoice('get|head', p[4], ['get', 'head'], 'get');
  // Every size is checked before the first one runs.
  const sizes = spec.split(',').map((item) => {
    const [n, r, more] = item.split('@');
    if (more !== undefined) throw new BenchArgsError(`Expected N or N@rate for sizes but received '${item}'`);
    return { units: benchNumber('positive integer', 'sizes', n, 0), rate: benchNumber('positive number', 'sizes (N@rate)', r, rate) };
  });
  const runs = [];
  for (const size of sizes) runs.push(await run(size.units, durationS, size.rate, consumers, verify));
  const file = writeResult(verify === 'get' ? 'fleet' : `fleet-${verify}`, {
    command: `npm run bench -- fleet ${spec} ${durationS} ${rate} ${consumers}${verify === 'get' ? '' : ` ${verify}`}`,
    note: 'one mosquitto 2.0.11 and one s3rver 3.7.1 on loopback; every process (units, broker, store, consumers) shares the same CPUs',
    runs,
  });
  console.log(`wrote ${file}`);
}
