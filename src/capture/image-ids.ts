/**
 * imageId allocation (A5, data model "Frame"): unique and monotonically
 * increasing per camera, never reused across restarts or crashes.
 *
 * A high-water mark is kept in `<stateDir>/<cameraId>.imageid.json`. Ids are
 * reserved in blocks: before the first id of a block is handed out, the end
 * of the block is written (temp file, fsync, rename, fsync of the directory).
 * After a crash the next run starts at the persisted end, so an id handed out
 * before the crash is never handed out again; at most one block is skipped.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError, invalidParameterError, outOfRangeError, unwritableDirAdvice } from '../errors.js';
import { makeDirectory } from '../process-lock.js';

export interface ImageIdOptions {
  /** Directory of the state file; created if missing. */
  stateDir: string;
  cameraId: string;
  /** Told when the state file cannot be saved (disk full) and when it can again. Default console.error. */
  onDegraded?: (line: string) => void;
  /** Ids reserved per write. Default 1000: one fsync per 100 s at 10 Hz; larger means fewer writes and bigger gaps after a crash. */
  blockSize?: number;
  /**
   * The first id of a camera with no state file. Default 1. A service passes
   * the wall clock in ms: a unit re-imaged (its stateDir gone) then starts
   * above every id it handed out before — at 10 Hz ids grow 100× slower than
   * the clock — so the cloud, deduplicating by camera and id (U3), never
   * meets an id twice.
   */
  firstId?: number;
  /**
   * Which ids: 'imageid' (default, `<cameraId>.imageid.json`) or 'trackid'
   * (`<cameraId>.trackid.json`): trackIds are unique per camera and never
   * reused (data model, T2) across restarts too; the tracking worker hands
   * them out and the camera reports how far it got ({@link ImageIdAllocator.cover}).
   */
  kind?: IdKind;
}

export type IdKind = 'imageid' | 'trackid';

interface StateFile {
  version: 1;
  cameraId: string;
  /** Every id below this may have been handed out. */
  reservedUpTo: number;
}

export const CAMERA_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function validateCameraId(cameraId: unknown, name = 'cameraId'): string {
  if (typeof cameraId !== 'string' || !CAMERA_ID_PATTERN.test(cameraId) || cameraId === '.' || cameraId === '..') {
    throw invalidParameterError('1-64 characters of A-Z a-z 0-9 . _ -', name, cameraId);
  }
  return cameraId;
}

/** Durable replace: write a temp file, fsync it, rename over the target, fsync the directory. */
export function writeFileDurable(dir: string, name: string, content: string): void {
  const target = join(dir, name);
  const tmp = `${target}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, target);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

export class ImageIdAllocator {
  readonly cameraId: string;
  readonly path: string;
  readonly blockSize: number;
  #dir: string;
  #next: number;
  #reservedUpTo: number;
  #degraded = false;
  #onDegraded: ((line: string) => void) | undefined;
  readonly #kind: IdKind;
  /** 'imageId' or 'trackId', for messages. */
  readonly #what: string;

  private constructor(dir: string, cameraId: string, blockSize: number, start: number, kind: IdKind) {
    this.#dir = dir;
    this.cameraId = cameraId;
    this.blockSize = blockSize;
    this.#kind = kind;
    this.#what = kind === 'imageid' ? 'imageId' : 'trackId';
    this.path = join(dir, `${cameraId}.${kind}.json`);
    this.#next = start;
    this.#reservedUpTo = start;
  }

  #setWarn(warn: ((line: string) => void) | undefined): this {
    this.#onDegraded = warn ?? ((line: string) => console.error(line));
    return this;
  }

  /** Open (or create) the allocator of a camera. The first id of a new camera is `firstId` (1). */
  static open(options: ImageIdOptions): ImageIdAllocator {
    if (typeof options?.stateDir !== 'string' || options.stateDir.length === 0) {
      throw invalidParameterError('non-empty string', 'stateDir', options?.stateDir);
    }
    const cameraId = validateCameraId(options.cameraId);
    const blockSize = options.blockSize ?? 1000;
    if (!Number.isInteger(blockSize) || blockSize < 1) throw invalidParameterError('positive integer', 'blockSize', blockSize);
    try {
      makeDirectory(options.stateDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new CaptureError(`stateDir ${options.stateDir} cannot be created (${code}: ${(err as Error).message}): ${unwritableDirAdvice(code, 'stateDir')}`, 'ERR_CAPTURE', { cause: err });
    }
    const kind = options.kind ?? 'imageid';
    if (kind !== 'imageid' && kind !== 'trackid') throw invalidParameterError("one of 'imageid', 'trackid'", 'kind', kind);
    const what = kind === 'imageid' ? 'imageId' : 'trackId';
    const path = join(options.stateDir, `${cameraId}.${kind}.json`);
    const firstId = options.firstId ?? 1;
    if (!Number.isSafeInteger(firstId) || firstId < 1) throw invalidParameterError('positive safe integer', 'firstId', options.firstId);
    let start = firstId;
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      let state: Partial<StateFile>;
      try {
        state = JSON.parse(text) as Partial<StateFile>;
      } catch {
        throw new CaptureError(`Corrupt ${what} state file ${path}: not JSON (refusing to risk reusing ids; restore or remove it knowingly)`);
      }
      if (state.cameraId !== cameraId || !Number.isSafeInteger(state.reservedUpTo) || (state.reservedUpTo as number) < 1) {
        throw new CaptureError(`Corrupt ${what} state file ${path}: expected cameraId '${cameraId}' and a positive integer reservedUpTo`);
      }
      start = state.reservedUpTo as number;
    }
    return new ImageIdAllocator(options.stateDir, cameraId, blockSize, start, kind).#setWarn(options.onDegraded);
  }

  /**
   * Reserve the first block now and fail if it cannot be saved. A service
   * calls it at start: ids handed out unsaved from the start would be handed
   * out again after a restart, and the cloud, deduplicating by id, would take
   * the new images for ones it already has.
   */
  reserve(): void {
    if (this.#next < this.#reservedUpTo) return;
    try {
      this.#save(this.#next + this.blockSize);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new CaptureError(
        `${this.#what} state ${this.path} cannot be saved (${code}: ${(err as Error).message}): without it the camera's ids would be reused after a restart; free space in stateDir or make it writable`,
      );
    }
  }

  #save(upTo: number): void {
    if (!Number.isSafeInteger(upTo)) throw outOfRangeError('safe integer', this.#what, upTo);
    const state: StateFile = { version: 1, cameraId: this.cameraId, reservedUpTo: upTo };
    writeFileDurable(this.#dir, `${this.cameraId}.${this.#kind}.json`, `${JSON.stringify(state)}\n`);
    this.#reservedUpTo = upTo;
  }

  /** The next id; reserves (durably) a new block first when the current one is used up. */
  next(): number {
    if (this.#next >= this.#reservedUpTo) this.#extend(this.#next + this.blockSize);
    return this.#next++;
  }

  /**
   * Ids below `nextId` were handed out by someone else (the tracking worker
   * counts trackIds up from {@link next}'s id): keep the saved mark at least
   * half a block above them, so a crash never reuses one — a frame would
   * have to start more than blockSize / 2 tracks (500 by default) between
   * two reports to outrun it.
   */
  cover(nextId: number): void {
    if (!Number.isSafeInteger(nextId)) throw outOfRangeError('safe integer', this.#what, nextId);
    if (nextId > this.#next) this.#next = nextId;
    if (this.#next + this.blockSize / 2 > this.#reservedUpTo) this.#extend(this.#next + this.blockSize);
  }

  #extend(upTo: number): void {
    try {
      this.#save(upTo);
      if (this.#degraded) this.#onDegraded?.(`${this.#what} state ${this.path} saved again (reserved up to ${upTo})`);
      this.#degraded = false;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EIO' && code !== 'EROFS') throw err;
      // A full disk must not stop the camera: ids go on in memory above the
      // last saved block and the save is retried at every id until it
      // succeeds. Ids handed out meanwhile belong to packages the full disk
      // cannot queue either; only a crash before the next save could reuse them.
      if (!this.#degraded) this.#onDegraded?.(`${this.#what} state ${this.path} cannot be saved (${code}); ids continue in memory from ${this.#next}`);
      this.#degraded = true;
    }
  }

  /** True while the state file cannot be written (disk full): ids are handed out unsaved. */
  get degraded(): boolean {
    return this.#degraded;
  }

  /** Ids below this may have been handed out (the persisted high-water mark). */
  get reservedUpTo(): number {
    return this.#reservedUpTo;
  }
}
