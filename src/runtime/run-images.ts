/**
 * The images a run selected, kept in its report's images/ folder: the report
 * shows what this run sent, whether the endpoint is the embedded receiver or
 * a cloud the product cannot read back from. Images are written once, as
 * they are selected (memory stays flat on a long run), the newest
 * `maxImages` kept; the report only links them. The images an earlier run
 * left in the folder count against `maxImages` too, oldest first: a service
 * restarted every day (or by its watchdog) otherwise added up to `maxImages`
 * images per start that no report linked and nothing ever deleted.
 */
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UploadRecord } from './camera-runner.js';
import type { ReportUpload } from './report.js';
import { makeDirectory } from '../process-lock.js';

const stem = (key: string): string => key.replace(/[^A-Za-z0-9_-]/g, '_');
const fileName = (key: string): string => `${stem(key)}.jpg`;
/** A crop's file (upload.content 'crops', 'frame+crops'): `<key>_t<trackId>.jpg`. */
const cropFileName = (key: string, trackId: number): string => `${stem(key)}_t${trackId}.jpg`;

type Kept = Omit<UploadRecord, 'jpeg' | 'crops' | 'content'> & Pick<ReportUpload, 'hasFrame' | 'crops'>;

export class RunImages {
  readonly dir: string;
  /** The newest images kept; older ones are deleted (a service runs for months). */
  readonly maxImages: number;
  readonly #records: Kept[] = [];
  /** Images an earlier run left here, oldest first: deleted before any of this run's. */
  readonly #earlier: string[];
  #writeErrors = 0;

  constructor(dir: string, maxImages = 2000) {
    this.dir = dir;
    this.maxImages = maxImages;
    makeDirectory(dir);
    this.#earlier = earlierImages(dir);
    this.#trim();
  }

  /** Keep one selected package's image; a failed write loses only that image from the report (counted). */
  add(u: UploadRecord): void {
    const { jpeg, crops, content, ...rest } = u;
    const hasFrame = content !== 'crops';
    const files = [
      ...(hasFrame ? [{ name: fileName(u.idempotencyKey), bytes: jpeg }] : []),
      ...(crops ?? []).map((c) => ({ name: cropFileName(u.idempotencyKey, c.trackId), bytes: c.jpeg })),
    ];
    const record: Kept = {
      ...rest,
      ...(hasFrame ? {} : { hasFrame: false }),
      ...(crops ? { crops: crops.map((c) => ({ trackId: c.trackId, rect: c.rect, file: cropFileName(u.idempotencyKey, c.trackId) })) } : {}),
    };
    for (const f of files) {
      // The same name left by an earlier run is now this run's image, not one to delete later.
      const i = this.#earlier.indexOf(f.name);
      if (i >= 0) this.#earlier.splice(i, 1);
    }
    try {
      for (const f of files) writeFileSync(join(this.dir, f.name), f.bytes);
      this.#records.push(record);
    } catch {
      this.#writeErrors++;
    }
    this.#trim();
  }

  /** Down to maxImages files: an earlier run's oldest first, then this run's. */
  #trim(): void {
    while (this.#earlier.length > 0 && this.#earlier.length + this.#records.length > this.maxImages) {
      rmSync(join(this.dir, this.#earlier.shift()!), { force: true });
    }
    while (this.#records.length > this.maxImages) {
      const old = this.#records.shift()!;
      for (const f of filesOf(old)) rmSync(join(this.dir, f), { force: true });
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
    return this.#records.filter((r) => filesOf(r).every((f) => existsSync(join(this.dir, f))));
  }
}

/** A kept package's files: its frame (unless it has none) and its crops. */
function filesOf(r: Kept): string[] {
  return [...(r.hasFrame === false ? [] : [fileName(r.idempotencyKey)]), ...(r.crops ?? []).map((c) => c.file)];
}

/** The images an earlier run wrote into `dir`, oldest first (by modification time, then name). */
function earlierImages(dir: string): string[] {
  const found: Array<{ name: string; mtimeMs: number }> = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    // Only names this class writes (<camera>_<imageId>.jpg, a crop <camera>_<imageId>_t<track>.jpg): a file someone else put in the folder is not the product's to delete.
    if (!e.isFile() || !/^[A-Za-z0-9_-]+_\d+(_t\d+)?\.jpg$/.test(e.name)) continue;
    try {
      found.push({ name: e.name, mtimeMs: statSync(join(dir, e.name)).mtimeMs });
    } catch {
      // gone meanwhile
    }
  }
  found.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return found.map((f) => f.name);
}
