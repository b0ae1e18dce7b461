/**
 * kill -9 of an edge process during s3+mqtt delivery, 20 times, then a
 * restart that drains the queue (U2), against real mosquitto and s3rver,
 * consumed by two IngestConsumers sharing the subscription: every package
 * whose submit returned is in the index exactly once (U3), its object is
 * present with the sha256 its metadata names, nothing was rejected, and the
 * queue file passes SQLite's integrity check after every kill.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { IngestConsumer } from '../../src/ingest/index.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { type FixtureProcess, readKeyLog, spawnFixture, sqliteIntegrity } from '../helpers/kill9.js';
import { BUCKET, objectSha256, readIndex, s3For, startFleet, stopFleet } from './fleet-helpers.js';
import { hasMosquitto, type ServerProcess } from './fleet-servers.js';
import { waitFor } from './helpers.js';

const KILLS = 20;
const dir = mkdtempSync(join(tmpdir(), 'bestshot-fleet-kill9-'));
let broker: ServerProcess;
let store: ServerProcess;
const consumers: IngestConsumer[] = [];
const indexPath = join(dir, 'index.sqlite');
const db = join(dir, 'edge.db');
const log = join(dir, 'submitted.log');
const FIXTURE = join(PROJECT_ROOT, 'test', 'upload', 'fixtures', 'fleet-edge.ts');

before(async () => {
  const fleet = await startFleet(dir, indexPath, 'kill9');
  ({ broker, store } = fleet);
  consumers.push(...fleet.consumers);
});
after(() => stopFleet({ broker, store, consumers }, dir));

function edge(args: string[]): FixtureProcess {
  return spawnFixture(FIXTURE, ['--db', db, '--s3', store.url, '--broker', broker.url, '--bucket', BUCKET, '--log', log, ...args], { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
}

const submitted = (): string[] => readKeyLog(log, /^cam-fk9:\d+$/);
const integrity = (): string => sqliteIntegrity(db);

test(`kill -9 during s3+mqtt delivery, ${KILLS} times, then drain: every package exactly once in the index, object present with its sha256`, { skip: !hasMosquitto }, async (t) => {
  // A fixed schedule of kill delays (ms after the edge started producing), spread over send, PUT and publish.
  const delays = Array.from({ length: KILLS }, (_, i) => 40 + ((i * 97) % 360));
  for (let cycle = 0; cycle < KILLS; cycle++) {
    const before = submitted().length;
    const e = edge(['--start', String(cycle * 100000)]);
    // The delay counts from the cycle's first package submitted: on a loaded machine a delay from
    // "producing" alone could end before anything was submitted (19 of 20 cycles once in CI).
    await waitFor(() => submitted().length > before || e.proc.exitCode !== null, 30000, `cycle ${cycle}: edge submitting`);
    assert.equal(e.proc.exitCode, null, e.output());
    await new Promise((r) => setTimeout(r, delays[cycle]));
    e.proc.kill('SIGKILL');
    const [, signal] = (await once(e.proc, 'exit')) as [number | null, string | null];
    assert.equal(signal, 'SIGKILL', `cycle ${cycle} was killed`);
    assert.equal(integrity(), 'ok', `cycle ${cycle}: queue file intact after kill -9`);
  }
  const drain = edge(['--mode', 'drain', '--send-hz', '200']);
  const [code] = (await once(drain.proc, 'exit')) as [number | null];
  assert.equal(code, 0, drain.output());
  const counters = JSON.parse(drain.output().trim().split('\n').pop()!) as { queueDepth: number; enqueued: number; delivered: number; dropped: number; deadLettered: number };
  assert.deepEqual({ queueDepth: counters.queueDepth, dropped: counters.dropped, deadLettered: counters.deadLettered }, { queueDepth: 0, dropped: 0, deadLettered: 0 });

  const keys = submitted();
  assert.ok(keys.length >= KILLS, `packages were submitted (${keys.length})`);
  // Every submitted package is delivered: wait until each is indexed (the last events are in flight).
  await waitFor(() => {
    const ids = new Set(readIndex(indexPath).rows.map((r) => r.id));
    return keys.every((k) => ids.has(k));
  }, 30000, 'every submitted package indexed');
  const { rows, rejected, duplicates } = readIndex(indexPath);
  assert.deepEqual(rejected, [], 'nothing rejected');
  const ids = rows.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, 'no package indexed twice');
  // Indexed but not logged: at most one per kill (enqueued, killed before its log line was written).
  const logged = new Set(keys);
  const extra = ids.filter((id) => !logged.has(id));
  assert.ok(extra.length <= KILLS, `${extra.length} indexed packages were never logged`);
  assert.equal(rows.length, counters.enqueued, 'every enqueued package is indexed once (none lost, none doubled)');
  const s3 = s3For(store.url);
  try {
    for (const r of rows) assert.equal(await objectSha256(s3, r.bucket!, r.key!), r.sha256, `${r.id}: object present with its sha256`);
  } finally {
    s3.destroy();
  }
  t.diagnostic(`${KILLS} kills; ${keys.length} submitted and logged, ${counters.enqueued} enqueued, ${rows.length} indexed, ${duplicates} duplicate events dropped by id`);
});
