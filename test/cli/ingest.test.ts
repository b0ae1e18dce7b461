/**
 * `bestshot ingest` as a process (the real CLI) against real mosquitto and
 * s3rver: --help, usage errors, one s3+mqtt package indexed, the final stats
 * line on SIGTERM, and a second delivery of the same event dropped by id (U3).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
