/**
 * npm run bench -- crop-stats [--frames N]
 *
 * The tracking worker's per-pixel cost (docs/selection.md "Image quality"):
 * cropStats on real I420 frames (640×360 and 1280×720 transcodes of two
 * shared clips, the cameras benchmark's, decoded by GStreamer), every frame's crops as the tracking
 * worker measures them, against the one-pixel-at-a-time reference pass
 * (test/helpers/crop-stats-reference.ts, whose figures it matches bit for
 * bit) in the same run. The crops are boxes on the frames' thirds and a
 * quarter-frame box, the sizes traffic objects take. Prints ms per frame
 * (best of 5 rounds) and the speed-up.
 */
import { openCapture } from '../src/capture/index.js';
import { scaledClip } from './cameras.js';
import { cropStats, type CropBox, type CropImage } from '../src/select/crop-stats.js';
import { cropStatsI420Reference } from '../test/helpers/crop-stats-reference.js';
import { benchArgs, benchNumber, fmt, machine, writeResult } from './util.js';

const USAGE = `npm run bench -- crop-stats [--frames N]
  --frames N   frames decoded per clip (default 30)
Writes benchmarks/results/crop-stats.json.`;

async function frames(path: string, count: number): Promise<CropImage[]> {
  const source = openCapture({ source: { type: 'file', path }, format: 'I420' });
  const out: CropImage[] = [];
  try {
    for await (const f of source) {
      out.push({ width: f.width, height: f.height, channels: 3, format: 'I420', pixels: new Uint8Array(f.pixels), ...(f.yuv ? { yuv: f.yuv } : {}) });
      source.releasePixels(f);
      if (out.length >= count) break;
    }
  } finally {
    source.close();
  }
  return out;
}

function boxesFor(width: number, height: number): CropBox[] {
  const boxes: CropBox[] = [{ cx: width / 2, cy: height / 2, w: width / 2, h: height / 2 }];
  for (const fx of [1 / 3, 2 / 3]) for (const fy of [1 / 3, 2 / 3]) boxes.push({ cx: fx * width, cy: fy * height, w: width / 8, h: height / 6 });
  return boxes;
}

function msPerFrame(images: CropImage[], boxes: CropBox[], measure: (image: CropImage, box: CropBox) => unknown): number {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (const image of images) for (const box of boxes) measure(image, box);
    best = Math.min(best, (performance.now() - t0) / images.length);
  }
  return best;
}

export default async function main(args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, { frames: { type: 'string' } });
  const count = benchNumber('positive integer', '--frames', values.frames, 30);
  console.log(`machine: ${machine()}; cropStats on real I420 frames, 5 crops a frame, best of 5 rounds\n`);
  const results: Record<string, unknown> = {};
  for (const [name, path] of [
    ['640x360', scaledClip('suburban-street-elevated.mp4', 640, 360)],
    ['1280x720', scaledClip('town-centre-pedestrians.mp4', 1280, 720)],
  ] as const) {
    const images = await frames(path, count);
    const boxes = boxesFor(images[0]!.width, images[0]!.height);
    const pixels = boxes.reduce((n, b) => n + b.w * b.h, 0);
    const reference = msPerFrame(images, boxes, cropStatsI420Reference);
    const fast = msPerFrame(images, boxes, cropStats);
    results[name] = { frames: images.length, cropPixelsPerFrame: pixels, referenceMsPerFrame: reference, msPerFrame: fast, speedUp: reference / fast };
    console.log(`${name}: ${images.length} frames, ${fmt(pixels / 1000, 0)} k crop pixels a frame: reference ${fmt(reference, 3)} ms, cropStats ${fmt(fast, 3)} ms a frame = ${fmt(reference / fast, 2)}× faster (${fmt((fast * 1e6) / pixels, 1)} ns a pixel)`);
  }
  console.log(`\nwritten ${writeResult('crop-stats', results)}`);
}
