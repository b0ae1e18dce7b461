/**
 * The images a run selected, kept in its report's images/ folder: the report
 * shows what this run sent, whether the endpoint is the embedded receiver or
 * a cloud the product cannot read back from. Images are written once, as
 * they are selected (memory stays flat on a long run), the newest
 * `maxImages` kept; the report only links them.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UploadRecord } from './camera-runner.js';
import type { ReportUpload } from './report.js';

const fileName = (key: string): string => `${key.replace(/[^A-Za-z0-9_-]/g, '_')}.jpg`;

export class RunImages {
  readonly dir: string;
  /** The newest images kept; older ones are deleted (a service runs for months). */
  readonly maxImages: number;
  readonly #records: Array<Omit<UploadRecord, 'jpeg'>> = [];
  #writeErrors = 0;

  constructor(dir: string, maxImages = 2000) {
    this.dir = dir;
    this.maxImages = maxImages;
    mkdirSync(dir, { recursive: true });
  }

  /** Keep one selected package's image; a failed write loses only that image from the report (counted). */
  add(u: UploadRecord): void {
    const { jpeg, ...record } = u;
    try {
      writeFileSync(join(this.dir, fileName(u.idempotencyKey)), jpeg);
      this.#records.push(record);
    } catch {
      this.#writeErrors++;
    }
    while (this.#records.length > this.maxImages) {
      const old = this.#records.shift()!;
      rmSync(join(this.dir, fileName(old.idempotencyKey)), { force: true });
    }
  }

  get count(): number {
    return this.#records.length;
  }

  get writeErrors(): number {
    return this.#writeErrors;
  }

  /**
   * Every kept upload, in selection order, without its bytes: the images are
   * already where the report shows them (this folder is the report's images/),
   * so a refresh of a long run's report reads no image into memory.
   */
  uploads(): ReportUpload[] {
    return this.#records.filter((r) => existsSync(join(this.dir, fileName(r.idempotencyKey))));
  }
}
