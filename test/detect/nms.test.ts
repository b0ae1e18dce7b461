/** D1 NMS and IoU: pure functions, checked against closed-form values. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computeLetterbox, nms } from '../../src/detect/index.js';

const b = (cx: number, cy: number, w: number, h: number, angle = 0, classId = 0, score = 1) => ({ cx, cy, w, h, angle, classId, score });

describe('D1 NMS', () => {
  test('D1 class-aware: the same box in two classes survives twice; a duplicate of one class goes', () => {
    const kept = nms([b(0, 0, 10, 10, 0, 1, 0.6), b(0, 0, 10, 10, 0, 2, 0.7), b(1, 0, 10, 10, 0, 1, 0.9)], 0.45);
    assert.deepEqual(kept.map((k) => [k.classId, k.score]), [[1, 0.9], [2, 0.7]]);
  });

  test('D1 threshold is strict: IoU exactly at the threshold is kept', () => {
    assert.equal(nms([b(0, 0, 2, 2, 0, 0, 0.9), b(1, 0, 2, 2, 0, 0, 0.8)], 1 / 3).length, 2);
    assert.equal(nms([b(0, 0, 2, 2, 0, 0, 0.9), b(1, 0, 2, 2, 0, 0, 0.8)], 0.33).length, 1);
  });

  test('D1 maxDetections caps the kept boxes, best first', () => {
    const many = Array.from({ length: 10 }, (_, i) => b(i * 100, 0, 10, 10, 0, 0, i / 10));
    assert.deepEqual(nms(many, 0.5, 3).map((k) => k.score), [0.9, 0.8, 0.7]);
  });
});

describe('D1 letterbox arithmetic', () => {
  test('D1 top-left (YOLOX) and centered (Ultralytics) placement', () => {
    assert.deepEqual(computeLetterbox(640, 480, 416, 416, 'topleft'), { ratio: 0.65, padX: 0, padY: 0 });
    assert.deepEqual(computeLetterbox(640, 480, 416, 416, 'center'), { ratio: 0.65, padX: 0, padY: 52 });
  });
});
