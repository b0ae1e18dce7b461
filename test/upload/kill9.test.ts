/**
 * U2 durability: kill -9 of an edge process (fixtures/edge-loop.ts) while it
 * enqueues and sends to a real receiver process, twice, then a restart that
 * drains the queue. Every package is counted: delivered + dropped + still
 * queued == enqueued, every acknowledged key is at the receiver or among the
 * counted drops, and the queue file passes SQLite's integrity check after
 * each kill.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths.js';
import { type FixtureProcess, readKeyLog, spawnFixture, sqliteIntegrity } from '../helpers/kill9.js';
import { sha256Hex } from '../../src/upload/index.js';
import { listPackages, spawnReceiver, waitFor, type ReceiverProcess } from './helpers.js';

const TOKEN = 'kill9-token';
const dir = mkdtempSync(join(tmpdir(), 'bestshot-kill9-'));
let receiver: ReceiverProcess | undefined;
after(async () => {
  await receiver?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const FIXTURE = join(PROJECT_ROOT, 'test', 'upload', 'fixtures', 'edge-loop.ts');
const db = join(dir, 'edge-queue.db');
const log = join(dir, 'acked.log');

function edge(args: string[]): FixtureProcess {
  return spawnFixture(FIXTURE, ['--db', db, '--url', receiver!.url, '--token', TOKEN, '--log', log, '--max-packages', '60', ...args]);
}

const ackedKeys = (): string[] => readKeyLog(log, /^cam-k9:\d+$/);
const integrity = (): string => sqliteIntegrity(db);

test('U2: kill -9 while enqueueing and sending, twice, then restart — every package counted, nothing corrupted', async (t) => {
  // Answers 15 ms late, so sends are in flight when the kill lands.
  receiver = await spawnReceiver(['--dir', join(dir, 'rcv'), '--token', TOKEN, '--port', '0', '--quiet', '--test-delay-first', '1000000', '--test-delay-ms', '15']);
  for (const [cycle, start] of [[1, 0], [2, 100000]] as const) {
    const before = ackedKeys().length;
    const e = edge(['--start', String(start), '--interval-ms', '5', '--send-hz', '40']);
    await waitFor(() => ackedKeys().length >= before + 150, 30000, `cycle ${cycle}: 150 packages acknowledged (${e.output()})`);
    e.proc.kill('SIGKILL');
    const [code, signal] = (await once(e.proc, 'exit')) as [number | null, string | null];
    assert.equal(signal, 'SIGKILL', `cycle ${cycle} was killed, exit code ${code}`);
    assert.equal(integrity(), 'ok', `cycle ${cycle}: queue file intact after kill -9`);
  }

  const drain = edge(['--mode', 'drain', '--send-hz', '100']);
  const [code] = (await once(drain.proc, 'exit')) as [number | null];
  assert.equal(code, 0, drain.output());
  const counters = JSON.parse(drain.output().trim().split('\n').pop()!) as { queueDepth: number; enqueued: number; delivered: number; dropped: number; deadLettered: number };

  const acked = ackedKeys();
  const stored = await listPackages(receiver.url, TOKEN, 'cam-k9');
  const storedKeys = new Set(stored.map((p) => p.key));
  assert.equal(storedKeys.size, stored.length, 'the receiver stored no key twice');
  assert.equal(counters.queueDepth, 0);
  assert.equal(counters.deadLettered, 0);
  // Count every package: delivered + dropped + still queued == enqueued.
  assert.equal(counters.delivered + counters.dropped + counters.queueDepth, counters.enqueued, JSON.stringify(counters));
  // Each enqueue that returned was logged, except at most the one per kill whose log line was not yet written.
  assert.ok(counters.enqueued >= acked.length && counters.enqueued <= acked.length + 2, `${counters.enqueued} enqueued vs ${acked.length} logged`);
  assert.ok(counters.dropped > 0, 'the small queue (60) overflowed: the circular path was exercised');
  // Every acknowledged package reached the receiver or is among the counted drops.
  t.diagnostic(`counters ${JSON.stringify(counters)}, logged ${acked.length}, stored ${stored.length}, duplicates answered ${stored.reduce((a, p) => a + p.duplicates, 0)}`);
  const missing = acked.filter((k) => !storedKeys.has(k));
  assert.ok(missing.length <= counters.dropped, `${missing.length} acknowledged keys missing but only ${counters.dropped} counted as dropped`);
  // Delivered means stored. The only packages stored yet not counted as delivered are sends in flight at a
  // kill whose ack the kill cut off, if the queue then dropped them before the resend. The edge submits both
  // routes, so at a kill up to immediateConcurrency (U1, default 2) sends plus the one U2 queue send are in flight.
  const inFlightPerKill = 2 + 1; // the fixture's Uploader keeps immediateConcurrency at its default, 2
  assert.ok(
    storedKeys.size >= counters.delivered && storedKeys.size <= counters.delivered + 2 * inFlightPerKill,
    `${storedKeys.size} stored, ${counters.delivered} delivered`,
  );
  // Nothing corrupted: the stored images are the ones described by their metadata.
  for (const p of stored.filter((_, i) => i % 25 === 0)) {
    const res = await fetch(`${receiver.url}/packages/${encodeURIComponent(p.key)}/image.jpg`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(sha256Hex(Buffer.from(await res.arrayBuffer())), p.sha256);
  }
});
