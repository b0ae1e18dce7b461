/**
 * The run's dead-letter hint is a command an operator pastes as it is. With
 * a queue smaller than `bestshot queue resend-dead`'s default capacity
 * (queue.maxPackages 10 against 1000) the hint used to leave the capacity
 * out: pasted, it re-queued every dead letter (32 in a queue of 10), and the
 * next start dropped 19 packages to make room while the endpoint took
 * everything. Now the hint carries the config's capacity (U2: nothing is
 * dropped that the queue had room to keep).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';
import { PackageQueue } from '../../src/upload/queue.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { builtCount, runToEnd } from '../helpers/run-to-end.js';

const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
let dir: string;
let server: Server;
let port: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-resend-hint-'));
  // An endpoint URL with no package upload behind it (a wrong path): 405 for every package.
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(405, { Allow: 'GET' }).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

test('U2: the dead-letter hint names the queue\'s capacity; the command pasted from it re-queues no more than the queue holds', { timeout: 120_000 }, async () => {
  const config = writeRunConfig(dir, {
    source: `{ type: file, path: ${CLIP} }`,
    endpoint: `http://127.0.0.1:${port}/v1/packages`,
    upload: 'drainTimeoutS: 3',
    queue: 'maxPackages: 10, maxBytes: 64MiB',
  });
  const { code, stdout, stderr } = await runToEnd(config, { BESTSHOT_TEST_TOKEN: 'resend-hint-token' });
  assert.equal(code, 0, stderr);
  const built = builtCount(stdout);
  const dead = Number(/(\d+) dead-lettered/.exec(stdout)?.[1]);
  assert.ok(dead > 10, `more dead letters than the queue holds: ${stdout}`);
  const queuePath = join(dir, 'queue.sqlite');
  const hint = stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string })
    .find((l) => l.msg.startsWith('the endpoint has no package upload at that URL (HTTP 405)'));
  assert.ok(hint, stderr);
  const command = /'(bestshot queue resend-dead [^']+)'/.exec(hint.msg)?.[1];
  assert.equal(command, `bestshot queue resend-dead --path ${queuePath} --max-packages 10 --max-bytes ${64 * 1024 * 1024}`);

  // Pasted as printed (the path has no spaces): the queue then holds at most its capacity.
  const args = command!.split(' ').slice(1);
  const pasted = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' } });
  assert.equal(pasted.status, 0, pasted.stderr);
  const q = PackageQueue.open({ path: queuePath, maxPackages: 10, maxBytes: 64 * 1024 * 1024 });
  try {
    assert.ok(q.depth <= 10, `depth ${q.depth} after the pasted command (the service would drop ${q.depth - 10} at its next enqueue)`);
    assert.equal(q.depth + q.deadLetterCount(), built - Number(/(\d+) dropped full/.exec(stdout)?.[1]), 'nothing lost by the command: queued + dead = built − dropped');
  } finally {
    q.close();
  }
});
