/**
 * The tracking worker measures the crops of the quality-ranking policies on
 * the frame's shared-memory pixels (STYLE 8; select/crop-stats.ts): with the
 * pixels, 'final-best' keeps the sharp frame; without them (no shared view)
 * it keeps the larger, featureless one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import run, { type CameraTask, type CameraWorkerInit, type SharedFrameView } from '../../src/runtime/camera-worker.js';
import type { Box, FrameDetections } from '../../src/types.js';

const W = 320;
const H = 240;

function textured(flat: boolean): SharedFrameView {
  const pixels = new Uint8Array(new SharedArrayBuffer(W * H * 3));
  let s = 99;
  for (let i = 0; i < W * H; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const v = flat ? 128 : 60 + (s % 120);
    pixels.fill(v, 3 * i, 3 * i + 3);
  }
  return { width: W, height: H, stride: W * 3, format: 'BGR', pixels };
}

function frame(k: number, w: number): FrameDetections {
  const box: Box = { cx: 160, cy: 120, w, h: w, angle: 0, classId: 2, label: 'car', score: 0.9 };
  return { cameraId: `q-${k}`, imageId: k, timestampNs: BigInt(k) * 100_000_000n, exposureMode: 'manual', cameraPosition: null, width: W, height: H, boxes: [box] };
}

function selectedImage(withPixels: boolean, cameraId: string): number[] {
  const init: CameraWorkerInit = { cameraId, tracker: { frameRate: 10 }, policy: 'final-best', policyOptions: {}, calibration: null, trackIdFloor: 1 };
  const sharp = textured(false);
  const flat = textured(true);
  const sent: number[] = [];
  const widths = [60, 63, 66, 70];
  for (const [k, w] of widths.entries()) {
    const image = k === 3 ? flat : sharp;
    const task: CameraTask = { op: 'frame', init, detections: { ...frame(k, w), cameraId }, ...(withPixels ? { image } : {}) };
    for (const d of run(task).decisions) sent.push(d.imageId);
  }
  for (const d of run({ op: 'flush', init }).decisions) sent.push(d.imageId);
  run({ op: 'drop-state', init });
  return sent;
}

test("the worker reads the crops from the shared frame: 'final-best' keeps the sharp frame 2 over the flat, larger frame 3", () => {
  assert.deepEqual(selectedImage(true, 'with-pixels'), [2]);
  assert.deepEqual(selectedImage(false, 'without-pixels'), [3]);
});
