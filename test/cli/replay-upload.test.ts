/**
 * `bestshot replay` to an endpoint of its own that does not take the
 * packages. Its queue lives in --out and the next replay there starts a
 * fresh one, so nothing sends what is left: the run said "sent at the next
 * start" (library doc) and, for dead letters, "'bestshot queue resend-dead'
 * puts the dead letters back for the next start" — a start that never sends
 * them. Now both say what happens to them and what to do.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';
import { freePort } from '../helpers/net.js';
import { writeRunConfig } from '../helpers/run-config.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
let dir: string;
let refusing: Server;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-replay-upload-'));
  refusing = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end('{"error":"unauthorized"}');
    });
  });
  await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', () => r()));
});

after(async () => {
  await new Promise<void>((r) => refusing.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Run a replay (asynchronously: the refusing server answers from this process meanwhile). */
async function replay(name: string, endpoint: string): Promise<{ status: number | null; stderr: string }> {
  const d = join(dir, name);
  const config = writeRunConfig(dir, { name: `${name}.yaml`, source: `{ type: file, path: ${CLIP} }`, endpoint, upload: 'drainTimeoutS: 1' });
  const child = spawn(process.execPath, [CLI, 'replay', CLIP, '--config', config, '--out', d, '--quiet'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 'replay-upload-token' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const status = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  return { status, stderr };
}

const lines = (stderr: string): Array<{ msg: string; note?: string }> =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; note?: string });

test('replay to an endpoint that is down: exit 1, and the error says the queued packages are not sent later', { timeout: 150_000 }, async () => {
  const r = await replay('down', `http://127.0.0.1:${await freePort()}/packages`);
  assert.equal(r.status, 1, r.stderr);
  const err = lines(r.stderr).find((l) => l.msg === 'the endpoint did not take every package before the drain timeout');
  assert.ok(err, r.stderr);
  assert.equal(err.note, 'they are not sent later: the next replay on this --out starts a fresh queue; raise upload.drainTimeoutS or replay again once the endpoint takes packages');
});

test('replay to an endpoint refusing the token: the hint names upload.token and does not promise a resend at the next start', { timeout: 150_000 }, async () => {
  const r = await replay('refused', `http://127.0.0.1:${(refusing.address() as { port: number }).port}/packages`);
  assert.equal(r.status, 1, r.stderr);
  const hint = lines(r.stderr).find((l) => l.msg.startsWith("the endpoint refuses this unit's credentials"));
  assert.ok(hint, r.stderr);
  assert.equal(
    hint.msg,
    `the endpoint refuses this unit's credentials (HTTP 401): check upload.token; the dead letters stay in ${join(dir, 'refused', 'queue.sqlite')} ('bestshot queue inspect' lists them) until the next replay on this --out, which starts a fresh queue: replay again once fixed`,
  );
  assert.doesNotMatch(r.stderr, /resend-dead/);
});
