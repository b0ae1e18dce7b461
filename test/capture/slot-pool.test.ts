/**
 * CaptureOptions.slotPool (docs/performance.md): a camera reopened with the same pool
 * writes its frames and tensors into the same shared-memory slots instead
 * of allocating new ones; a pool whose slots have another size or count is
 * refilled.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openCapture, SlotPool, type CapturedFrame, type TensorOptions } from '../../src/capture/index.js';

const TENSOR: TensorOptions = { width: 64, height: 64, channelOrder: 'bgr', placement: 'topleft', padValue: 114, scale: 1 };

async function buffersOf(pool: SlotPool, width: number, pixelSlots = 3): Promise<{ pixels: Set<ArrayBufferLike>; tensors: Set<ArrayBufferLike> }> {
  const source = openCapture({ source: { type: 'test', width, height: 48, framerate: 30, numBuffers: 6 }, tensor: TENSOR, pixelSlots, tensorSlots: 2, slotPool: pool });
  const pixels = new Set<ArrayBufferLike>();
  const tensors = new Set<ArrayBufferLike>();
  try {
    let frame: CapturedFrame | null;
    while ((frame = await source.next()) !== null) {
      if (frame.pixelSlot >= 0) pixels.add(frame.pixels.buffer);
      if (frame.tensorSlot >= 0) tensors.add(frame.tensor!.buffer);
      source.releaseTensor(frame);
      source.releasePixels(frame);
    }
  } finally {
    source.close();
  }
  return { pixels, tensors };
}

test('a reopened source reuses its pool slots; another frame size or count gets new ones', async () => {
  const pool = new SlotPool();
  const first = await buffersOf(pool, 64);
  assert.ok(first.pixels.size > 0 && first.tensors.size > 0, 'frames were written into slots');
  assert.equal(pool.pixels.length, 3);
  assert.equal(pool.tensors.length, 2);
  const poolPixels = new Set(pool.pixels.map((p) => p.buffer));
  const poolTensors = new Set(pool.tensors.map((t) => t.buffer));
  const second = await buffersOf(pool, 64);
  for (const b of second.pixels) assert.ok(poolPixels.has(b), 'a reopened source allocated a new pixel slot');
  for (const b of second.tensors) assert.ok(poolTensors.has(b), 'a reopened source allocated a new tensor slot');
  // A different frame size: the pixel slots cannot be reused; the tensor slots (same tensor size) are.
  const wider = await buffersOf(pool, 96);
  for (const b of wider.pixels) assert.ok(!poolPixels.has(b), 'a slot of the wrong size was reused');
  assert.equal(pool.pixels[0]!.byteLength, 96 * 48 * 3);
  for (const b of wider.tensors) assert.ok(poolTensors.has(b));
  // Another slot count: new pixel slots again.
  const before = new Set(pool.pixels.map((p) => p.buffer));
  await buffersOf(pool, 96, 4);
  assert.equal(pool.pixels.length, 4);
  assert.ok(pool.pixels.every((p) => !before.has(p.buffer)));
});
