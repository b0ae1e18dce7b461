import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
import { CROP_BYTES_PER_PIXEL, POLICY_NAMES, POLICY_OPTIONS, POLICY_OPTION_NAMES, SELECTION_PARAM_NAMES, createPolicy, optionsOf, type PolicyOptions } from '../../src/select/index.js';
import { SELECTION_SECTION } from '../../src/config/sections.js';
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
    const opts: TrackerOptions = trackerOptions(load().cameras[0]!);
    const resolved = resolveTrackerOptions(opts);
    assert.equal(resolved.matchThreshold, 0.25);
    assert.equal(resolved.trackBuffer, 45);
    assert.equal(resolved.maxTimeLost, 45);
    // A5: the captureHz period (default 10 Hz), so frames dropped between two count (src/track/frame-steps.ts).
    assert.equal(resolved.framePeriodNs, 100_000_000);
    assert.ok(new ByteTracker(opts));
  });

  test('policyOptions builds every policy', () => {
    const cam = load().cameras[0]!;
    const opts: PolicyOptions = policyOptions(cam.selection);
    assert.equal(opts.params?.minScore1, 0.45);
    assert.equal(opts.maxLatencyS, 2);
    for (const name of POLICY_NAMES) {
      assert.equal(createPolicy(name, opts).name, name);
    }
  });

  test('every policy option round-trips from YAML to createPolicy (one definition, none dropped)', () => {
    // A distinct, valid, non-default value per option.
    const values: Record<string, number> = {};
    for (const [i, name] of POLICY_OPTION_NAMES.entries()) {
      const kind = POLICY_OPTIONS[name].kind;
      values[name] = kind === 'unit' ? 0.3 + i / 100 : kind === 'positiveInteger' ? 3 + i : kind === 'atLeastOne' ? 1.5 + i / 10 : 0.25 + i;
    }
    const yaml = Object.entries(values).map(([k, v]) => `${k}: ${v}`).join(', ');
    const cam = parseConfig(
      `cameras:\n  - id: gate\n    source: { type: test }\n    selection: { policy: shared-best, minEdge2: 40, routeResolution: first, firstSighting: entry-count, ${yaml} }\nupload: { endpoint: "http://127.0.0.1:9/in" }\n`,
      { baseDir: dir, env: { BESTSHOT_SHARED_DIR: SHARED_DIR } },
    ).config.cameras[0]!;
    const opts = policyOptions(cam.selection);
    for (const name of POLICY_OPTION_NAMES) assert.equal(opts[name], values[name], name);
    assert.equal(opts.params?.minEdge2, 40);
    assert.equal(opts.routeResolution, 'first');
    assert.equal(opts.firstSighting, 'entry-count');
    // Every key of the config's selection section reaches the policy options.
    const consumed = new Set<string>(['policy', 'routeResolution', 'firstSighting', ...SELECTION_PARAM_NAMES, ...POLICY_OPTION_NAMES]);
    assert.deepEqual(Object.keys(SELECTION_SECTION.fields).filter((k) => !consumed.has(k)), []);
    assert.deepEqual(POLICY_OPTION_NAMES.filter((k) => !(k in SELECTION_SECTION.fields)), []);
    // Each policy reads the options the definition lists for it: an invalid value is refused by name.
    for (const policy of POLICY_NAMES) {
      for (const name of optionsOf(policy)) {
        assert.throws(() => createPolicy(policy, { [name]: -1 }), { name: 'RangeError', message: new RegExp(` for ${name} but received -1`) }, `${policy} ${name}`);
      }
    }
  });

  test("an option the config leaves absent takes the policy's own default (maxLatencyS: 3 final-best, 10 shared-best and deadline-cover)", () => {
    const cam = parseConfig('cameras:\n  - id: gate\n    source: { type: test }\n    selection: { policy: shared-best }\nupload: { endpoint: "http://127.0.0.1:9/in" }\n', {
      baseDir: dir,
      env: { BESTSHOT_SHARED_DIR: SHARED_DIR },
    }).config.cameras[0]!;
    const opts = policyOptions(cam.selection);
    for (const name of POLICY_OPTION_NAMES) assert.equal(name in opts, false, name);
    assert.deepEqual(POLICY_OPTIONS.maxLatencyS.defaults, { 'final-best': 3, 'shared-best': 10, 'deadline-cover': 10 });
  });

  test("'budget' is charged for what the camera sends: crops cost their crops unless budgetCropBytesPerPixel says otherwise", () => {
    const cam = (extra: string): BestshotConfig['cameras'][number] =>
      parseConfig(`cameras:\n  - id: gate\n    source: { type: test }\n    selection: { policy: budget${extra} }\nupload: { endpoint: "http://127.0.0.1:9/in", content: crops }\n`, {
        baseDir: dir,
        env: { BESTSHOT_SHARED_DIR: SHARED_DIR },
      }).config.cameras[0]!;
    assert.equal(policyOptions(cam('').selection, 'crops').budgetCropBytesPerPixel, CROP_BYTES_PER_PIXEL);
    assert.equal(policyOptions(cam(', budgetCropBytesPerPixel: 0.9').selection, 'crops').budgetCropBytesPerPixel, 0.9);
    assert.equal(policyOptions(cam(', budgetCropBytesPerPixel: 0').selection, 'crops').budgetCropBytesPerPixel, 0);
    assert.equal('budgetCropBytesPerPixel' in policyOptions(cam('').selection, 'frame'), false);
    assert.equal('budgetCropBytesPerPixel' in policyOptions(cam('').selection), false);
  });

  test('queueOptions opens the real SQLite queue at the configured path', () => {
    const opts: QueueOptions = queueOptions(load().queue);
    assert.deepEqual(opts, { path: join(dir, 'q.sqlite'), maxPackages: 10, maxBytes: 1048576, synchronous: 'NORMAL' });
    const q = PackageQueue.open(opts);
    q.close();
  });

  /** A real certificate: the PEM files are parsed at load (a CA file with no certificate is a config error). */
  const selfSignedCert = (file: string): void => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${file}.key`, '-out', file, '-days', '2', '-subj', '/CN=bestshot test CA'], { stdio: 'pipe' });
  };

  test('senderOptions reads PEM files and resolves the token; a missing file names the key', () => {
    selfSignedCert(join(dir, 'ca.pem'));
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
    selfSignedCert(join(dir, 'broker-ca.pem'));
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
