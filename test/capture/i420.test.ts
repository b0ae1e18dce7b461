/**
 * I420 frames (config cameras[].pixelFormat, docs/performance.md "I420
 * frames"): the addon hands over the decoder's planes in a tight layout,
 * letterboxes the detector tensor from them (D1), and everything that reads
 * a frame — the JPEG of a package (U1), crops, the crop measures of the
 * quality score, exposure metering (A2) — gives what the BGR frame of the
 * same decode gives.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeJpeg, frameBytes, openCapture, type CapturedFrame, type CaptureOptions, type PixelFormat } from '../../src/capture/index.js';
import { meanLuma, meanLumaI420 } from '../../src/capture/exposure/rules.js';
import { Detector, tensorOptionsFor } from '../../src/detect/index.js';
import { SHARED_DATA_DIR, TRAFFIC_CLIPS_DIR } from '../../src/paths.js';
import { chromaAlignedRect, copyRect, copyRectI420, cropRectWithMargin, cropStats } from '../../src/select/crop-stats.js';
import { JFIF_420, jpegLayout } from '../helpers/jpeg-layout.js';

const YOLOX_TENSOR = { width: 416, height: 416, channelOrder: 'bgr', placement: 'topleft', padValue: 114, scale: 1 } as const;

/** The `index`-th frame of a source, copied out of its slot. */
async function frameOf(source: CaptureOptions['source'], format: PixelFormat, index = 0, size: Pick<CaptureOptions, 'outputWidth' | 'outputHeight'> = {}): Promise<CapturedFrame> {
  const src = openCapture({ source, format, tensor: YOLOX_TENSOR, ...size });
  let i = 0;
  try {
    for await (const f of src) {
      if (i++ === index) return { ...f, pixels: new Uint8Array(f.pixels), tensor: new Float32Array(f.tensor!) };
    }
  } finally {
    src.close();
  }
  throw new Error(`source ended before frame ${index}`);
}

/** Mean |Δ|, the largest mean signed Δ of a channel, and the share of values more than 20 apart. */
function tensorDiff(a: Float32Array, b: Float32Array): { mean: number; bias: number; over20: number } {
  const plane = a.length / 3;
  let sum = 0;
  let over = 0;
  let bias = 0;
  for (let c = 0; c < 3; c++) {
    let signed = 0;
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      const d = b[i]! - a[i]!;
      signed += d;
      sum += Math.abs(d);
      if (Math.abs(d) > 20) over++;
    }
    bias = Math.max(bias, Math.abs(signed / plane));
  }
  return { mean: sum / a.length, bias, over20: over / a.length };
}

describe('I420 frames', () => {
  test('tight planes: width×height + 2×⌈w/2⌉×⌈h/2⌉ bytes, stride = width; pushed planes come back unchanged', async () => {
    // 322×242: GStreamer pads I420 rows to 4 bytes (Y 324, U/V 164), so a copy that ignored strides would shear.
    const W = 322;
    const H = 242;
    const planes = new Uint8Array(frameBytes(W, H, 'I420'));
    assert.equal(planes.length, W * H + 2 * 161 * 121);
    for (let i = 0; i < planes.length; i++) planes[i] = 16 + ((i * 7 + (i >> 9)) % 220);
    const src = openCapture({ source: { type: 'appsrc', width: W, height: H, framerate: 10, format: 'I420' }, format: 'I420' });
    try {
      assert.ok(src.push(planes, 0n, 100_000_000n));
      const f = (await src.next())!;
      assert.equal(f.format, 'I420');
      assert.equal(f.stride, W);
      assert.equal(f.pixels.length, planes.length);
      assert.ok(Buffer.from(f.pixels).equals(Buffer.from(planes)), 'the planes came back changed');
      assert.equal(f.yuv!.kr, 0.299); // SD: BT.601, limited range
      assert.equal(f.yuv!.fullRange, false);
    } finally {
      src.close();
    }
  });

  test('U1 the JPEG of an I420 frame is byte-identical to the JPEG of the BGR frame of the same decode', async () => {
    // 854 px is not a multiple of 16: libjpeg reads those rows past their width, and before the
    // encoder's padding (native/jpeg.cc PadRowsToBlocks) the two JPEGs differed there.
    for (const name of ['motorway-overpass-light.mp4', 'motorway-cctv.avi', 'town-centre-pedestrians.mp4']) {
      const source = { type: 'file', path: join(TRAFFIC_CLIPS_DIR, name) } as const;
      const bgr = await frameOf(source, 'BGR', 1);
      const i420 = await frameOf(source, 'I420', 1);
      const a = await encodeJpeg({ width: bgr.width, height: bgr.height, format: 'BGR', pixels: bgr.pixels });
      const b = await encodeJpeg({ width: i420.width, height: i420.height, format: 'I420', yuv: i420.yuv!, pixels: i420.pixels });
      assert.ok(a.equals(b), `${bgr.width}×${bgr.height}: ${a.length} bytes from BGR, ${b.length} from I420`);
      // Both are baseline JFIF Y'CbCr 4:2:0 (the I420 frame goes through the BGR capture's conversion first).
      assert.deepEqual(jpegLayout(a), JFIF_420);
    }
  });

  test('JPEG of an I420 buffer of the wrong size: exact message', async () => {
    await assert.rejects(encodeJpeg({ width: 4, height: 4, format: 'I420', pixels: new Uint8Array(48) }), {
      name: 'RangeError',
      message: 'Expected 24 bytes for a 4x4 I420 image but received 48',
    });
  });

  test('D1 the I420 tensor is the BGR tensor up to where the chroma is interpolated (same geometry, no colour bias, mean difference under 2 of 255)', async () => {
    for (const path of [join(TRAFFIC_CLIPS_DIR, 'motorway-cctv.avi'), join(TRAFFIC_CLIPS_DIR, 'suburban-street-elevated.mp4'), join(TRAFFIC_CLIPS_DIR, 'town-centre-pedestrians.mp4'), join(SHARED_DATA_DIR, 'coco-images', '000000000139.jpg')]) {
      const bgr = await frameOf({ type: 'file', path }, 'BGR');
      const i420 = await frameOf({ type: 'file', path }, 'I420');
      assert.deepEqual(i420.letterbox, bgr.letterbox, path);
      const d = tensorDiff(bgr.tensor!, i420.tensor!);
      // GStreamer's own converter with videoconvert's settings: its colours, not a formula's (which was 1–3 levels brighter).
      assert.ok(d.mean < 2, `${path}: mean |Δ| ${d.mean}`);
      assert.ok(d.bias < 0.3, `${path}: a channel is biased by ${d.bias}`);
      // Sharp colour edges: the chroma is interpolated once more on the small image.
      assert.ok(d.over20 < 0.02, `${path}: ${(100 * d.over20).toFixed(2)} % of values more than 20 apart`);
      // The pad is untouched by the conversion: the corner below the image is exactly 114 in every channel.
      for (let c = 0; c < 3; c++) assert.equal(i420.tensor![c * 416 * 416 + 415 * 416 + 415], 114);
    }
  });

  describe('D1 detection on I420 tensors', () => {
    let d: Detector;
    before(async () => {
      d = await Detector.create({ providers: ['cpu'], logger: () => {} });
    });
    after(async () => {
      await d.close();
    });
    test('the I420 tensor finds the same objects as the BGR tensor of the same image', async () => {
      const path = join(SHARED_DATA_DIR, 'coco-images', '000000000139.jpg');
      const tensor = tensorOptionsFor(d.manifest);
      const one = async (format: PixelFormat) => {
        const src = openCapture({ source: { type: 'file', path }, format, tensor });
        const f = (await src.next())!;
        src.close();
        return d.detect({ tensor: f.tensor!, letterbox: f.letterbox!, frameWidth: f.width, frameHeight: f.height });
      };
      const a = await one('BGR');
      const b = await one('I420');
      assert.ok(a.length >= 5, `the reference finds ${a.length} objects`);
      const confident = (bs: typeof a) => bs.filter((x) => x.score >= 0.5);
      assert.deepEqual(
        confident(b).map((x) => x.label).sort(),
        confident(a).map((x) => x.label).sort(),
      );
      for (const x of confident(a)) {
        const y = b.find((z) => z.label === x.label && Math.hypot(z.cx - x.cx, z.cy - x.cy) < 3);
        assert.ok(y, `no I420 box near ${x.label} at ${x.cx},${x.cy}`);
        assert.ok(Math.abs(y.score - x.score) < 0.05, `${x.label}: score ${y.score} vs ${x.score}`);
      }
    });
  });

  test('quality score inputs: crop measures of the I420 frame match those of the BGR frame', async () => {
    const path = join(TRAFFIC_CLIPS_DIR, 'suburban-street-elevated.mp4');
    const bgr = await frameOf({ type: 'file', path }, 'BGR', 3);
    const i420 = await frameOf({ type: 'file', path }, 'I420', 3);
    const boxes = [
      { cx: bgr.width / 2, cy: bgr.height / 2, w: 200, h: 120 },
      { cx: 100, cy: 80, w: 90, h: 60 },
      { cx: bgr.width - 60, cy: bgr.height - 40, w: 110, h: 70 },
    ];
    for (const box of boxes) {
      const a = cropStats({ width: bgr.width, height: bgr.height, stride: bgr.stride, channels: 3, format: 'BGR', pixels: bgr.pixels }, box);
      const b = cropStats({ width: i420.width, height: i420.height, channels: 3, format: 'I420', yuv: i420.yuv!, pixels: i420.pixels }, box);
      assert.ok(Math.abs(a.mean - b.mean) < 3, `mean ${b.mean} vs ${a.mean}`);
      assert.ok(Math.abs(a.sharpness - b.sharpness) <= 0.05 * a.sharpness + 0.01, `sharpness ${b.sharpness} vs ${a.sharpness}`);
      assert.ok(Math.abs(a.highlights - b.highlights) < 0.01 && Math.abs(a.shadows - b.shadows) < 0.01, JSON.stringify({ a, b }));
    }
  });

  test('A2 metering: mean luma of the I420 frame is the BGR frame\'s within 3 levels', async () => {
    for (const name of ['motorway-overpass-light.mp4', 'town-centre-pedestrians.mp4']) {
      const path = join(TRAFFIC_CLIPS_DIR, name);
      const bgr = await frameOf({ type: 'file', path }, 'BGR', 2);
      const i420 = await frameOf({ type: 'file', path }, 'I420', 2);
      const a = meanLuma(bgr.pixels, bgr.width, bgr.height, bgr.stride);
      const b = meanLumaI420(i420.pixels, i420.width, i420.height, i420.yuv);
      assert.ok(Math.abs(a - b) < 3, `${name}: ${b} vs ${a}`);
    }
  });
});

describe('I420 crops', () => {
  test('chromaAlignedRect moves left and top to even pixels and keeps the right and bottom edges', () => {
    assert.deepEqual(chromaAlignedRect({ x: 5, y: 7, width: 10, height: 11 }), { x: 4, y: 6, width: 11, height: 12 });
    assert.deepEqual(chromaAlignedRect({ x: 4, y: 6, width: 9, height: 3 }), { x: 4, y: 6, width: 9, height: 3 });
  });

  test('copyRectI420 copies the Y rows and the chroma rows the rectangle covers', () => {
    // A 6×4 frame whose every sample says where it came from.
    const W = 6;
    const H = 4;
    const frame = new Uint8Array(frameBytes(W, H, 'I420'));
    for (let i = 0; i < W * H; i++) frame[i] = i; // Y: 0..23
    for (let i = 0; i < 6; i++) {
      frame[W * H + i] = 100 + i; // U: 3×2
      frame[W * H + 6 + i] = 200 + i; // V: 3×2
    }
    const out = copyRectI420(frame, W, H, { x: 2, y: 2, width: 3, height: 2 });
    assert.deepEqual([...out], [14, 15, 16, 20, 21, 22, 104, 105, 204, 205]);
    assert.throws(() => copyRectI420(frame, W, H, { x: 1, y: 2, width: 3, height: 2 }), { name: 'TypeError', message: /even left and top/ });
  });

  test('U1 a crop of an I420 frame encodes to the same image as the BGR crop of the same rectangle', async () => {
    const path = join(TRAFFIC_CLIPS_DIR, 'motorway-overpass-light.mp4');
    const bgr = await frameOf({ type: 'file', path }, 'BGR', 1);
    const i420 = await frameOf({ type: 'file', path }, 'I420', 1);
    const rect = chromaAlignedRect(cropRectWithMargin({ cx: 301.3, cy: 177.8, w: 81, h: 47 }, bgr.width, bgr.height)!);
    const a = await encodeJpeg({ width: rect.width, height: rect.height, format: 'BGR', pixels: copyRect(bgr.pixels, bgr.stride, rect) }, { quality: 100 });
    const b = await encodeJpeg({ width: rect.width, height: rect.height, format: 'I420', yuv: i420.yuv!, pixels: copyRectI420(i420.pixels, i420.width, i420.height, rect) }, { quality: 100 });
    // Decoded, the two are the same picture: the same size and the same colours (the bytes
    // differ where chroma is interpolated across the crop's edge).
    const dir = mkdtempSync(join(tmpdir(), 'bestshot-i420-crop-'));
    const decoded = async (jpeg: Buffer, name: string): Promise<CapturedFrame> => {
      writeFileSync(join(dir, name), jpeg);
      return frameOf({ type: 'file', path: join(dir, name) }, 'BGR');
    };
    const da = await decoded(a, 'bgr.jpg');
    const db = await decoded(b, 'i420.jpg');
    assert.deepEqual([db.width, db.height], [rect.width, rect.height]);
    assert.deepEqual([da.width, da.height], [rect.width, rect.height]);
    for (let c = 0; c < 3; c++) {
      const mean = (f: CapturedFrame): number => {
        let s = 0;
        let n = 0;
        for (let y = 0; y < f.height; y++) for (let x = 0; x < f.width; x++, n++) s += f.pixels[y * f.stride + 3 * x + c]!;
        return s / n;
      };
      assert.ok(Math.abs(mean(da) - mean(db)) < 2, `channel ${c}: mean ${mean(db)} vs ${mean(da)}`);
    }
  });
  test('U1 a JPEG depends on the frame only: the same pixels give the same bytes in another process, at widths that are not multiples of 16', async () => {
    // Before the encoder padded its rows (native/jpeg.cc PadRowsToBlocks), libjpeg read stale
    // memory past an 854-px row, and another process encoded the same frame to other bytes.
    const frame = await frameOf({ type: 'file', path: join(TRAFFIC_CLIPS_DIR, 'town-centre-pedestrians.mp4') }, 'I420', 1);
    const crop = { width: 101, height: 57 };
    const cropPixels = copyRectI420(frame.pixels, frame.width, frame.height, { x: 300, y: 200, ...crop });
    const dir = mkdtempSync(join(tmpdir(), 'bestshot-jpeg-det-'));
    writeFileSync(join(dir, 'frame.i420'), frame.pixels);
    writeFileSync(join(dir, 'crop.i420'), cropPixels);
    const here = [
      await encodeJpeg({ width: frame.width, height: frame.height, format: 'I420', yuv: frame.yuv!, pixels: frame.pixels }),
      await encodeJpeg({ width: crop.width, height: crop.height, format: 'I420', yuv: frame.yuv!, pixels: cropPixels }),
      await encodeJpeg({ width: frame.width, height: frame.height, format: 'I420', yuv: frame.yuv!, pixels: frame.pixels }, { maxWidth: 333 }),
    ].map((b) => b.toString('base64'));
    const script = `
      import { readFileSync } from 'node:fs';
      import { encodeJpeg } from ${JSON.stringify(new URL('../../src/capture/index.ts', import.meta.url).href)};
      const yuv = ${JSON.stringify(frame.yuv)};
      const f = new Uint8Array(readFileSync(${JSON.stringify(join(dir, 'frame.i420'))}));
      const c = new Uint8Array(readFileSync(${JSON.stringify(join(dir, 'crop.i420'))}));
      const out = [
        await encodeJpeg({ width: ${frame.width}, height: ${frame.height}, format: 'I420', yuv, pixels: f }),
        await encodeJpeg({ width: ${crop.width}, height: ${crop.height}, format: 'I420', yuv, pixels: c }),
        await encodeJpeg({ width: ${frame.width}, height: ${frame.height}, format: 'I420', yuv, pixels: f }, { maxWidth: 333 }),
      ];
      process.stdout.write(JSON.stringify(out.map((b) => b.toString('base64'))));`;
    writeFileSync(join(dir, 'encode.mts'), script);
    const there = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'encode.mts')], { encoding: 'utf8', maxBuffer: 64 << 20 })) as string[];
    assert.equal(there.length, 3);
    for (let i = 0; i < 3; i++) assert.ok(there[i] === here[i], `JPEG ${i} (${['854×480 frame', '101×57 crop', 'context 333 px'][i]}) differs between processes`);
  });
});
