/**
 * Model manifest (D1): the JSON file next to a model that says how to feed it
 * and how to read its output. Validated at load; a manifest that does not
 * describe its model is refused before any frame is processed.
 */
import { readFileSync } from 'node:fs';
import { ModelError } from '../errors.js';

/** Output layouts the decoders understand (D1). */
export type OutputFormat = 'yolox' | 'yolov5' | 'yolov8' | 'yolov8-obb' | 'end2end';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['yolox', 'yolov5', 'yolov8', 'yolov8-obb', 'end2end'];

export interface ManifestInput {
  /** Input tensor name in the ONNX graph. */
  name: string;
  width: number;
  height: number;
  /** Batch size the graph was exported with; 'dynamic' when the batch dimension is symbolic. */
  batch: number | 'dynamic';
  /** Only planar NCHW float32 is supported. */
  layout: 'NCHW';
  channelOrder: 'bgr' | 'rgb';
  /** Multiplier applied to 0..255 pixel values: 1 (YOLOX) or 1/255 (Ultralytics). */
  scale: number;
  /** Letterbox pad value on the 0..255 scale: 114 for YOLOX and Ultralytics. */
  padValue: number;
  /** 'topleft' (YOLOX) or 'center' (Ultralytics). */
  placement: 'topleft' | 'center';
}

export interface ManifestOutput {
  /** Output tensor name in the ONNX graph. */
  name: string;
  format: OutputFormat;
  /** Grid strides of a 'yolox' head; default [8, 16, 32]. */
  strides: number[];
}

export interface ManifestThresholds {
  /** Minimum score a box needs (score = max class probability, × objectness where the model has one). */
  score: number;
  /** IoU above which the lower-scoring box of the same class is suppressed. */
  nms: number;
}

export interface ModelManifest {
  name: string;
  description?: string;
  /** Model file name, resolved next to the manifest or in models/. */
  file: string;
  /** Upstream download URL (informational; scripts/fetch-model.sh uses it). */
  url?: string;
  /** Accepted lowercase hex sha256 digests of the model file; empty: not checked. */
  sha256: string[];
  input: ManifestInput;
  output: ManifestOutput;
  /** Class names in class-id order. */
  classes: string[];
  thresholds: ManifestThresholds;
}

function fail(source: string, path: string, message: string): never {
  throw new ModelError(`Invalid model manifest ${source}: ${path} ${message}`, 'ERR_MODEL');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(source: string, path: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) fail(source, path ? `${path}.${k}` : k, 'is not a known key');
  }
}

function str(source: string, path: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) fail(source, path, 'must be a non-empty string');
  return v;
}

function posInt(source: string, path: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(source, path, 'must be a positive integer');
  return v;
}

function unit(source: string, path: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(source, path, 'must be a number between 0 and 1');
  return v;
}

function oneOf<T extends string>(source: string, path: string, v: unknown, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) fail(source, path, `must be one of ${values.map((x) => `'${x}'`).join(', ')}`);
  return v as T;
}

/**
 * Validate a parsed manifest. `source` names it in messages (a file path).
 * Unknown keys are rejected so a typo never silently falls back to a default.
 */
export function validateManifest(value: unknown, source = 'manifest'): ModelManifest {
  if (!isObject(value)) fail(source, '(root)', 'must be an object');
  checkKeys(source, '', value, ['name', 'description', 'file', 'url', 'sha256', 'input', 'output', 'classes', 'thresholds']);
  const name = str(source, 'name', value.name);
  const description = value.description === undefined ? undefined : str(source, 'description', value.description);
  const file = str(source, 'file', value.file);
  const url = value.url === undefined ? undefined : str(source, 'url', value.url);
  const shaRaw = value.sha256 ?? [];
  if (!Array.isArray(shaRaw)) fail(source, 'sha256', 'must be an array of sha256 hex digests');
  const sha256 = shaRaw.map((d: unknown, i) => {
    if (typeof d !== 'string' || !/^[0-9a-f]{64}$/.test(d)) fail(source, `sha256[${i}]`, 'must be 64 lowercase hex digits');
    return d;
  });

  const inp = value.input;
  if (!isObject(inp)) fail(source, 'input', 'must be an object');
  checkKeys(source, 'input', inp, ['name', 'width', 'height', 'batch', 'layout', 'channelOrder', 'scale', 'padValue', 'placement']);
  const batchRaw = inp.batch ?? 1;
  const batch = batchRaw === 'dynamic' ? 'dynamic' : posInt(source, 'input.batch', batchRaw);
  const scale = inp.scale;
  if (typeof scale !== 'number' || !(scale > 0)) fail(source, 'input.scale', 'must be a positive number');
  const padValue = inp.padValue;
  if (typeof padValue !== 'number' || !(padValue >= 0 && padValue <= 255)) fail(source, 'input.padValue', 'must be a number between 0 and 255');
  const input: ManifestInput = {
    name: str(source, 'input.name', inp.name),
    width: posInt(source, 'input.width', inp.width),
    height: posInt(source, 'input.height', inp.height),
    batch,
    layout: oneOf(source, 'input.layout', inp.layout ?? 'NCHW', ['NCHW'] as const),
    channelOrder: oneOf(source, 'input.channelOrder', inp.channelOrder, ['bgr', 'rgb'] as const),
    scale,
    padValue,
    placement: oneOf(source, 'input.placement', inp.placement, ['topleft', 'center'] as const),
  };

  const out = value.output;
  if (!isObject(out)) fail(source, 'output', 'must be an object');
  checkKeys(source, 'output', out, ['name', 'format', 'strides']);
  const stridesRaw = out.strides ?? [8, 16, 32];
  if (!Array.isArray(stridesRaw) || stridesRaw.length === 0) fail(source, 'output.strides', 'must be a non-empty array of positive integers');
  const strides = stridesRaw.map((s: unknown, i) => posInt(source, `output.strides[${i}]`, s));
  const output: ManifestOutput = {
    name: str(source, 'output.name', out.name),
    format: oneOf(source, 'output.format', out.format, OUTPUT_FORMATS),
    strides,
  };
  if (output.format === 'yolox') {
    for (const s of strides) {
      if (input.width % s !== 0 || input.height % s !== 0) fail(source, 'output.strides', `must divide the input size ${input.width}x${input.height}`);
    }
  }

  const classesRaw = value.classes;
  if (!Array.isArray(classesRaw) || classesRaw.length === 0) fail(source, 'classes', 'must be a non-empty array of class names');
  const classes = classesRaw.map((c: unknown, i) => str(source, `classes[${i}]`, c));
  const seen = new Set<string>();
  for (const c of classes) {
    if (seen.has(c)) fail(source, 'classes', `has the duplicate name '${c}'`);
    seen.add(c);
  }

  const th = value.thresholds ?? {};
  if (!isObject(th)) fail(source, 'thresholds', 'must be an object');
  checkKeys(source, 'thresholds', th, ['score', 'nms']);
  const thresholds: ManifestThresholds = {
    score: unit(source, 'thresholds.score', th.score ?? 0.3),
    nms: unit(source, 'thresholds.nms', th.nms ?? 0.45),
  };
  return { name, description, file, url, sha256, input, output, classes, thresholds };
}

/** Read and validate a manifest file. */
export function loadManifest(path: string): ModelManifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModelError(`Model manifest not found: ${path}`, 'ERR_MODEL_NOT_FOUND', { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ModelError(`Invalid model manifest ${path}: not valid JSON (${(err as Error).message})`, 'ERR_MODEL', { cause: err });
  }
  return validateManifest(parsed, path);
}
