/**
 * Output decoders (D1): pure functions from one image's raw output tensor to
 * candidate boxes in model-input pixels, before NMS. Each keeps, per anchor,
 * the class with the maximum probability; score = that probability, times the
 * objectness for heads that have one (YOLOX, YOLOv5 — as their upstream
 * post-processing does). A candidate survives when its score reaches the
 * threshold of its class (`minScore[classId]`; Infinity excludes a class).
 */
import { invalidParameterError, numberOption } from '../errors.js';
import type { Box } from '../types.js';
import type { LetterboxInfo } from './letterbox.js';
import type { ModelManifest, OutputFormat } from './manifest.js';

/** A box's fields in model-input pixels, before the letterbox is undone and the label is looked up. */
export type Candidate = Omit<Box, 'label'>;

export interface DecodeOptions {
  numClasses: number;
  /** Per-class minimum score, length numClasses; Infinity drops the class (class filter). */
  minScore: Float32Array;
  /** Model input size (YOLOX grid decode). */
  inputWidth: number;
  inputHeight: number;
  /** YOLOX grid strides, default [8, 16, 32]. */
  strides?: readonly number[];
}

function lowest(minScore: Float32Array): number {
  let m = Infinity;
  for (let i = 0; i < minScore.length; i++) if (minScore[i]! < m) m = minScore[i]!;
  return m;
}

/** Number of anchors a YOLOX head has at this input size. */
export function yoloxAnchorCount(inputWidth: number, inputHeight: number, strides: readonly number[]): number {
  let n = 0;
  for (const s of strides) n += (inputWidth / s) * (inputHeight / s);
  return n;
}

/** Index of the largest of the C class probabilities stored from `offset` (the first on ties). */
function argmaxClass(data: Float32Array, offset: number, C: number): number {
  let best = 0;
  let bestP = data[offset]!;
  for (let c = 1; c < C; c++) {
    const p = data[offset + c]!;
    if (p > bestP) {
      bestP = p;
      best = c;
    }
  }
  return best;
}

/**
 * YOLOX: [N, 5+C] raw head output, rows in grid order (stride by stride, x
 * fastest): x, y offsets in grid cells, log w, log h, objectness, C class
 * probabilities (sigmoid already applied by the exported head).
 * cx = (x + gx)·s, cy = (y + gy)·s, w = e^lw·s, h = e^lh·s.
 */
export function decodeYolox(data: Float32Array, opts: DecodeOptions): Candidate[] {
  const C = opts.numClasses;
  const K = 5 + C;
  const strides = opts.strides ?? [8, 16, 32];
  const floor = lowest(opts.minScore);
  const out: Candidate[] = [];
  let row = 0;
  for (const s of strides) {
    const gw = opts.inputWidth / s;
    const gh = opts.inputHeight / s;
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++, row += K) {
        const obj = data[row + 4]!;
        if (obj < floor) continue; // obj × cls ≤ obj
        const best = argmaxClass(data, row + 5, C);
        const score = obj * data[row + 5 + best]!;
        if (!(score >= opts.minScore[best]!)) continue;
        out.push({
          cx: (data[row]! + gx) * s,
          cy: (data[row + 1]! + gy) * s,
          w: Math.exp(data[row + 2]!) * s,
          h: Math.exp(data[row + 3]!) * s,
          angle: 0,
          classId: best,
          score,
        });
      }
    }
  }
  return out;
}

/** YOLOv5: [N, 5+C] rows: cx, cy, w, h (input px), objectness, C class probabilities. */
export function decodeYolov5(data: Float32Array, rows: number, opts: DecodeOptions): Candidate[] {
  const C = opts.numClasses;
  const K = 5 + C;
  const floor = lowest(opts.minScore);
  const out: Candidate[] = [];
  for (let i = 0, row = 0; i < rows; i++, row += K) {
    const obj = data[row + 4]!;
    if (obj < floor) continue;
    const best = argmaxClass(data, row + 5, C);
    const score = obj * data[row + 5 + best]!;
    if (!(score >= opts.minScore[best]!)) continue;
    out.push({ cx: data[row]!, cy: data[row + 1]!, w: data[row + 2]!, h: data[row + 3]!, angle: 0, classId: best, score });
  }
  return out;
}

/**
 * YOLOv8 / YOLO11 detect: [4+C, N], channel-major: cx, cy, w, h (input px),
 * then C class probabilities; no objectness. With `obb`, one more channel
 * after the classes holds the angle in radians (Ultralytics' xywhr, which
 * turns clockwise on screen); the candidate's angle is its negation so it
 * follows the SPEC's counter-clockwise convention.
 */
export function decodeYolov8(data: Float32Array, anchors: number, opts: DecodeOptions, obb = false): Candidate[] {
  const C = opts.numClasses;
  const N = anchors;
  const floor = lowest(opts.minScore);
  const out: Candidate[] = [];
  for (let i = 0; i < N; i++) {
    let best = 0;
    let bestP = data[4 * N + i]!;
    for (let c = 1; c < C; c++) {
      const p = data[(4 + c) * N + i]!;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (bestP < floor || !(bestP >= opts.minScore[best]!)) continue;
    const angle = obb ? 0 - data[(4 + C) * N + i]! : 0; // 0 - x: never -0
    out.push({ cx: data[i]!, cy: data[N + i]!, w: data[2 * N + i]!, h: data[3 * N + i]!, angle, classId: best, score: bestP });
  }
  return out;
}

/**
 * End-to-end heads with NMS inside. `cols` 6: x1, y1, x2, y2, score, class
 * (Ultralytics YOLOv10/YOLO26, RT-DETR-style exports); `cols` 7: batch, x1,
 * y1, x2, y2, class, score (YOLOv7 `--end2end` ONNX Runtime export) — only
 * rows of `batchIndex` are kept. Padding rows (score 0) fall under any
 * threshold. The class ids must lie in 0..C-1; others are dropped.
 */
export function decodeEnd2End(data: Float32Array, rows: number, cols: 6 | 7, opts: DecodeOptions, batchIndex = 0): Candidate[] {
  const C = opts.numClasses;
  const out: Candidate[] = [];
  for (let i = 0, r = 0; i < rows; i++, r += cols) {
    let x1: number, y1: number, x2: number, y2: number, score: number, cls: number;
    if (cols === 6) {
      [x1, y1, x2, y2, score, cls] = [data[r]!, data[r + 1]!, data[r + 2]!, data[r + 3]!, data[r + 4]!, data[r + 5]!];
    } else {
      if (data[r] !== batchIndex) continue;
      [x1, y1, x2, y2, cls, score] = [data[r + 1]!, data[r + 2]!, data[r + 3]!, data[r + 4]!, data[r + 5]!, data[r + 6]!];
    }
    const classId = Math.round(cls);
    if (!(classId >= 0 && classId < C)) continue;
    if (!(score >= opts.minScore[classId]!)) continue;
    out.push({ cx: (x1 + x2) / 2, cy: (y1 + y2) / 2, w: x2 - x1, h: y2 - y1, angle: 0, classId, score });
  }
  return out;
}

/** Whether boxes of this format still need NMS. */
export function needsNms(format: OutputFormat): boolean {
  return format !== 'end2end';
}

/** Per-class minimum scores from the options (D1 class filter and per-class thresholds). */
export function buildMinScore(
  classes: readonly string[],
  scoreThreshold: number,
  only?: readonly string[],
  perClass?: Readonly<Record<string, number>>,
): Float32Array {
  const min = new Float32Array(classes.length).fill(scoreThreshold);
  const known = (label: string, option: string): number => {
    const i = classes.indexOf(label);
    if (i < 0) throw invalidParameterError(`a class name of the model (${classes.slice(0, 8).join(', ')}, …)`, option, label);
    return i;
  };
  if (only !== undefined) {
    if (!Array.isArray(only)) throw invalidParameterError('array of class names', 'classes', only);
    min.fill(Infinity);
    for (const label of only) min[known(label, 'classes')] = scoreThreshold;
  }
  if (perClass !== undefined) {
    for (const [label, t] of Object.entries(perClass)) {
      const i = known(label, `classThresholds.${label}`);
      numberOption(`classThresholds.${label}`, t, 0, 'number between 0 and 1', (x) => x >= 0 && x <= 1);
      if (min[i] !== Infinity) min[i] = t;
    }
  }
  return min;
}

/** Decode one image's output (any format) into candidates in model-input pixels. */
export function decodeOutput(m: ModelManifest, data: Float32Array, dims: readonly number[], minScore: Float32Array, batchIndex = 0): Candidate[] {
  const opts: DecodeOptions = { numClasses: m.classes.length, minScore, inputWidth: m.input.width, inputHeight: m.input.height, strides: m.output.strides };
  switch (m.output.format) {
    case 'yolox':
      return decodeYolox(data, opts);
    case 'yolov5':
      return decodeYolov5(data, dims[dims.length - 2]!, opts);
    case 'yolov8':
      return decodeYolov8(data, dims[dims.length - 1]!, opts, false);
    case 'yolov8-obb':
      return decodeYolov8(data, dims[dims.length - 1]!, opts, true);
    case 'end2end': {
      const cols = dims[dims.length - 1]!;
      return decodeEnd2End(data, dims[dims.length - 2]!, cols === 7 ? 7 : 6, opts, batchIndex);
    }
  }
}

/** Map a candidate from model-input pixels back to frame pixels (undo the letterbox). */
export function toFrameBox(c: Candidate, lb: LetterboxInfo, classes: readonly string[]): Box {
  return {
    cx: (c.cx - lb.padX) / lb.ratio,
    cy: (c.cy - lb.padY) / lb.ratio,
    w: c.w / lb.ratio,
    h: c.h / lb.ratio,
    angle: c.angle,
    classId: c.classId,
    label: classes[c.classId]!,
    score: c.score,
  };
}
