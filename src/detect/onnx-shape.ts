/**
 * Free input size (model.fitInput): an ONNX model whose declared input is a
 * fixed square (YOLOX-Nano: [1,3,416,416]) is rewritten, in memory, to
 * declare its input's height and width — and its output's anchor count,
 * which follows them — as symbolic dimensions, so that ONNX Runtime runs it
 * on a smaller rectangle. The file on disk (checked by its sha256) is not
 * touched.
 *
 * Only the declarations change. Whether the graph's operators themselves run
 * at another size (YOLOX's: reshapes to [1,85,-1], resizes by scale, slices
 * to INT64_MAX) is checked by running it once (Detector.create); the
 * intermediate shapes ONNX's shape inference stored (graph.value_info) are
 * dropped, as they name the old size.
 *
 * A minimal protobuf rewrite along one path (ModelProto.graph →
 * GraphProto.input/output/value_info → ValueInfoProto.type →
 * TypeProto.tensor_type → shape → dim), everything else copied byte for byte.
 */

/** One field of a protobuf message, as read: its number, wire type and bytes (the whole field for copying, the payload for a length-delimited one). */
interface Field {
  no: number;
  wire: number;
  /** The whole field, key included. */
  raw: Uint8Array;
  /** Length-delimited payload, or the varint's value. */
  payload: Uint8Array | bigint;
}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new RangeError('truncated varint');
    const b = buf[pos++]!;
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [v, pos];
    shift += 7n;
    if (shift > 63n) throw new RangeError('varint too long');
  }
}

function writeVarint(v: bigint): Uint8Array {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) b |= 0x80;
    out.push(b);
  } while (x !== 0n);
  return Uint8Array.from(out);
}

function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [key, p1] = readVarint(buf, pos);
    pos = p1;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    let payload: Uint8Array | bigint;
    if (wire === 0) {
      [payload, pos] = readVarint(buf, pos);
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      const end = p2 + Number(len);
      if (end > buf.length) throw new RangeError('truncated field');
      payload = buf.subarray(p2, end);
      pos = end;
    } else if (wire === 1) {
      pos += 8;
      payload = 0n;
    } else if (wire === 5) {
      pos += 4;
      payload = 0n;
    } else {
      throw new RangeError(`unsupported wire type ${wire}`);
    }
    if (pos > buf.length) throw new RangeError('truncated field');
    out.push({ no, wire, raw: buf.subarray(start, pos), payload });
  }
  return out;
}

function lengthDelimited(no: number, payload: Uint8Array): Uint8Array {
  return concat([writeVarint(BigInt((no << 3) | 2)), writeVarint(BigInt(payload.length)), payload]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const utf8 = new TextDecoder();
const bytesOf = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A tensor dimension as declared: a size, a symbolic name, or null (neither). */
export type DeclaredDim = number | string | null;

/** Rewrites of one ValueInfoProto's dims: index → new symbolic name. */
type DimRewrite = ReadonlyMap<number, string>;

/** The name of a ValueInfoProto and its declared tensor dims. */
function valueInfo(buf: Uint8Array): { name: string; dims: DeclaredDim[] } {
  let name = '';
  const dims: DeclaredDim[] = [];
  for (const f of fields(buf)) {
    if (f.no === 1 && f.wire === 2) name = utf8.decode(f.payload as Uint8Array);
    if (f.no !== 2 || f.wire !== 2) continue;
    for (const t of fields(f.payload as Uint8Array)) {
      if (t.no !== 1 || t.wire !== 2) continue; // tensor_type
      for (const s of fields(t.payload as Uint8Array)) {
        if (s.no !== 2 || s.wire !== 2) continue; // shape
        for (const d of fields(s.payload as Uint8Array)) {
          if (d.no !== 1 || d.wire !== 2) continue;
          let dim: DeclaredDim = null;
          for (const x of fields(d.payload as Uint8Array)) {
            if (x.no === 1 && x.wire === 0) dim = Number(x.payload as bigint);
            if (x.no === 2 && x.wire === 2) dim = utf8.decode(x.payload as Uint8Array);
          }
          dims.push(dim);
        }
      }
    }
  }
  return { name, dims };
}

/** The ValueInfoProto with the dims named in `rewrite` made symbolic (the rest copied). */
function rewriteValueInfo(buf: Uint8Array, rewrite: DimRewrite): Uint8Array {
  const dimOut = (d: Uint8Array, name: string): Uint8Array => {
    // Dimension: dim_value (1) or dim_param (2), denotation (3) kept.
    const keep = fields(d).filter((x) => x.no === 3);
    return concat([...keep.map((x) => x.raw), lengthDelimited(2, bytesOf(name))]);
  };
  const shapeOut = (s: Uint8Array): Uint8Array => {
    let i = 0;
    return concat(
      fields(s).map((d) => {
        if (d.no !== 1 || d.wire !== 2) return d.raw;
        const name = rewrite.get(i++);
        return name === undefined ? d.raw : lengthDelimited(1, dimOut(d.payload as Uint8Array, name));
      }),
    );
  };
  const mapField = (buf2: Uint8Array, no: number, fn: (p: Uint8Array) => Uint8Array): Uint8Array =>
    concat(fields(buf2).map((f) => (f.no === no && f.wire === 2 ? lengthDelimited(no, fn(f.payload as Uint8Array)) : f.raw)));
  // ValueInfoProto.type (2) → TypeProto.tensor_type (1) → shape (2).
  return mapField(buf, 2, (type) => mapField(type, 1, (tensor) => mapField(tensor, 2, shapeOut)));
}

export interface FreeSizeModel {
  /** The rewritten model. */
  bytes: Uint8Array;
  /** The input's and output's dims as the file declared them (for the manifest check). */
  declaredInput: DeclaredDim[];
  declaredOutput: DeclaredDim[];
}

/**
 * The model with input `inputName`'s dims 2 and 3 (NCHW height, width) and
 * output `outputName`'s dim `outputAnchorsDim` declared symbolic, and
 * graph.value_info dropped. Throws RangeError on bytes that are not a
 * protobuf model with that input and output.
 */
export function withFreeInputSize(model: Uint8Array, inputName: string, outputName: string, outputAnchorsDim: number): FreeSizeModel {
  let declaredInput: DeclaredDim[] | null = null;
  let declaredOutput: DeclaredDim[] | null = null;
  const graphOut = (graph: Uint8Array): Uint8Array =>
    concat(
      fields(graph).flatMap((f) => {
        if (f.wire !== 2) return [f.raw];
        if (f.no === 13) return []; // value_info: shapes of the old size
        if (f.no !== 11 && f.no !== 12) return [f.raw];
        const vi = valueInfo(f.payload as Uint8Array);
        if (f.no === 11 && vi.name === inputName) {
          declaredInput = vi.dims;
          return [lengthDelimited(11, rewriteValueInfo(f.payload as Uint8Array, new Map([[2, 'height'], [3, 'width']])))];
        }
        if (f.no === 12 && vi.name === outputName) {
          declaredOutput = vi.dims;
          return [lengthDelimited(12, rewriteValueInfo(f.payload as Uint8Array, new Map([[outputAnchorsDim, 'anchors']])))];
        }
        return [f.raw];
      }),
    );
  let sawGraph = false;
  const bytes = concat(
    fields(model).map((f) => {
      if (f.no !== 7 || f.wire !== 2) return f.raw;
      sawGraph = true;
      return lengthDelimited(7, graphOut(f.payload as Uint8Array));
    }),
  );
  if (!sawGraph) throw new RangeError('not an ONNX model (no graph)');
  if (declaredInput === null) throw new RangeError(`the model has no input '${inputName}'`);
  if (declaredOutput === null) throw new RangeError(`the model has no output '${outputName}'`);
  return { bytes, declaredInput, declaredOutput };
}

/** The declared dims of a model's graph inputs (11) or outputs (12), by name. */
export function declaredShapes(model: Uint8Array, which: 'input' | 'output'): Map<string, DeclaredDim[]> {
  const out = new Map<string, DeclaredDim[]>();
  for (const f of fields(model)) {
    if (f.no !== 7 || f.wire !== 2) continue;
    for (const g of fields(f.payload as Uint8Array)) {
      if (g.wire === 2 && g.no === (which === 'input' ? 11 : 12)) {
        const vi = valueInfo(g.payload as Uint8Array);
        out.set(vi.name, vi.dims);
      }
    }
  }
  return out;
}
