/**
 * The images a run selected, kept in the run's own folder for its report:
 * the report shows what this run sent, whether the endpoint is the embedded
 * receiver or a cloud the product cannot read back from. Images are written
 * as they are selected (so memory stays flat on a long run) and read back
 * only when the report is written.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UploadRecord } from './camera-runner.js';
import type { ReportUpload } from './report.js';

const fileName = (key: string): string => `${key.replace(/[^A-Za-z0-9_-]/g, '_')}.jpg`;

export class RunImages {
  readonly dir: string;
  readonly #records: Array<Omit<UploadRecord, 'jpeg'>> = [];
  #writeErrors = 0;

  constructor(dir: string) {
    this.dir = dir;
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
  }

  get count(): number {
    return this.#records.length;
  }

  get writeErrors(): number {
    return this.#writeErrors;
  }

  /** Every kept upload with its image read back, in selection order. */
  uploads(): ReportUpload[] {
    const out: ReportUpload[] = [];
    for (const r of this.#records) {
      try {
        out.push({ ...r, jpeg: readFileSync(join(this.dir, fileName(r.idempotencyKey))) });
      } catch {
        // removed from under the run: left out of the gallery
      }
    }
    return out;
  }
}
