/**
 * What /metrics and /healthz say after a recording ended, while `bestshot run`
 * drains its queue to an endpoint that refuses connections: the camera is
 * 'ended' in /healthz and bestshot_camera_up is 0 (it stayed 1 from the last
 * frame: a dashboard showed a camera up that delivered nothing any more), and
 * /healthz says the endpoint is not taking packages and how many wait (it
 * said nothing of the upload at all).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';
import { freePort } from '../helpers/net.js';
import { writeRunConfig } from '../helpers/run-config.js';

const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-metrics-ended-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('a recording that ended, an endpoint down: /healthz says both, bestshot_camera_up is 0 during the drain', { timeout: 180_000 }, async () => {
  const closed = await freePort(); // nobody listens: every send is refused, the drain waits
  const config = writeRunConfig(dir, {
    source: `{ type: file, path: ${CLIP} }`,
    endpoint: `http://127.0.0.1:${closed}/packages`,
    upload: 'drainTimeoutS: 120',
    metricsPort: 0,
  });
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'run', '--config', config], {
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 'ended-token' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  child.stdout.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  try {
    let url: string | undefined;
    while (url === undefined && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
      url = /"msg":"metrics listening","url":"([^"]+)"/.exec(log)?.[1];
    }
    assert.ok(url, log);
    let health: { status?: string; cameras?: Record<string, string>; upload?: { endpoint: string; queued: number } } = {};
    let code = 0;
    while (health.cameras?.cam !== 'ended' && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 200));
      const res = await fetch(`${url}/healthz`);
      code = res.status;
      health = (await res.json()) as typeof health;
    }
    assert.equal(health.cameras?.cam, 'ended', log);
    assert.equal(code, 200); // every source ended: ready, the drain goes on
    // The endpoint refuses every connection: /healthz says so, and what waits for it.
    assert.equal(health.upload?.endpoint, 'not taking packages', JSON.stringify(health));
    assert.ok((health.upload?.queued ?? 0) > 0, JSON.stringify(health));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^bestshot_frames_captured_total\{camera="cam"\} [1-9]/m);
    assert.match(metrics, /^bestshot_camera_up\{camera="cam"\} 0$/m);
    // Its tracks ended with it: the gauge kept its last frame's count before.
    assert.match(metrics, /^bestshot_tracks_active\{camera="cam"\} 0$/m);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
