/** Hand-made boxes, entries and track sequences for the selection tests. */
import type { Box, ExposureMode, Track, TrackEntry } from '../../src/types.js';
import type { SelectorFrame } from '../../src/select/index.js';

export const W = 640;
export const H = 480;

export function box(over: Partial<Box> = {}): Box {
  return { cx: 320, cy: 240, w: 100, h: 100, angle: 0, classId: 2, label: 'car', score: 0.8, ...over };
}

/** Box given by its corners (axis-aligned). */
export function xyxy(x1: number, y1: number, x2: number, y2: number, over: Partial<Box> = {}): Box {
  return box({ cx: (x1 + x2) / 2, cy: (y1 + y2) / 2, w: x2 - x1, h: y2 - y1, ...over });
}

export function entry(timestampNs: bigint, imageId: number, b: Box, exposureMode: ExposureMode = 'manual'): TrackEntry {
  return { timestampNs, imageId, exposureMode, cameraPosition: null, box: b, worldPosition: null };
}

export interface SceneObject {
  id: number;
  box: Partial<Box>;
  mode?: ExposureMode;
}

/**
 * Builds the tracker's output frame by frame: each frame lists every live
 * track (a track not in `objects` is "lost": its last entry is older).
 * Frames are 100 ms apart (10 Hz), imageId = frame index.
 */
export class Scene {
  readonly width: number;
  readonly height: number;
  #tracks = new Map<number, Track>();
  #next = 0;
  /** Cap on entries per track, like a tracker that keeps a bounded history. */
  readonly maxEntries: number;

  constructor(width = W, height = H, maxEntries = Infinity) {
    this.width = width;
    this.height = height;
    this.maxEntries = maxEntries;
  }

  frame(objects: SceneObject[]): { frame: SelectorFrame; tracks: Track[] } {
    const imageId = this.#next++;
    const timestampNs = BigInt(imageId) * 100_000_000n;
    for (const o of objects) {
      let t = this.#tracks.get(o.id);
      if (t === undefined) {
        t = { trackId: o.id, classId: 2, entries: [] };
        this.#tracks.set(o.id, t);
      }
      t.entries.push(entry(timestampNs, imageId, box(o.box), o.mode ?? 'manual'));
      if (t.entries.length > this.maxEntries) t.entries.shift();
    }
    const tracks = [...this.#tracks.values()].map((t) => ({ ...t, entries: [...t.entries] }));
    return { frame: { imageId, timestampNs, width: this.width, height: this.height }, tracks };
  }

  /** The tracker removed these tracks. */
  end(...ids: number[]): number[] {
    for (const id of ids) this.#tracks.delete(id);
    return ids;
  }
}
