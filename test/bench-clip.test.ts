/**
 * The capture benchmark holds the runtime's capture of its 1280×720 clip to
 * gst-launch decoding the same clip. The clip was transcoded with a pixel
 * aspect of 45:44, so the capture (which scales non-square recordings to
 * square pixels) scaled every frame to 1309×720 while gst-launch did not:
 * the capture ratios measured a scale the ceiling never did. The clip now
 * has square pixels and comes into Node at the size gst-launch decodes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { make720pClip } from '../benchmarks/capture.js';
import { openCapture } from '../src/capture/index.js';

test('the capture benchmark clip comes into Node at 1280×720, the size the gst-launch ceiling decodes', async () => {
  const path = make720pClip(5);
  for (const format of ['I420', 'BGR'] as const) {
    const source = openCapture({ source: { type: 'file', path }, format });
    try {
      const f = await source.next();
      assert.ok(f !== null, 'a frame');
      assert.deepEqual([f.width, f.height], [1280, 720], `${format}: ${f.width}×${f.height}`);
    } finally {
      source.close();
    }
  }
});
