/**
 * DetectorPool: Detectors in worker threads (piscina). ONNX Runtime's
 * session.run holds the calling thread for the whole inference (measured:
 * event-loop stalls of 10–60 ms per frame on the main thread), so the runtime
 * runs detection here and keeps its own loop free for capture, tracking and
 * upload. Tensors backed by a SharedArrayBuffer cross without a copy; others
 * are copied (2 MB for 416×416: ~1 ms) unless `transfer` is set.
 */
import { Piscina } from 'piscina';
import { BestshotError, InvalidStateError, invalidParameterError, outOfRangeError, type ErrorCode } from '../errors.js';
import type { Box } from '../types.js';
import type { DetectorInput, DetectorOptions } from './detector.js';
import { loadManifest, validateManifest, type ModelManifest } from './manifest.js';
import { manifestPathFor } from './model-file.js';
import type { WorkerCreateFailure, WorkerInfo, WorkerTask } from './worker.js';
import { workerExecArgv, workerUrl } from '../worker-url.js';

export interface DetectorPoolOptions extends Omit<DetectorOptions, 'logger' | 'debugLogger' | 'manifest'> {
  /** Manifest path or object (as for Detector). */
  manifest?: string | ModelManifest;
  /**
   * Worker threads, each with its own session. Default 1. On 2 cores, 1
   * worker with intraOpNumThreads 2 has the lowest latency; 2 workers with 1
   * thread each the highest throughput.
   */
  workers?: number;
  /**
   * Move non-shared tensors to the worker instead of copying them. Default
   * false; when true the caller's tensor is detached after detect().
   */
  transfer?: boolean;
  /** Where provider fallbacks of the workers go. Default: console.warn. */
  logger?: (message: string) => void;
  /** Debug-level facts, e.g. the default provider list going straight to CPU. Default: dropped. */
  debugLogger?: (message: string) => void;
  /**
   * The worker module each thread runs. Default: detect/worker. Fault drills
   * pass a module that wraps it (and exports the same default function).
   */
  workerModule?: URL;
}

/** A worker's Detector.create error, made again here with its name and code (worker.ts WorkerCreateFailure). */
function createError(f: WorkerCreateFailure['failed']): Error {
  const err =
    f.code !== undefined
      ? new BestshotError(f.code as ErrorCode, f.message)
      : f.name === 'TypeError'
        ? new TypeError(f.message)
        : f.name === 'RangeError'
          ? new RangeError(f.message)
          : new Error(f.message);
  err.name = f.name;
  return err;
}

export class DetectorPool {
  readonly manifest: ModelManifest;
  readonly provider: string;
  readonly modelPath: string;
  /** Whether the workers infer each frame's window of the input (DetectorOptions.fitInput). */
  readonly fitsInput: boolean;
  readonly workers: number;
  #pool: Piscina | null;
  #transfer: boolean;
  #crashes = 0;
  /** Inference tasks given to the workers and not yet settled (idle()). */
  readonly #inFlight = new Set<Promise<unknown>>();
  #quiescing = false;

  private constructor(pool: Piscina, manifest: ModelManifest, info: WorkerInfo, transfer: boolean) {
    this.#pool = pool;
    this.manifest = manifest;
    this.provider = info.provider;
    this.modelPath = info.modelPath;
    this.fitsInput = info.fitsInput;
    this.#transfer = transfer;
    this.workers = pool.options.maxThreads;
    // piscina replaces a worker that dies; count it for the metrics.
    pool.on('workerDestroy', () => {
      if (this.#pool !== null) this.#crashes++;
    });
  }

  /** Workers that died and were replaced. */
  get crashes(): number {
    return this.#crashes;
  }

  /** Start the workers and wait until each has loaded and warmed up its model. */
  static async create(options: DetectorPoolOptions = {}): Promise<DetectorPool> {
    const workers = options.workers ?? 1;
    if (typeof workers !== 'number' || !Number.isInteger(workers)) throw invalidParameterError('positive integer', 'workers', workers);
    if (workers < 1) throw outOfRangeError('positive integer', 'workers', workers);
    const manifest =
      options.manifest === undefined || typeof options.manifest === 'string'
        ? loadManifest(options.manifest ?? manifestPathFor(options.model))
        : validateManifest(options.manifest, 'manifest');
    const { workers: _w, transfer, logger, debugLogger, workerModule, ...detectorOptions } = options;
    void _w;
    const log = logger ?? ((m: string) => console.warn(`bestshot detect: ${m}`));
    const pool = new Piscina({
      filename: (workerModule ?? workerUrl('worker', import.meta.url)).href,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: 2 ** 31 - 1,
      workerData: { ...detectorOptions, manifest },
      execArgv: workerExecArgv(),
    });
    let infos: WorkerInfo[];
    try {
      const answers = (await Promise.all(Array.from({ length: workers }, () => pool.run({ kind: 'info' } satisfies WorkerTask)))) as Array<WorkerInfo | WorkerCreateFailure>;
      const failed = answers.find((a): a is WorkerCreateFailure => 'failed' in a);
      if (failed) throw createError(failed.failed);
      infos = answers as WorkerInfo[];
    } catch (err) {
      await pool.destroy();
      throw err;
    }
    const info = infos[0]!;
    // The default list on a machine without GPU libraries is no news: debug level, once. A chosen list warns per fallback.
    if (options.providers === undefined) {
      if (info.fallbacks.length > 0) debugLogger?.(`no GPU execution provider (${info.fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}); using '${info.provider}'`);
    } else {
      for (const f of info.fallbacks) log(`execution provider '${f.provider}' unavailable (${f.reason})`);
    }
    return new DetectorPool(pool, manifest, info, transfer ?? false);
  }

  /** Boxes of one frame, computed in a worker. */
  async detect(input: DetectorInput): Promise<Box[]> {
    return (await this.detectBatch([input]))[0]!;
  }

  /** Boxes of several frames, in one worker task (one inference where the model batches). */
  async detectBatch(inputs: DetectorInput[]): Promise<Box[][]> {
    const pool = this.#pool;
    if (pool === null) throw new InvalidStateError('DetectorPool is closed');
    if (this.#quiescing) throw new InvalidStateError('DetectorPool is stopping: the process exits');
    const transferList = this.#transfer
      ? inputs.map((i) => i.tensor.buffer).filter((b): b is ArrayBuffer => !(b instanceof SharedArrayBuffer))
      : undefined;
    const task = pool.run({ kind: 'detect', inputs } satisfies WorkerTask, { transferList }) as Promise<Box[][]>;
    this.#inFlight.add(task);
    try {
      return await task;
    } finally {
      this.#inFlight.delete(task);
    }
  }

  /**
   * Before a process exits without close() (a second signal, a stop that
   * took too long): refuse new inferences and wait, at most `timeoutMs`, for
   * those the workers run now. A worker torn down inside session.run() takes
   * the process with it — onnxruntime-node rethrows the teardown's failure
   * as a C++ exception: 'terminate called after throwing an instance of
   * Napi::Error', SIGABRT, exit 134 instead of the code asked for (8 of 8
   * process.exit() calls with two workers busy, 0 of 5 after this). True
   * when none was left running.
   */
  async idle(timeoutMs: number): Promise<boolean> {
    this.#quiescing = true;
    if (this.#inFlight.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([Promise.allSettled([...this.#inFlight]).then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stop the workers. Idempotent. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    if (pool) await pool.destroy();
  }
}
