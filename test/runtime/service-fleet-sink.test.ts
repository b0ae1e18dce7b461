/**
 * The service with upload.sink s3+mqtt (U1/U2 unchanged, the sink decides
 * how): a shared traffic clip replayed through the real detector, tracker
 * and selector; what the uploader delivers is stored in s3rver and announced
 * on mosquitto, and an IngestConsumer indexes each package exactly once with
 * its object's sha256 right.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { IngestConsumer, SqliteIngestIndex } from '../../src/ingest/index.js';
import { SHARED_DIR } from '../../src/paths.js';
import { BestshotService, type RuntimeLogger } from '../../src/runtime/service.js';
import { BUCKET, objectSha256, readIndex, s3For } from '../upload/fleet-helpers.js';
import { S3RVER_CREDENTIALS, hasMosquitto, startMosquitto, startS3rver } from '../upload/fleet-servers.js';
import { waitFor } from '../upload/helpers.js';

const silent: RuntimeLogger = { debug() {}, info() {}, warn() {}, error() {} };
const dir = mkdtempSync(join(tmpdir(), 'bestshot-service-sink-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('bestshot run with upload.sink s3+mqtt: every delivered package indexed once, objects right', { skip: !hasMosquitto, timeout: 120_000 }, async () => {
  const [broker, store] = await Promise.all([startMosquitto(join(dir, 'mq')), startS3rver(join(dir, 's3'), [BUCKET])]);
  const index = join(dir, 'index.sqlite');
  const consumer = await IngestConsumer.start({ url: broker.url, clientId: 'svc-ingest', connections: 2, s3: { endpoint: store.url, forcePathStyle: true, ...S3RVER_CREDENTIALS }, index: new SqliteIngestIndex(index) });
  const yaml = `
version: 1
model: { providers: [cpu], intraOpThreads: 1 }
cameras:
  - id: street
    source: { type: file, path: ${join(SHARED_DIR, 'data', 'traffic-clips', 'suburban-street-elevated.mp4')}, realtime: false }
    captureHz: 10
    exposure: { mode: auto }
    position: { type: none }
upload:
  sendHz: 20
  sink:
    type: s3+mqtt
    s3: { bucket: ${BUCKET}, prefix: svc, endpoint: "${store.url}", forcePathStyle: true, accessKeyId: S3RVER, secretAccessKey: S3RVER }
    mqtt: { url: "${broker.url}", site: svc, clientId: svc-edge }
queue: { path: ${dir}/queue.sqlite, synchronous: normal }
metrics: { enabled: false }
stateDir: ${dir}/state
`;
  const { config } = parseConfig(yaml, { baseDir: dir, env: {} });
  const svc = await BestshotService.start({ config, mode: 'offline', logger: silent, detectWorkers: 1 });
  try {
    // Some traffic: stop once a few packages were delivered through the sink.
    await waitFor(() => (svc.uploader?.stats().delivered ?? 0) >= 5, 90_000, 'five packages delivered');
  } finally {
    await svc.stop();
  }
  const delivered = svc.uploader!.stats().delivered;
  try {
    await waitFor(() => readIndex(index).rows.length >= delivered, 20000, `${delivered} indexed`);
    const { rows, rejected } = readIndex(index);
    assert.deepEqual(rejected, []);
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
    assert.ok(rows.every((r) => r.id.startsWith('street:') && r.key!.startsWith('svc/street/')));
    const s3 = s3For(store.url);
    for (const r of rows) assert.equal(await objectSha256(s3, r.bucket!, r.key!), r.sha256);
    s3.destroy();
  } finally {
    await consumer.close();
    await Promise.all([broker.stop(), store.stop()]);
  }
});
