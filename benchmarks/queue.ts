/**
 * npm run bench -- queue [--n 300] [--size-kb 200] [--dir <dir>]
 *
 * Durable queue (U2) throughput with 200 KB packages for both fsync
 * policies (synchronous FULL and NORMAL in WAL mode): enqueue (one
 * transaction per package, as the pipeline does), then dequeue = peekOldest
 * + ack (one transaction each), and a full queue where every enqueue also
 * drops the oldest. Prints per-operation percentiles, packages/s and MB/s.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPackage, PackageQueue, type SynchronousMode, type UploadPackage } from '../src/upload/index.js';
import { fmt, machine, summary, writeResult } from './util.js';

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
  const { values } = parseArgs({ args, options: { n: { type: 'string', default: '300' }, 'size-kb': { type: 'string', default: '200' }, dir: { type: 'string' } } });
  const n = Number(values.n);
  const size = Number(values['size-kb']) * 1024;
  const base = mkdtempSync(join(values.dir ?? tmpdir(), 'bestshot-bench-queue-'));
  const packages = makePackages(n, size);
  const bytesEach = size + Buffer.byteLength(JSON.stringify(packages[0]!.metadata));
  console.log(`queue benchmark: ${n} packages of ${values['size-kb']} KB, database in ${base}\nmachine: ${machine()}`);
  const results: Record<string, Record<string, Phase>> = {};
  try {
    for (const sync of ['FULL', 'NORMAL'] as SynchronousMode[]) {
      console.log(`synchronous=${sync} (WAL)`);
      const q = PackageQueue.open({ path: join(base, `q-${sync}.db`), synchronous: sync, maxPackages: n * 2, maxBytes: 2 ** 31 });
      const enqueue = phase('enqueue', packages, bytesEach, (p) => q.enqueue(p));
      const dequeue = phase('dequeue (peek + ack)', packages, bytesEach, () => {
        const head = q.peekOldest()!;
        q.ack(head.seq);
      });
      q.close();
      // Circular steady state: the queue is full, each enqueue drops the oldest in the same transaction.
      const full = PackageQueue.open({ path: join(base, `q-${sync}-full.db`), synchronous: sync, maxPackages: Math.max(1, Math.floor(n / 2)), maxBytes: 2 ** 31 });
      for (const p of packages.slice(0, Math.floor(n / 2))) full.enqueue(p);
      const circular = phase('enqueue when full', packages.slice(Math.floor(n / 2)), bytesEach, (p) => full.enqueue(p));
      full.close();
      results[sync] = { enqueue, dequeue, circular };
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  const ratio = results.NORMAL!.enqueue.packagesPerSec / results.FULL!.enqueue.packagesPerSec;
  console.log(`NORMAL/FULL enqueue throughput ratio: ${fmt(ratio)}`);
  console.log(`written ${writeResult('queue', { n, sizeKb: Number(values['size-kb']), bytesEach, results, normalOverFullEnqueue: ratio })}`);
}
