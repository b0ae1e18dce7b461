/**
 * Exercises every native entry point (pipelines from files, appsrc, test and
 * failing sources; tensor and pixel slots; JPEG; properties, also of a
 * decodebin-made decoder found by factory name; decoder threads; errors) for
 * scripts/asan-check.sh, which runs it against the AddressSanitizer build.
 * Frames in BGR and in I420, the runtime's format: its tensor is resampled
 * band by band during the copy (pipeline.cc PrepareI420Tensor/FinishI420Tensor,
 * letterbox.cc I420Resampler), which BGR captures never reach.
 */
import { join } from 'node:path';
import { TRAFFIC_CLIPS_DIR } from '../../src/paths.js';
import { openCapture, encodeJpeg } from '../../src/capture/index.js';
/** I420 frames that came with their tensor: the exercise fails when the I420 path was not run. */
let i420Tensors = 0;
const countI420 = (f: { format: string; tensor?: Float32Array }): void => {
  if (f.format === 'I420' && f.tensor !== undefined) i420Tensors++;
};
const tensor = { width: 416, height: 416, channelOrder: 'bgr' as const, placement: 'topleft' as const, padValue: 114, scale: 1 };
for (let round = 0; round < 3; round++) {
  const s = openCapture({ source: { type: 'file', path: join(TRAFFIC_CLIPS_DIR, 'motorway-cctv.avi') }, tensor, tensorSlots: 2, pixelSlots: 4 });
  let n = 0;
  for await (const f of s) { if (n++ % 50 === 0) await encodeJpeg(f); s.releaseTensor(f); s.releasePixels(f); if (n > 200) break; }
  s.close();
  const a = openCapture({ source: { type: 'appsrc', width: 34, height: 20, framerate: 10 } });
  a.push(new Uint8Array(34 * 20 * 3), 0n); await a.next(); a.close();
  try {
    openCapture({ source: { type: 'pipeline', description: 'nosuch ! fakesink' } });
  } catch {
    // expected: unknown element
  }
  const t = openCapture({ source: { type: 'test', width: 64, height: 48, framerate: 30, numBuffers: 5 } });
  t.setProperty('camera', 'pattern', 'ball'); t.getProperty('camera', 'pattern');
  for await (const f of t) void f;
  t.close();
  // decodebin's decoder: max-threads set as it is added, then found by its factory's name.
  const d = openCapture({ source: { type: 'file', path: join(TRAFFIC_CLIPS_DIR, 'suburban-street-elevated.mp4') }, decoderThreads: 1, preferHardware: false });
  await d.next(); d.getProperty('avdec_h264', 'max-threads');
  try { d.getProperty('nosuch', 'max-threads'); } catch { /* expected: no such element */ }
  d.close();
  // I420 with a tensor: a recording scaled down (bands of 16 rows, the last one short), into slots and,
  // the slots all held, into fresh memory (no release until the end).
  const y = openCapture({ source: { type: 'file', path: join(TRAFFIC_CLIPS_DIR, 'motorway-cctv.avi') }, format: 'I420', tensor, tensorSlots: 2, pixelSlots: 2 });
  const held = [];
  for await (const f of y) { countI420(f); held.push(f); if (held.length % 20 === 1) await encodeJpeg(f); if (held.length >= 60) break; }
  for (const f of held) { y.releaseTensor(f); y.releasePixels(f); }
  y.close();
  // Odd sizes (chroma planes of ⌈w/2⌉ × ⌈h/2⌉, fewer rows than a band, a band cut short), scaled up and
  // down, centred, RGB at 1/255; one tensor slot, so the frames after the first also go to fresh memory.
  for (const [w, h] of [[65, 37], [7, 5], [417, 419]] as const) {
    const o = openCapture({ source: { type: 'test', width: w, height: h, framerate: 30, numBuffers: 4 }, format: 'I420', tensor: { ...tensor, channelOrder: 'rgb', placement: 'center', scale: 1 / 255 }, tensorSlots: 1 });
    // JPEGs at the odd width (rows padded for libjpeg, jpeg.cc PadRowsToBlocks) and scaled down (maxWidth).
    for await (const f of o) { countI420(f); await encodeJpeg(f); await encodeJpeg(f, { maxWidth: Math.max(1, w >> 1) }); o.releaseTensor(f); }
    o.close();
  }
  const ai = openCapture({ source: { type: 'appsrc', width: 35, height: 21, framerate: 10, format: 'I420' }, format: 'I420', tensor });
  ai.push(new Uint8Array(35 * 21 + 2 * 18 * 11).fill(128), 0n); const af = await ai.next(); if (af) { countI420(af); ai.releaseTensor(af); } ai.close();
  const bad = openCapture({ source: { type: 'rtsp', url: 'rtsp://127.0.0.1:9/x' } });
  await bad.next().catch(() => {}); bad.close();
}
(globalThis as { gc?: () => void }).gc?.();
// 3 rounds of 60 + 3 × 4 + 1 frames.
if (i420Tensors !== 3 * 73) throw new Error(`I420 frames with a tensor: ${i420Tensors} of ${3 * 73}`);
console.log('exercise done');
