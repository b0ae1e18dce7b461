/**
 * The model against its manifest (D1): a session's input and output names,
 * types and shapes compared with what the manifest promises, so a wrong
 * model fails at load with what differs, not with garbage boxes later.
 */
import type * as ort from 'onnxruntime-node';
import { ModelError } from '../errors.js';
import { yoloxAnchorCount } from './decode.js';
import type { ModelManifest } from './manifest.js';

function fmtShape(shape: ReadonlyArray<number | string | null>): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}

/** Expected output shape for a manifest; null = any size. Alternatives for end2end. */
export function expectedOutputShapes(m: ModelManifest): Array<Array<number | null>> {
  const C = m.classes.length;
  const B = m.input.batch === 'dynamic' ? null : m.input.batch;
  switch (m.output.format) {
    case 'yolox':
      return [[B, yoloxAnchorCount(m.input.width, m.input.height, m.output.strides), 5 + C]];
    case 'yolov5':
      return [[B, null, 5 + C]];
    case 'yolov8':
      return [[B, 4 + C, null]];
    case 'yolov8-obb':
      return [[B, 5 + C, null]];
    case 'end2end':
      return [[B, null, 6], [B, null, 7], [null, 7]];
  }
}

function shapeMatches(actual: ReadonlyArray<number | string>, expected: ReadonlyArray<number | null>): boolean {
  if (actual.length !== expected.length) return false;
  // A symbolic (dynamic) model dimension accepts any expected size.
  return expected.every((e, i) => e === null || typeof actual[i] === 'string' || actual[i] === e);
}

/**
 * Compare a session's inputs/outputs with the manifest; throws ModelError
 * ERR_MODEL_MISMATCH naming what differs.
 */
export function checkModelAgainstManifest(
  modelPath: string,
  manifestName: string,
  m: ModelManifest,
  inputs: readonly ort.InferenceSession.ValueMetadata[],
  outputs: readonly ort.InferenceSession.ValueMetadata[],
): void {
  const prefix = `Model ${modelPath} does not match manifest '${manifestName}':`;
  const inp = inputs.find((i) => i.name === m.input.name);
  if (!inp) throw new ModelError(`${prefix} it has no input '${m.input.name}' (inputs: ${inputs.map((i) => i.name).join(', ')})`, 'ERR_MODEL_MISMATCH');
  if (!inp.isTensor || inp.type !== 'float32') {
    throw new ModelError(`${prefix} input '${inp.name}' is ${inp.isTensor ? inp.type : 'not a tensor'}, manifest expects float32`, 'ERR_MODEL_MISMATCH');
  }
  const batch = m.input.batch === 'dynamic' ? null : m.input.batch;
  const inExpected = [batch, 3, m.input.height, m.input.width];
  if (!shapeMatches(inp.shape, inExpected)) {
    throw new ModelError(
      `${prefix} input '${inp.name}' shape is ${fmtShape(inp.shape)}, manifest expects ${fmtShape(inExpected)} (NCHW, batch ${m.input.batch}, ${m.input.width}x${m.input.height})`,
      'ERR_MODEL_MISMATCH',
    );
  }
  if (m.input.batch === 'dynamic' && typeof inp.shape[0] === 'number') {
    throw new ModelError(`${prefix} input '${inp.name}' has fixed batch ${inp.shape[0]}, manifest says dynamic`, 'ERR_MODEL_MISMATCH');
  }
  const out = outputs.find((o) => o.name === m.output.name);
  if (!out) throw new ModelError(`${prefix} it has no output '${m.output.name}' (outputs: ${outputs.map((o) => o.name).join(', ')})`, 'ERR_MODEL_MISMATCH');
  if (!out.isTensor || out.type !== 'float32') {
    throw new ModelError(`${prefix} output '${out.name}' is ${out.isTensor ? out.type : 'not a tensor'}, manifest expects float32`, 'ERR_MODEL_MISMATCH');
  }
  const alternatives = expectedOutputShapes(m);
  if (!alternatives.some((e) => shapeMatches(out.shape, e))) {
    throw new ModelError(
      `${prefix} output '${out.name}' shape is ${fmtShape(out.shape)}, manifest (format '${m.output.format}', ${m.classes.length} classes, ${m.input.width}x${m.input.height}) expects ${alternatives.map(fmtShape).join(' or ')}`,
      'ERR_MODEL_MISMATCH',
    );
  }
}
