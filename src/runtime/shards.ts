/**
 * Tracking/selection worker shards. piscina hands a task to any free worker,
 * which would make a camera's tracker state hop between threads; so each
 * shard is its own single-thread pool, and a camera is pinned to one shard
 * for its whole life. piscina replaces a worker that dies; the camera's next
 * task then rebuilds its state (camera-worker.ts).
 */
import { Piscina } from 'piscina';
import { workerExecArgv, workerUrl } from '../worker-url.js';

export class TrackingShards {
  readonly pools: Piscina[];
  #next = 0;
  #assigned = new Map<string, Piscina>();

  constructor(count: number) {
    this.pools = Array.from(
      { length: Math.max(1, count) },
      () =>
        new Piscina({
          filename: workerUrl('camera-worker', import.meta.url).href,
          minThreads: 1,
          maxThreads: 1,
          idleTimeout: 2 ** 31 - 1,
          execArgv: workerExecArgv(),
        }),
    );
  }

  /** The shard a camera is pinned to (assigned round-robin on first use). */
  forCamera(cameraId: string): Piscina {
    let pool = this.#assigned.get(cameraId);
    if (!pool) {
      pool = this.pools[this.#next++ % this.pools.length]!;
      this.#assigned.set(cameraId, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.destroy()));
  }
}
