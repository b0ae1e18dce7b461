/**
 * An endpoint that answers with a redirect (an ingress that moved the API,
 * or wants https:// where the unit posts http://). The sender follows no
 * redirect (the package and its bearer token would go to another address):
 * each package is a dead letter (U2, docs/upload.md "Outcome classes"). The
 * operator used to read only `HTTP 308: …` per package, with no word of where
 * the server pointed or what to change; now the reason carries the Location
 * and the run says once which key to set and how to get the packages back.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SHARED_DIR } from '../../src/paths.js';
import { PackageQueue } from '../../src/upload/index.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { builtCount, runToEnd } from '../helpers/run-to-end.js';

const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
let dir: string;
let server: Server;
let port: number;
const posts: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-redirect-'));
  server = createServer((req, res) => {
    posts.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      // A signed Location: its signature is a credential, kept out of the queue, the log and the output.
      res.writeHead(308, { Location: `https://ingest.example/v2${req.url}?X-Amz-Signature=redirect-sig-77`, 'Content-Type': 'text/plain' });
      res.end('moved');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

test('a redirecting endpoint: every package a dead letter with the Location, one line naming upload.endpoint and resend-dead; nothing followed', { timeout: 120_000 }, async () => {
  const config = writeRunConfig(dir, { source: `{ type: file, path: ${CLIP} }`, endpoint: `http://127.0.0.1:${port}/packages`, upload: 'drainTimeoutS: 10' });
  const { code, stdout, stderr } = await runToEnd(config, { BESTSHOT_TEST_TOKEN: 'redirect-token' });
  assert.equal(code, 0, stderr);
  const built = builtCount(stdout);
  assert.match(stdout, new RegExp(`0 still queued, 0 dropped full, ${built} dead-lettered`));
  // Every package was posted here (at least once) and none anywhere else: the redirect was not followed.
  assert.ok(posts.length >= built && posts.every((p) => p === 'POST /packages'), posts.join(', '));
  const queuePath = join(dir, 'queue.sqlite');
  const hints = stderr.split('\n').filter((l) => l.includes('the endpoint redirects'));
  assert.equal(hints.length, 1, 'said once');
  assert.equal(
    JSON.parse(hints[0]!).msg,
    `the endpoint redirects (HTTP 308) to https://ingest.example/v2/packages?X-Amz-Signature=***: set upload.endpoint to the address packages are posted to (redirects are not followed); once fixed, 'bestshot queue resend-dead --path ${queuePath}' puts the dead letters back for the next start`,
  );
  const q = PackageQueue.open({ path: queuePath, readOnly: true });
  try {
    const dead = q.deadLetters();
    assert.equal(dead.length, built);
    for (const d of dead) assert.equal(d.reason, 'HTTP 308 to https://ingest.example/v2/packages?X-Amz-Signature=***: moved');
    assert.doesNotMatch(stdout + stderr, /redirect-sig-77/);
  } finally {
    q.close();
  }
});
