/**
 * sd_notify for `bestshot run` under systemd (the watchdog of docs/deploy.md): READY=1,
 * periodic WATCHDOG=1, STOPPING=1 — sent by the real systemd-notify to a real
 * unix datagram socket (a python3 listener stands in for systemd).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemdNotifier } from '../../src/runtime/sd-notify.js';

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
