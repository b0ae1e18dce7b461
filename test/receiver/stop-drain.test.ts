/**
 * The receiver's stop drains: close() (and `bestshot receiver` on SIGTERM) cut every connection at
 * once and closed the index, and a POST inside store() went on after db.close(): its index insert
 * threw, its files stayed published without an index row, and the edge, cut off, was answered
 * 'duplicate' on its retry for a package never acknowledged. Now the requests in flight finish and
 * are answered (at most stopDrainMs), new ones are refused, and a store the drain deadline catches
 * is rolled back whole. Mid-store is reached with the test fault that holds a store between writing
 * its files and publishing them (announced in the log), mid-body with a body we stream ourselves.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startReceiver } from '../../src/receiver/index.js';
import { encodeMultipart, type UploadPackage } from '../../src/upload/index.js';
import { listPackages, makeJpeg, makePackage, spawnReceiver, waitFor } from '../upload/helpers.js';

const TOKEN = 'stop-drain-token';
const auth = { authorization: `Bearer ${TOKEN}` };

function post(url: string, pkg: UploadPackage): Promise<Response> {
  const { contentType, body } = encodeMultipart(pkg);
  return fetch(`${url}/packages`, { method: 'POST', headers: { ...auth, 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey }, body });
}

/** A raw connection: bytes written when we say, everything it answered, whether the receiver closed it. */
interface RawConnection {
  sock: Socket;
  text: () => string;
  closed: Promise<void>;
}

async function rawConnection(port: number): Promise<RawConnection> {
  const sock = connect(port, '127.0.0.1');
  let text = '';
  sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
  sock.on('error', () => {});
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
  return { sock, text: () => text, closed };
}

/** A package's POST as raw bytes, to be sent in pieces. */
function rawPost(pkg: UploadPackage): { head: string; body: Buffer } {
  const { contentType, body } = encodeMultipart(pkg);
  const head = `POST /packages HTTP/1.1\r\nHost: receiver\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: ${contentType}\r\nIdempotency-Key: ${pkg.idempotencyKey}\r\nContent-Length: ${body.length}\r\n\r\n`;
  return { head, body };
}

const status = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

test('close() with uploads in flight: one mid-store and one mid-body are stored, indexed and answered 201; idle connections closed and new requests refused at once', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-receiver-drain-'));
  try {
    const lines: string[] = [];
    const rcv = await startReceiver({ dir, token: TOKEN, testFaults: { slowStoreFirst: 1, slowStoreMs: 300 }, log: (l) => lines.push(l) });
    const jpeg = await makeJpeg(3);
    // An idle kept-alive connection (one answered request), and one whose next request has begun.
    const idle = await rawConnection(rcv.port);
    idle.sock.write('GET /healthz HTTP/1.1\r\nHost: receiver\r\n\r\n');
    await waitFor(() => status(idle.text()) === 200, 5000, 'the idle connection answered');
    const late = await rawConnection(rcv.port);
    late.sock.write(`GET /stats HTTP/1.1\r\nHost: receiver\r\nAuthorization: Bearer ${TOKEN}\r\n`);
    // Mid-store: held between its files written and their publish.
    const midStore = post(rcv.url, makePackage('cam-drain', 1, jpeg)).then(
      async (r) => ({ status: r.status, body: (await r.json()) as unknown }),
      (err: Error) => ({ status: 0, body: `cut: ${err.message}` }),
    );
    await waitFor(() => lines.some((l) => l.includes('test fault: holding the store')), 5000, `the store held: ${lines.join(' | ')}`);
    // Mid-body: its headers and half its body received.
    const body = await rawConnection(rcv.port);
    const { head, body: bytes } = rawPost(makePackage('cam-drain', 2, jpeg));
    body.sock.write(head);
    body.sock.write(bytes.subarray(0, bytes.length >> 1));
    await waitFor(() => rcv.stats().posts === 2, 5000, 'the second POST begun');

    const closed = rcv.close();
    await idle.closed; // at once: the uploads in flight are still waiting on us
    await assert.rejects(fetch(`${rcv.url}/healthz`), 'a new connection after close() is refused');
    late.sock.write('\r\n');
    await late.closed;
    assert.equal(status(late.text()), 503, late.text());
    assert.match(late.text(), /receiver stopping; retry later/);
    body.sock.write(bytes.subarray(bytes.length >> 1));
    await body.closed;
    assert.equal(status(body.text()), 201, body.text());
    assert.deepEqual(await midStore, { status: 201, body: { stored: true, key: 'cam-drain:1' } });
    await closed;
    assert.equal(rcv.stats().stored, 2);

    // Both are in the index the next start opens, and nothing else is on disk.
    const again = await startReceiver({ dir, token: TOKEN });
    try {
      assert.deepEqual(
        (await listPackages(again.url, TOKEN)).map((p) => p.key).sort(),
        ['cam-drain:1', 'cam-drain:2'],
      );
      assert.deepEqual(readdirSync(join(dir, 'packages')).sort(), ['cam-drain%3A1', 'cam-drain%3A2']);
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('close() at its drain deadline: a body that never ends is cut, a store not yet published is rolled back, and close() resolves after both ended', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-receiver-drain-cut-'));
  try {
    const lines: string[] = [];
    const rcv = await startReceiver({ dir, token: TOKEN, stopDrainMs: 300, testFaults: { slowStoreFirst: 1, slowStoreMs: 20_000 }, log: (l) => lines.push(l) });
    const jpeg = await makeJpeg(4);
    const midStore = post(rcv.url, makePackage('cam-cut', 1, jpeg)).then(
      (r) => r.status,
      () => 'cut',
    );
    await waitFor(() => lines.some((l) => l.includes('test fault: holding the store')), 5000, `the store held: ${lines.join(' | ')}`);
    const body = await rawConnection(rcv.port);
    const { head, body: bytes } = rawPost(makePackage('cam-cut', 2, jpeg));
    body.sock.write(head);
    body.sock.write(bytes.subarray(0, 100));
    await waitFor(() => rcv.stats().posts === 2, 5000, 'the second POST begun');

    await rcv.close();
    // When close() resolved the held store had ended, rolled back: nothing of either package on disk.
    assert.ok(
      lines.some((l) => /^POST \/packages: 503 receiver stopped: not stored within the 300 ms drain/.test(l)),
      lines.join('\n'),
    );
    assert.deepEqual(readdirSync(join(dir, 'packages')), []);
    assert.equal(rcv.stats().stored, 0);
    await body.closed;
    assert.equal(body.text(), '', 'the cut body was not answered');
    assert.equal(await midStore, 'cut');

    const again = await startReceiver({ dir, token: TOKEN });
    try {
      assert.deepEqual(await listPackages(again.url, TOKEN), []);
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bestshot receiver: SIGTERM while a package is mid-store answers it 201, exits 0, and the package is listed at the next start', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-receiver-drain-cli-'));
  process.env.BESTSHOT_RECEIVER_TOKEN = TOKEN;
  try {
    const rcv = await spawnReceiver(['--dir', dir, '--port', '0', '--test-slow-store-first', '1', '--test-slow-store-ms', '300']);
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => rcv.proc.once('exit', (code, signal) => r([code, signal])));
    const pkg = makePackage('cam-sigterm', 1, await makeJpeg(5));
    const answer = post(rcv.url, pkg);
    await waitFor(() => rcv.output().includes('test fault: holding the store'), 10_000, `the store held: ${rcv.output()}`);
    rcv.proc.kill('SIGTERM');
    const res = await answer;
    assert.equal(res.status, 201, rcv.output());
    assert.deepEqual(await res.json(), { stored: true, key: 'cam-sigterm:1' });
    assert.deepEqual(await exited, [0, null], rcv.output());

    const again = await spawnReceiver(['--dir', dir, '--port', '0', '--quiet']);
    try {
      assert.deepEqual(
        (await listPackages(again.url, TOKEN)).map((p) => p.key),
        ['cam-sigterm:1'],
      );
    } finally {
      await again.stop();
    }
  } finally {
    delete process.env.BESTSHOT_RECEIVER_TOKEN;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bestshot receiver --stop-drain-s: a store not done within it is rolled back on SIGTERM, exit 0, nothing listed at the next start; a bad value exits 2', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-receiver-drain-flag-'));
  process.env.BESTSHOT_RECEIVER_TOKEN = TOKEN;
  try {
    const rcv = await spawnReceiver(['--dir', dir, '--port', '0', '--stop-drain-s', '0.2', '--test-slow-store-first', '1', '--test-slow-store-ms', '20000']);
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => rcv.proc.once('exit', (code, signal) => r([code, signal])));
    const answer = post(rcv.url, makePackage('cam-drain-flag', 1, await makeJpeg(6))).then(
      (r) => r.status,
      () => 0,
    );
    await waitFor(() => rcv.output().includes('test fault: holding the store'), 10_000, `the store held: ${rcv.output()}`);
    rcv.proc.kill('SIGTERM');
    // The default drain (5 s) would end the same way, later; the message names the flag's 200 ms.
    assert.deepEqual(await exited, [0, null], rcv.output());
    assert.match(rcv.output(), /1 request\(s\) not done within 200 ms: connections cut, unpublished stores rolled back/);
    assert.notEqual(await answer, 201, 'never acknowledged: the edge keeps it queued and sends it again');

    const again = await spawnReceiver(['--dir', dir, '--port', '0', '--quiet']);
    try {
      assert.deepEqual(await listPackages(again.url, TOKEN), []);
    } finally {
      await again.stop();
    }
    await assert.rejects(spawnReceiver(['--dir', dir, '--stop-drain-s', '-1']), /exited with 2: .*Expected non-negative number for --stop-drain-s but received '-1'/s);
  } finally {
    delete process.env.BESTSHOT_RECEIVER_TOKEN;
    rmSync(dir, { recursive: true, force: true });
  }
});
