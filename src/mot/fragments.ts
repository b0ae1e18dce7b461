/**
 * Fragmentation: how many tracks one real object became. Every track costs
 * at least one upload (S6), so this is what extra tracks cost. Input: the
 * (ground-truth object, track) pairs matched in any frame — by CLEAR's
 * per-frame matching in `eval-mot`, by one-to-one IoU matching in the
 * selection evaluation.
 */

export interface Fragmentation {
  /** Ground-truth objects matched to at least one track. */
  objects: number;
  /** Σ over those objects of the distinct tracks matched to it. */
  objectTracks: number;
  /** Objects matched to more than one track. */
  split: number;
  /** objectTracks / objects (1 = one track per object); NaN without objects. */
  tracksPerObject: number;
  /** split / objects, 0–1; NaN without objects. */
  splitShare: number;
}

/** Fragmentation from the sums (objects, objectTracks, split) — also for pooled inputs. */
export function fragmentationFromCounts(objects: number, objectTracks: number, split: number): Fragmentation {
  return {
    objects,
    objectTracks,
    split,
    tracksPerObject: objects > 0 ? objectTracks / objects : NaN,
    splitShare: objects > 0 ? split / objects : NaN,
  };
}

/** Fragmentation of matched (ground-truth object, track) pairs; repeats are counted once. */
export function fragmentation(pairs: Iterable<readonly [object: string | number, trackId: number]>): Fragmentation {
  const tracksOf = new Map<string | number, Set<number>>();
  for (const [object, trackId] of pairs) {
    let s = tracksOf.get(object);
    if (!s) tracksOf.set(object, (s = new Set()));
    s.add(trackId);
  }
  let objectTracks = 0;
  let split = 0;
  for (const s of tracksOf.values()) {
    objectTracks += s.size;
    if (s.size > 1) split++;
  }
  return fragmentationFromCounts(tracksOf.size, objectTracks, split);
}
