/**
 * `bestshot ingest` as a process (the real CLI) against real mosquitto and
 * s3rver: --help, usage errors (exit 2, an --index that cannot be opened
 * named with the option), one s3+mqtt package indexed, the final stats
 * line on SIGTERM, and a second delivery of the same event dropped by id (U3).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths.js';
import { S3MqttSink } from '../../src/upload/sinks/index.js';
import { BUCKET, readIndex } from '../upload/fleet-helpers.js';
import { S3RVER_CREDENTIALS, hasMosquitto, startMosquitto, startS3rver } from '../upload/fleet-servers.js';
import { makeJpeg, makePackage, waitFor } from '../upload/helpers.js';

const BIN = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const env = { ...process.env, BESTSHOT_FROM_SOURCE: '1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const dir = mkdtempSync(join(tmpdir(), 'bestshot-cli-ingest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('bestshot ingest --help and usage errors', () => {
  const help = spawnSync(process.execPath, [BIN, 'ingest', '--help'], { env, encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: bestshot ingest --broker <url> --index <file\.sqlite>/);
  assert.match(help.stdout, /\$share\/<group>\/<topic>/);
  const missing = spawnSync(process.execPath, [BIN, 'ingest', '--broker', 'mqtt://127.0.0.1:1'], { env, encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^bestshot ingest: --broker and --index are required/);
  // MQTT.js would take it and wait on it for ever: a usage error before anything connects.
  const http = spawnSync(process.execPath, [BIN, 'ingest', '--broker', 'http://127.0.0.1:1', '--index', join(dir, 'never.sqlite')], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(http.status, 2);
  assert.equal(http.stderr, "bestshot ingest: [ERR_USAGE] Expected mqtt://, mqtts://, ws:// or wss:// URL for --broker but received 'http://127.0.0.1:1'\n");
  // TLS files that cannot work are usage errors before anything connects: a CA file with no certificate
  // made every handshake fail for ever ("unable to verify the first certificate"), naming no option.
  writeFileSync(join(dir, 'not-a-ca.pem'), 'hello\n');
  const ca = spawnSync(process.execPath, [BIN, 'ingest', '--broker', 'mqtts://127.0.0.1:1', '--index', join(dir, 'never.sqlite'), '--ca', join(dir, 'not-a-ca.pem')], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(ca.status, 2);
  assert.equal(ca.stderr, `bestshot ingest: [ERR_USAGE] --ca: ${join(dir, 'not-a-ca.pem')} holds no PEM certificate (-----BEGIN CERTIFICATE-----)\n`);
  const gone = spawnSync(process.execPath, [BIN, 'ingest', '--broker', 'mqtts://127.0.0.1:1', '--index', join(dir, 'never.sqlite'), '--ca', join(dir, 'gone.pem')], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(gone.status, 2);
  assert.equal(gone.stderr, `bestshot ingest: [ERR_USAGE] --ca: Cannot read file ${join(dir, 'gone.pem')} (ENOENT)\n`);
  // Before: exit 1, as if it were a failure of the run, not of the command line.
  const verify = spawnSync(process.execPath, [BIN, 'ingest', '--broker', 'mqtt://127.0.0.1:1', '--index', join(dir, 'never.sqlite'), '--verify', 'bogus'], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(verify.status, 2);
  assert.equal(verify.stderr, "bestshot ingest: [ERR_USAGE] Expected one of 'get', 'head', 'none' for --verify but received 'bogus'\n");
  // Numbers are checked before the index is opened: nothing is created for a usage error.
  const zero = spawnSync(process.execPath, [BIN, 'ingest', '--broker', 'mqtt://127.0.0.1:1', '--index', join(dir, 'never', 'never.sqlite'), '--connections', '0'], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(zero.status, 2);
  assert.equal(zero.stderr, "bestshot ingest: [ERR_USAGE] Expected positive integer for --connections but received '0'\n");
  assert.equal(existsSync(join(dir, 'never')), false, 'no folder created');
  // An index whose folder cannot be: before, "Cannot open database because the directory does not exist", no path, exit 1.
  writeFileSync(join(dir, 'a-file'), '');
  const under = spawnSync(process.execPath, [BIN, 'ingest', '--broker', 'mqtt://127.0.0.1:1', '--index', join(dir, 'a-file', 'x.sqlite'), '--verify', 'none'], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(under.status, 2);
  assert.equal(under.stderr, `bestshot ingest: [ERR_USAGE] ${join(dir, 'a-file')} is a file, not a folder: choose another --index\n`);
  // A folder where the index file should be: SQLite's words, with the path and the option.
  const folder = spawnSync(process.execPath, [BIN, 'ingest', '--broker', 'mqtt://127.0.0.1:1', '--index', dir, '--verify', 'none'], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(folder.status, 2);
  assert.equal(folder.stderr, `bestshot ingest: [ERR_USAGE] cannot open the index ${dir} (unable to open database file): choose another --index\n`);
  assert.equal(existsSync(join(dir, 'never.sqlite')), false, 'nothing created');
  const list = spawnSync(process.execPath, [BIN, '--help'], { env, encoding: 'utf8' });
  assert.match(list.stdout, /ingest\s+fleet consumer: MQTT shared subscription → verify S3 object → idempotent SQLite index/);
});

test('bestshot ingest indexes an s3+mqtt package once, prints its stats on SIGTERM', { skip: !hasMosquitto }, async () => {
  const [broker, store] = await Promise.all([startMosquitto(join(dir, 'mq')), startS3rver(join(dir, 's3'), [BUCKET])]);
  const index = join(dir, 'index.sqlite');
  const proc = spawn(process.execPath, [BIN, 'ingest', '--broker', broker.url, '--index', index, '--client-id', 'cli-test', '--connections', '1', '--s3-endpoint', store.url, '--s3-path-style'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const sink = new S3MqttSink({ s3: { bucket: BUCKET, endpoint: store.url, forcePathStyle: true, ...S3RVER_CREDENTIALS }, mqtt: { url: broker.url, site: 'cli', clientId: 'cli-edge' } });
  try {
    await waitFor(() => out.includes('ingest subscribed to $share/bestshot-ingest/bestshot/+/+/objects'), 30000, `ingest ready: ${out}`);
    await waitFor(() => sink.mqtt.client.connected, 10000, 'edge connected');
    const pkg = makePackage('cam-cli', 3, await makeJpeg(4));
    assert.equal((await sink.send(pkg)).kind, 'ok');
    await waitFor(() => readIndex(index).rows.length === 1, 15000, 'indexed');
    // The same event again (a re-send after a lost PUBACK): dropped by id.
    assert.equal((await sink.send(pkg)).kind, 'ok');
    await waitFor(() => readIndex(index).duplicates === 1, 15000, 'duplicate counted');
    proc.kill('SIGTERM');
    const [code] = (await once(proc, 'exit')) as [number | null];
    assert.equal(code, 0, out);
    const stats = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
    assert.deepEqual(stats, { received: 2, indexed: 1, duplicates: 1, rejected: 0, verifyRetries: 0 });
    assert.equal(readIndex(index).rows[0]!.id, 'cam-cli:3');
  } finally {
    sink.close();
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await Promise.all([broker.stop(), store.stop()]);
  }
});

test('bestshot ingest says it waits for a broker that refuses or whose host is unknown, once, with the reason, and when it is connected', { skip: !hasMosquitto }, async () => {
  const { freePort } = await import('../upload/fleet-servers.js');
  const port = await freePort(); // nothing listens there yet
  const run = (broker: string, name: string) => {
    const proc = spawn(process.execPath, [BIN, 'ingest', '--broker', broker, '--index', join(dir, `${name}.sqlite`), '--client-id', name, '--verify', 'none'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    proc.stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
    const exited = new Promise<[number | null, string | null]>((r) => proc.on('exit', (code, signal) => r([code, signal])));
    return { proc, out, exited };
  };
  // A web server where the broker should be (a mistyped port).
  const web = createServer((s) => {
    s.on('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const webPort = (web.address() as AddressInfo).port;
  const refused = run(`mqtt://127.0.0.1:${port}`, 'wait-refused');
  const unknown = run('mqtt://no-such-host.invalid', 'wait-unknown');
  const notMqtt = run(`mqtt://127.0.0.1:${webPort}`, 'wait-web');
  let late: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  try {
    const waiting = `ingest: waiting for the broker at mqtt://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`;
    await waitFor(() => refused.out.stderr.includes(waiting), 20000, `refused said: ${refused.out.stderr}`);
    await waitFor(() => /^ingest: waiting for the broker at mqtt:\/\/no-such-host\.invalid: getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid$/m.test(unknown.out.stderr), 20000, `unknown host said: ${unknown.out.stderr}`);
    // Before: MQTT.js's parser's words ('Invalid header flag bits, must be 0x0 for puback packet').
    await waitFor(
      () => /^ingest: waiting for the broker at mqtt:\/\/127\.0\.0\.1:\d+: the server there does not speak MQTT \(its answer is no MQTT packet: [^)]+\): check the host and port of the broker URL \(MQTT listens on 1883, TLS on 8883\)$/m.test(notMqtt.out.stderr),
      20000,
      `a web server said: ${notMqtt.out.stderr}`,
    );
    // Four connections retrying every 250 ms for a second: still said once (again after a minute).
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(refused.out.stderr.split(waiting).length - 1, 1, refused.out.stderr);
    assert.equal(refused.out.stdout, '', 'not subscribed');
    late = await startMosquitto(join(dir, 'mq-wait'), { port });
    await waitFor(() => refused.out.stdout.includes('ingest subscribed to'), 20000, `subscribed once the broker is up: ${refused.out.stdout}`);
    assert.match(refused.out.stderr, new RegExp(`^ingest: connected to the broker at mqtt://127\\.0\\.0\\.1:${port} after \\d+ s of waiting$`, 'm'));
    for (const { proc } of [refused, unknown, notMqtt]) proc.kill('SIGTERM');
    const [code, signal] = await refused.exited;
    // Before: killed by the SIGTERM itself now and then (CI), when it came between 'subscribed' and the handler.
    assert.equal(code, 0, `${signal ?? ''} ${refused.out.stderr}`);
    // Stopped while it still waits for a broker that does not exist: a clean stop with its stats line
    // (before: the default kill, exit 143, nothing said).
    const [unknownCode] = await unknown.exited;
    assert.equal(unknownCode, 0, unknown.out.stderr);
    assert.match(unknown.out.stderr, /^ingest: stopped before the broker was reached$/m);
    assert.deepEqual(JSON.parse(unknown.out.stdout.trim()), { received: 0, indexed: 0, duplicates: 0, rejected: 0, verifyRetries: 0 });
  } finally {
    for (const { proc } of [refused, unknown, notMqtt]) if (proc.exitCode === null) proc.kill('SIGKILL');
    await late?.stop();
    web.close();
  }
});

test("bestshot ingest creates its index's missing folder, as receiver --dir is", async () => {
  const { freePort } = await import('../upload/fleet-servers.js');
  const port = await freePort(); // nothing listens: it waits for the broker, its index open
  const index = join(dir, 'new', 'deeper', 'index.sqlite');
  const proc = spawn(process.execPath, [BIN, 'ingest', '--broker', `mqtt://127.0.0.1:${port}`, '--index', index, '--connections', '1', '--verify', 'none'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = once(proc, 'exit');
  try {
    await waitFor(() => stderr.includes('ingest: waiting for the broker'), 20000, `waiting said: ${stderr}`);
    assert.equal(existsSync(index), true, stderr);
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
});

test('bestshot ingest --key readable by every local user: warned at start as bestshot run warns of its key and token files; not at 0600', async () => {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client.key', '-out', 'client.pem', '-days', '2', '-subj', '/CN=ingest-test'], { cwd: pki, stdio: 'pipe' });
  const key = join(pki, 'client.key');
  const { freePort } = await import('../upload/fleet-servers.js');
  const port = await freePort(); // nothing listens: it waits for the broker, having said what it says at start
  const start = async (mode: number): Promise<string> => {
    chmodSync(key, mode);
    const proc = spawn(process.execPath, [BIN, 'ingest', '--broker', `mqtt://127.0.0.1:${port}`, '--index', join(dir, 'key-mode.sqlite'), '--connections', '1', '--verify', 'none', '--cert', join(pki, 'client.pem'), '--key', key], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = once(proc, 'exit');
    await waitFor(() => stderr.includes('ingest: waiting for the broker'), 20000, `waiting said: ${stderr}`);
    proc.kill('SIGTERM');
    await exited;
    return stderr;
  };
  const open = await start(0o644);
  assert.match(open, new RegExp(`^ingest: warning: --key: secret file ${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is readable by every local user \\(mode 0644\\); chmod o-rwx it \\(0600, or 0640 with the service's group\\)$`, 'm'));
  const closed = await start(0o600);
  assert.doesNotMatch(closed, /warning: --key/);
});
