import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  detectorOptions,
  parseConfig,
  policyOptions,
  queueOptions,
  senderOptions,
  sinkOptions,
  trackerOptions,
  uploaderOptions,
  type BestshotConfig,
} from '../../src/config/index.js';
import { Detector, type DetectorOptions } from '../../src/detect/index.js';
import { createPolicy, type PolicyOptions } from '../../src/select/index.js';
import { ByteTracker, resolveTrackerOptions, type TrackerOptions } from '../../src/track/index.js';
import { HttpSender, PackageQueue, type QueueOptions, type SenderOptions } from '../../src/upload/index.js';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';
import { S3MqttSink, createSink, type SinkOptions } from '../../src/upload/sinks/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-adapters-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function load(extra = ''): BestshotConfig {
  const yaml = `
model: { providers: [cpu], intraOpThreads: 1, perClassScore: { person: 0.4 } }
cameras:
  - id: gate
    source: { type: test }
    tracker: { trackBuffer: 45, matchThreshold: 0.25 }
    selection: { policy: final-best, minScore1: 0.45, maxLatencyS: 2 }
upload: { endpoint: "http://127.0.0.1:9/in", token: { env: TOK }, sendHz: 4 }
queue: { path: q.sqlite, maxPackages: 10, maxBytes: 1MiB, synchronous: normal }
${extra}`;
  return parseConfig(yaml, { baseDir: dir, env: { BESTSHOT_SHARED_DIR: SHARED_DIR, TOK: 't0k' } }).config;
}

describe('config → stage options (the names each stage uses)', () => {
  test('detectorOptions loads the real model on CPU with the configured thresholds', async () => {
    const opts: DetectorOptions = detectorOptions(load().model);
    const fetched = join(PROJECT_ROOT, 'models', 'yolox_nano.onnx');
    assert.equal(opts.model, existsSync(fetched) ? fetched : join(SHARED_DIR, 'models', 'yolox_nano.onnx'));
    assert.equal(opts.nmsThreshold, 0.45);
    assert.deepEqual(opts.classThresholds, { person: 0.4 });
    const detector = await Detector.create({ ...opts, warmupRuns: 0, logger: () => {} });
    try {
      assert.equal(detector.provider, 'cpu');
    } finally {
      await detector.close();
    }
  });

  test('trackerOptions keeps SPEC T2 trackBuffer in frames', () => {
    const opts: TrackerOptions = trackerOptions(load().cameras[0]);
    const resolved = resolveTrackerOptions(opts);
    assert.equal(resolved.matchThreshold, 0.25);
    assert.equal(resolved.trackBuffer, 45);
    assert.ok(new ByteTracker(opts));
  });

  test('policyOptions builds every policy', () => {
    const cam = load().cameras[0];
    const opts: PolicyOptions = policyOptions(cam.selection);
    assert.equal(opts.params?.minScore1, 0.45);
    assert.equal(opts.maxLatencyS, 2);
    for (const name of ['spec', 'frigate', 'final-best', 'replace-queued', 'every-frame', 'interval'] as const) {
      assert.equal(createPolicy(name, opts).name, name);
    }
  });

  test('queueOptions opens the real SQLite queue at the configured path', () => {
    const opts: QueueOptions = queueOptions(load().queue);
    assert.deepEqual(opts, { path: join(dir, 'q.sqlite'), maxPackages: 10, maxBytes: 1048576, synchronous: 'NORMAL' });
    const q = PackageQueue.open(opts);
    q.close();
  });

  test('senderOptions reads PEM files and resolves the token; a missing file names the key', () => {
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const config = load();
    const opts: SenderOptions = senderOptions({ ...config.upload, ca: join(dir, 'ca.pem') });
    assert.equal(opts.url, 'http://127.0.0.1:9/in');
    assert.equal(opts.token, 't0k');
    assert.match(String(opts.ca), /BEGIN CERTIFICATE/);
    assert.ok(new HttpSender(senderOptions(config.upload)));
    assert.equal(senderOptions(config.upload, 'http://127.0.0.1:1234/x').url, 'http://127.0.0.1:1234/x');
    assert.throws(() => senderOptions({ ...config.upload, cert: join(dir, 'nope.pem') }), {
      name: 'ConfigError',
      message: `upload.cert: Cannot read file ${join(dir, 'nope.pem')} (ENOENT)`,
    });
    assert.deepEqual(uploaderOptions(config.upload), { sendHz: 4, immediateConcurrency: 2 });
  });
  test('sinkOptions: upload.sink s3+mqtt becomes createSink() options (secrets resolved, PEMs read); http is senderOptions', async () => {
    writeFileSync(join(dir, 'broker-ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n');
    const text = `
model: { providers: [cpu] }
cameras: [{ id: gate, source: { type: test } }]
upload:
  sink:
    type: s3+mqtt
    s3: { bucket: fleet-images, prefix: a/b, endpoint: "http://127.0.0.1:9", forcePathStyle: true, accessKeyId: { env: AK }, secretAccessKey: { env: SK } }
    mqtt: { url: "mqtt://127.0.0.1:1", site: north, ca: broker-ca.pem, password: { env: MQ } }
`;
    const config = parseConfig(text, { baseDir: dir, env: { BESTSHOT_SHARED_DIR: SHARED_DIR, AK: 'ak', SK: 'sk', MQ: 'pw' } }).config;
    const opts: SinkOptions = sinkOptions(config.upload);
    assert.equal(opts.type, 's3+mqtt');
    const o = opts as Extract<SinkOptions, { type: 's3+mqtt' }>;
    assert.equal(o.s3.accessKeyId, 'ak');
    assert.equal(o.s3.region, 'us-east-1');
    assert.equal(o.s3.connectTimeoutMs, 5000);
    assert.equal(o.mqtt.password, 'pw');
    assert.equal(o.mqtt.topic, 'bestshot/{site}/{camera}/objects');
    assert.match(String(o.mqtt.ca), /BEGIN CERTIFICATE/);
    const sink = createSink(opts);
    assert.ok(sink instanceof S3MqttSink);
    sink.close();
    assert.equal(sinkOptions(load().upload).type, 'http');
    assert.equal((sinkOptions(load().upload) as { url: string }).url, 'http://127.0.0.1:9/in');
  });

  test('upload.sink: an unknown type and a missing bucket are named with their key path', () => {
    const bad = (sink: string) => () =>
      parseConfig(`model: { providers: [cpu] }\ncameras: [{ id: gate, source: { type: test } }]\nupload: { sink: ${sink} }\n`, { baseDir: dir, env: { BESTSHOT_SHARED_DIR: SHARED_DIR } });
    assert.throws(bad('{ type: kafka }'), /upload\.sink\.type: Expected one of 'http', 's3', 'mqtt', 's3\+mqtt' but received 'kafka' of type string/);
    assert.throws(bad('{ type: s3 }'), /upload\.sink\.bucket: Missing required key/);
  });
});
