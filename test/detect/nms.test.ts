/** D1 NMS and IoU: pure functions, checked against closed-form values. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { boxCorners, computeLetterbox, convexIntersectionArea, iouAxisAligned, iouRotated, nms } from '../../src/detect/index.js';

const b = (cx: number, cy: number, w: number, h: number, angle = 0, classId = 0, score = 1) => ({ cx, cy, w, h, angle, classId, score });
const close = (a: number, e: number, msg?: string): void => assert.ok(Math.abs(a - e) < 1e-9, `${msg ?? ''} ${a} ≠ ${e}`);

describe('D1 IoU', () => {
  test('D1 axis-aligned IoU: identical 1, half overlap 1/3, touching 0', () => {
    close(iouAxisAligned(b(0, 0, 2, 2), b(0, 0, 2, 2)), 1);
    close(iouAxisAligned(b(0, 0, 2, 2), b(1, 0, 2, 2)), 1 / 3);
    close(iouAxisAligned(b(0, 0, 2, 2), b(2, 0, 2, 2)), 0);
  });

  test('D1 rotated IoU: a square and the same square turned 45° overlap by √2/2', () => {
    close(iouRotated(b(5, 5, 2, 2), b(5, 5, 2, 2, Math.PI / 4)), Math.SQRT2 / 2);
  });

  test('D1 rotated IoU: a 20×10 box turned 90° → 1/3; equals axis-aligned IoU at angle 0; symmetric', () => {
    close(iouRotated(b(0, 0, 20, 10, 0.3), b(0, 0, 20, 10, 0.3 + Math.PI / 2)), 1 / 3);
    close(iouRotated(b(0, 0, 4, 2, 1e-12), b(1, 0.5, 4, 2)), iouAxisAligned(b(0, 0, 4, 2), b(1, 0.5, 4, 2)));
    const p = b(3, 4, 10, 6, 0.4);
    const q = b(5, 3, 8, 8, -0.7);
    close(iouRotated(p, q), iouRotated(q, p));
    close(iouRotated(b(0, 0, 2, 2, 0.5), b(100, 0, 2, 2, 0.5)), 0);
  });

  test('D1 corners turn counter-clockwise on screen (image y points down)', () => {
    const c = boxCorners(b(0, 0, 2, 0, Math.PI / 2));
    // Width axis after a +90° turn points up the screen: (0, -1).
    close(c[0]![0], 0);
    close(c[0]![1], -1);
  });

  test('D1 convex clipping: a unit square inside a larger one', () => {
    const unit: Array<[number, number]> = [[0, 0], [1, 0], [1, 1], [0, 1]];
    const big: Array<[number, number]> = [[-1, -1], [2, -1], [2, 2], [-1, 2]];
    close(convexIntersectionArea(unit, big), 1);
    close(convexIntersectionArea(big, [...unit].reverse()), 1);
  });
});

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
