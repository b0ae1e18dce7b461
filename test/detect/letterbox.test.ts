/**
 * The capture ↔ detect contract (D1): the native letterbox tensor of the
 * capture pipeline equals the JavaScript reference for the manifest's
 * placement, channel order, pad and scale, and gives the same boxes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openCapture } from '../../src/capture/index.js';
import { Detector, letterboxTensor, loadManifest, tensorOptionsFor, type ModelManifest } from '../../src/detect/index.js';
import { DEFAULT_MANIFEST_PATH } from '../../src/detect/model-file.js';
import { SHARED_DATA_DIR, TRAFFIC_CLIPS_DIR } from '../../src/paths.js';

const YOLOX = loadManifest(DEFAULT_MANIFEST_PATH);
const ULTRALYTICS: ModelManifest = { ...YOLOX, input: { ...YOLOX.input, width: 320, height: 256, channelOrder: 'rgb', scale: 1 / 255, placement: 'center' } };

async function nativeAndJs(path: string, m: ModelManifest): Promise<{ maxDiff: number; native: { ratio: number; padX: number; padY: number }; js: { ratio: number; padX: number; padY: number } }> {
  const src = openCapture({ source: { type: 'file', path }, tensor: tensorOptionsFor(m) });
  const f = (await src.next())!;
  src.close();
  const js = letterboxTensor({ width: f.width, height: f.height, stride: f.stride, format: 'BGR', pixels: f.pixels }, m);
  let maxDiff = 0;
  for (let i = 0; i < js.tensor.length; i++) maxDiff = Math.max(maxDiff, Math.abs(js.tensor[i]! - f.tensor![i]!));
  const { ratio, padX, padY } = f.letterbox!;
  return { maxDiff, native: { ratio, padX, padY }, js: js.letterbox };
}

describe('D1 letterbox: native tensor = JavaScript reference', () => {
  let d: Detector;
  before(async () => {
    d = await Detector.create({ providers: ['cpu'], logger: () => {} });
  });
  after(async () => {
    await d.close();
  });

  for (const [name, path] of [
    ['COCO 640x426 image', join(SHARED_DATA_DIR, 'coco-images', '000000000139.jpg')],
    ['COCO 427x640 portrait image', join(SHARED_DATA_DIR, 'coco-images', '000000001296.jpg')],
    ['320x240 MPEG-4 clip', join(TRAFFIC_CLIPS_DIR, 'motorway-cctv.avi')],
  ] as const) {
    test(`D1 ${name}: YOLOX (BGR, 0..255, top-left, pad 114) and Ultralytics-style (RGB, /255, centred)`, async () => {
      for (const m of [YOLOX, ULTRALYTICS]) {
        const r = await nativeAndJs(path, m);
        assert.deepEqual(r.js, r.native);
        // Float rounding only: 1e-4 of the full 0..255 range at the model scale.
        assert.ok(r.maxDiff <= 1e-4 * 255 * m.input.scale, `max difference ${r.maxDiff}`);
      }
    });
  }

  test('D1 the JavaScript tensor finds the same boxes as the native one', async () => {
    const src = openCapture({ source: { type: 'file', path: join(SHARED_DATA_DIR, 'coco-images', '000000000139.jpg') }, tensor: tensorOptionsFor(d.manifest) });
    const f = (await src.next())!;
    src.close();
    const js = letterboxTensor({ width: f.width, height: f.height, stride: f.stride, format: 'BGR', pixels: f.pixels }, d.manifest);
    const a = await d.detect({ tensor: f.tensor!, letterbox: f.letterbox!, frameWidth: f.width, frameHeight: f.height });
    const b = await d.detect({ ...js, frameWidth: f.width, frameHeight: f.height });
    assert.deepEqual(
      b.map((x) => x.label),
      a.map((x) => x.label),
    );
    b.forEach((x, i) => assert.ok(Math.abs(x.cx - a[i]!.cx) < 0.05 && Math.abs(x.score - a[i]!.score) < 1e-4));
  });

  test('D1 bad pixel buffer: exact message', () => {
    assert.throws(() => letterboxTensor({ width: 10, height: 10, format: 'BGR', pixels: new Uint8Array(10) }, YOLOX), {
      name: 'RangeError',
      message: 'Expected at least 300 bytes for a 10x10 image but received 10',
    });
  });
});
