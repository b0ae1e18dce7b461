/**
 * The detector pool: piscina workers, each with its own ONNX Runtime session.
 * Workers are stateless across frames, so any worker takes any camera's frame.
 * On this 2-core machine two workers with one intra-op thread each gave the
 * best throughput (PLATFORM-NOTES: 1 worker ~35/s, 2 workers ~57/s).
 */
import { Piscina } from 'piscina';
import type { DetectorOptions } from '../detect/index.js';
import type { Box } from '../types.js';
import type { DetectResult, DetectTask } from './detect-worker.js';
import { workerExecArgv, workerUrl } from './worker-url.js';

export interface DetectPoolOptions {
  detector: Omit<DetectorOptions, 'logger'>;
  /** Worker threads, each with one session. Default 2. */
  workers?: number;
}

export class DetectPool {
  readonly workers: number;
  #pool: Piscina;
  #closed = false;
  /** Workers that died and were replaced by piscina. */
  crashes = 0;

  constructor(options: DetectPoolOptions) {
    this.workers = options.workers ?? 2;
    this.#pool = new Piscina({
      filename: workerUrl('detect-worker').href,
      minThreads: this.workers,
      maxThreads: this.workers,
      // A frame waits for a free worker only briefly: the caller keeps at most
      // `workers` frames in flight and drops the rest before detection.
      maxQueue: this.workers * 4,
      idleTimeout: 2 ** 31 - 1,
      workerData: { detector: options.detector },
      execArgv: workerExecArgv(),
    });
    this.#pool.on('error', () => {
      this.crashes++;
    });
  }

  /** Load the model in every worker; resolves with the provider in use. */
  async warmup(): Promise<string> {
    const results = await Promise.all(Array.from({ length: this.workers }, () => this.#pool.run({ warmup: true })));
    return (results[0] as { provider: string }).provider;
  }

  async detect(task: DetectTask): Promise<{ boxes: Box[]; inferMs: number }> {
    try {
      return (await this.#pool.run(task)) as DetectResult;
    } catch (err) {
      if (/exited|terminated/i.test((err as Error).message)) this.crashes++;
      throw err;
    }
  }

  get queueSize(): number {
    return this.#pool.queueSize;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.destroy();
  }
}
