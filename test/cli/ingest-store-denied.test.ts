/**
 * `bestshot ingest` whose S3 credentials the store refuses (real mosquitto and
 * s3rver, which checks the access key id): the refusal is the consumer's own
 * misconfiguration, not the events'. Before, every event was retried as if its
 * object were not yet visible until --verify-timeout-ms, then rejected and
 * acknowledged (gone from the broker into `rejected`), each logging
 * `object … not verified: HTTP 403 InvalidAccessKeyId`, no word of the
 * credentials. Now: said once with what to fix, no event rejected, all of
 * them left on the broker, indexed once the consumer restarts with the right key.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
const dir = mkdtempSync(join(tmpdir(), 'bestshot-cli-ingest-denied-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `bestshot ingest` on one broker and store with the given access key id; its output gathered. */
function ingest(broker: string, store: string, index: string, accessKeyId: string, extra: string[] = []) {
  const env = { ...process.env, BESTSHOT_FROM_SOURCE: '1', AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  // A short verify timeout: before the fix each event was rejected after it, well within the wait below.
  const args = ['ingest', '--broker', broker, '--index', index, '--client-id', 'denied', '--connections', '2', '--verify-timeout-ms', '500', '--s3-endpoint', store, '--s3-path-style', ...extra];
  const proc = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  proc.stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, out, exited };
}

test('bestshot ingest with S3 credentials the store refuses: said once with the fix, no event rejected, all indexed after a restart with the right key', { skip: !hasMosquitto }, async () => {
  const [broker, store] = await Promise.all([startMosquitto(join(dir, 'mq')), startS3rver(join(dir, 's3'), [BUCKET])]);
  const index = join(dir, 'index.sqlite');
  const sink = new S3MqttSink({ s3: { bucket: BUCKET, endpoint: store.url, forcePathStyle: true, ...S3RVER_CREDENTIALS }, mqtt: { url: broker.url, site: 'denied', clientId: 'denied-edge' } });
  // Its reconcile pass at start is refused too: said with the same fix (before: the SDK's words alone).
  const wrong = ingest(broker.url, store.url, index, 'WRONG', ['--reconcile-bucket', BUCKET, '--reconcile-interval-s', '0']);
  let right: ReturnType<typeof ingest> | undefined;
  try {
    await waitFor(() => wrong.out.stdout.includes('ingest subscribed to'), 30000, `ingest ready: ${wrong.out.stderr}`);
    await waitFor(() => sink.mqtt.client.connected, 10000, 'edge connected');
    for (const id of [1, 2, 3]) assert.equal((await sink.send(makePackage('cam-denied', id, await makeJpeg(id)))).kind, 'ok');
    await waitFor(() => wrong.out.stderr.includes('refuses this consumer'), 15000, `refusal said: ${wrong.out.stderr}`);
    // Several verify timeouts, every event tried again and again on both connections.
    await new Promise((r) => setTimeout(r, 4000));
    const said = wrong.out.stderr.split('\n').filter((l) => l.includes('refuses this consumer'));
    assert.equal(said.length, 1, wrong.out.stderr);
    assert.match(
      said[0]!,
      /^ingest: the object store refuses this consumer: object s3:\/\/fleet-test\/cam-denied\/\d{4}\/\d\d\/\d\d\/\d\.jpg: HTTP 403 InvalidAccessKeyId: the store knows no such access key id: set this consumer's S3 credentials \(AWS_ACCESS_KEY_ID \/ AWS_SECRET_ACCESS_KEY, or the AWS SDK credential chain: profile, SSO, instance role\) and restart it; events wait unacknowledged on the broker, retried \(none is rejected for it\)$/,
    );
    assert.doesNotMatch(wrong.out.stderr, /^ingest: rejected /m);
    assert.match(wrong.out.stderr, /^ingest: reconcile failed: bucket s3:\/\/fleet-test: HTTP 403 InvalidAccessKeyId: the store knows no such access key id: set this consumer's S3 credentials \(AWS_ACCESS_KEY_ID \/ AWS_SECRET_ACCESS_KEY, or the AWS SDK credential chain: profile, SSO, instance role\) and restart it$/m);
    assert.deepEqual(readIndex(index), { rows: [], rejected: [], duplicates: 0 });
    wrong.proc.kill('SIGTERM');
    assert.equal(await wrong.exited, 0, wrong.out.stderr);
    const stats = JSON.parse(wrong.out.stdout.trim().split('\n').pop()!) as Record<string, number>;
    assert.equal(stats.rejected, 0);
    assert.equal(stats.indexed, 0);
    // The same consumer (client id, so its sessions) with the right key: the broker still held every event.
    right = ingest(broker.url, store.url, index, 'S3RVER');
    await waitFor(() => readIndex(index).rows.length === 3, 30000, `indexed after the restart: ${right?.out.stderr}`);
    assert.deepEqual(readIndex(index).rows.map((r) => r.id).sort(), ['cam-denied:1', 'cam-denied:2', 'cam-denied:3']);
    assert.deepEqual(readIndex(index).rejected, []);
    assert.doesNotMatch(right.out.stderr, /refuses|^ingest: rejected /m);
    right.proc.kill('SIGTERM');
    assert.equal(await right.exited, 0, right.out.stderr);
  } finally {
    sink.close();
    for (const p of [wrong, right]) if (p && p.proc.exitCode === null) p.proc.kill('SIGKILL');
    await Promise.all([broker.stop(), store.stop()]);
  }
});
