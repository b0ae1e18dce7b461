/**
 * Track id allocation (T2: "a fresh unique trackId"; data model: unique per
 * camera, never reused). Injected per camera — no global counter — so two
 * cameras' trackers never share state and a restarted tracker can continue
 * from a persisted id.
 */
import { invalidParameterError } from '../errors.js';

export interface IdAllocator {
  /** The next id; never returns an id it returned before. */
  next(): number;
}

/** Counter allocator: start, start+1, … (default start 1, as upstream's BaseTrack). */
export function createIdAllocator(start = 1): IdAllocator {
  if (!Number.isSafeInteger(start) || start < 0) throw invalidParameterError('non-negative integer', 'start', start);
  let nextId = start;
  return {
    next(): number {
      return nextId++;
    },
  };
}
