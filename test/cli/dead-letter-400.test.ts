/**
 * An endpoint that refuses every package as invalid (HTTP 400): an ingest of
 * another version than the unit, or a proxy that rewrites the body. Each is a
 * dead letter (U2). The operator used to read only a raw 'HTTP 400: {…}' per
 * package, with no word of what to do, and one journal line per package: an
 * endpoint that turns to refusing after a long outage dead-letters the whole
 * backlog at sendHz. Now the hint is said once with what the endpoint said,
 * the first dead letters get a line each and the rest are summed up.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';
import { freePort } from '../helpers/net.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { builtCount, runToEnd } from '../helpers/run-to-end.js';

const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
/** What bestshot receiver answers a package whose metadata fails its schema. */
const REFUSAL = { error: 'metadata does not match schema bestshot.package/v1', reasons: ['/schema: must be equal to constant', "/tracks/0: must have required property 'entry'"] };
let dir: string;
let server: Server;
let port: number;
let posts = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-dead-400-'));
  server = createServer((req, res) => {
    posts++;
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify(REFUSAL);
      // A slow refusal (1 s): the queue's drain lasts past its first progress line (every 5 s); at
      // 300 ms a fast machine emptied the 15 packages left at the drain in 4.5 s.
      setTimeout(() => {
        res.writeHead(400, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      }, 1000);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

test('an endpoint refusing every package (HTTP 400): the hint once with what it said; 10 dead-letter lines, the rest summed up; all kept', { timeout: 120_000 }, async () => {
  const config = writeRunConfig(dir, { source: `{ type: file, path: ${CLIP} }`, endpoint: `http://127.0.0.1:${port}/packages`, upload: 'drainTimeoutS: 60' });
  const { code, stdout, stderr } = await runToEnd(config, { BESTSHOT_TEST_TOKEN: 'dead-400-token' });
  assert.equal(code, 0, stderr);
  const built = builtCount(stdout);
  assert.ok(built > 10, `the clip makes more packages than are said one by one: ${stdout}`);
  assert.match(stdout, new RegExp(`0 still queued, 0 dropped full, ${built} dead-lettered`));
  assert.ok(posts >= built);
  const lines = stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; byStatus?: Record<string, number> });
  const queuePath = join(dir, 'queue.sqlite');
  const hints = lines.filter((l) => l.msg.startsWith('the endpoint refuses these packages as invalid'));
  assert.equal(hints.length, 1, 'said once');
  assert.equal(
    hints[0]!.msg,
    `the endpoint refuses these packages as invalid (HTTP 400), saying: ${REFUSAL.error}; ${REFUSAL.reasons.join('; ')}. It checks each package (the bestshot.package/v1 metadata, the image's size and sha256, the Idempotency-Key): an endpoint of another version than this unit, or a proxy that changes the body, are the usual causes; once fixed, 'bestshot queue resend-dead --path ${queuePath}' puts the dead letters back for the next start`,
  );
  // One line each for the first ten; the rest in a sum (said at the stop here: the run is shorter than a minute).
  assert.equal(lines.filter((l) => l.msg === 'package dead-lettered').length, 10);
  const sums = lines.filter((l) => /^\d+ more packages dead-lettered/.test(l.msg));
  const summed = sums.reduce((n, l) => n + Number(/^(\d+)/.exec(l.msg)![1]), 0);
  assert.equal(10 + summed, built, stderr);
  for (const s of sums) assert.deepEqual(Object.keys(s.byStatus ?? {}), ['400']);
  // The drain's progress says the queue empties by refusals, not deliveries.
  const draining = lines.filter((l) => l.msg.startsWith('draining')) as { msg: string; delivered?: number; deadLettered?: number }[];
  assert.ok(draining.length > 0, `the drain outlasts its first progress line:\n${stderr.slice(-2000)}`);
  for (const l of draining) {
    assert.equal(l.delivered, 0, JSON.stringify(l));
    assert.ok((l.deadLettered ?? 0) > 0, JSON.stringify(l));
  }

  // The next start (the endpoint now unreachable): the refused packages are still in the queue and
  // /metrics says so, though every *_total counter starts at 0 with the process.
  const metricsPort = await freePort();
  const next = writeRunConfig(dir, { name: 'next.yaml', source: `{ type: file, path: ${CLIP} }`, endpoint: 'http://127.0.0.1:9/packages', upload: 'drainTimeoutS: 1', metricsPort });
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'run', '--config', next], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 'dead-400-token' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const exited = once(child, 'exit');
  let gauge: number | undefined;
  let ended = false;
  void exited.then(() => (ended = true));
  // Scraped until the gauge shows (it is read from the queue every second) or the run ends.
  while (!ended && gauge === undefined) {
    try {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const m = /^bestshot_queue_dead_letters (\d+)$/m.exec(text);
      if (m && Number(m[1]) > 0) gauge = Number(m[1]);
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await exited;
  assert.equal(gauge, built, 'bestshot_queue_dead_letters counts the earlier run\'s dead letters');
});
