/**
 * Detector (D1): an ONNX Runtime session for one model plus its manifest.
 * Frames come in as the letterboxed planar tensor capture already built;
 * boxes come out in original-frame pixels (SPEC box: center, size, angle,
 * class, score).
 */
// Before onnxruntime-node: its telemetry is switched off by the environment it starts with.
import './ort-environment.js';
import * as ort from 'onnxruntime-node';
import { InvalidStateError, ModelError, invalidParameterError, numberOption, optionalNumber } from '../errors.js';
import type { Box } from '../types.js';
import { buildMinScore, decodeOutput, needsNms, toFrameBox, yoloxAnchorCount } from './decode.js';
import { fitWindow, type LetterboxInfo } from './letterbox.js';
import { loadManifest, validateManifest, type ModelManifest } from './manifest.js';
import { checkModelAgainstManifest } from './model-check.js';
import { manifestPathFor, readModelFile, resolveModelPath, verifyChecksum } from './model-file.js';
import { nms } from './nms.js';
import { withFreeInputSize, type DeclaredDim, type FreeSizeModel } from './onnx-shape.js';
import { applyTensorRtEnv, missingProviderLibrary, PROVIDERS, providerOption, type ExecutionProvider, type TensorRtOptions } from './providers.js';

export type { ExecutionProvider, TensorRtOptions };

export interface DetectorOptions {
  /**
   * Model file. Default: the manifest's `file`, looked up in models/, then in
   * $BESTSHOT_SHARED_DIR/models/.
   */
  model?: string;
  /**
   * Manifest path or object. Default: `<model name>.json` beside an explicit
   * model when present, else models/yolox_nano.json.
   */
  manifest?: string | ModelManifest;
  /**
   * Execution providers tried in order; the first that loads is used, each
   * failure is logged with its reason. Default ['tensorrt', 'cuda', 'cpu'].
   * Naming fewer skips the probing cost (a failed provider costs a few ms).
   */
  providers?: ExecutionProvider[];
  /**
   * Threads inside one operator. Default 1: on the 2-core target, with
   * capture, tracking and upload sharing the cores, a second thread mostly
   * spin-waits (measured: p99 25–68 ms with 2 threads vs 8–29 ms with 1).
   * 0 lets ONNX Runtime use one per core — worth it only on an idle machine
   * with more cores.
   */
  intraOpNumThreads?: number;
  /** Threads across independent operators. Default 1: YOLO graphs are sequential. */
  interOpNumThreads?: number;
  /**
   * ONNX Runtime's CPU memory arena: freed tensors stay reserved for the next
   * run. Default true (ORT's own default). False returns memory between runs:
   * measured on YOLOX-Nano, about the same speed and less RSS per session
   * (docs/performance.md).
   */
  enableCpuMemArena?: boolean;
  /** ORT memory pattern planning (pre-allocates from the first run's shapes). Default true. */
  enableMemPattern?: boolean;
  /** Graph optimisation level. Default 'all'; lower only to debug a model. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** TensorRT settings (used only when the 'tensorrt' provider loads). */
  tensorrt?: TensorRtOptions;
  /** CUDA device index. Default 0. */
  cudaDeviceId?: number;
  /** Minimum score. Default: the manifest's thresholds.score (0.3 for YOLOX-Nano). Lower finds more, with more false boxes. */
  scoreThreshold?: number;
  /** NMS IoU threshold. Default: the manifest's thresholds.nms (0.45). Higher keeps more overlapping boxes. */
  nmsThreshold?: number;
  /** Keep only these class labels (e.g. traffic classes). Default: all classes. */
  classes?: string[];
  /** Per-class minimum score by label, overriding scoreThreshold for that class. Default: none. */
  classThresholds?: Record<string, number>;
  /** At most this many boxes per frame, highest scores first. Default 300. */
  maxDetections?: number;
  /** Check the model's sha256 against the manifest. Default true; false for a model you built yourself. */
  verifyChecksum?: boolean;
  /** Inference runs at create, so the first frame is not slow. Default 1. */
  warmupRuns?: number;
  /**
   * Infer only the part of the letterboxed input the frame fills, rounded up
   * to the model's largest stride (a 16:9 frame in YOLOX-Nano's 416×416:
   * 416×256, 37 % less inference; the padding rows are not computed). Default
   * true. Applies to 'yolox' models of batch 1 on the 'cpu' and 'cuda'
   * providers, whose declared input size is made free in memory
   * (onnx-shape.ts) and checked by a run at create; not to 'tensorrt', which
   * builds an engine per input shape. False: the declared size, always.
   */
  fitInput?: boolean;
  /** Where provider fallbacks and load facts go. Default: console.warn. */
  logger?: (message: string) => void;
  /** Debug-level facts (a default provider list falling back to CPU on a machine without GPU libraries). Default: dropped. */
  debugLogger?: (message: string) => void;
}

/** One frame's detector input. */
export interface DetectorInput {
  /**
   * Planar float32 [3][H][W], letterboxed exactly as the manifest says (see
   * tensorOptionsFor). May be backed by a SharedArrayBuffer (copied once,
   * ONNX Runtime refuses shared memory).
   */
  tensor: Float32Array;
  /** How the frame was placed into the tensor. */
  letterbox: LetterboxInfo;
  frameWidth: number;
  frameHeight: number;
}

/** Raw model output for a batch, before decoding. */
export interface RawOutput {
  data: Float32Array;
  dims: readonly number[];
  /** Which batch row holds input i (batched runs) — one entry per input. */
  rows: Array<{ data: Float32Array; dims: readonly number[]; batchIndex: number; window?: InputWindow }>;
}

/** The part of the input tensor one inference ran on (fitInput), and the frame's placement in it. */
export interface InputWindow {
  width: number;
  height: number;
  letterbox: LetterboxInfo;
}

const GRAPH_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
const isUnit = (x: number): boolean => x >= 0 && x <= 1;

/** Copy the `w`×`h` window at (x, y) of a planar [3][H][W] tensor into `out` ([3][h][w]). */
function copyWindow(src: Float32Array, W: number, H: number, x: number, y: number, w: number, h: number, out: Float32Array): void {
  for (let c = 0; c < 3; c++) {
    const plane = c * W * H;
    if (x === 0 && w === W) {
      out.set(src.subarray(plane + y * W, plane + (y + h) * W), c * w * h); // whole rows: one copy a plane
      continue;
    }
    for (let r = 0; r < h; r++) {
      const from = plane + (y + r) * W + x;
      out.set(src.subarray(from, from + w), (c * h + r) * w);
    }
  }
}

/**
 * Whether a model rewritten to a free input size runs at one: a 16:9 frame's
 * window (the declared width × the 16:9 height rounded up to the largest
 * stride), with as many output rows as its grids have. A graph with a size
 * written into an operator fails here, and the detector keeps the declared size.
 */
async function runsAtFreeSize(session: ort.InferenceSession, m: ModelManifest): Promise<boolean> {
  const i = m.input;
  const strides = m.output.strides ?? [8, 16, 32];
  const stride = Math.max(...strides);
  const win = fitWindow(16, 9, i.width, i.height, i.placement, stride);
  if (win.width === i.width && win.height === i.height) return false;
  try {
    const probe = new Float32Array(3 * win.width * win.height).fill(i.padValue * i.scale);
    const out = await session.run({ [i.name]: new ort.Tensor('float32', probe, [1, 3, win.height, win.width]) });
    const dims = out[m.output.name]?.dims;
    return dims !== undefined && dims.length === 3 && dims[1] === yoloxAnchorCount(win.width, win.height, strides);
  } catch {
    return false;
  }
}

export class Detector {
  readonly manifest: ModelManifest;
  /** The execution provider that loaded. */
  readonly provider: ExecutionProvider;
  readonly modelPath: string;
  /** The manifest digest the model matched; null when not checked. */
  readonly sha256: string | null;
  /** Frames per inference: the model's fixed batch, or 'dynamic'. */
  readonly batchSize: number | 'dynamic';
  /** Why each provider before `provider` was skipped. */
  readonly fallbacks: ReadonlyArray<{ provider: ExecutionProvider; reason: string }>;
  /** Whether inference runs on the frame's part of the input (fitInput); false: the declared size. */
  readonly fitsInput: boolean;
  #session: ort.InferenceSession | null;
  #minScore: Float32Array;
  #nmsThreshold: number;
  #maxDetections: number;
  #inputSize: number;
  /**
   * Input buffers returned by finished runs, reused by the next: a fresh 2 MiB
   * tensor per frame is an mmap, ~500 page faults and an munmap under the
   * service's fixed mmap threshold (docs/performance.md "Reused inference inputs").
   */
  #freeInputs: Float32Array[] = [];

  private constructor(init: {
    manifest: ModelManifest;
    provider: ExecutionProvider;
    modelPath: string;
    sha256: string | null;
    session: ort.InferenceSession;
    minScore: Float32Array;
    nmsThreshold: number;
    maxDetections: number;
    fallbacks: Array<{ provider: ExecutionProvider; reason: string }>;
    fitsInput: boolean;
  }) {
    this.manifest = init.manifest;
    this.provider = init.provider;
    this.modelPath = init.modelPath;
    this.sha256 = init.sha256;
    this.#session = init.session;
    this.#minScore = init.minScore;
    this.#nmsThreshold = init.nmsThreshold;
    this.#maxDetections = init.maxDetections;
    this.fallbacks = init.fallbacks;
    this.batchSize = init.manifest.input.batch;
    this.fitsInput = init.fitsInput;
    this.#inputSize = 3 * init.manifest.input.width * init.manifest.input.height;
  }

  /** Load manifest and model, verify both, pick a provider, warm up. */
  static async create(options: DetectorOptions = {}): Promise<Detector> {
    if (options === null || typeof options !== 'object') throw invalidParameterError('object', 'options', options);
    const log = options.logger ?? ((m: string) => console.warn(`bestshot detect: ${m}`));
    if (options.model !== undefined && (typeof options.model !== 'string' || options.model.length === 0)) {
      throw invalidParameterError('non-empty string', 'model', options.model);
    }
    let manifest: ModelManifest;
    let manifestName: string;
    if (options.manifest === undefined || typeof options.manifest === 'string') {
      manifestName = options.manifest ?? manifestPathFor(options.model);
      manifest = loadManifest(manifestName);
    } else {
      manifest = validateManifest(options.manifest, 'manifest');
      manifestName = manifest.name;
    }
    // Providers left at the default list on a machine without their libraries
    // (no CUDA/TensorRT installed) go straight to CPU, said once at debug
    // level; a list the caller chose logs each fallback at warn level.
    const explicitProviders = options.providers !== undefined;
    const debug = options.debugLogger ?? (() => undefined);
    const providers = options.providers ?? [...PROVIDERS];
    if (!Array.isArray(providers) || providers.length === 0) throw invalidParameterError('non-empty array of providers', 'providers', providers);
    for (const p of providers) {
      if (!PROVIDERS.includes(p)) throw invalidParameterError(`one of ${PROVIDERS.map((x) => `'${x}'`).join(', ')}`, 'providers', p);
    }
    const intra = optionalNumber('non-negative integer', 'intraOpNumThreads', options.intraOpNumThreads, 1);
    const inter = optionalNumber('non-negative integer', 'interOpNumThreads', options.interOpNumThreads, 1);
    const level = options.graphOptimizationLevel ?? 'all';
    if (!GRAPH_LEVELS.includes(level)) throw invalidParameterError(`one of ${GRAPH_LEVELS.map((x) => `'${x}'`).join(', ')}`, 'graphOptimizationLevel', level);
    const scoreThreshold = numberOption('scoreThreshold', options.scoreThreshold, manifest.thresholds.score, 'number between 0 and 1', isUnit);
    const nmsThreshold = numberOption('nmsThreshold', options.nmsThreshold, manifest.thresholds.nms, 'number between 0 and 1', isUnit);
    const maxDetections = optionalNumber('positive integer', 'maxDetections', options.maxDetections, 300);
    const warmupRuns = optionalNumber('non-negative integer', 'warmupRuns', options.warmupRuns, 1);
    const minScore = buildMinScore(manifest.classes, scoreThreshold, options.classes, options.classThresholds);

    const modelPath = resolveModelPath(manifest.file, options.model);
    const bytes = readModelFile(modelPath);
    const sha256 = options.verifyChecksum === false ? null : verifyChecksum(bytes, manifest, modelPath);

    // fitInput: the same graph with its input size declared free (TensorRT excepted, per provider below).
    let free: FreeSizeModel | null = null;
    if ((options.fitInput ?? true) && manifest.output.format === 'yolox' && manifest.input.batch === 1) {
      try {
        free = withFreeInputSize(bytes, manifest.input.name, manifest.output.name, 1);
      } catch {
        free = null; // not a model this rewrite reads: the session's own load says what is wrong
      }
    }
    const fallbacks: Array<{ provider: ExecutionProvider; reason: string }> = [];
    let session: ort.InferenceSession | undefined;
    let provider: ExecutionProvider | undefined;
    let fitted = false;
    for (const p of providers) {
      const ep = providerOption(p, options);
      if (p === 'tensorrt') applyTensorRtEnv(options.tensorrt);
      const missing = missingProviderLibrary(p);
      if (missing !== null) {
        fallbacks.push({ provider: p, reason: missing });
        if (explicitProviders && p !== providers[providers.length - 1]) log(`execution provider '${p}' unavailable (${missing}); trying '${providers[providers.indexOf(p) + 1]}'`);
        continue;
      }
      const sessionOptions: ort.InferenceSession.SessionOptions = {
        executionProviders: [ep],
        intraOpNumThreads: intra,
        interOpNumThreads: inter,
        graphOptimizationLevel: level,
        enableCpuMemArena: options.enableCpuMemArena ?? true,
        enableMemPattern: options.enableMemPattern ?? true,
        // Provider probing failures are reported by us, with the reason; keep ORT's own log quiet.
        logSeverityLevel: 4,
      };
      try {
        if (free !== null && p !== 'tensorrt') {
          try {
            session = await ort.InferenceSession.create(free.bytes, sessionOptions);
            fitted = true;
          } catch {
            session = undefined; // the rewrite did not load: the file as it is decides below
          }
        }
        session ??= await ort.InferenceSession.create(bytes, sessionOptions);
        provider = p;
        break;
      } catch (err) {
        const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim().replace(/\.$/, '');
        fallbacks.push({ provider: p, reason });
        if (p !== providers[providers.length - 1]) log(`execution provider '${p}' unavailable (${reason}); trying '${providers[providers.indexOf(p) + 1]}'`);
      }
    }
    if (session && provider && !explicitProviders && fallbacks.length > 0) {
      debug(`no library for ${fallbacks.map((f) => `'${f.provider}'`).join(', ')} (${fallbacks[0]!.reason}); using '${provider}'`);
    }
    if (!session || !provider) {
      const last = fallbacks[fallbacks.length - 1]!;
      const hint = /protobuf|parsing|invalid model|load model/i.test(last.reason) ? ' (the file is truncated, corrupt or not an ONNX model)' : '';
      const others = fallbacks.length > 1 ? `; also tried ${fallbacks.slice(0, -1).map((f) => f.provider).join(', ')}` : '';
      throw new ModelError(`Could not load model ${modelPath} with provider '${last.provider}': ${last.reason}${hint}${others}`, 'ERR_MODEL');
    }
    try {
      // A rewritten model is checked as the file declares it: a wrong model is refused with its real size.
      const declared = (meta: readonly ort.InferenceSession.ValueMetadata[], name: string, dims: DeclaredDim[] | undefined): ort.InferenceSession.ValueMetadata[] =>
        meta.map((v) => (fitted && dims !== undefined && v.name === name && v.isTensor ? { ...v, shape: dims.map((d) => d ?? '?') } : v));
      checkModelAgainstManifest(
        modelPath,
        manifestName,
        manifest,
        declared(session.inputMetadata, manifest.input.name, free?.declaredInput),
        declared(session.outputMetadata, manifest.output.name, free?.declaredOutput),
      );
    } catch (err) {
      await session.release();
      throw err;
    }
    const i = manifest.input;
    const blank = new Float32Array(3 * i.width * i.height).fill(i.padValue * i.scale);
    if (fitted) fitted = await runsAtFreeSize(session, manifest);
    const detector = new Detector({ manifest, provider, modelPath, sha256, session, minScore, nmsThreshold, maxDetections, fallbacks, fitsInput: fitted });
    for (let k = 0; k < warmupRuns; k++) await detector.detect({ tensor: blank, letterbox: { ratio: 1, padX: 0, padY: 0 }, frameWidth: i.width, frameHeight: i.height });
    return detector;
  }

  get closed(): boolean {
    return this.#session === null;
  }

  /** Boxes of one frame, in frame pixels, highest score first. */
  async detect(input: DetectorInput): Promise<Box[]> {
    return (await this.detectBatch([input]))[0]!;
  }

  /**
   * Boxes of several frames (e.g. several cameras). A model with a dynamic
   * batch (or a fixed batch > 1) runs them in one inference; a batch-1 model
   * such as YOLOX-Nano runs them one after another.
   */
  async detectBatch(inputs: readonly DetectorInput[]): Promise<Box[][]> {
    const raw = await this.infer(inputs);
    return this.postprocess(raw, inputs);
  }

  /** Inference only (for benchmarks and for splitting work): raw output rows per input. */
  async infer(inputs: readonly DetectorInput[]): Promise<RawOutput[]> {
    const session = this.#session;
    if (session === null) throw new InvalidStateError('Detector is closed');
    if (!Array.isArray(inputs)) throw invalidParameterError('array of detector inputs', 'inputs', inputs);
    inputs.forEach((x, k) => this.#validate(x, inputs.length === 1 ? 'input' : `inputs[${k}]`));
    const per = this.batchSize === 'dynamic' ? Math.max(1, inputs.length) : this.batchSize;
    const results: RawOutput[] = [];
    for (let start = 0; start < inputs.length; start += per) {
      const chunk = inputs.slice(start, start + per);
      const { width: W, height: H } = this.manifest.input;
      let data: Float32Array;
      let scratch: Float32Array | undefined;
      const t0 = chunk[0]!.tensor;
      // fitInput (batch 1): the frame's part of the input, copied out of the letterboxed tensor.
      const window = per === 1 ? this.#windowOf(chunk[0]!) : null;
      let [h, w] = [H, W];
      if (window !== null) {
        [h, w] = [window.height, window.width];
        scratch = this.#takeInput(3 * w * h);
        data = scratch;
        copyWindow(t0, W, H, window.x, window.y, w, h, data);
      } else if (per === 1 && !(t0.buffer instanceof SharedArrayBuffer)) {
        data = t0;
      } else {
        // ONNX Runtime refuses SharedArrayBuffer-backed tensors, and a batch needs one buffer:
        // copy into a reused buffer of this batch size.
        scratch = this.#takeInput(per * this.#inputSize);
        data = scratch;
        chunk.forEach((x, k) => data.set(x.tensor, k * this.#inputSize));
        data.fill(0, chunk.length * this.#inputSize); // unused rows of a fixed batch are 0
      }
      const feeds = { [this.manifest.input.name]: new ort.Tensor('float32', data, [per, 3, h, w]) };
      let out: ort.InferenceSession.OnnxValueMapType;
      try {
        out = await session.run(feeds);
      } finally {
        if (scratch !== undefined) this.#freeInputs.push(scratch);
      }
      const t = out[this.manifest.output.name]!;
      const outData = t.data as Float32Array;
      const dims = t.dims;
      const rows: RawOutput['rows'] = [];
      const flatEnd2End = this.manifest.output.format === 'end2end' && dims.length === 2;
      for (let k = 0; k < chunk.length; k++) {
        if (flatEnd2End) {
          rows.push({ data: outData, dims, batchIndex: k });
        } else {
          const size = outData.length / dims[0]!;
          rows.push({ data: outData.subarray(k * size, (k + 1) * size), dims: dims.slice(1), batchIndex: 0, ...(window !== null ? { window } : {}) });
        }
      }
      results.push({ data: outData, dims, rows });
    }
    return results;
  }

  /** Decode, NMS and un-letterbox raw outputs of `infer` for the same inputs. */
  postprocess(raw: readonly RawOutput[], inputs: readonly DetectorInput[]): Box[][] {
    const rows = raw.flatMap((r) => r.rows);
    return inputs.map((input, k) => {
      const row = rows[k]!;
      const win = row.window;
      // A window's grids are its own size (fitInput); its boxes are placed by its letterbox.
      const m = win === undefined ? this.manifest : { ...this.manifest, input: { ...this.manifest.input, width: win.width, height: win.height } };
      // Flat end2end rows carry the batch index in column 0 for the whole batch run.
      let candidates = decodeOutput(m, row.data, row.dims, this.#minScore, row.batchIndex);
      candidates = needsNms(m.output.format) ? nms(candidates, this.#nmsThreshold, this.#maxDetections) : candidates.sort((a, b) => b.score - a.score).slice(0, this.#maxDetections);
      return candidates.map((c) => toFrameBox(c, win?.letterbox ?? input.letterbox, m.classes));
    });
  }

  /**
   * The window of the input this frame needs (fitInput), or null to infer the
   * whole input: not fitting, no smaller window, or a letterbox other than
   * the manifest's arithmetic gives for the frame (a caller's own placement).
   */
  #windowOf(x: DetectorInput): (InputWindow & { x: number; y: number }) | null {
    if (!this.fitsInput) return null;
    const i = this.manifest.input;
    const stride = Math.max(...(this.manifest.output.strides ?? [32]));
    const win = fitWindow(x.frameWidth, x.frameHeight, i.width, i.height, i.placement, stride);
    if (win.width === i.width && win.height === i.height) return null;
    const lb = x.letterbox;
    const same = Math.abs(lb.ratio - win.letterbox.ratio) <= 1e-9 * win.letterbox.ratio && lb.padX === win.letterbox.padX + win.x && lb.padY === win.letterbox.padY + win.y;
    return same ? win : null;
  }

  #takeInput(length: number): Float32Array {
    const i = this.#freeInputs.findIndex((b) => b.length === length);
    return i >= 0 ? this.#freeInputs.splice(i, 1)[0]! : new Float32Array(length);
  }

  /** Release the session. Idempotent. */
  async close(): Promise<void> {
    const s = this.#session;
    this.#session = null;
    if (s) await s.release();
  }

  #validate(x: DetectorInput, name: string): void {
    if (x === null || typeof x !== 'object') throw invalidParameterError('object', name, x);
    if (!(x.tensor instanceof Float32Array)) throw invalidParameterError('Float32Array', `${name}.tensor`, x.tensor);
    if (x.tensor.length !== this.#inputSize) {
      const { width, height } = this.manifest.input;
      throw new RangeError(
        `Expected ${this.#inputSize} floats (3x${height}x${width}) for ${name}.tensor but received ${x.tensor.length}`,
      );
    }
    const lb = x.letterbox;
    if (lb === null || typeof lb !== 'object') throw invalidParameterError('object', `${name}.letterbox`, lb);
    if (typeof lb.ratio !== 'number' || !(lb.ratio > 0)) throw invalidParameterError('positive number', `${name}.letterbox.ratio`, lb.ratio);
    if (typeof lb.padX !== 'number' || !Number.isFinite(lb.padX)) throw invalidParameterError('finite number', `${name}.letterbox.padX`, lb.padX);
    if (typeof lb.padY !== 'number' || !Number.isFinite(lb.padY)) throw invalidParameterError('finite number', `${name}.letterbox.padY`, lb.padY);
    for (const k of ['frameWidth', 'frameHeight'] as const) {
      const v = x[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw invalidParameterError('positive integer', `${name}.${k}`, v);
    }
  }
}




