// health-watchdog.sh (bestshot-watchdog.service, docs/deploy.md): restarts the
// service when its HTTP server takes connections and never answers (a hung
// event loop), not when nothing listens at the URL. The installed unit used
// to restart on any failure, so a config with metrics.enabled: false or
// another metrics.port restarted a healthy service every minute, for ever.
// Real bash, curl and TCP servers; systemctl is a stand-in that records what
// it was asked.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../helpers/net.js';
import { run, SCRIPTS, tempDir } from './harness.js';

const WATCHDOG = join(SCRIPTS, 'health-watchdog.sh');
const dir = tempDir('watchdog');
after(() => rmSync(dir, { recursive: true, force: true }));

// systemctl: 'is-active' says active; every call is recorded.
const calls = join(dir, 'systemctl.log');
writeFileSync(join(dir, 'systemctl'), `#!/bin/sh\necho "$*" >> "${calls}"\nexit 0\n`);
chmodSync(join(dir, 'systemctl'), 0o755);
const state = join(dir, 'unreachable');

function watchdog(url: string): ReturnType<typeof run> {
  return run(WATCHDOG, ['--health-url', url, '--state', state, '--tries', '2', '--max-time', '1', '--pause', '0'], { PATH: `${dir}:${process.env.PATH}` });
}
const restarts = (): number => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter((l) => l.startsWith('restart ')).length : 0);
const listen = (server: Server | ReturnType<typeof createHttpServer>): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));

describe('health-watchdog.sh', () => {
  it('nothing listening at the URL (metrics off or moved): said once, never restarted; said again when it answers', async () => {
    const url = `http://127.0.0.1:${await freePort()}/healthz`;
    const first = await watchdog(url);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^nothing listens at http:\/\/127\.0\.0\.1:\d+\/healthz: this watchdog cannot check bestshot\.service and does not restart it; the config serves \/healthz elsewhere \(metrics\.port, metrics\.host\) or not at all \(metrics\.enabled: false\)/);
    const second = await watchdog(url);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, '', 'said once');
    assert.equal(restarts(), 0);
    // Back (503 counts as alive: an engine build).
    const port = Number(new URL(url).port);
    const http = createHttpServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', () => resolve()));
    try {
      const back = await watchdog(url);
      assert.equal(back.stdout, `bestshot.service answers again at ${url}\n`);
      assert.equal(existsSync(state), false);
      assert.equal(restarts(), 0);
    } finally {
      http.close();
    }
  });

  it('a server that takes the connection and never answers (a hung event loop) is restarted', async () => {
    const sockets: Socket[] = [];
    const hung = createServer((s) => sockets.push(s));
    const port = await listen(hung);
    try {
      const r = await watchdog(`http://127.0.0.1:${port}/healthz`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `bestshot.service: http://127.0.0.1:${port}/healthz does not answer: restarting\n`);
      assert.equal(restarts(), 1);
    } finally {
      for (const s of sockets) s.destroy();
      hung.close();
    }
  });
});
