/**
 * Exercises every native entry point (pipelines from files, appsrc, test and
 * failing sources; tensor and pixel slots; JPEG; properties, also of a
 * decodebin-made decoder found by factory name; decoder threads; errors) for
 * scripts/asan-check.sh, which runs it against the AddressSanitizer build.
 */
import { join } from 'node:path';
import { TRAFFIC_CLIPS_DIR } from '../../src/paths.js';
import { openCapture, encodeJpeg } from '../../src/capture/index.js';
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
  const bad = openCapture({ source: { type: 'rtsp', url: 'rtsp://127.0.0.1:9/x' } });
  await bad.next().catch(() => {}); bad.close();
}
(globalThis as { gc?: () => void }).gc?.();
console.log('exercise done');
