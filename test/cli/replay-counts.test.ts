/**
 * `bestshot replay`'s summary, summary.json and report account for every
 * package and object the way `bestshot run` does (U2: nothing lost
 * silently). A replay whose queue filled printed "9 selected, 4 delivered"
 * with exit 0 and no word of the other 5 (only a log line said the queue
 * dropped its oldest); one whose budget policy gave up on 23 objects said
 * nothing of them (the report counted 35 tracked and showed 28).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';
import type { ReplaySummary } from '../../src/runtime/replay.js';
import { freePort } from '../helpers/net.js';
import { writeRunConfig } from '../helpers/run-config.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-replay-counts-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function replay(name: string, body: { upload?: string; queue?: string; extra?: string }): Promise<{ status: number | null; stdout: string; stderr: string; summary: ReplaySummary; report: string }> {
  const out = join(dir, name);
  const config = writeRunConfig(dir, { name: `${name}.yaml`, source: `{ type: file, path: ${CLIP} }`, endpoint: `http://127.0.0.1:${await freePort()}/packages`, ...body });
  const child = spawn(process.execPath, [CLI, 'replay', CLIP, '--config', config, '--out', out, '--report'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 'replay-counts-token' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const status = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as ReplaySummary;
  return { status, stdout, stderr, summary, report: readFileSync(join(out, 'report', 'report.html'), 'utf8') };
}

test('U2: a replay whose queue filled counts the packages it dropped, in the summary, summary.json and the report', { timeout: 150_000 }, async () => {
  // An endpoint that is down and a queue of 2: the rest of the selection is dropped, oldest first.
  const r = await replay('full', { upload: 'drainTimeoutS: 1', queue: 'maxPackages: 2' });
  assert.equal(r.status, 1, r.stderr.slice(-2000)); // the drain timed out with packages queued
  const s = r.summary;
  const built = s.packagesImmediate + s.packagesCached;
  assert.ok(s.queueDropped > 0, JSON.stringify(s));
  // Every package built is accounted for.
  assert.equal(s.delivered + s.undelivered + s.queueDropped + s.deadLettered + s.replaced, built, JSON.stringify(s));
  assert.match(r.stdout, new RegExp(`^delivered: +0 acknowledged by the endpoint.*, ${s.queueDropped} dropped: the queue was full \\(queue\\.maxPackages / queue\\.maxBytes; the oldest go first\\)`, 'm'));
  assert.match(r.report, new RegExp(`<span id="queue-dropped">${s.queueDropped}</span> dropped: the queue was full`));
  assert.match(r.report, new RegExp(`<span id="still-queued">${s.undelivered}</span> still queued`));
});

test("'budget' too small for the scene: the replay says how many objects it never sent, in the summary, summary.json and the report", { timeout: 150_000 }, async () => {
  const r = await replay('budget', { upload: 'drainTimeoutS: 0', extra: 'defaults: { selection: { policy: budget, budgetBytesPerS: 1, budgetBurstS: 1, budgetMaxWaitS: 1 } }\n' });
  const s = r.summary;
  assert.ok(s.unsentObjects > 0, JSON.stringify(s));
  assert.match(r.stdout, new RegExp(`^never sent: +${s.unsentObjects} objects \\(track segments\\) never sent: the budget policy gave up on them`, 'm'));
  assert.match(r.report, new RegExp(`<b id="unsent-objects">${s.unsentObjects}</b>objects \\(track segments\\) never sent`));
});
