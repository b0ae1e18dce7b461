/**
 * npm run bench -- queue [--n 300] [--size-kb 200] [--repeat 3] [--dir <dir>]
 *
 * Durable queue (U2) throughput with 200 KB packages for both fsync
 * policies (synchronous FULL and NORMAL in WAL mode): enqueue (one
 * transaction per package, as the pipeline does), then dequeue = peekOldest
 * + ack (one transaction each), and a full queue where every enqueue also
 * drops the oldest. Prints per-operation percentiles, packages/s and MB/s
 * per run, then the median and range over --repeat runs (a VM's fsync cost
 * varies a lot from run to run). The databases go into a temporary folder
 * made in --dir (an existing folder; default the system temp folder) and
 * removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackage, PackageQueue, type SynchronousMode, type UploadPackage } from '../src/upload/index.js';
import { benchArgs, benchNumber, existingFolder, fmt, machine, summary, writeResult } from './util.js';

const USAGE = `npm run bench -- queue [--n 300] [--size-kb 200] [--repeat 3] [--dir <dir>]
  --n N          packages per run (default 300)
  --size-kb N    size of each package's JPEG in KB (default 200)
  --repeat N     runs; the median and range are printed (default 3)
  --dir <dir>    existing folder to put the databases in, in a temporary folder of their own
                 that the run removes (default the system temp folder)
Writes benchmarks/results/queue.json.`;

function makePackages(n: number, sizeBytes: number): UploadPackage[] {
  const out: UploadPackage[] = [];
  for (let i = 0; i < n; i++) {
    const jpeg = randomBytes(sizeBytes);
    jpeg[0] = 0xff;
    jpeg[1] = 0xd8;
    out.push(
      buildPackage({
        cameraId: 'bench',
        imageId: i,
        timestampNs: 1_795_550_000_000_000_000n + BigInt(i) * 100_000_000n,
        width: 1920,
        height: 1080,
        exposure: { mode: 'manual', exposureTimeUs: 1000, gain: 4 },
        cameraPosition: { lat: 48.1, lon: 11.5, alt: 520, heading: 90 },
        jpeg,
        tracks: [],
      }),
    );
  }
  return out;
}

interface Phase {
  ops: number;
  seconds: number;
  packagesPerSec: number;
  mbPerSec: number;
  msPerOp: ReturnType<typeof summary>;
}

function phase(label: string, packages: UploadPackage[], bytesEach: number, op: (p: UploadPackage) => void): Phase {
  const lat: number[] = [];
  const t0 = performance.now();
  for (const p of packages) {
    const s = performance.now();
    op(p);
    lat.push(performance.now() - s);
  }
  const seconds = (performance.now() - t0) / 1000;
  const r: Phase = {
    ops: packages.length,
    seconds,
    packagesPerSec: packages.length / seconds,
    mbPerSec: (packages.length * bytesEach) / seconds / 1e6,
    msPerOp: summary(lat),
  };
  console.log(
    `  ${label.padEnd(22)} ${fmt(r.packagesPerSec, 0).padStart(6)} packages/s ${fmt(r.mbPerSec, 1).padStart(7)} MB/s   ms/op p50 ${fmt(r.msPerOp.p50)} p90 ${fmt(r.msPerOp.p90)} p99 ${fmt(r.msPerOp.p99)} max ${fmt(r.msPerOp.max)}`,
  );
  return r;
}

export default async function (args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, { n: { type: 'string' }, 'size-kb': { type: 'string', default: '200' }, repeat: { type: 'string' }, dir: { type: 'string' } });
  const repeat = benchNumber('positive integer', '--repeat', values.repeat, 3);
  const n = benchNumber('positive integer', '--n', values.n, 300);
  const size = Math.round(benchNumber('positive number', '--size-kb', values['size-kb'], 200) * 1024);
  // Like the system temp folder it replaces, --dir must exist: a mistyped path is refused, not created (the bench makes only its own temporary folder in it).
  if (values.dir !== undefined) existingFolder('--dir', values.dir);
  const base = mkdtempSync(join(values.dir ?? tmpdir(), 'bestshot-bench-queue-'));
  const packages = makePackages(n, size);
  const bytesEach = size + Buffer.byteLength(JSON.stringify(packages[0]!.metadata));
  console.log(`queue benchmark: ${n} packages of ${values['size-kb']} KB, database in ${base}\nmachine: ${machine()}`);
  const runs: Array<Record<string, Record<string, Phase>>> = [];
  try {
    for (let run = 1; run <= repeat; run++) {
      const results: Record<string, Record<string, Phase>> = {};
      for (const sync of ['FULL', 'NORMAL'] as SynchronousMode[]) {
        console.log(`run ${run}/${repeat}, synchronous=${sync} (WAL)`);
        const q = PackageQueue.open({ path: join(base, `q-${sync}-${run}.db`), synchronous: sync, maxPackages: n * 2, maxBytes: 2 ** 31 });
        const enqueue = phase('enqueue', packages, bytesEach, (p) => q.enqueue(p));
        const dequeue = phase('dequeue (peek + ack)', packages, bytesEach, () => {
          const head = q.peekOldest()!;
          q.ack(head.seq);
        });
        q.close();
        // Circular steady state: the queue is full, each enqueue drops the oldest in the same transaction.
        const half = Math.max(1, Math.floor(n / 2));
        const full = PackageQueue.open({ path: join(base, `q-${sync}-${run}-full.db`), synchronous: sync, maxPackages: half, maxBytes: 2 ** 31 });
        for (const p of packages.slice(0, half)) full.enqueue(p);
        const circular = phase('enqueue when full', packages.slice(half), bytesEach, (p) => full.enqueue(p));
        full.close();
        results[sync] = { enqueue, dequeue, circular };
      }
      runs.push(results);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  const median: Record<string, Record<string, { packagesPerSec: number; mbPerSec: number; min: number; max: number }>> = {};
  console.log(`\nmedian of ${repeat} runs (packages/s, range):`);
  for (const sync of ['FULL', 'NORMAL']) {
    median[sync] = {};
    for (const ph of ['enqueue', 'dequeue', 'circular']) {
      const rates = runs.map((r) => r[sync]![ph]!.packagesPerSec).sort((a, b) => a - b);
      const med = rates[Math.floor(rates.length / 2)]!;
      median[sync]![ph] = { packagesPerSec: med, mbPerSec: (med * bytesEach) / 1e6, min: rates[0]!, max: rates[rates.length - 1]! };
      console.log(`  ${sync.padEnd(6)} ${ph.padEnd(9)} ${fmt(med, 0).padStart(6)} packages/s ${fmt((med * bytesEach) / 1e6, 1).padStart(7)} MB/s   (${fmt(rates[0]!, 0)}–${fmt(rates[rates.length - 1]!, 0)})`);
    }
  }
  const ratio = median.NORMAL!.enqueue!.packagesPerSec / median.FULL!.enqueue!.packagesPerSec;
  console.log(`NORMAL/FULL enqueue throughput ratio (medians): ${fmt(ratio)}`);
  console.log(`written ${writeResult('queue', { n, sizeKb: Number(values['size-kb']), bytesEach, repeat, median, runs, normalOverFullEnqueue: ratio })}`);
}
