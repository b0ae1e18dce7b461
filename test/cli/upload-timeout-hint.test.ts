/**
 * An endpoint that takes the connection and never answers, as a hung server
 * or an uplink too slow for the packages looks to the edge: every send ends
 * in `response timeout after N ms` (the upload of the package included) and
 * the same package is sent again for ever. The packages stay queued (U2);
 * the warning now also says which setting bounds the wait
 * (upload.responseTimeoutMs), instead of a bare timeout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SHARED_DIR } from '../../src/paths.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { assertAllQueued, endpointWarning, runToEnd } from '../helpers/run-to-end.js';

const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
let dir: string;
let server: Server;
let port: number;
const sockets: Socket[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-timeout-hint-'));
  // Reads everything, answers nothing.
  server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

test('an endpoint that never answers: the warning names upload.responseTimeoutMs, every package stays queued, exit 0', { timeout: 120_000 }, async () => {
  const config = writeRunConfig(dir, { source: `{ type: file, path: ${CLIP} }`, endpoint: `http://127.0.0.1:${port}/packages`, upload: 'responseTimeoutMs: 1000, drainTimeoutS: 2' });
  const { code, stdout, stderr } = await runToEnd(config, { BESTSHOT_TEST_TOKEN: 'timeout-token' });
  assert.equal(code, 0, stderr);
  const line = endpointWarning(stderr);
  assert.equal(line.error, 'response timeout after 1000 ms');
  assert.equal(line.kind, 'timeout');
  assert.equal(
    line.hint,
    'no answer within upload.responseTimeoutMs, the upload of the package included: an endpoint that hangs, or an uplink too slow for packages this large (raise upload.responseTimeoutMs: a package gets up to 4× it at its next tries, and one that needs more is sent again for ever)',
  );
  assertAllQueued(stdout);
});
