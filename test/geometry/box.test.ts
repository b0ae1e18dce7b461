/** The one box geometry (D1 NMS, T2 matching, S3, W1): IoU known cases, an independent Monte Carlo estimate of the rotated overlap, corners. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type OrientedBox, alignAngle, boxCorners, boxIou, clipPolygon, iouAxisAligned, polygonArea } from '../../src/geometry/box.js';

const box = (cx: number, cy: number, w: number, h: number, angle = 0): OrientedBox => ({ cx, cy, w, h, angle });

test('T2 rotated IoU: known cases', () => {
  // A square and the same square turned 45°: the overlap is a regular octagon, IoU = 1/√2.
  assert.ok(Math.abs(boxIou(box(0, 0, 2, 2), box(0, 0, 2, 2, Math.PI / 4)) - Math.SQRT1_2) < 1e-12);
  // A 4×2 box turned 90° is a 2×4 box; overlap 2×2 = 4 of union 12.
  assert.ok(Math.abs(boxIou(box(5, 5, 4, 2, Math.PI / 2), box(5, 5, 4, 2)) - 4 / 12) < 1e-12);
  // … and equals the axis-aligned 2×4 box exactly.
  assert.ok(Math.abs(boxIou(box(5, 5, 4, 2, Math.PI / 2), box(5, 5, 2, 4)) - 1) < 1e-12);
  // Identical oriented boxes; disjoint boxes.
  assert.ok(Math.abs(boxIou(box(1, 2, 3, 1, 0.3), box(1, 2, 3, 1, 0.3)) - 1) < 1e-12);
  assert.equal(boxIou(box(0, 0, 2, 2, 0.5), box(10, 0, 2, 2, 0.2)), 0);
  // Axis-aligned closed form: half-overlapping unit boxes, IoU 1/3.
  assert.ok(Math.abs(boxIou(box(0, 0, 2, 2), box(1, 0, 2, 2)) - 1 / 3) < 1e-12);
  // Thin boxes crossing as an X: their bounding boxes coincide, their overlap is tiny.
  const iou = boxIou(box(0, 0, 100, 4, Math.PI / 4), box(0, 0, 100, 4, -Math.PI / 4));
  assert.ok(Math.abs(iou - 16 / (800 - 16)) < 1e-9, String(iou));
});

test('T2 rotated IoU agrees with a Monte Carlo estimate on random pairs', () => {
  let s = 1;
  const r = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const inside = (b: OrientedBox, x: number, y: number): boolean => {
    // Rotate the point into the box frame (inverse of boxCorners' rotation).
    const c = Math.cos(b.angle);
    const sn = Math.sin(b.angle);
    const dx = x - b.cx;
    const dy = y - b.cy;
    const u = dx * c - dy * sn;
    const v = dx * sn + dy * c;
    return Math.abs(u) <= b.w / 2 && Math.abs(v) <= b.h / 2;
  };
  for (let trial = 0; trial < 20; trial++) {
    const a = box(r() * 4, r() * 4, 2 + r() * 4, 1 + r() * 3, (r() - 0.5) * 3);
    const b = box(r() * 4, r() * 4, 2 + r() * 4, 1 + r() * 3, (r() - 0.5) * 3);
    let inA = 0;
    let inB = 0;
    let both = 0;
    const N = 40000;
    for (let k = 0; k < N; k++) {
      const x = -4 + r() * 12;
      const y = -4 + r() * 12;
      const pa = inside(a, x, y);
      const pb = inside(b, x, y);
      if (pa) inA++;
      if (pb) inB++;
      if (pa && pb) both++;
    }
    const mc = both / (inA + inB - both);
    assert.ok(Math.abs(boxIou(a, b) - mc) < 0.03, `trial ${trial}: ${boxIou(a, b)} vs Monte Carlo ${mc}`);
  }
});

test('polygon clipping: area of the corners and of a clipped triangle', () => {
  assert.ok(Math.abs(Math.abs(polygonArea(boxCorners(box(3, 3, 4, 2, 1.1)))) - 8) < 1e-12);
  // Triangle (0,0),(4,0),(0,4) clipped by the unit-offset square [1,3]²: area of the part below x+y=4.
  const tri = [0, 0, 4, 0, 0, 4];
  const sq = [1, 1, 3, 1, 3, 3, 1, 3];
  assert.ok(Math.abs(Math.abs(polygonArea(clipPolygon(tri, sq))) - (4 - 2)) < 1e-12);
});

test('alignAngle picks the equivalent representation nearest the reference angle', () => {
  const b = alignAngle(box(0, 0, 10, 4, -Math.PI / 2 + 0.05), Math.PI / 2 - 0.05);
  assert.ok(Math.abs(b.angle - (Math.PI / 2 + 0.05)) < 1e-12);
  assert.deepEqual([b.w, b.h], [10, 4]);
  const c = alignAngle(box(0, 0, 10, 4, 0.1), Math.PI / 2);
  assert.ok(Math.abs(c.angle - (0.1 + Math.PI / 2)) < 1e-12);
  assert.deepEqual([c.w, c.h], [4, 10]);
  assert.ok(Math.abs(boxIou(c, box(0, 0, 10, 4, 0.1)) - 1) < 1e-9, 'same box');
});

const close = (a: number, e: number): void => assert.ok(Math.abs(a - e) < 1e-9, `${a} ≠ ${e}`);

test('D1 axis-aligned IoU: identical 1, half overlap 1/3, touching 0', () => {
  close(iouAxisAligned(box(0, 0, 2, 2), box(0, 0, 2, 2)), 1);
  close(iouAxisAligned(box(0, 0, 2, 2), box(1, 0, 2, 2)), 1 / 3);
  close(iouAxisAligned(box(0, 0, 2, 2), box(2, 0, 2, 2)), 0);
});

test('D1 rotated IoU: a 20×10 box turned 90° → 1/3; equals axis-aligned IoU at angle 0; symmetric', () => {
  close(boxIou(box(0, 0, 20, 10, 0.3), box(0, 0, 20, 10, 0.3 + Math.PI / 2)), 1 / 3);
  close(boxIou(box(0, 0, 4, 2, 1e-12), box(1, 0.5, 4, 2)), iouAxisAligned(box(0, 0, 4, 2), box(1, 0.5, 4, 2)));
  const p = box(3, 4, 10, 6, 0.4);
  const q = box(5, 3, 8, 8, -0.7);
  close(boxIou(p, q), boxIou(q, p));
});

test('D1 corners turn counter-clockwise on screen (image y points down)', () => {
  // A +90° turn points the width axis up the screen: the corner at local (+w/2, −h/2) of a 2×0 box is (0, −1).
  const c = boxCorners(box(0, 0, 2, 0, Math.PI / 2));
  close(c[2]!, 0);
  close(c[3]!, -1);
});

test('D1 convex clipping: a unit square inside a larger one, either orientation', () => {
  const unit = [0, 0, 1, 0, 1, 1, 0, 1];
  const big = [-1, -1, 2, -1, 2, 2, -1, 2];
  close(Math.abs(polygonArea(clipPolygon(unit, big))), 1);
  close(Math.abs(polygonArea(clipPolygon(big, [0, 1, 1, 1, 1, 0, 0, 0]))), 1);
});
