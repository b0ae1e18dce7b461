import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { validateCameraId } from '../../src/capture/image-ids.js';
import {
  ConfigValidationError,
  defaultCamera,
  defaultConfig,
  loadConfig,
  parseConfig,
  redact,
  REDACTED,
  type BestshotConfig,
  type CameraConfig,
} from '../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ENV = { BESTSHOT_SHARED_DIR: '/srv/bestshot-shared' };
const BASE = `
receiver: { embedded: true }
cameras:
  - id: cam1
    source: { type: test }
`;

/** Parse YAML, expect exactly one error, return its message. */
function errorOf(yaml: string, env: Record<string, string> = ENV): string {
  try {
    parseConfig(yaml, { baseDir: dir, env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_CONFIG');
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

function parse(yaml: string, env: Record<string, string> = ENV): { config: BestshotConfig; warnings: string[] } {
  return parseConfig(yaml, { baseDir: dir, env });
}

describe('config: exact error messages', () => {
  test('A5 captureHz of the wrong type names key path, value and expectation', () => {
    assert.equal(
      errorOf(`${BASE}    captureHz: fast\n`),
      "cameras[0].captureHz: Expected positive number but received 'fast' of type string",
    );
  });

  test('A5 captureHz out of range', () => {
    assert.equal(errorOf(`${BASE}    captureHz: 0\n`), 'cameras[0].captureHz: Expected positive number but received 0 of type number');
  });

  test('S1 minScore1 outside [0, 1]', () => {
    assert.equal(
      errorOf(`${BASE}    selection: { minScore1: 1.5 }\n`),
      'cameras[0].selection.minScore1: Expected number between 0 and 1 but received 1.5 of type number',
    );
  });

  test('integer fields reject fractions', () => {
    assert.equal(
      errorOf(`${BASE}    tracker: { trackBuffer: 2.5 }\n`),
      'cameras[0].tracker.trackBuffer: Expected non-negative integer but received 2.5 of type number',
    );
  });

  test('tracker cue options: lostGate is 0 or a height ratio of at least 1, depthLevels an integer >= 1 (T2)', () => {
    assert.equal(
      errorOf(`${BASE}    tracker: { boost: true, lostGate: 0.5 }\n`),
      'cameras[0].tracker.lostGate: Expected 0 (off) or a height ratio of at least 1 but received 0.5 of type number',
    );
    assert.match(errorOf(`${BASE}    tracker: { depthLevels: 0 }\n`), /^cameras\[0\]\.tracker\.depthLevels: Expected integer >= 1/);
  });

  test('enums list their values', () => {
    assert.equal(
      errorOf(`${BASE}    selection: { policy: best }\n`),
      "cameras[0].selection.policy: Expected one of 'spec', 'every-frame', 'interval', 'frigate', 'frigate-quality', 'final-best', 'replace-queued', 'shared-best', 'deadline-cover', 'budget' but received 'best' of type string",
    );
  });

  test('unknown key with a close match suggests it', () => {
    assert.equal(
      errorOf(`${BASE}    tracker: { matchThresh: 0.3 }\n`),
      "cameras[0].tracker.matchThresh: Unknown key (did you mean 'matchThreshold'?)",
    );
  });

  test('unknown key without a close match lists the known keys', () => {
    assert.equal(
      errorOf(`${BASE}log: { colour: red }\n`),
      'log.colour: Unknown key (expected one of: level, format)',
    );
  });

  test('unknown top-level section', () => {
    assert.equal(errorOf(`${BASE}modle: {}\n`), "modle: Unknown key (did you mean 'model'?)");
    assert.equal(
      errorOf(`${BASE}extras: {}\n`),
      'extras: Unknown key (expected one of: version, model, defaults, cameras, upload, queue, receiver, metrics, log, stateDir, report)',
    );
  });

  test('missing required key', () => {
    assert.equal(
      errorOf('receiver: { embedded: true }\ncameras:\n  - source: { type: test }\n'),
      'cameras[0].id: Missing required key; expected string of 1-64 characters matching /^[A-Za-z0-9_-]+$/',
    );
  });

  test('camera id pattern', () => {
    assert.equal(
      errorOf('receiver: { embedded: true }\ncameras:\n  - id: "cam 1"\n    source: { type: test }\n'),
      "cameras[0].id: Expected string of 1-64 characters matching /^[A-Za-z0-9_-]+$/ but received 'cam 1' of type string",
    );
  });

  test('camera id length: 64 characters at most, as the runtime takes them', () => {
    // Before: 200 letters loaded, and `bestshot run` refused them only after the model loaded, without the key.
    const id = (n: number): string => `receiver: { embedded: true }\ncameras:\n  - id: ${'a'.repeat(n)}\n    source: { type: test }\n`;
    assert.equal(
      errorOf(id(200)),
      `cameras[0].id: Expected string of 1-64 characters matching /^[A-Za-z0-9_-]+$/ but received '${'a'.repeat(60)}…' (200 characters) of type string`,
    );
    assert.equal(errorOf(id(65)).split(' but ')[0], 'cameras[0].id: Expected string of 1-64 characters matching /^[A-Za-z0-9_-]+$/');
    const ok = parseConfig(id(64), { baseDir: dir, env: ENV });
    assert.equal(ok.config.cameras[0]!.id, 'a'.repeat(64));
    // The runtime's own check takes what the config takes.
    assert.equal(validateCameraId(ok.config.cameras[0]!.id), 'a'.repeat(64));
  });

  test('union tag: unknown source type', () => {
    assert.equal(
      errorOf('receiver: { embedded: true }\ncameras:\n  - id: a\n    source: { type: webcam }\n'),
      "cameras[0].source.type: Expected one of 'file', 'rtsp', 'v4l2', 'argus', 'test', 'simulated' but received 'webcam' of type string",
    );
  });

  test('union variant keys are checked against that variant', () => {
    assert.equal(
      errorOf('receiver: { embedded: true }\ncameras:\n  - id: a\n    source: { type: file, path: x.mp4, url: rtsp://h/ }\n'),
      'cameras[0].source.url: Unknown key (expected one of: path, realtime, loop)',
    );
  });

  test('URL fields check the scheme', () => {
    assert.equal(
      errorOf('receiver: { embedded: true }\ncameras:\n  - id: a\n    source: { type: rtsp, url: "http://cam/x" }\n'),
      "cameras[0].source.url: Expected rtsp or rtsps URL but received 'http://cam/x' of type string",
    );
    assert.equal(
      errorOf(`${BASE}upload: { endpoint: ftp://x/ }\n`),
      "upload.endpoint: Expected http or https URL but received 'ftp://x/' of type string",
    );
    // A URL without a host: WHATWG parses 'rtsp://' (a scheme it does not know) with an empty host, and the run retried it for ever.
    assert.equal(
      errorOf('receiver: { embedded: true }\ncameras:\n  - id: a\n    source: { type: rtsp, url: "rtsp://" }\n'),
      "cameras[0].source.url: Expected rtsp or rtsps URL with a host but received 'rtsp://' of type string",
    );
    assert.equal(
      errorOf(`${BASE}upload:\n  sink: { type: mqtt, url: "mqtt:///x", site: s1 }\n`),
      "upload.sink.url: Expected mqtt or mqtts or ws or wss URL with a host but received 'mqtt:///x' of type string",
    );
  });

  test('arrays of fixed length', () => {
    assert.equal(
      errorOf(`${BASE}    calibration: { homography: [1, 0, 0, 0, 1, 0, 0, 0] }\n`),
      'cameras[0].calibration.homography: Expected array of 9 numbers but received 8',
    );
  });

  test('array items carry their index', () => {
    assert.equal(
      errorOf(`${BASE}model: { providers: [cpu, gpu] }\n`),
      "model.providers[1]: Expected one of 'tensorrt', 'cuda', 'cpu' but received 'gpu' of type string",
    );
  });

  test('cameras must not be empty', () => {
    assert.equal(errorOf('receiver: { embedded: true }\ncameras: []\n'), 'cameras: Expected at least 1 item but received 0');
  });

  test('several problems are reported together, each with its line', () => {
    let err: unknown;
    try {
      parse(`${BASE}    captureHz: fast\n    jpegQuality: 101\n`);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigValidationError);
    assert.equal(err.issues.length, 2);
    assert.equal(
      err.message,
      "2 config errors:\n  cameras[0].captureHz: Expected positive number but received 'fast' of type string\n  cameras[0].jpegQuality: Expected integer between 1 and 100 but received 101 of type number",
    );
    assert.deepEqual(
      err.issues.map((i) => [i.path, i.line]),
      [
        ['cameras[0].captureHz', 6],
        ['cameras[0].jpegQuality', 7],
      ],
    );
  });

  test('a camera\'s error in a value it inherited from defaults: points at the defaults line and says so (it pointed at the camera\'s "- id:" line)', () => {
    let err: unknown;
    try {
      parse('receiver: { embedded: true }\ndefaults:\n  exposure:\n    T_manual: 5000\ncameras:\n  - id: a\n    source: { type: test }\n');
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigValidationError);
    assert.deepEqual(
      err.issues.map((i) => [i.path, i.line, i.message]),
      [['cameras[0].exposure.T_manual', 4, 'Expected number <= T_manual_max (4000) but received 5000 of type number (inherited from defaults.exposure.T_manual)']],
    );
  });

  test('corrupt YAML names line and column', () => {
    assert.equal(
      errorOf('cameras:\n  - id: a\n    source: { type: test\n'),
      'Invalid YAML at line 4, column 1: Flow map in block collection must be sufficiently indented and end with a }',
    );
  });

  test('duplicate keys are a YAML error', () => {
    assert.equal(errorOf('log: {}\nlog: {}\n'), 'Invalid YAML at line 2, column 1: Map keys must be unique');
  });

  test('the top level must be a mapping', () => {
    assert.equal(errorOf('- a\n- b\n'), 'Expected a mapping at the top level but received an array');
    // A binary file given as the config: the message shows its start, not kilobytes of bytes.
    const binary = `pytorch1.8:\u0001\u0002${'\u0007'.repeat(3000)}`;
    assert.equal(errorOf(binary), `Expected a mapping at the top level but received 'pytorch1.8:??${'?'.repeat(47)}…' (3013 characters) of type string`);
  });

  test('A2/A4: a manual exposure longer than one frame at the sensor rate is warned about (the rule used AE\'s time instead, said only at run time)', () => {
    const cam = (exposure: string, source: string): string => `receiver: { embedded: true }\ncameras:\n  - id: cam1\n    source: ${source}\n    exposure: ${exposure}\n`;
    assert.deepEqual(parse(cam('{ T_manual: 50000, T_manual_max: 60000 }', '{ type: simulated, fps: 30 }')).warnings, [
      "cameras[0].exposure.T_manual: 50000 µs is longer than one frame at the sensor's 30 fps (33333 µs, source.fps): the camera cannot expose that long at this rate; shorten it or lower source.fps",
      "cameras[0].exposure.T_manual_max: 60000 µs is longer than one frame at the sensor's 30 fps (33333 µs, source.fps): the camera cannot expose that long at this rate; shorten it or lower source.fps",
    ]);
    assert.deepEqual(parse(cam('{ mode: fixed, T_manual: 20000, T_manual_max: 40000 }', '{ type: argus, framerate: 60 }')).warnings, [
      "cameras[0].exposure.T_manual: 20000 µs is longer than one frame at the sensor's 60 fps (16667 µs, source.framerate): the camera cannot expose that long at this rate; shorten it or lower source.framerate",
      "cameras[0].exposure.T_manual_max: 40000 µs is longer than one frame at the sensor's 60 fps (16667 µs, source.framerate): the camera cannot expose that long at this rate; shorten it or lower source.framerate",
    ]);
    // AE alone ('auto'), the defaults, and a recording (no sensor rate): nothing to say.
    assert.deepEqual(parse(cam('{ mode: auto, T_manual: 50000, T_manual_max: 60000 }', '{ type: simulated, fps: 30 }')).warnings, []);
    assert.deepEqual(parse(cam('{}', '{ type: argus }')).warnings, []);
    assert.deepEqual(parse(cam('{ T_manual: 50000, T_manual_max: 60000 }', '{ type: test }')).warnings, []);
  });

  test('A2 calibration of a V4L2 camera: source.maxLinearGain and reportsAeValues (documented, and refused as unknown keys)', () => {
    const v4l2 = (extra: string): string => `receiver: { embedded: true }\ncameras:\n  - id: usb\n    source: { type: v4l2, device: /dev/video0${extra} }\n`;
    const d = parse(v4l2('')).config.cameras[0]!.source;
    assert.deepEqual(d.type === 'v4l2' && [d.maxLinearGain, d.reportsAeValues], [16, false]);
    const c = parse(v4l2(', maxLinearGain: 8, reportsAeValues: true')).config.cameras[0]!.source;
    assert.deepEqual(c.type === 'v4l2' && [c.maxLinearGain, c.reportsAeValues], [8, true]);
    assert.equal(errorOf(v4l2(', maxLinearGain: 1')), 'cameras[0].source.maxLinearGain: Expected number > 1 but received 1 of type number');
  });

  test('a policy option the chosen policy does not read is warned about, not silently ignored', () => {
    const { warnings } = parse(`${BASE}    selection: { policy: spec, intervalS: 5, maxLatencyS: 2 }\n`);
    assert.deepEqual(warnings, [
      "cameras[0].selection.intervalS: read only by policy 'interval'; policy 'spec' ignores it",
      "cameras[0].selection.maxLatencyS: read only by policies 'final-best', 'shared-best', 'deadline-cover'; policy 'spec' ignores it",
    ]);
    assert.deepEqual(parse(`${BASE}    selection: { policy: final-best, maxLatencyS: 2 }\n`).warnings, []);
  });

  test('queue.maxBytes accepts sizes with units and rejects others', () => {
    assert.equal(parse(`${BASE}queue: { maxBytes: 512MiB }\n`).config.queue.maxBytes, 536870912);
    assert.equal(parse(`${BASE}queue: { maxBytes: 2GB }\n`).config.queue.maxBytes, 2e9);
    assert.equal(parse(`${BASE}queue: { maxBytes: 4194304 }\n`).config.queue.maxBytes, 4194304);
    // Above 2^53 bytes a size is no longer exact: refused (it was accepted and printed as 1e+23).
    assert.match(errorOf(`${BASE}queue: { maxBytes: 99999999999999999999999 }\n`), /^queue\.maxBytes: Expected byte size/);
    assert.match(errorOf(`${BASE}queue: { maxBytes: 99999999TiB }\n`), /^queue\.maxBytes: Expected byte size/);
    // U2: a queue smaller than one package refuses every package; run would lose them all.
    assert.equal(
      errorOf(`${BASE}queue: { maxBytes: 1000 }\n`),
      "queue.maxBytes: 1000 bytes cannot hold one package (a frame's JPEG alone is tens of KiB, up to ~1 MiB at 1920×1080; a larger package is refused, not queued); at least 1MiB",
    );
    // U1/U2: a queue that cannot hold the packages on the wire drops them mid-send (counted dropped, delivered).
    assert.deepEqual(parse(`${BASE}queue: { maxPackages: 3 }\n`).warnings, [
      'queue.maxPackages: 3 cannot hold the packages on the wire (upload.immediateConcurrency 2 + 1 being drained): each new package drops one being sent, delivered then but counted as dropped; use more than 3',
    ]);
    assert.deepEqual(parse(`${BASE}queue: { maxPackages: 4 }\n`).warnings, []);
    // U1: the mqtt sink alone carries images only inline; with 0 the events go without them.
    const mqttSink = (extra: string): string => `cameras:\n  - id: cam1\n    source: { type: test }\nupload:\n  sink: { type: mqtt, url: 'mqtt://broker:1883', site: s1${extra} }\n`;
    assert.deepEqual(parse(mqttSink('')).warnings, [
      "upload.sink.inlineImageMaxBytes: 0: the mqtt sink alone sends events without their images (the JPEGs leave the queue with the event and are kept nowhere); use sink type 's3+mqtt' for the images, or set inlineImageMaxBytes to carry them in the event",
    ]);
    assert.deepEqual(parse(mqttSink(', inlineImageMaxBytes: 96KiB')).warnings, []);
    assert.equal(
      errorOf(`${BASE}queue: { maxBytes: lots }\n`),
      "queue.maxBytes: Expected byte size (integer or string like '512MiB') but received 'lots' of type string",
    );
  });
});

describe('config: defaults (SPEC parameter table)', () => {
  test('a minimal file is completed with every SPEC default', () => {
    const { config, warnings } = parse(BASE);
    const cam = config.cameras[0]!;
    assert.deepEqual(cam.source, { type: 'test', pattern: 'smpte', width: 1280, height: 720, framerate: 30, live: true });
    assert.equal(cam.captureHz, 10); // A5
    assert.deepEqual(cam.exposure, { mode: 'rule', T_manual: 1000, T_manual_max: 4000, remeterPeriod: 60, aeSettle: 1 }); // A2–A4
    assert.deepEqual(cam.tracker, { matchThreshold: 0.2, trackBuffer: 30, trackThresh: 0.6, newTrackThresh: 0.7, tentativeMinHits: 3, lowThresh: 0.1, classGroups: 'default', kalman: 'xywh', duplicateIou: 0.45, momentum: 0, reupdate: false, recovery: false, nsa: false, lostMatching: 'joint', boost: false, confidenceBoost: 0, heightIou: false, scoreCue: 0, depthLevels: 1, lostGate: 0, lostMinScore: 0, hitLifetime: false }); // T1, T2
    assert.deepEqual(cam.selection, {
      policy: 'shared-best', // the default chosen by docs/evaluation.md "The default"; 'spec' is SPEC S1–S7 exactly
      minWidth: 32,
      minHeight: 32,
      minScore1: 0.5,
      minScore2: 0.7,
      minEdge1: 8,
      minEdge2: 32,
      minAreaRatio: 0.02,
      firstSighting: 'first-seen',
      routeResolution: 'any-immediate',
    }); // S1–S5
    assert.deepEqual(cam.position, { type: 'none' });
    assert.equal(cam.calibration, undefined);
    assert.equal(cam.jpegQuality, 85);
    assert.equal(config.upload.sendHz, 2); // U2
    assert.equal(config.upload.endpoint, undefined);
    assert.equal(config.queue.maxPackages, 1000); // U2
    assert.equal(config.queue.maxBytes, 512 * 1024 * 1024); // U2
    assert.equal(config.queue.path, '/var/lib/bestshot/queue.sqlite');
    assert.deepEqual(config.model.providers, ['tensorrt', 'cuda', 'cpu']);
    assert.deepEqual(config.model.classes, ['person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck']);
    assert.equal(config.model.scoreThreshold, 0.3);
    assert.equal(config.model.nmsIouThreshold, 0.45);
    // Default model resolution: models/ (after scripts/fetch-model.sh), else $BESTSHOT_SHARED_DIR/models.
    const fetched = join(PROJECT_ROOT, 'models', 'yolox_nano.onnx');
    assert.equal(config.model.path, existsSync(fetched) ? fetched : join(SHARED_DIR, 'models', 'yolox_nano.onnx'));
    assert.deepEqual(config.metrics, { enabled: true, port: 9464, host: '127.0.0.1' });
    assert.deepEqual(config.log, { level: 'info', format: 'auto' });
    assert.equal(config.stateDir, '/var/lib/bestshot/state');
    assert.deepEqual(warnings, []);
  });

  test('defaultConfig() has every default and no cameras', () => {
    const c = defaultConfig({ env: ENV });
    assert.deepEqual(c.cameras, []);
    assert.equal(c.version, 1);
    assert.equal(c.upload.connectTimeoutMs, 5000);
    assert.equal(c.upload.responseTimeoutMs, 15000);
    assert.equal(c.upload.immediateConcurrency, 2);
    assert.equal(c.queue.synchronous, 'full');
    assert.equal(c.model.intraOpThreads, 1);
    assert.equal(c.model.tensorrt.fp16, true);
  });

  test('defaultCamera() fills a camera from a source', () => {
    const cam = defaultCamera('c', { type: 'file', path: 'clip.mp4' }, { baseDir: dir, env: ENV });
    assert.deepEqual(cam.source, { type: 'file', path: join(dir, 'clip.mp4'), realtime: false, loop: false });
    assert.equal(cam.selection.minEdge2, 32);
  });

  test('relative paths resolve against the config directory', () => {
    const { config } = parse(`${BASE}queue: { path: data/q.sqlite }\nstateDir: ./state\n`);
    assert.equal(config.queue.path, join(dir, 'data/q.sqlite'));
    assert.equal(config.stateDir, join(dir, 'state'));
  });

  test('${VAR} and ${VAR:-fallback} are interpolated; an unset variable and a malformed ${ are errors', () => {
    const yaml = `${BASE}stateDir: \${STATE:-/tmp/s}\nqueue: { path: "\${QDIR}/q.sqlite" }\n`;
    const { config } = parse(yaml, { ...ENV, QDIR: '/data' });
    assert.equal(config.stateDir, '/tmp/s');
    assert.equal(config.queue.path, '/data/q.sqlite');
    assert.equal(errorOf(yaml), 'queue.path: Environment variable QDIR is not set');
    assert.equal(parse(`${BASE}report: { dir: "/r/$\${x}" }\n`).config.report.dir, '/r/${x}');
    // A ${ of another form was kept as it was, and the path resolved relative to the config.
    const syntax = "expected ${NAME} or ${NAME:-fallback} (NAME: letters, digits, _), or $${ for a literal ${";
    assert.equal(errorOf(`${BASE}report: { dir: "\${CLIPDIR/clips}/r" }\n`), `report.dir: Malformed variable '\${CLIPDIR/clips}': ${syntax}`);
    assert.equal(errorOf(`${BASE}report: { dir: "/r/\${ HOME }" }\n`), `report.dir: Malformed variable '\${ HOME }': ${syntax}`);
    assert.equal(errorOf(`${BASE}report: { dir: "/r/\${HOME" }\n`), `report.dir: Malformed variable '\${HOME': ${syntax}`);
  });
});

describe('config: per-camera inheritance of defaults:', () => {
  const yaml = `
receiver: { embedded: true }
defaults:
  captureHz: 5
  selection: { minScore1: 0.4, minScore2: 0.8 }
  tracker: { trackBuffer: 60 }
cameras:
  - id: a
    source: { type: test }
  - id: b
    source: { type: test }
    captureHz: 12
    selection: { minScore2: 0.9 }
`;

  test('cameras inherit defaults and override key by key (deep merge)', () => {
    const { config } = parse(yaml);
    const [a, b] = config.cameras as [CameraConfig, CameraConfig];
    assert.equal(a.captureHz, 5);
    assert.equal(a.selection.minScore1, 0.4);
    assert.equal(a.selection.minScore2, 0.8);
    assert.equal(a.tracker.trackBuffer, 60);
    assert.equal(a.tracker.matchThreshold, 0.2); // schema default below defaults:
    assert.equal(b.captureHz, 12);
    assert.equal(b.selection.minScore1, 0.4); // inherited
    assert.equal(b.selection.minScore2, 0.9); // overridden
    assert.equal(b.selection.minEdge1, 8);
    assert.deepEqual(config.defaults, { captureHz: 5, selection: { minScore1: 0.4, minScore2: 0.8 }, tracker: { trackBuffer: 60 } });
  });

  test('a bad value in defaults: is reported at defaults.…', () => {
    assert.equal(
      errorOf(yaml.replace('captureHz: 5', 'captureHz: -5')),
      'defaults.captureHz: Expected positive number but received -5 of type number',
    );
  });

  test('defaults: accepts only inheritable keys', () => {
    assert.equal(
      errorOf(yaml.replace('captureHz: 5', 'source: { type: test }')),
      'defaults.source: Unknown key (expected one of: captureHz, exposure, tracker, selection, jpegQuality, ringSeconds, heldFrames, pixelFormat)',
    );
  });
});

describe('config: cross-field verify… checks', () => {
  test('verifyExposure: T_manual ≤ T_manual_max (A4) is an error', () => {
    assert.equal(
      errorOf(`${BASE}    exposure: { T_manual: 5000 }\n`),
      'cameras[0].exposure.T_manual: Expected number <= T_manual_max (4000) but received 5000 of type number',
    );
  });

  test('verifyScoreOrder: minScore2 ≤ minScore1 (S5 "normally") is a warning', () => {
    const { config, warnings } = parse(`${BASE}    selection: { minScore1: 0.7, minScore2: 0.6 }\n`);
    assert.equal(config.cameras[0]!.selection.minScore2, 0.6);
    assert.deepEqual(warnings, [
      'cameras[0].selection.minScore2: minScore2 (0.6) is not greater than minScore1 (0.7); SPEC S5 normally has minScore2 > minScore1, so every qualifying image is sent immediately',
    ]);
  });

  test('verifyUniqueCameraIds', () => {
    assert.equal(
      errorOf(`${BASE}  - id: cam1\n    source: { type: test }\n`),
      "cameras[1].id: Duplicate camera id 'cam1' (also cameras[0].id)",
    );
  });

  test('verifyUniqueCameraDevices: two cameras on one V4L2 device or Argus sensor are refused; distinct ones pass', () => {
    const two = (a: string, b: string): string => `receiver: { embedded: true }\ncameras:\n  - id: a\n    source: ${a}\n  - id: b\n    source: ${b}\n`;
    assert.equal(
      errorOf(two('{ type: v4l2, device: /dev/video0 }', '{ type: v4l2, device: /dev//video0 }')),
      "cameras[1].source.device: V4L2 device /dev//video0 is also cameras[0]'s: a camera device delivers to one pipeline (a second open fails with 'Device is busy'); give each camera its own",
    );
    assert.equal(
      errorOf(two('{ type: argus, sensorId: 1 }', '{ type: argus, sensorId: 1 }')),
      "cameras[1].source.sensorId: Argus sensor 1 is also cameras[0]'s: a camera device delivers to one pipeline (a second open fails with 'Device is busy'); give each camera its own",
    );
    assert.equal(parse(two('{ type: v4l2, device: /dev/video0 }', '{ type: v4l2, device: /dev/video2 }')).config.cameras.length, 2);
    assert.equal(parse(two('{ type: argus, sensorId: 0 }', '{ type: argus, sensorId: 1 }')).config.cameras.length, 2);
  });

  test('verifyUploadEndpoint: endpoint required unless the receiver is embedded', () => {
    assert.equal(
      errorOf('cameras:\n  - id: a\n    source: { type: test }\n'),
      'upload.endpoint: Missing required key; expected http or https URL (or set receiver.embedded: true)',
    );
  });

  test('verifyPerClassScore: labels must be kept classes', () => {
    assert.equal(
      errorOf(`${BASE}model: { perClassScore: { "traffic light": 0.5 } }\n`),
      'model.perClassScore["traffic light"]: Unknown class \'traffic light\' (not in model.classes)',
    );
  });

  test('verifyTlsPair: cert without key', () => {
    assert.equal(
      errorOf(`${BASE}upload: { endpoint: "https://x/", cert: c.pem }\n`),
      'upload.key: Missing required key; cert and key go together',
    );
  });

  test('verifyCalibration: intrinsics need a mount', () => {
    assert.equal(
      errorOf(`${BASE}    calibration: { intrinsics: { fx: 1, fy: 1, cx: 0, cy: 0 } }\n`),
      'cameras[0].calibration.mount: Missing required key; intrinsics need a mount (height, pitch, roll, yaw)',
    );
  });
});

describe('config: secrets', () => {
  const yaml = (token: string): string => `${BASE}upload:\n  endpoint: https://cloud.example/ingest\n  token: ${token}\n`;

  test('{ env: NAME } is resolved from the given environment', () => {
    const { config, warnings } = parse(yaml('{ env: UPLOAD_TOKEN }'), { ...ENV, UPLOAD_TOKEN: 'tok-env-123' });
    assert.equal(config.upload.token, 'tok-env-123');
    assert.deepEqual(warnings, []);
  });

  test('{ env: NAME } unset is an error that does not leak anything', () => {
    assert.equal(errorOf(yaml('{ env: UPLOAD_TOKEN }')), 'upload.token: Environment variable UPLOAD_TOKEN is not set');
  });

  test('{ file: PATH } is read (relative to the config) and its trailing newline dropped', () => {
    writeFileSync(join(dir, 'token.txt'), 'tok-file-456\n');
    const { config } = parse(yaml('{ file: token.txt }'));
    assert.equal(config.upload.token, 'tok-file-456');
    assert.equal(errorOf(yaml('{ file: missing.txt }')), `upload.token: Cannot read secret file ${join(dir, 'missing.txt')} (ENOENT)`);
  });

  test('a literal secret works and is warned about', () => {
    const { config, warnings } = parse(yaml('tok-literal-789'));
    assert.equal(config.upload.token, 'tok-literal-789');
    assert.deepEqual(warnings, ['upload.token: secret is written literally in the config file; prefer { env: NAME } or { file: PATH }']);
  });

  test('a secret of the wrong shape', () => {
    assert.equal(
      errorOf(yaml('{ vault: x }')),
      'upload.token: Expected secret (string, { env: NAME } or { file: PATH }) but received a value of type object',
    );
  });

  test('redact() hides secrets and URL passwords, leaves the input intact', () => {
    const y = `${BASE}  - id: cam2\n    source: { type: rtsp, url: "rtsp://admin:hunter2@10.0.0.5/s" }\nupload:\n  endpoint: https://cloud.example/ingest\n  token: { env: T }\n`;
    const { config } = parse(y, { ...ENV, T: 'tok-secret-000' });
    const safe = redact(config);
    assert.equal(safe.upload.token, REDACTED);
    assert.equal(config.upload.token, 'tok-secret-000');
    const text = JSON.stringify(safe);
    assert.ok(!text.includes('tok-secret-000'));
    assert.ok(!text.includes('hunter2'));
    assert.deepEqual(safe.cameras[1]!.source, { type: 'rtsp', url: 'rtsp://admin:***@10.0.0.5/s', latencyMs: 200, transport: 'tcp' });
    assert.deepEqual({ ...safe, upload: config.upload, cameras: config.cameras }, config);
  });
});

describe('config: loadConfig', () => {
  test('reads a file and resolves paths against its directory', async () => {
    const p = join(dir, 'site.yaml');
    writeFileSync(p, `${BASE}    source: { type: file, path: clips/a.mp4 }\n`.replace('    source: { type: test }\n', ''));
    const { config, warnings } = await loadConfig(p, { env: ENV });
    assert.deepEqual(config.cameras[0]!.source, { type: 'file', path: join(dir, 'clips/a.mp4'), realtime: false, loop: false });
    assert.deepEqual(warnings, [`cameras[0].source.path: file not found: ${join(dir, 'clips/a.mp4')}`]);
  });

  test('errors read from a file name it with line and column, as check-config does (bestshot run prints this message)', async () => {
    const p = join(dir, 'typo.yaml');
    writeFileSync(p, `${BASE}    captureHz: fast\n`);
    await assert.rejects(loadConfig(p, { env: ENV }), {
      name: 'ConfigValidationError',
      message: `${p}:6:5: cameras[0].captureHz: Expected positive number but received 'fast' of type string`,
    });
    writeFileSync(p, `${BASE}    captureHz: fast\n    sourc: 1\n`);
    await assert.rejects(loadConfig(p, { env: ENV }), (err: unknown) => {
      assert.ok(err instanceof ConfigValidationError);
      assert.deepEqual(err.message.split('\n').slice(1).sort(), [
        `  ${p}:6:5: cameras[0].captureHz: Expected positive number but received 'fast' of type string`,
        `  ${p}:7:5: cameras[0].sourc: Unknown key (did you mean 'source'?)`,
      ]);
      return true;
    });
  });

  test('a missing file is a ConfigError', async () => {
    await assert.rejects(loadConfig(join(dir, 'nope.yaml')), {
      name: 'ConfigError',
      message: `Cannot read config file ${join(dir, 'nope.yaml')} (ENOENT)`,
    });
  });
});

describe('config: secrets never appear in messages', () => {
  test('a malformed secret is described by type only', () => {
    const msg = errorOf(`${BASE}upload:\n  endpoint: https://cloud.example/ingest\n  token: 8675309\n`);
    assert.equal(msg, 'upload.token: Expected secret (string, { env: NAME } or { file: PATH }) but received a value of type number');
  });

  test('a URL with a password is masked in an error message', () => {
    assert.equal(
      errorOf('receiver: { embedded: true }\ncameras:\n  - id: a\n    source: { type: rtsp, url: "http://admin:hunter2@cam/x" }\n'),
      "cameras[0].source.url: Expected rtsp or rtsps URL but received 'http://admin:***@cam/x' of type string",
    );
  });

  test('a token interpolated from ${VAR} is not warned about as literal', () => {
    const { config, warnings } = parse(`${BASE}upload:\n  endpoint: https://cloud.example/ingest\n  token: \${TOK}\n`, { ...ENV, TOK: 'v' });
    assert.equal(config.upload.token, 'v');
    assert.deepEqual(warnings, []);
  });

  test('logging a whole loaded config leaks neither the token nor a camera password', () => {
    const y = `${BASE}  - id: cam2\n    source: { type: rtsp, url: "rtsp://admin:hunter2@10.0.0.5/s" }\nupload:\n  endpoint: https://cloud.example/ingest\n  token: { env: T }\n`;
    const { config } = parse(y, { ...ENV, T: 'tok-secret-000' });
    const lines: string[] = [];
    createLogger({ stream: { write: (l: string) => lines.push(l) } }).info('config loaded', { config });
    const text = lines.join('');
    assert.ok(text.includes('"token":"[redacted]"'));
    assert.ok(text.includes('rtsp://admin:***@10.0.0.5/s'));
    assert.ok(!text.includes('tok-secret-000'));
    assert.ok(!text.includes('hunter2'));
  });
});
