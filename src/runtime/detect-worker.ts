/**
 * Inference worker (piscina). ONNX Runtime's run() held the event loop ~30 ms
 * per frame on this machine, so it never runs on the main thread. Each worker
 * owns one session, created once from workerData. The tensor arrives as a
 * Float32Array over a SharedArrayBuffer slot: no copy crosses the thread.
 */
import { workerData } from 'node:worker_threads';
import { Detector, type DetectorOptions } from '../detect/index.js';
import type { Box } from '../types.js';

export interface DetectTask {
  tensor: Float32Array;
  letterbox: { ratio: number; padX: number; padY: number };
  frameWidth: number;
  frameHeight: number;
  /** Test hook: make this worker crash (worker restart tests). */
  crash?: boolean;
}

export interface DetectResult {
  boxes: Box[];
  inferMs: number;
  provider: string;
}

const options = (workerData as { detector: Omit<DetectorOptions, 'logger'> }).detector;
let detector: Promise<Detector> | undefined;

function getDetector(): Promise<Detector> {
  detector ??= Detector.create({ ...options, logger: () => undefined });
  return detector;
}

export default async function detect(task: DetectTask | { warmup: true }): Promise<DetectResult | { provider: string }> {
  const d = await getDetector();
  if ('warmup' in task) return { provider: d.provider };
  if (task.crash === true) process.exit(70);
  const t0 = performance.now();
  const boxes = await d.detect({ tensor: task.tensor, letterbox: task.letterbox, frameWidth: task.frameWidth, frameHeight: task.frameHeight });
  return { boxes, inferMs: performance.now() - t0, provider: d.provider };
}
