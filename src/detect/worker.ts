/**
 * Piscina worker body for DetectorPool: one Detector per worker thread, so
 * session.run (which holds its thread for the whole inference) never blocks
 * the main event loop.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { workerData } from 'piscina';
import type { Box } from '../types.js';
import { Detector, type DetectorInput, type DetectorOptions } from './detector.js';

export type WorkerTask = { kind: 'info' } | { kind: 'detect'; inputs: DetectorInput[] };
export type WorkerInfo = { provider: string; modelPath: string; sha256: string | null; fallbacks: Array<{ provider: string; reason: string }>; fitsInput: boolean };
/**
 * The 'info' task's answer when the Detector could not be made. An error thrown here reaches the
 * main thread structured-cloned, its `code` lost: `bestshot run` said a missing or wrong model
 * without [ERR_MODEL_NOT_FOUND] / [ERR_MODEL_MISMATCH]. The pool rethrows it with its code.
 */
export type WorkerCreateFailure = { failed: { name: string; message: string; code?: string } };

// Fallback reasons travel back through the 'info' task; the pool logs them once.
const ready: Promise<Detector> = Detector.create({ ...(workerData as DetectorOptions), logger: () => {} });
// Keep a failed create from surfacing as an unhandled rejection before the first task awaits it.
ready.catch(() => {});

/**
 * ONNX Runtime hands each run's output back in a new ArrayBuffer (1.2 MiB for
 * YOLOX-Nano at 416×416; a pre-allocated output is copied just the same).
 * V8 sees only a small object, so dead outputs pile up in RSS between its own
 * collections — more of them since the input buffers are reused (fewer
 * allocations, fewer collections; docs/performance.md "Reused inference
 * inputs"). So the worker collects at most once a second (one per 10 frames
 * at 10 Hz). A young-generation collection is enough: an output is dead by
 * the time the run's boxes are decoded, and a dead young ArrayBuffer's memory
 * is freed by a scavenge. It pauses this thread for about 1.4 ms where a full
 * collection took 14.5 (up to 30) ms with four 1280×720 cameras, the frame's
 * boxes waiting behind it (docs/performance.md "The detect worker's
 * collection"); RSS is the same.
 */
const COLLECT_INTERVAL_MS = 1000;
// V8 flags are per process: contexts made after this one have gc() too; nothing else here uses it.
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as (options: { type: 'minor'; execution: 'sync' }) => void;
const collect = (): void => gc({ type: 'minor', execution: 'sync' });
let lastCollect = performance.now();

export default async function run(task: WorkerTask): Promise<WorkerInfo | WorkerCreateFailure | Box[][]> {
  if (task.kind === 'info') {
    let d: Detector;
    try {
      d = await ready;
    } catch (err) {
      const e = err as Error & { code?: unknown };
      return { failed: { name: e.name, message: e.message, ...(typeof e.code === 'string' ? { code: e.code } : {}) } };
    }
    return { provider: d.provider, modelPath: d.modelPath, sha256: d.sha256, fallbacks: [...d.fallbacks], fitsInput: d.fitsInput };
  }
  const d = await ready;
  const boxes = await d.detectBatch(task.inputs);
  if (performance.now() - lastCollect >= COLLECT_INTERVAL_MS) {
    lastCollect = performance.now();
    collect();
  }
  return boxes;
}
