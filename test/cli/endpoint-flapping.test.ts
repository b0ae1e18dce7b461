/**
 * An endpoint that answers some sends and lets others time out (an
 * overloaded ingest, a congested uplink): each failure after a success began
 * a new outage, and each was a WARN with the whole 300-character hint, three
 * in two seconds. Now the first outage is warned, those within the next
 * minute are info lines ('endpoint not taking packages again'), and a hint
 * already said is not said again. Nothing is lost (U2).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SHARED_DIR } from '../../src/paths.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { builtCount, runToEnd } from '../helpers/run-to-end.js';

const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
let dir: string;
let server: Server;
let port: number;
let posts = 0;
const stored = new Set<string>();
const held: ServerResponse[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-flapping-'));
  // Every third POST is read and never answered (the sender's response timeout ends it); the others are stored.
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = ++posts;
    req.resume();
    req.on('end', () => {
      if (n % 3 === 1) {
        held.push(res);
        return;
      }
      stored.add(String(req.headers['idempotency-key']));
      res.writeHead(201, { 'Content-Type': 'application/json' }).end('{"stored":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});

after(async () => {
  for (const res of held) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

test('an endpoint that times out every third send: one warning with its hint, the later outages as info lines without it; every package stored', { timeout: 120_000 }, async () => {
  const config = writeRunConfig(dir, { source: `{ type: file, path: ${CLIP} }`, endpoint: `http://127.0.0.1:${port}/packages`, upload: 'responseTimeoutMs: 500, drainTimeoutS: 60' });
  const { code, stdout, stderr } = await runToEnd(config, { BESTSHOT_TEST_TOKEN: 'flapping-token' });
  assert.equal(code, 0, stderr);
  const built = builtCount(stdout);
  assert.match(stdout, /0 still queued, 0 dropped full, 0 dead-lettered/);
  assert.equal(stored.size, built, 'every package stored once the timeouts were retried');
  const lines = stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string; hint?: string });
  const warned = lines.filter((l) => l.msg === 'endpoint not taking packages; they stay queued and are retried');
  const again = lines.filter((l) => l.msg === 'endpoint not taking packages again');
  assert.equal(warned.length, 1, stderr);
  assert.equal(warned[0]!.level, 'warn');
  assert.match(warned[0]!.hint ?? '', /^no answer within upload\.responseTimeoutMs/);
  assert.ok(again.length >= 2, `the endpoint flapped: ${again.length} later outages`);
  for (const l of again) {
    assert.equal(l.level, 'info');
    assert.equal(l.hint, undefined, 'the same hint is not said again');
  }
});
