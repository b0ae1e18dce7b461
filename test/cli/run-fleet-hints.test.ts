/**
 * `bestshot run` with the s3+mqtt sink against a real s3rver and mosquitto,
 * the bucket missing (the edge never creates it): every package stays queued
 * and is retried (docs/fleet.md), and the warning names what to fix instead
 * of only `S3 HTTP 404 NoSuchBucket`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SHARED_DIR } from '../../src/paths.js';
import { S3RVER_CREDENTIALS, hasMosquitto, startMosquitto, startS3rver, type ServerProcess } from '../upload/fleet-servers.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { assertAllQueued, endpointWarning, runToEnd } from '../helpers/run-to-end.js';

const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
const dir = mkdtempSync(join(tmpdir(), 'bestshot-run-fleet-hints-'));
const servers: ServerProcess[] = [];

after(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('s3+mqtt with the bucket missing: packages stay queued, the warning says to create the bucket or correct upload.sink.s3.bucket', { skip: !hasMosquitto, timeout: 120_000 }, async () => {
  const [broker, store] = await Promise.all([startMosquitto(join(dir, 'mq')), startS3rver(join(dir, 's3'), ['other-bucket'])]);
  servers.push(broker, store);
  const config = writeRunConfig(dir, {
    source: `{ type: file, path: ${CLIP} }`,
    upload: `drainTimeoutS: 2, sink: { type: s3+mqtt, s3: { bucket: missing-bucket, endpoint: "${store.url}", forcePathStyle: true, accessKeyId: { env: AK }, secretAccessKey: { env: SK } }, mqtt: { url: "${broker.url}", site: hints, clientId: run-fleet-hints } }`,
  });
  const { code, stdout, stderr } = await runToEnd(config, { AK: S3RVER_CREDENTIALS.accessKeyId, SK: S3RVER_CREDENTIALS.secretAccessKey });
  assert.equal(code, 0, stderr);
  // Under Node 20 the SDK warned on every start that its 2027 releases need Node 22 (docs/deploy.md, "Known limits").
  assert.doesNotMatch(stderr, /NodeVersionSupportWarning/);
  const line = endpointWarning(stderr);
  assert.match(line.error, /^S3 HTTP 404 NoSuchBucket/);
  assert.equal(line.hint, 'the bucket does not exist: create it (the edge never does) or correct upload.sink.s3.bucket');
  assertAllQueued(stdout);
});
