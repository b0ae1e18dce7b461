/**
 * D1 bad inputs: missing, truncated and corrupt model files, checksum and
 * shape mismatches, bad manifests, bad options and bad frames — each a clear
 * error with an exact message, never a crash.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Detector, loadManifest, sha256Hex, validateManifest, type ModelManifest } from '../../src/detect/index.js';
import { DEFAULT_MANIFEST_PATH, MODELS_DIR } from '../../src/detect/model-file.js';
import { InvalidStateError, ModelError } from '../../src/errors.js';
import { SHARED_DIR, SHARED_MODELS_DIR } from '../../src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-detect-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const REAL = join(SHARED_MODELS_DIR, 'yolox_nano.onnx');
const MANIFEST = loadManifest(DEFAULT_MANIFEST_PATH);
const quiet = { providers: ['cpu' as const], logger: (): void => {} };

function modelError(code: string, message: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ModelError, `expected ModelError, got ${String(err)}`);
    assert.equal(err.message, message);
    assert.equal(err.code, code);
    return true;
  };
}

function withManifest(patch: (m: ModelManifest) => void): ModelManifest {
  const m = structuredClone(MANIFEST);
  patch(m);
  return m;
}

describe('D1 model file errors', () => {
  test('D1 an explicit model path that does not exist: ERR_MODEL_NOT_FOUND', async () => {
    await assert.rejects(Detector.create({ ...quiet, model: join(dir, 'nope.onnx') }), modelError('ERR_MODEL_NOT_FOUND', `Model file not found: ${join(dir, 'nope.onnx')}`));
  });

  test('D1 a manifest file found nowhere: ERR_MODEL_NOT_FOUND listing where it looked', async () => {
    const m = withManifest((x) => (x.file = 'missing-model.onnx'));
    await assert.rejects(
      Detector.create({ ...quiet, manifest: m }),
      modelError(
        'ERR_MODEL_NOT_FOUND',
        `Model file not found: looked in ${join(MODELS_DIR, 'missing-model.onnx')}, ${join(SHARED_MODELS_DIR, 'missing-model.onnx')} (run scripts/fetch-model.sh, or pass --model <path>)`,
      ),
    );
  });

  test('D1 a truncated model: checksum mismatch ERR_MODEL_CHECKSUM naming the digest', async () => {
    const bytes = readFileSync(REAL).subarray(0, 100_000);
    const path = join(dir, 'truncated.onnx');
    writeFileSync(path, bytes);
    await assert.rejects(
      Detector.create({ ...quiet, model: path }),
      modelError(
        'ERR_MODEL_CHECKSUM',
        `Model checksum mismatch for ${path}: sha256 ${sha256Hex(bytes)} is not one of the accepted digests in manifest 'yolox_nano' (${MANIFEST.sha256.join(', ')}): fetch the model again (scripts/fetch-model.sh), or give a model of your own its own manifest (model.manifest) listing its sha256`,
      ),
    );
  });

  test('D1 an empty model file, or an image or web page saved under the model name: ERR_MODEL naming what it is, before any provider', async () => {
    const fix = 'fetch it again (scripts/fetch-model.sh) or set model.path to the ONNX model';
    const cases: Array<[string, Uint8Array, string]> = [
      ['empty.onnx', new Uint8Array(), 'is empty'],
      ['photo.onnx', readFileSync(join(SHARED_DIR, 'data', 'coco-images', '000000000139.jpg')), 'is a JPEG image, not an ONNX model'],
      ['page.onnx', Buffer.from('<!DOCTYPE html><html><body>404 Not Found</body></html>'), 'is an HTML page, not an ONNX model'],
    ];
    for (const [name, bytes, what] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      await assert.rejects(Detector.create({ ...quiet, model: path, verifyChecksum: false }), modelError('ERR_MODEL', `Model file ${path} ${what}: ${fix}`));
    }
  });

  test('D1 a truncated model without checksum check: ERR_MODEL from the loader, with a hint', async () => {
    const path = join(dir, 'truncated2.onnx');
    writeFileSync(path, readFileSync(REAL).subarray(0, 100_000));
    await assert.rejects(
      Detector.create({ ...quiet, model: path, verifyChecksum: false }),
      modelError(
        'ERR_MODEL',
        `Could not load model ${path} with provider 'cpu': Failed to load model because protobuf parsing failed (the file is truncated, corrupt or not an ONNX model)`,
      ),
    );
  });

  test('D1 a file that is not a model at all (text), every provider tried: ERR_MODEL', async () => {
    const path = join(dir, 'text.onnx');
    writeFileSync(path, 'this is not a model\n'.repeat(100));
    const logged: string[] = [];
    await assert.rejects(Detector.create({ model: path, verifyChecksum: false, logger: (m) => logged.push(m) }), (err: unknown) => {
      assert.ok(err instanceof ModelError);
      assert.equal(err.code, 'ERR_MODEL');
      assert.match(err.message, new RegExp(`^Could not load model ${path} with provider 'cpu': .+ \\(the file is truncated, corrupt or not an ONNX model\\); also tried tensorrt, cuda$`));
      return true;
    });
    // The default list falls back quietly (debug level); the error itself names every provider tried.
    assert.equal(logged.length, 0);
  });

  test('D1 the model copied beside its own manifest is found through the sibling manifest', async () => {
    const path = join(dir, 'sibling.onnx');
    copyFileSync(REAL, path);
    writeFileSync(join(dir, 'sibling.json'), JSON.stringify({ ...MANIFEST, name: 'sibling', file: 'sibling.onnx', thresholds: { score: 0.5, nms: 0.45 } }));
    const d = await Detector.create({ ...quiet, model: path, warmupRuns: 0 });
    assert.equal(d.manifest.name, 'sibling');
    assert.equal(d.manifest.thresholds.score, 0.5);
    await d.close();
  });
});

describe('D1 provider fallback', () => {
  test('D1 default providers on a machine without GPU libraries: straight to CPU, said once at debug level, no warning', async () => {
    const warned: string[] = [];
    const debug: string[] = [];
    const d = await Detector.create({ logger: (m) => warned.push(m), debugLogger: (m) => debug.push(m), warmupRuns: 0 });
    if (d.provider === 'cpu') {
      // This machine ships no CUDA/TensorRT provider libraries (PLATFORM-NOTES).
      assert.deepEqual(d.fallbacks.map((f) => f.provider), ['tensorrt', 'cuda']);
      assert.deepEqual(warned, []);
      assert.equal(debug.length, 1);
      assert.match(debug[0]!, /^no library for 'tensorrt', 'cuda' \(.+\); using 'cpu'$/);
    }
    await d.close();
  });

  test('D1 an explicit provider list logs each fallback with its reason', async () => {
    const logged: string[] = [];
    const d = await Detector.create({ providers: ['tensorrt', 'cuda', 'cpu'], logger: (m) => logged.push(m), warmupRuns: 0 });
    if (d.provider === 'cpu') {
      assert.equal(logged.length, 2);
      assert.match(logged[0]!, /^execution provider 'tensorrt' unavailable \(.+\); trying 'cuda'$/);
      assert.match(logged[1]!, /^execution provider 'cuda' unavailable \(.+\); trying 'cpu'$/);
    } else {
      assert.equal(logged.length, d.fallbacks.length);
    }
    await d.close();
  });
});

describe('D1 TensorRT options pass-through', () => {
  test('D1 engine cache path and FP16 reach the TensorRT provider through its environment variables', async () => {
    const keys = ['ORT_TENSORRT_FP16_ENABLE', 'ORT_TENSORRT_ENGINE_CACHE_ENABLE', 'ORT_TENSORRT_CACHE_PATH'] as const;
    const saved = keys.map((k) => process.env[k]);
    try {
      const d = await Detector.create({ providers: ['tensorrt', 'cpu'], tensorrt: { engineCachePath: join(dir, 'trt'), fp16: false }, logger: () => {}, warmupRuns: 0 });
      assert.deepEqual(
        keys.map((k) => process.env[k]),
        ['0', '1', join(dir, 'trt')],
      );
      await d.close();
    } finally {
      keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
    }
  });
});

describe('D1 model/manifest mismatch: ERR_MODEL_MISMATCH says what differs', () => {
  const cases: Array<[string, (m: ModelManifest) => void, string]> = [
    [
      'input size',
      (m) => ((m.input.width = 640), (m.input.height = 640)),
      "input 'images' shape is [1,3,416,416], manifest expects [1,3,640,640] (NCHW, batch 1, 640x640)",
    ],
    ['input name', (m) => (m.input.name = 'input'), "it has no input 'input' (inputs: images)"],
    ['dynamic batch claimed', (m) => (m.input.batch = 'dynamic'), "input 'images' has fixed batch 1, manifest says dynamic"],
    [
      'class count',
      (m) => m.classes.pop(),
      "output 'output' shape is [1,3549,85], manifest (format 'yolox', 79 classes, 416x416) expects [1,3549,84]",
    ],
    [
      'output format',
      (m) => (m.output.format = 'yolov8'),
      "output 'output' shape is [1,3549,85], manifest (format 'yolov8', 80 classes, 416x416) expects [1,84,?]",
    ],
    [
      'strides',
      (m) => (m.output.strides = [8, 16]),
      "output 'output' shape is [1,3549,85], manifest (format 'yolox', 80 classes, 416x416) expects [1,3380,85]",
    ],
    ['output name', (m) => (m.output.name = 'boxes'), "it has no output 'boxes' (outputs: output)"],
  ];
  for (const [what, patch, detail] of cases) {
    test(`D1 ${what}`, async () => {
      await assert.rejects(
        Detector.create({ ...quiet, model: REAL, manifest: withManifest(patch) }),
        modelError('ERR_MODEL_MISMATCH', `Model ${REAL} does not match manifest 'yolox_nano': ${detail}`),
      );
    });
  }
});

describe('D1 manifest validation', () => {
  const bad: Array<[string, (m: Record<string, unknown> & ModelManifest) => void, string]> = [
    ['unknown key', (m) => (m.colour = 'blue'), 'colour is not a known key'],
    ['unknown nested key', (m) => ((m.input as unknown as Record<string, unknown>).mean = [0, 0, 0]), 'input.mean is not a known key'],
    ['format', (m) => ((m.output as { format: string }).format = 'yolov3'), "output.format must be one of 'yolox', 'yolov5', 'yolov8', 'yolov8-obb', 'end2end'"],
    ['digest', (m) => (m.sha256 = ['ABC']), 'sha256[0] must be 64 lowercase hex digits'],
    ['width', (m) => (m.input.width = 0), 'input.width must be a positive integer'],
    ['threshold', (m) => (m.thresholds.score = 2), 'thresholds.score must be a number between 0 and 1'],
    ['duplicate class', (m) => (m.classes[1] = 'person'), "classes has the duplicate name 'person'"],
    ['strides', (m) => (m.output.strides = [7]), 'output.strides must divide the input size 416x416'],
    ['channel order', (m) => ((m.input as { channelOrder: string }).channelOrder = 'BGR'), "input.channelOrder must be one of 'bgr', 'rgb'"],
  ];
  for (const [what, patch, detail] of bad) {
    test(`D1 ${what}`, () => {
      const m = structuredClone(MANIFEST) as Record<string, unknown> & ModelManifest;
      patch(m);
      assert.throws(() => validateManifest(m, 'x.json'), modelError('ERR_MODEL', `Invalid model manifest x.json: ${detail}`));
    });
  }

  test('D1 manifest file missing or not JSON', () => {
    const missing = join(dir, 'none.json');
    assert.throws(() => loadManifest(missing), modelError('ERR_MODEL_NOT_FOUND', `Model manifest not found: ${missing}`));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"name": ');
    assert.throws(() => loadManifest(broken), (err: unknown) => {
      assert.ok(err instanceof ModelError);
      assert.match(err.message, new RegExp(`^Invalid model manifest ${broken}: not valid JSON \\(.+\\)$`));
      return true;
    });
  });

  test('D1 the shipped manifest is valid and names both known digests', () => {
    assert.equal(MANIFEST.output.format, 'yolox');
    assert.deepEqual(MANIFEST.sha256, [
      '4903c9058f6e2553834e9905be1ae5d67e262cb6321964dbc57a49edc6fa10da',
      'c789161ed43c8269fcd4e67c67eeeb4e80c622da2eb296a20bc6007bd18a0b7d',
    ]);
    assert.equal(MANIFEST.classes.length, 80);
    assert.deepEqual(MANIFEST.classes.slice(0, 8), ['person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck']);
  });
});

describe('D1 bad options and bad frames', () => {
  let d: Detector;
  before(async () => {
    d = await Detector.create({ ...quiet, warmupRuns: 0 });
  });
  after(async () => {
    await d.close();
  });

  test('D1 option errors', async () => {
    await assert.rejects(Detector.create({ providers: ['gpu' as 'cpu'] }), {
      name: 'TypeError',
      message: "Expected one of 'tensorrt', 'cuda', 'cpu' for providers but received 'gpu' of type string",
    });
    await assert.rejects(Detector.create({ ...quiet, scoreThreshold: 1.5 }), {
      name: 'RangeError',
      message: 'Expected number between 0 and 1 for scoreThreshold but received 1.5 of type number',
    });
    await assert.rejects(Detector.create({ ...quiet, classes: ['spaceship'] }), {
      name: 'TypeError',
      message: "Expected a class name of the model (person, bicycle, car, motorcycle, airplane, bus, train, truck, …) for classes but received 'spaceship' of type string",
    });
    await assert.rejects(Detector.create({ ...quiet, intraOpNumThreads: -1 }), {
      name: 'RangeError',
      message: 'Expected non-negative integer for intraOpNumThreads but received -1 of type number',
    });
    await assert.rejects(Detector.create({ ...quiet, graphOptimizationLevel: 'max' as 'all' }), {
      name: 'TypeError',
      message: "Expected one of 'disabled', 'basic', 'extended', 'all' for graphOptimizationLevel but received 'max' of type string",
    });
  });

  test('D1 frame errors', async () => {
    const ok = { tensor: new Float32Array(3 * 416 * 416), letterbox: { ratio: 1, padX: 0, padY: 0 }, frameWidth: 416, frameHeight: 416 };
    await assert.rejects(d.detect({ ...ok, tensor: new Float32Array(10) }), {
      name: 'RangeError',
      message: 'Expected 519168 floats (3x416x416) for input.tensor but received 10',
    });
    await assert.rejects(d.detect({ ...ok, tensor: new Uint8Array(10) as unknown as Float32Array }), {
      name: 'TypeError',
      message: 'Expected Float32Array for input.tensor but received a value of type object',
    });
    await assert.rejects(d.detect({ ...ok, letterbox: { ratio: 0, padX: 0, padY: 0 } }), {
      name: 'TypeError',
      message: 'Expected positive number for input.letterbox.ratio but received 0 of type number',
    });
    await assert.rejects(d.detectBatch([ok, { ...ok, frameWidth: 0 }]), {
      name: 'TypeError',
      message: 'Expected positive integer for inputs[1].frameWidth but received 0 of type number',
    });
    assert.deepEqual(await d.detect(ok), [], 'a blank frame has no boxes');
  });

  test('D1 close is idempotent; detect after close is InvalidStateError', async () => {
    const e = await Detector.create({ ...quiet, warmupRuns: 0 });
    await e.close();
    await e.close();
    assert.equal(e.closed, true);
    const frame = { tensor: new Float32Array(3 * 416 * 416), letterbox: { ratio: 1, padX: 0, padY: 0 }, frameWidth: 416, frameHeight: 416 };
    await assert.rejects(e.detect(frame), (err: unknown) => err instanceof InvalidStateError && err.message === 'Detector is closed');
  });
});
