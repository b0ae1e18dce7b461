/**
 * D1 decoders through the real ONNX Runtime session: for each output format a
 * small ONNX model (test/detect/onnx-builder.ts) emits a known tensor, and the
 * decoded boxes are checked exactly, in frame pixels after the letterbox.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Detector, type DetectorInput, type ModelManifest, type OutputFormat } from '../../src/detect/index.js';
import type { Box } from '../../src/types.js';
import { writeTestModel, type TestModelSpec } from './onnx-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-detect-formats-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CLASSES = ['person', 'car', 'truck'];
const S = 32; // model input side

function manifest(format: OutputFormat, batch: number | 'dynamic' = 1, extra: Partial<ModelManifest['input']> = {}): ModelManifest {
  return {
    name: `test-${format}`,
    file: `test-${format}.onnx`,
    sha256: [],
    input: { name: 'images', width: S, height: S, batch, layout: 'NCHW', channelOrder: 'rgb', scale: 1 / 255, padValue: 114, placement: 'center', ...extra },
    output: { name: 'output', format, strides: [8, 16, 32] },
    classes: CLASSES,
    thresholds: { score: 0.3, nms: 0.45 },
  };
}

let n = 0;
async function detectorFor(m: ModelManifest, spec: TestModelSpec, options: Partial<Parameters<typeof Detector.create>[0]> = {}): Promise<Detector> {
  const path = writeTestModel(join(dir, `m${n++}.onnx`), spec);
  return Detector.create({ model: path, manifest: m, providers: ['cpu'], logger: () => {}, ...options });
}

/** A 64×48 frame letterboxed into 32×32, centered: ratio 0.5, padY 4. */
function input(fill = 0): DetectorInput {
  return { tensor: new Float32Array(3 * S * S).fill(fill), letterbox: { ratio: 0.5, padX: 0, padY: 4 }, frameWidth: 64, frameHeight: 48 };
}

const box = (cx: number, cy: number, w: number, h: number, classId: number, score: number, angle = 0): Box => ({
  cx,
  cy,
  w,
  h,
  angle,
  classId,
  label: CLASSES[classId]!,
  score,
});

/** Frame box from a box in model-input pixels with the letterbox of input(). */
const fromInput = (cx: number, cy: number, w: number, h: number, classId: number, score: number, angle = 0): Box =>
  box(cx / 0.5, (cy - 4) / 0.5, w / 0.5, h / 0.5, classId, score, angle);

describe('D1 output formats through a real session', () => {
  test("D1 'yolox': grid/stride decode, score = obj × cls, class-aware NMS", async () => {
    const C = CLASSES.length;
    const K = 5 + C;
    const anchors = 16 + 4 + 1; // 32×32 with strides 8, 16, 32
    const known = new Float32Array(anchors * K);
    const set = (anchor: number, values: number[]): void => known.set(values, anchor * K);
    // stride 8, cell (gx 1, gy 2) = anchor 9: car, 0.5 × 0.75
    set(9, [0.5, 0.25, 0, 0, 0.5, 0.25, 0.75, 0]);
    // stride 8, cell (2, 2) = anchor 10: the same box again as car 0.3125 (suppressed) …
    set(10, [-0.5, 0.25, 0, 0, 0.5, 0, 0.625, 0]);
    // … and anchor 11, cell (3, 2): the same box as truck 0.5 (other class: kept)
    set(11, [-1.5, 0.25, 0, 0, 1, 0, 0, 0.5]);
    // stride 32, the only cell = anchor 20: person 0.875, log-size 0 → 32×32
    set(20, [0.5, 0.5, 0, 0, 1, 0.875, 0, 0]);
    // stride 16, cell (0, 0) = anchor 16: 0.25 × 0.5 = 0.125 < 0.3, dropped
    set(16, [0.5, 0.5, 0, 0, 0.25, 0.5, 0, 0]);
    const d = await detectorFor(manifest('yolox', 1, { placement: 'topleft', channelOrder: 'bgr', scale: 1 }), {
      inputShape: [1, 3, S, S],
      knownDims: [anchors, K],
      known,
    });
    const boxes = await d.detect({ ...input(), letterbox: { ratio: 0.5, padX: 0, padY: 0 } });
    assert.deepEqual(boxes, [box(32, 32, 64, 64, 0, 0.875), box(24, 36, 16, 16, 2, 0.5), box(24, 36, 16, 16, 1, 0.375)]);
    await d.close();
  });

  test("D1 'yolov5': [N, 5+C] with objectness, letterbox undone", async () => {
    const rows = [
      [10, 12, 8, 6, 0.5, 0.25, 0.75, 0], // car 0.375
      [20, 16, 4, 4, 1, 0, 0, 0.5], // truck 0.5
      [20, 16, 4, 4, 0.25, 0, 0, 0.5], // 0.125: below threshold
    ];
    const d = await detectorFor(manifest('yolov5'), { inputShape: [1, 3, S, S], knownDims: [3, 8], known: new Float32Array(rows.flat()) });
    assert.deepEqual(await d.detect(input()), [fromInput(20, 16, 4, 4, 2, 0.5), fromInput(10, 12, 8, 6, 1, 0.375)]);
    await d.close();
  });

  test("D1 'yolov8': [4+C, N] channel-major, score = max class probability", async () => {
    // columns are anchors: (cx, cy, w, h, p_person, p_car, p_truck)
    const anchors = [
      [8, 8, 4, 4, 0.75, 0.5, 0],
      [9, 8, 4, 4, 0.5, 0.25, 0], // overlaps anchor 0, same class, lower: suppressed
      [24, 20, 6, 8, 0, 0.25, 0.625],
      [24, 20, 6, 8, 0.25, 0, 0], // 0.25 < 0.3
    ];
    const N = anchors.length;
    const known = new Float32Array(7 * N);
    anchors.forEach((a, i) => a.forEach((v, ch) => (known[ch * N + i] = v)));
    const d = await detectorFor(manifest('yolov8'), { inputShape: [1, 3, S, S], knownDims: [7, N], known });
    assert.deepEqual(await d.detect(input()), [fromInput(8, 8, 4, 4, 0, 0.75), fromInput(24, 20, 6, 8, 2, 0.625)]);
    await d.close();
  });

  test("D1 'yolov8-obb': [4+C+1, N], angle in radians turned counter-clockwise, rotated-IoU NMS", async () => {
    const anchors = [
      [16, 16, 20, 10, 0, 0.875, 0, 0.5], // car, Ultralytics angle 0.5
      [16, 16, 20, 10, 0, 0.75, 0, 0.5 + Math.PI / 2], // turned by 90°: IoU 1/3 < 0.45, kept
      [16, 16, 20, 10, 0, 0.625, 0, 0.53125], // almost the first: suppressed
      [4, 28, 6, 6, 0.5, 0, 0, 0], // person, axis-aligned
    ];
    const N = anchors.length;
    const known = new Float32Array(8 * N);
    anchors.forEach((a, i) => a.forEach((v, ch) => (known[ch * N + i] = v)));
    const d = await detectorFor(manifest('yolov8-obb'), { inputShape: [1, 3, S, S], knownDims: [8, N], known });
    const boxes = await d.detect(input());
    const f32 = (x: number): number => Math.fround(x);
    assert.deepEqual(boxes, [
      fromInput(16, 16, 20, 10, 1, 0.875, -0.5),
      fromInput(16, 16, 20, 10, 1, 0.75, -f32(0.5 + Math.PI / 2)),
      fromInput(4, 28, 6, 6, 0, 0.5, 0),
    ]);
    await d.close();
  });

  test("D1 'end2end' [1, N, 6]: x1, y1, x2, y2, score, class; no NMS, padding rows dropped", async () => {
    const rows = [
      [2, 6, 10, 14, 0.875, 1],
      [3, 6, 11, 14, 0.75, 1], // overlapping, but NMS already ran inside the model: kept
      [0, 0, 0, 0, 0, 0], // padding
      [20, 4, 28, 30, 0.5, 7], // class outside the manifest: dropped
    ];
    const d = await detectorFor(manifest('end2end'), { inputShape: [1, 3, S, S], knownDims: [4, 6], known: new Float32Array(rows.flat()) });
    assert.deepEqual(await d.detect(input()), [fromInput(6, 10, 8, 8, 1, 0.875), fromInput(7, 10, 8, 8, 1, 0.75)]);
    await d.close();
  });

  test("D1 'end2end' [N, 7]: batch index first, then x1, y1, x2, y2, class, score", async () => {
    const rows = [
      [0, 2, 6, 10, 14, 2, 0.75],
      [1, 4, 4, 8, 8, 0, 0.875], // batch 1: not this frame's
      [0, 16, 16, 24, 20, 0, 0.5],
    ];
    const d = await detectorFor(manifest('end2end'), {
      inputShape: [1, 3, S, S],
      knownDims: [3, 7],
      known: new Float32Array(rows.flat()),
      outputShape: ['num_dets', 7],
    });
    assert.deepEqual(await d.detect(input()), [fromInput(6, 10, 8, 8, 2, 0.75), fromInput(20, 18, 8, 4, 0, 0.5)]);
    await d.close();
  });
});

describe('D1 batching, shared memory, class filter', () => {
  // yolov8 layout; the mask adds each batch row's input mean to cx of anchor 0.
  const N = 2;
  const anchors = [
    [8, 8, 4, 4, 0.75, 0, 0],
    [24, 20, 6, 8, 0, 0.5, 0],
  ];
  const known = new Float32Array(7 * N);
  anchors.forEach((a, i) => a.forEach((v, ch) => (known[ch * N + i] = v)));
  const mask = new Float32Array(7 * N);
  mask[0] = 1;

  test('D1 dynamic batch: several frames in one inference, rows kept apart', async () => {
    const d = await detectorFor(manifest('yolov8', 'dynamic'), { inputShape: ['batch', 3, S, S], knownDims: [7, N], known, mask });
    assert.equal(d.batchSize, 'dynamic');
    const raw = await d.infer([input(0), input(2), input(4)]);
    assert.equal(raw.length, 1, 'one inference for three frames');
    assert.deepEqual(raw[0]!.dims, [3, 7, N]);
    const boxes = d.postprocess(raw, [input(0), input(2), input(4)]);
    assert.deepEqual(
      boxes.map((b) => b.map((x) => x.cx)),
      [
        [16, 48],
        [20, 48],
        [24, 48],
      ],
    );
    assert.deepEqual(await d.detectBatch([input(2)]), [await d.detect(input(2))]);
    await d.close();
  });

  test('D1 fixed batch 2: three frames run as two inferences, the last one padded', async () => {
    const d = await detectorFor(manifest('yolov8', 2), { inputShape: [2, 3, S, S], knownDims: [7, N], known, mask });
    const inputs = [input(0), input(2), input(4)];
    const raw = await d.infer(inputs);
    assert.equal(raw.length, 2);
    assert.deepEqual(
      d.postprocess(raw, inputs).map((b) => b[0]!.cx),
      [16, 20, 24],
    );
    await d.close();
  });

  test('D1 batch-1 model: detectBatch runs frames one after another, same boxes as detect', async () => {
    const d = await detectorFor(manifest('yolov8', 1), { inputShape: [1, 3, S, S], knownDims: [7, N], known, mask });
    const raw = await d.infer([input(0), input(6)]);
    assert.equal(raw.length, 2, 'two inferences');
    const batch = await d.detectBatch([input(0), input(6)]);
    assert.deepEqual(batch, [await d.detect(input(0)), await d.detect(input(6))]);
    assert.equal(batch[1]![0]!.cx, 28);
    await d.close();
  });

  test('D1 a tensor backed by a SharedArrayBuffer gives the same boxes', async () => {
    const d = await detectorFor(manifest('yolov8', 1), { inputShape: [1, 3, S, S], knownDims: [7, N], known, mask });
    const shared = new Float32Array(new SharedArrayBuffer(3 * S * S * 4)).fill(6);
    const boxes = await d.detect({ ...input(), tensor: shared });
    assert.deepEqual(boxes, await d.detect(input(6)));
    assert.equal(boxes[0]!.cx, 28);
    await d.close();
  });

  test('D1 shared tensors in flight at once each get their own boxes (input buffers are reused, never shared by two runs)', async () => {
    const d = await detectorFor(manifest('yolov8', 1), { inputShape: [1, 3, S, S], knownDims: [7, N], known, mask });
    const fills = [0, 6, 2, 4];
    const expected = [];
    for (const v of fills) expected.push(await d.detect(input(v)));
    assert.deepEqual(new Set(expected.map((b) => b[0]!.cx)).size, fills.length, 'each fill moves the box');
    for (let round = 0; round < 3; round++) {
      const shared = fills.map((v) => new Float32Array(new SharedArrayBuffer(3 * S * S * 4)).fill(v));
      assert.deepEqual(await Promise.all(shared.map((t) => d.detect({ ...input(), tensor: t }))), expected);
    }
    await d.close();
  });

  test('D1 class filter and per-class thresholds', async () => {
    const spec = { inputShape: [1, 3, S, S], knownDims: [7, N], known };
    const onlyCars = await detectorFor(manifest('yolov8'), spec, { classes: ['car'] });
    assert.deepEqual((await onlyCars.detect(input())).map((b) => b.label), ['car']);
    await onlyCars.close();
    const strictPerson = await detectorFor(manifest('yolov8'), spec, { classThresholds: { person: 0.8 } });
    assert.deepEqual((await strictPerson.detect(input())).map((b) => b.label), ['car']);
    await strictPerson.close();
    const strictAll = await detectorFor(manifest('yolov8'), spec, { scoreThreshold: 0.6, classThresholds: { car: 0.4 } });
    assert.deepEqual((await strictAll.detect(input())).map((b) => `${b.label} ${b.score}`), ['person 0.75', 'car 0.5']);
    await strictAll.close();
    const capped = await detectorFor(manifest('yolov8'), spec, { maxDetections: 1 });
    assert.deepEqual((await capped.detect(input())).map((b) => b.label), ['person']);
    await capped.close();
  });
});
