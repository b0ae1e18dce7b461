/**
 * Queue chaos (U2): a child process enqueues and prints each key once
 * enqueue returned (acknowledged); it is killed with SIGKILL at a random
 * moment; then the file is left alone, or garbage goes over the WAL, or the
 * main file is emptied, cut to half its length, or has garbage pages in the
 * middle. Each reopen must account for every acknowledged
 * package: still queued, or counted lost (setAside) and logged — or, when
 * the file gave no way to count, logged as an unknown number lost.
 * Seeded, bounded by cycles.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths.js';
import { PackageQueue } from '../../src/upload/index.js';

const CYCLES = Number(process.env.BESTSHOT_CHAOS_CYCLES ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'bestshot-chaos-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// BESTSHOT_CHAOS_SEED: another seed gives other kill moments and damage offsets (the failing seed is in the test's name).
const SEED = Number(process.env.BESTSHOT_CHAOS_SEED ?? 20261202);
let seed = SEED;
const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);

const CHILD = `
  import { PackageQueue } from './src/upload/index.js';
  import { makePackage } from './test/upload/helpers.js';
  const q = PackageQueue.open({ path: process.argv[1], log: () => {}, maxPackages: 1000000, maxBytes: 2 ** 40 });
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(2000, 5)]);
  let i = Number(process.argv[2]);
  for (;;) { q.enqueue(makePackage('cam-x', i, jpeg)); process.stdout.write('cam-x:' + i + '\\n'); i++; }`;

function runAndKill(path: string, from: number, afterMs: number): Promise<string[]> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, path, String(from)], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let started = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!started) {
        started = true;
        setTimeout(() => child.kill('SIGKILL'), afterMs);
      }
    });
    child.on('exit', () => resolve(out.split('\n').filter((l) => /^cam-x:\d+$/.test(l))));
  });
}

test(`queue chaos: ${CYCLES} kill -9 / corrupt cycles (seed ${SEED}), every acknowledged package queued or counted lost in a log line`, {
  timeout: 120_000,
}, async () => {
  const path = join(dir, 'q.db');
  let next = 1;
  const acked = new Set<string>();
  let lostCounted = 0;
  let unknownLogged = 0;
  for (let c = 0; c < CYCLES; c++) {
    const keys = await runAndKill(path, next, 50 + Math.floor(rand() * 250));
    for (const k of keys) acked.add(k);
    next += keys.length + 1;
    const mode = (['none', 'wal', 'empty', 'half', 'pages'] as const)[c % 5]!;
    const wal = `${path}-wal`;
    if (mode === 'wal' && existsSync(wal) && statSync(wal).size > 8192) {
      const fd = openSync(wal, 'r+');
      writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 32 + Math.floor(rand() * (statSync(wal).size - 4200)));
      closeSync(fd);
    } else if (mode === 'half' && statSync(path).size > 8192) {
      // A torn file: the data file cut to half its length (the WAL kept).
      truncateSync(path, Math.floor(statSync(path).size / 8192) * 4096);
    } else if (mode === 'pages' && statSync(path).size > 3 * 4096) {
      // Garbage pages in the middle of the data file (page 1, the header, left intact).
      const pages = Math.floor(statSync(path).size / 4096);
      const fd = openSync(path, 'r+');
      writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, 4096 * (1 + Math.floor(rand() * (pages - 2))));
      closeSync(fd);
    } else if (mode === 'empty') {
      // What a crashed fs leaves at worst: the data file emptied and the WAL gone.
      rmSync(wal, { force: true });
      rmSync(`${path}-shm`, { force: true });
      truncateSync(path, 0);
    }
    const logs: string[] = [];
    const q = PackageQueue.open({ path, log: (m) => logs.push(m) });
    const queued = new Set(q.keys());
    const missing = [...acked].filter((k) => !queued.has(k));
    const rec = q.recovered;
    if (missing.length > 0) {
      assert.ok(rec, `cycle ${c} (${mode}): ${missing.length} acknowledged package(s) gone without a recovery report`);
      assert.equal(logs.length, 1, 'one log line');
      if (rec.lost === null) {
        assert.match(logs[0]!, /an unknown number lost$/);
        unknownLogged += missing.length;
      } else {
        assert.ok(rec.lost >= missing.length, `cycle ${c} (${mode}): ${missing.length} missing, ${rec.lost} counted lost`);
        assert.match(logs[0]!, new RegExp(`, ${rec.lostIsUpperBound ? 'up to ' : ''}${rec.lost} lost$`));
        assert.equal(q.counters().setAside >= rec.lost, true, 'counted in the persistent counter (metric bestshot_queue_lost_packages)');
        lostCounted += missing.length;
      }
    }
    q.close();
    // Accounted for: the packages not in the queue leave the ledger.
    for (const k of missing) acked.delete(k);
  }
  console.log(`chaos: ${CYCLES} cycles, seed ${SEED}, ${next - 1} ids, lost and counted ${lostCounted}, lost and logged as unknown ${unknownLogged}, silently lost 0`);
});
