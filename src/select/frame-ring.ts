/**
 * A5 / S7: the bounded ring of recent frames. A frame stays while anything
 * refers to it — a track's best (S7), a held candidate, a package being built
 * (reference counts) — and the oldest unreferenced frames are evicted when the
 * ring is over capacity. Generic over the payload, so the runtime stores
 * pixels (or a native handle) and tests store anything.
 */
import { InvalidStateError, invalidParameterError, outOfRangeError } from '../errors.js';

/** What a selection policy needs of the ring: reference counting by imageId. */
export interface FrameRefs {
  retain(imageId: number): void;
  release(imageId: number): void;
}

export interface FrameRingOptions<T> {
  /**
   * Frames kept when none is referenced. Default 32 (3.2 s at 10 Hz).
   * Referenced frames are never evicted, so the ring can hold more than this
   * while many bests/packages refer to distinct frames (counted in
   * `stats().overCapacity`); raising it costs memory (a 1080p BGR frame is
   * 6 MB), lowering it shortens how long an unreferenced frame can still be
   * fetched with {@link FrameRing.get}.
   */
  capacity?: number;
  /** Called with each evicted frame (e.g. to return a native buffer to a pool). */
  onEvict?: (imageId: number, frame: T) => void;
}

interface Slot<T> {
  frame: T;
  refs: number;
}

export interface FrameRingStats {
  size: number;
  referenced: number;
  evicted: number;
  /** Times a put left the ring above capacity because every older frame was referenced. */
  overCapacity: number;
}

export class FrameRing<T> implements FrameRefs {
  readonly capacity: number;
  #slots = new Map<number, Slot<T>>(); // insertion order = age (imageIds increase)
  #onEvict: ((imageId: number, frame: T) => void) | undefined;
  #lastId: number | null = null;
  #evicted = 0;
  #overCapacity = 0;

  constructor(options: FrameRingOptions<T> = {}) {
    const capacity = options.capacity ?? 32;
    if (typeof capacity !== 'number') throw invalidParameterError('positive integer', 'capacity', capacity);
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw outOfRangeError('positive integer', 'capacity', capacity);
    this.capacity = capacity;
    this.#onEvict = options.onEvict;
  }

  /**
   * Add the newest frame (refcount 0). Evicts the oldest unreferenced frames
   * while over capacity — never the frame just added, which the selector has
   * not examined yet. Returns the evicted imageIds.
   */
  put(imageId: number, frame: T): number[] {
    if (typeof imageId !== 'number') throw invalidParameterError('integer', 'imageId', imageId);
    if (!Number.isSafeInteger(imageId)) throw outOfRangeError('integer', 'imageId', imageId);
    if (this.#lastId !== null && imageId <= this.#lastId) {
      throw new InvalidStateError(`Frame ${imageId} is not newer than the last frame put, ${this.#lastId}`);
    }
    this.#lastId = imageId;
    this.#slots.set(imageId, { frame, refs: 0 });
    const evicted: number[] = [];
    if (this.#slots.size > this.capacity) {
      for (const [id, slot] of this.#slots) {
        if (this.#slots.size <= this.capacity) break;
        if (id === imageId || slot.refs > 0) continue;
        this.#slots.delete(id);
        evicted.push(id);
        this.#evicted++;
        this.#onEvict?.(id, slot.frame);
      }
      if (this.#slots.size > this.capacity) this.#overCapacity++;
    }
    return evicted;
  }

  /** The frame, or undefined when it was evicted or never put. */
  get(imageId: number): T | undefined {
    return this.#slots.get(imageId)?.frame;
  }

  has(imageId: number): boolean {
    return this.#slots.has(imageId);
  }

  /** Reference count of a frame (0 when absent). */
  refs(imageId: number): number {
    return this.#slots.get(imageId)?.refs ?? 0;
  }

  /** Keep the frame until a matching {@link release}. Throws when it is no longer in the ring. */
  retain(imageId: number): void {
    const slot = this.#slots.get(imageId);
    if (slot === undefined) throw new InvalidStateError(`Frame ${imageId} is not in the ring`);
    slot.refs++;
  }

  /**
   * Drop one reference. A frame at 0 references stays until capacity pressure
   * evicts it (so it can still be fetched for a while).
   */
  release(imageId: number): void {
    const slot = this.#slots.get(imageId);
    if (slot === undefined) throw new InvalidStateError(`Frame ${imageId} is not in the ring`);
    if (slot.refs === 0) throw new InvalidStateError(`Frame ${imageId} is released more often than retained`);
    slot.refs--;
    if (slot.refs === 0 && this.#slots.size > this.capacity) this.#trim();
  }

  #trim(): void {
    for (const [id, slot] of this.#slots) {
      if (this.#slots.size <= this.capacity) break;
      if (slot.refs > 0 || id === this.#lastId) continue;
      this.#slots.delete(id);
      this.#evicted++;
      this.#onEvict?.(id, slot.frame);
    }
  }

  get size(): number {
    return this.#slots.size;
  }

  /** imageIds held, oldest first. */
  imageIds(): number[] {
    return [...this.#slots.keys()];
  }

  stats(): FrameRingStats {
    let referenced = 0;
    for (const slot of this.#slots.values()) if (slot.refs > 0) referenced++;
    return { size: this.#slots.size, referenced, evicted: this.#evicted, overCapacity: this.#overCapacity };
  }

  /** Drop every frame (calls onEvict for each); references are discarded. */
  clear(): void {
    for (const [id, slot] of this.#slots) this.#onEvict?.(id, slot.frame);
    this.#slots.clear();
    this.#lastId = null;
  }
}
