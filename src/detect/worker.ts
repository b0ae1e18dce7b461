/**
 * Piscina worker body for DetectorPool: one Detector per worker thread, so
 * session.run (which holds its thread for the whole inference) never blocks
 * the main event loop.
 */
import { workerData } from 'piscina';
import type { Box } from '../types.js';
import { Detector, type DetectorInput, type DetectorOptions } from './detector.js';

export type WorkerTask = { kind: 'info' } | { kind: 'detect'; inputs: DetectorInput[] };
export type WorkerInfo = { provider: string; modelPath: string; sha256: string | null; fallbacks: Array<{ provider: string; reason: string }> };

// Fallback reasons travel back through the 'info' task; the pool logs them once.
const ready: Promise<Detector> = Detector.create({ ...(workerData as DetectorOptions), logger: () => {} });
// Keep a failed create from surfacing as an unhandled rejection before the first task awaits it.
ready.catch(() => {});

export default async function run(task: WorkerTask): Promise<WorkerInfo | Box[][]> {
  const d = await ready;
  if (task.kind === 'info') return { provider: d.provider, modelPath: d.modelPath, sha256: d.sha256, fallbacks: [...d.fallbacks] };
  return d.detectBatch(task.inputs);
}
