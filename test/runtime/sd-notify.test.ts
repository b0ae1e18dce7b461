/**
 * sd_notify for `bestshot run` under systemd (the watchdog of docs/deploy.md): READY=1,
 * periodic WATCHDOG=1, STOPPING=1, EXTEND_TIMEOUT_USEC while starting — sent by
 * the real systemd-notify to a real unix datagram socket (a python3 listener
 * stands in for systemd).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_DIR } from '../../src/paths.js';
import { START_EXTEND_BY_MS, SystemdNotifier } from '../../src/runtime/sd-notify.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { runToEnd } from '../helpers/run-to-end.js';

const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data = s.recv(4096).decode()
    print(data.replace("\\n", "|"), flush=True)
`;

test('READY=1 with a status, WATCHDOG=1 every half WatchdogSec, STOPPING=1; silent without NOTIFY_SOCKET', { timeout: 30_000 }, async () => {
  assert.equal(new SystemdNotifier({}).enabled, false);
  const sock = join(mkdtempSync(join(tmpdir(), 'bestshot-notify-')), 'notify.sock');
  const listener = spawn('python3', ['-c', LISTENER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  let received = '';
  listener.stdout.on('data', (d) => (received += d));
  try {
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    const notifier = new SystemdNotifier({ NOTIFY_SOCKET: sock, WATCHDOG_USEC: '400000' });
    assert.equal(notifier.enabled, true);
    assert.equal(notifier.watchdogIntervalMs, 200);
    notifier.ready('running 1 camera(s)');
    await new Promise((r) => setTimeout(r, 1200));
    notifier.stopping();
    await new Promise((r) => setTimeout(r, 500));
    const lines = received.trim().split('\n').slice(1).filter((l) => l !== 'BARRIER=1'); // systemd-notify's own sync message
    assert.ok(lines.some((l) => l.includes('READY=1') && l.includes('STATUS=running 1 camera(s)')), received);
    const pings = lines.filter((l) => l === 'WATCHDOG=1').length;
    assert.ok(pings >= 3 && pings <= 7, `${pings} watchdog pings in 1.2 s at 200 ms`);
    assert.equal(lines.at(-1), 'STOPPING=1');
  } finally {
    listener.kill();
  }
});

/** A python3 stand-in for systemd's notify socket; the messages it got, one line each ('|' between assignments). */
async function listen(): Promise<{ sock: string; lines: () => string[]; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-notify-'));
  const sock = join(dir, 'notify.sock');
  const listener = spawn('python3', ['-c', LISTENER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  let received = '';
  listener.stdout.on('data', (d) => (received += d));
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    sock,
    lines: () => received.trim().split('\n').slice(1).filter((l) => l !== 'BARRIER=1'),
    close: () => {
      listener.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('while starting: the start timeout extended at once and every interval with the status, until READY=1', { timeout: 30_000 }, async () => {
  const l = await listen();
  try {
    const notifier = new SystemdNotifier({ NOTIFY_SOCKET: l.sock });
    notifier.starting('starting: loading the model', 200, 5000);
    await new Promise((r) => setTimeout(r, 1100));
    notifier.ready('running 1 camera(s)');
    await new Promise((r) => setTimeout(r, 700));
    const lines = l.lines();
    const extends_ = lines.filter((x) => x === 'EXTEND_TIMEOUT_USEC=5000000|STATUS=starting: loading the model');
    assert.ok(extends_.length >= 4 && extends_.length <= 8, `${extends_.length} extensions in 1.1 s at 200 ms: ${lines.join(' / ')}`);
    const ready = lines.findIndex((x) => x.includes('READY=1'));
    assert.ok(ready > 0, lines.join(' / '));
    assert.equal(lines.slice(ready).filter((x) => x.startsWith('EXTEND_TIMEOUT_USEC')).length, 0, 'no extension after READY=1');
  } finally {
    l.close();
  }
});

test('bestshot run under Type=notify: EXTEND_TIMEOUT_USEC before READY=1 (a TensorRT engine build outlasts TimeoutStartSec), then STOPPING=1', { timeout: 120_000 }, async () => {
  const l = await listen();
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-notify-run-'));
  try {
    const clip = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
    // Nothing listens on port 1: the packages stay queued; the run ends with its source.
    const config = writeRunConfig(dir, { source: `{ type: file, path: ${clip} }`, endpoint: 'http://127.0.0.1:1/packages', upload: 'drainTimeoutS: 1' });
    const run = await runToEnd(config, { NOTIFY_SOCKET: l.sock, BESTSHOT_TEST_TOKEN: 't0ken' });
    assert.equal(run.code, 0, run.stderr);
    await new Promise((r) => setTimeout(r, 300));
    const lines = l.lines();
    assert.equal(lines[0], `EXTEND_TIMEOUT_USEC=${START_EXTEND_BY_MS * 1000}|STATUS=starting: loading the model (a first start may build TensorRT engines for minutes) and opening the cameras`, lines.join(' / '));
    const ready = lines.findIndex((x) => x.startsWith('READY=1|STATUS=running 1 camera(s)'));
    assert.ok(ready > 0, lines.join(' / '));
    assert.equal(lines.at(-1), 'STOPPING=1', lines.join(' / '));
  } finally {
    l.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
