/**
 * Non-maximum suppression (D1): class-aware greedy NMS over axis-aligned IoU,
 * or rotated IoU (convex polygon clipping) when any box has an angle. Boxes
 * use the SPEC box layout (center, size, angle counter-clockwise on screen);
 * the overlap is the one box geometry of src/geometry/box.ts.
 */
import { type OrientedBox, boxIou, iouAxisAligned } from '../geometry/box.js';

/**
 * Greedy class-aware NMS: boxes sorted by score; a box is dropped when it
 * overlaps a kept box of the same class by more than `iouThreshold`. Returns
 * the kept boxes, highest score first, at most `maxDetections`.
 */
export function nms<T extends OrientedBox & { classId: number; score: number }>(
  boxes: readonly T[],
  iouThreshold: number,
  maxDetections = Infinity,
): T[] {
  const order = [...boxes].sort((a, b) => b.score - a.score);
  const rotated = order.some((b) => b.angle !== 0);
  const iou = rotated ? boxIou : iouAxisAligned;
  const kept: T[] = [];
  for (const b of order) {
    if (kept.length >= maxDetections) break;
    let keep = true;
    for (const k of kept) {
      if (k.classId === b.classId && iou(k, b) > iouThreshold) {
        keep = false;
        break;
      }
    }
    if (keep) kept.push(b);
  }
  return kept;
}
