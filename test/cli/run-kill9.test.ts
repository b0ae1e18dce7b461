/**
 * kill -9 of `bestshot run` itself (U2, U3), as the hardening attack did it:
 * the real CLI on a real clip at its real rate, the real model, a real
 * `bestshot receiver` process that is down for some of the runs; each run is
 * killed with SIGKILL at a seeded random moment after it said "running";
 * then a last run on the same queue, state and receiver plays the clip to
 * its end and drains. Afterwards every package the queue ever took is
 * accounted for (enqueued = delivered + dropped + dead + lost + replaced +
 * queued, nothing left queued), the receiver stored exactly the delivered ones, and
 * no key was stored twice or reused (imageIds persist across kills).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';
import { PackageQueue } from '../../src/upload/index.js';
import { spawnReceiver, type ReceiverProcess } from '../upload/helpers.js';
import { freePort } from '../helpers/net.js';
import { writeRunConfig } from '../helpers/run-config.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
const TOKEN = 'kill9-run-token';
const KILLS = Number(process.env.BESTSHOT_RUN_KILLS ?? 5);

let seed = 20261204;
const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);


function writeConfig(dir: string, port: number, realtime: boolean): string {
  return writeRunConfig(dir, {
    name: `config-${realtime ? 'live' : 'end'}.yaml`,
    source: `{ type: file, path: ${CLIP}, realtime: ${realtime} }`,
    endpoint: `http://127.0.0.1:${port}/packages`,
  });
}

/** Run `bestshot run`; with killAfterMs, SIGKILL that long after it said "running". */
function run(config: string, killAfterMs?: number): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', config], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: TOKEN },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let armed = false;
  const hard = setTimeout(() => child.kill('SIGKILL'), 150_000);
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    if (killAfterMs !== undefined && !armed && /"msg":"running"/.test(stderr)) {
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    }
  });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(hard);
      resolve({ code, signal, stderr });
    });
  });
}

test(`kill -9 of bestshot run ${KILLS} times (receiver down for some), then a run to the end: every package delivered once or counted`, { timeout: 400_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-run-kill9-'));
  const port = await freePort();
  const rcvArgs = ['--port', String(port), '--dir', join(dir, 'rcv'), '--token', TOKEN, '--quiet'];
  let receiver: ReceiverProcess | undefined = await spawnReceiver(rcvArgs);
  try {
    const live = writeConfig(dir, port, true);
    for (let k = 0; k < KILLS; k++) {
      // The receiver is down during every other run (it was killed hard, too).
      const down = k % 2 === 1;
      if (down && receiver) {
        receiver.proc.kill('SIGKILL');
        await new Promise((r) => receiver!.proc.once('close', r));
        receiver = undefined;
      } else if (!down && !receiver) {
        receiver = await spawnReceiver(rcvArgs);
      }
      const r = await run(live, 1500 + Math.floor(rand() * 6000));
      assert.equal(r.signal, 'SIGKILL', `run ${k} ended on its own (code ${r.code}):\n${r.stderr.slice(-2000)}`);
    }
    receiver ??= await spawnReceiver(rcvArgs);
    const last = await run(writeConfig(dir, port, false));
    assert.equal(last.code, 0, last.stderr.slice(-3000));
    // The queue's own ledger, persisted across the kills.
    const q = PackageQueue.open({ path: join(dir, 'queue.sqlite'), log: () => {} });
    const c = q.counters();
    const depth = q.depth;
    q.close();
    assert.equal(depth, 0, 'the last run drained the queue');
    assert.ok(c.enqueued > 0, 'packages were built');
    assert.equal(c.enqueued, c.delivered + c.dropped + c.deadLettered + c.setAside + c.replaced + depth, `ledger: ${JSON.stringify(c)}`);
    assert.equal(c.deadLettered, 0, 'nothing dead-lettered');
    const res = await fetch(`http://127.0.0.1:${port}/packages?limit=100000`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const listing = (await res.json()) as { count: number; packages: Array<{ key: string }> };
    const keys = listing.packages.map((p) => p.key);
    assert.equal(new Set(keys).size, keys.length, 'no key stored twice');
    // Every acknowledged delivery is at the receiver: a reused imageId after a kill would be
    // answered as a duplicate (acknowledged, not stored) and show up as a shortfall here.
    assert.equal(listing.count, c.delivered, `receiver stored ${listing.count}, queue delivered ${c.delivered}`);
    console.log(`run kill -9: ${KILLS} kills, ${c.enqueued} packages enqueued, ${c.delivered} delivered and stored once, ${c.dropped} dropped (counted), ${c.setAside} lost (counted), 0 silent`);
  } finally {
    await receiver?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
