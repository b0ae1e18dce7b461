/**
 * The simulated camera's world (A6): a road seen from the side, a static
 * textured background, and objects (cars, trucks, bicycles, pedestrians)
 * moving at constant velocity with known boxes. Pure geometry and
 * reflectances; no exposure here (see render.ts).
 *
 * Reflectances are linear, 0..1, in B, G, R order. An object that leaves the
 * image re-enters on the other side as a new pass (`pass` counts re-entries),
 * so a scenario runs forever and every pass is a distinct ground-truth object.
 */
import { invalidParameterError, outOfRangeError } from '../../errors.js';
import type { Box } from '../../types.js';

export type SimObjectClass = 'car' | 'truck' | 'bicycle' | 'pedestrian';
export const SIM_CLASSES: readonly SimObjectClass[] = ['car', 'truck', 'bicycle', 'pedestrian'];

/** One moving object of a scenario. */
export interface SimObjectSpec {
  /** Stable id of the object; ground truth reports it with the pass number. */
  id: number;
  cls: SimObjectClass;
  /** Box centre at scene time 0, px. */
  x: number;
  y: number;
  /** Velocity, px/s (image plane). */
  vx: number;
  vy: number;
  /** Box size, px. Default: a per-class size scaled to the image. */
  w?: number;
  h?: number;
  /** Main colour, linear reflectance 0..1 in B, G, R order. Default: from the seed. */
  color?: readonly [number, number, number];
}

/** Ground truth of one object in one frame (box at the exposure midpoint). */
export interface GroundTruthObject {
  id: number;
  /** Re-entries of this object since scene time 0 (distinct objects for a tracker). */
  pass: number;
  cls: SimObjectClass;
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** Fraction of the box inside the image, 0..1 (clipping at the borders). */
  inFrame: number;
  /** Fraction of the box hidden behind nearer objects' boxes, 0..1. */
  occluded: number;
  /** Speed in the image plane, px/s. */
  speedPxPerS: number;
  vx: number;
  vy: number;
}

/** Margin outside the image an object travels before re-entering, px. */
const WRAP_MARGIN = 40;

/** Layout of the road scene as fractions of the image height. */
export const LAYOUT = { skyEnd: 0.3, verge: 0.48, roadTop: 0.53, roadBottom: 0.9 } as const;

export function laneCenterY(height: number, lane: number): number {
  const top = LAYOUT.roadTop * height;
  const laneH = ((LAYOUT.roadBottom - LAYOUT.roadTop) * height) / 4;
  return top + (lane + 0.5) * laneH;
}

/** Default size of a class at a given image size (a 640×360 car is about 90×40 px). */
export function defaultSize(cls: SimObjectClass, width: number, height: number): { w: number; h: number } {
  switch (cls) {
    case 'car':
      return { w: 0.14 * width, h: 0.11 * height };
    case 'truck':
      return { w: 0.24 * width, h: 0.19 * height };
    case 'bicycle':
      return { w: 0.065 * width, h: 0.13 * height };
    case 'pedestrian':
      return { w: 0.03 * width, h: 0.14 * height };
  }
}

/** The default traffic: four lanes, both directions, plus cyclists and pedestrians. */
export function defaultObjects(width: number, height: number): SimObjectSpec[] {
  const sx = width / 640;
  const sy = height / 360;
  const L = (lane: number, cls: SimObjectClass): number => laneCenterY(height, lane) - 0.35 * defaultSize(cls, width, height).h;
  return [
    { id: 1, cls: 'car', x: 0.75 * width, y: L(0, 'car'), vx: -180 * sx, vy: 0 },
    { id: 2, cls: 'truck', x: 0.3 * width, y: L(1, 'truck'), vx: -120 * sx, vy: 0 },
    { id: 3, cls: 'car', x: 0.2 * width, y: L(2, 'car'), vx: 250 * sx, vy: 0 },
    { id: 4, cls: 'car', x: 0.6 * width, y: L(3, 'car'), vx: 320 * sx, vy: 0 },
    { id: 5, cls: 'bicycle', x: 0.45 * width, y: L(3, 'bicycle') + 4 * sy, vx: 90 * sx, vy: 0 },
    { id: 6, cls: 'pedestrian', x: 0.15 * width, y: 0.93 * height, vx: 40 * sx, vy: 0 },
    { id: 7, cls: 'pedestrian', x: 0.85 * width, y: 0.95 * height, vx: -35 * sx, vy: 0 },
    { id: 8, cls: 'pedestrian', x: 0.55 * width, y: 0.47 * height, vx: 30 * sx, vy: 0 },
    { id: 9, cls: 'pedestrian', x: 0.9 * width, y: 0.7 * height, vx: 0, vy: 35 * sy },
  ];
}

export function validateObjects(objects: unknown): SimObjectSpec[] {
  if (!Array.isArray(objects)) throw invalidParameterError('array', 'objects', objects);
  const ids = new Set<number>();
  return objects.map((o: unknown, i) => {
    if (o === null || typeof o !== 'object') throw invalidParameterError('object', `objects[${i}]`, o);
    const s = o as Record<string, unknown>;
    if (typeof s.id !== 'number' || !Number.isInteger(s.id) || s.id < 0) {
      throw invalidParameterError('non-negative integer', `objects[${i}].id`, s.id);
    }
    if (ids.has(s.id)) throw outOfRangeError('unique id', `objects[${i}].id`, s.id);
    ids.add(s.id);
    if (typeof s.cls !== 'string' || !SIM_CLASSES.includes(s.cls as SimObjectClass)) {
      throw invalidParameterError(`one of ${SIM_CLASSES.map((c) => `'${c}'`).join(', ')}`, `objects[${i}].cls`, s.cls);
    }
    for (const k of ['x', 'y', 'vx', 'vy'] as const) {
      if (typeof s[k] !== 'number' || !Number.isFinite(s[k])) throw invalidParameterError('finite number', `objects[${i}].${k}`, s[k]);
    }
    for (const k of ['w', 'h'] as const) {
      if (s[k] !== undefined && (typeof s[k] !== 'number' || !((s[k] as number) >= 2))) {
        throw invalidParameterError('number >= 2', `objects[${i}].${k}`, s[k]);
      }
    }
    return o as SimObjectSpec;
  });
}

/** Position of an object at scene time tS: wrapped into the image plus margins. */
export function objectPosition(
  spec: SimObjectSpec,
  w: number,
  h: number,
  width: number,
  height: number,
  tS: number,
): { cx: number; cy: number; pass: number } {
  let cx = spec.x + spec.vx * tS;
  let cy = spec.y + spec.vy * tS;
  let pass = 0;
  if (spec.vx !== 0) {
    const lo = -w / 2 - WRAP_MARGIN;
    const span = width + w + 2 * WRAP_MARGIN;
    const k = Math.floor((cx - lo) / span);
    cx -= k * span;
    pass = Math.abs(k);
  }
  if (spec.vy !== 0) {
    const lo = -h / 2 - WRAP_MARGIN;
    const span = height + h + 2 * WRAP_MARGIN;
    const k = Math.floor((cy - lo) / span);
    cy -= k * span;
    pass = Math.max(pass, Math.abs(k));
  }
  return { cx, cy, pass };
}

/** Fraction of a box inside the image. */
export function inFrameFraction(cx: number, cy: number, w: number, h: number, width: number, height: number): number {
  if (cx - w / 2 >= 0 && cy - h / 2 >= 0 && cx + w / 2 <= width && cy + h / 2 <= height) return 1;
  const ix = Math.max(0, Math.min(cx + w / 2, width) - Math.max(cx - w / 2, 0));
  const iy = Math.max(0, Math.min(cy + h / 2, height) - Math.max(cy - h / 2, 0));
  return (ix * iy) / (w * h);
}

/** Seeded PRNG (mulberry32): deterministic scenes and noise. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** COCO class ids/labels of the simulated classes (what YOLO-family models output). */
export const COCO_CLASS: Readonly<Record<SimObjectClass, { classId: number; label: string }>> = {
  pedestrian: { classId: 0, label: 'person' },
  bicycle: { classId: 1, label: 'bicycle' },
  car: { classId: 2, label: 'car' },
  truck: { classId: 7, label: 'truck' },
};

/**
 * Ground truth as detection boxes (data model "Detection box", score 1),
 * clipped to the image, for objects at least `minInFrame` inside it.
 */
export function groundTruthBoxes(
  objects: readonly GroundTruthObject[],
  width: number,
  height: number,
  minInFrame = 0.5,
): Box[] {
  return objects
    .filter((o) => o.inFrame >= minInFrame)
    .map((o) => {
      const x0 = Math.max(0, o.cx - o.w / 2);
      const y0 = Math.max(0, o.cy - o.h / 2);
      const x1 = Math.min(width, o.cx + o.w / 2);
      const y1 = Math.min(height, o.cy + o.h / 2);
      return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, w: x1 - x0, h: y1 - y0, angle: 0, ...COCO_CLASS[o.cls], score: 1 };
    });
}
