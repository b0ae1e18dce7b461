/**
 * A tiny hand-written ONNX protobuf encoder for tests: builds models whose
 * output tensor is known, so each output format can be decoded through the
 * real ONNX Runtime session and checked exactly.
 *
 * The graph: output = known + reshape(ReduceMean(input over C,H,W)) × mask.
 * With a zero mask the output is `known` for every batch row; a mask with 1
 * in one column shifts that column by the mean of that row's input, which
 * lets batching tests tell the rows apart. Rank-2 outputs (end2end [N,7])
 * are `Identity(known)`.
 */
import { writeFileSync } from 'node:fs';

// --- protobuf wire format -------------------------------------------------
function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number): number[] => varint((field << 3) | wire);
const fVarint = (field: number, n: number): number[] => [...key(field, 0), ...varint(n)];
function fBytes(field: number, bytes: ArrayLike<number>): number[] {
  return [...key(field, 2), ...varint(bytes.length), ...Array.from(bytes)];
}
const fString = (field: number, s: string): number[] => fBytes(field, Buffer.from(s, 'utf8'));

// --- ONNX messages (field numbers from onnx.proto) ------------------------
const FLOAT = 1;
const INT64 = 7;

function tensorProto(name: string, dims: readonly number[], type: number, raw: Uint8Array): number[] {
  return [...dims.flatMap((d) => fVarint(1, d)), ...fVarint(2, type), ...fString(8, name), ...fBytes(9, raw)];
}

function valueInfo(name: string, dims: ReadonlyArray<number | string>): number[] {
  const shape = dims.flatMap((d) => fBytes(1, typeof d === 'number' ? fVarint(1, d) : fString(2, d)));
  const tensorType = [...fVarint(1, FLOAT), ...fBytes(2, shape)];
  return [...fString(1, name), ...fBytes(2, fBytes(1, tensorType))];
}

type Attr = { name: string; ints: number[] } | { name: string; i: number };
function attribute(a: Attr): number[] {
  if ('ints' in a) return [...fString(1, a.name), ...fVarint(20, 7), ...a.ints.flatMap((v) => fVarint(8, v))];
  return [...fString(1, a.name), ...fVarint(20, 2), ...fVarint(3, a.i)];
}

function node(op: string, inputs: string[], outputs: string[], attrs: Attr[] = []): number[] {
  return [
    ...inputs.flatMap((s) => fString(1, s)),
    ...outputs.flatMap((s) => fString(2, s)),
    ...fString(3, `${op}_${outputs[0]}`),
    ...fString(4, op),
    ...attrs.flatMap((a) => fBytes(5, attribute(a))),
  ];
}

const f32 = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
function i64(values: number[]): Uint8Array {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigInt64LE(BigInt(v), i * 8));
  return new Uint8Array(b);
}

export interface TestModelSpec {
  inputName?: string;
  /** e.g. [1, 3, 32, 32] or ['batch', 3, 32, 32]. */
  inputShape: ReadonlyArray<number | string>;
  outputName?: string;
  /** Declared output shape (numbers or symbolic names). Default: knownDims with the batch dim from inputShape. */
  outputShape?: ReadonlyArray<number | string>;
  /** The constant part of the output: dims without batch for rank-3 outputs ([N, K] / [K, N]), or the full [N, 7] for rank 2. */
  knownDims: number[];
  known: Float32Array;
  /** Same size as `known`: where the input's per-row mean is added. Default all 0. */
  mask?: Float32Array;
}

/** Serialize an ONNX model (opset 13) as bytes. */
export function buildTestModel(spec: TestModelSpec): Uint8Array {
  const inputName = spec.inputName ?? 'images';
  const outputName = spec.outputName ?? 'output';
  const nodes: number[][] = [];
  const inits: number[][] = [];
  let outputShape: ReadonlyArray<number | string>;
  if (spec.knownDims.length === 2 && spec.knownDims[1] === 7 && spec.outputShape?.length === 2) {
    inits.push(tensorProto('known', spec.knownDims, FLOAT, f32(spec.known)));
    nodes.push(node('Identity', ['known'], [outputName]));
    outputShape = spec.outputShape;
  } else {
    const dims = [1, ...spec.knownDims];
    inits.push(tensorProto('known', dims, FLOAT, f32(spec.known)));
    inits.push(tensorProto('mask', dims, FLOAT, f32(spec.mask ?? new Float32Array(spec.known.length))));
    inits.push(tensorProto('shape', [3], INT64, i64([-1, 1, 1])));
    nodes.push(node('ReduceMean', [inputName], ['mean4'], [{ name: 'axes', ints: [1, 2, 3] }, { name: 'keepdims', i: 1 }]));
    nodes.push(node('Reshape', ['mean4', 'shape'], ['mean']));
    nodes.push(node('Mul', ['mean', 'mask'], ['shift']));
    nodes.push(node('Add', ['known', 'shift'], [outputName]));
    outputShape = spec.outputShape ?? [spec.inputShape[0]!, ...spec.knownDims];
  }
  const graph = [
    ...nodes.flatMap((n) => fBytes(1, n)),
    ...fString(2, 'test_graph'),
    ...inits.flatMap((t) => fBytes(5, t)),
    ...fBytes(11, valueInfo(inputName, spec.inputShape)),
    ...fBytes(12, valueInfo(outputName, outputShape)),
  ];
  const model = [...fVarint(1, 8), ...fString(2, 'bestshot-test'), ...fBytes(7, graph), ...fBytes(8, [...fString(1, ''), ...fVarint(2, 13)])];
  return new Uint8Array(model);
}

export function writeTestModel(path: string, spec: TestModelSpec): string {
  writeFileSync(path, buildTestModel(spec));
  return path;
}
