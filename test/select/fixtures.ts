import assert from 'node:assert/strict';
import { FrameRing, createPolicy, type PolicyDecision, type PolicyName, type PolicyOptions, type SelectionPolicy } from '../../src/select/index.js';
/** Hand-made boxes, entries and track sequences for the selection tests. */
import type { Box, ExposureMode, Track, TrackEntry } from '../../src/types.js';
import type { CropStats, SelectorFrame } from '../../src/select/index.js';

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

/**
 * One step of a hand-made sequence: the objects in the frame, then the tracks
 * the tracker removed; `crops` gives crop measures by object id (the pixels'
 * sharpness and exposure, select/crop-stats.ts), neutral when absent.
 */
export type Step = { objects: SceneObject[]; end?: number[]; crops?: Record<number, Partial<CropStats>> };

/** Crop measures of a well-exposed crop with the given size-normalised sharpness. */
export function crop(sharpness: number, over: Partial<CropStats> = {}): CropStats {
  return { sharpness, highlights: 0, shadows: 0, mean: 128, ...over };
}

/** Compact form of a decision for deepEqual. */
export function short(d: PolicyDecision): string {
  const ids = d.selected.map((s) => s.trackId).join(',');
  if (d.kind === 'replace') return `replace ${d.route} ${d.imageId} [${ids}] for ${d.replacesImageIds.join(',')}`;
  return `${d.route} ${d.imageId} [${ids}]`;
}

/**
 * Drive a policy over the steps with a real FrameRing of capacity 1 as its
 * references: a decision for a frame the policy did not retain would find the
 * frame evicted. The consumer takes the frame and releases its reference.
 * Returns the decisions (with the frame index they were made at) and the ring.
 */
export function runPolicy(
  name: PolicyName,
  steps: Step[],
  options: PolicyOptions = {},
  afterStep?: (ring: FrameRing<string>) => void,
): { log: string[]; decisions: PolicyDecision[]; ring: FrameRing<string> } {
  const ring = new FrameRing<string>({ capacity: 1 });
  const policy: SelectionPolicy = createPolicy(name, { ...options, refs: ring });
  assert.equal(policy.name, name);
  const scene = new Scene();
  const log: string[] = [];
  const decisions: PolicyDecision[] = [];
  const consume = (at: number | 'flush', ds: PolicyDecision[]): void => {
    for (const d of ds) {
      assert.equal(ring.get(d.imageId), `pixels ${d.imageId}`, `frame ${d.imageId} still in the ring`);
      ring.release(d.imageId);
      decisions.push(d);
      log.push(`@${at} ${short(d)}`);
    }
  };
  steps.forEach((step, i) => {
    const { frame, tracks } = scene.frame(step.objects);
    if (step.crops) {
      const crops = new Map<Box, CropStats>();
      for (const t of tracks) {
        const c = step.crops[t.trackId];
        const e = t.entries[t.entries.length - 1];
        if (c && e && e.timestampNs === frame.timestampNs) crops.set(e.box, crop(c.sharpness ?? NaN, c));
      }
      frame.crops = crops;
    }
    ring.put(frame.imageId, `pixels ${frame.imageId}`);
    consume(i, policy.onFrame(frame, tracks));
    if (step.end) consume(i, policy.onTrackEnd(scene.end(...step.end)));
    afterStep?.(ring);
  });
  consume('flush', policy.flush());
  assert.equal(ring.stats().referenced, 0, 'every reference released after flush');
  return { log, decisions, ring };
}

/**
 * A 300-frame scene of up to six boxes drifting, growing and ending at
 * random (a linear congruential generator from `seed`: the same scene every
 * run); `seen` holds every object id that had a box.
 */
export function randomScene(seed: number): { steps: Step[]; seen: Set<number> } {
  let state = seed;
  const rnd = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const live = new Map<number, { x: number; y: number; w: number; v: number }>();
  const seen = new Set<number>();
  const steps: Step[] = [];
  let next = 1;
  for (let i = 0; i < 300; i++) {
    if (live.size < 6 && rnd() < 0.2) live.set(next++, { x: 60 + rnd() * 400, y: 60 + rnd() * 300, w: 30 + rnd() * 40, v: rnd() * 4 - 2 });
    const objects: SceneObject[] = [];
    const end: number[] = [];
    for (const [id, o] of live) {
      o.x += o.v;
      o.w += rnd() * 4 - 1.5;
      if (rnd() < 0.02 || o.w < 10 || o.x < 10 || o.x > 600) {
        live.delete(id);
        end.push(id);
        continue;
      }
      objects.push({ id, box: { cx: o.x, cy: o.y, w: o.w, h: o.w * 1.2, score: 0.5 + rnd() * 0.45 } });
      seen.add(id);
    }
    steps.push({ objects, end });
  }
  return { steps, seen };
}

/**
 * What a sharing policy ('shared-best', 'deadline-cover') must do on a
 * random scene: every object that had a box is selected by some upload, no
 * frame is uploaded twice, some uploads serve several objects, and every
 * selected entry is of the uploaded frame.
 */
export function assertCoversEveryObjectSharing(decisions: readonly PolicyDecision[], seen: ReadonlySet<number>): void {
  const selected = new Set(decisions.flatMap((d) => d.selected.map((s) => s.trackId)));
  assert.deepEqual([...seen].filter((id) => !selected.has(id)), []);
  const images = decisions.map((d) => d.imageId);
  assert.equal(new Set(images).size, images.length);
  assert.ok(
    decisions.some((d) => d.selected.length > 1),
    'some uploads are shared by several objects',
  );
  for (const d of decisions) for (const s of d.selected) assert.equal(s.entry.imageId, d.imageId);
}

/**
 * A traffic jam: 60 cars standing still for 1200 frames (a 10 × 6 grid of
 * 40×40 boxes), each frame's score drawn independently in
 * [scoreMin, scoreMin + scoreSpan) as a detector's flickers (so each car's
 * top frames by quality are different frames); all end in the last frame.
 */
export function jamSteps(seed: number, scoreMin: number, scoreSpan: number): Step[] {
  let state = seed;
  const rnd = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const cars = (): SceneObject[] =>
    Array.from({ length: 60 }, (_, k) => ({ id: k + 1, box: { cx: 40 + (k % 10) * 60, cy: 60 + Math.floor(k / 10) * 70, w: 40, h: 40, score: scoreMin + scoreSpan * rnd() } }));
  const steps: Step[] = [];
  for (let i = 0; i < 1200; i++) steps.push({ objects: cars() });
  steps[1199]!.end = Array.from({ length: 60 }, (_, k) => k + 1);
  return steps;
}

type SceneBox = { cx: number; cy: number; w: number; h: number; score: number };

/**
 * confidentScore scenes for the holding policies, object 1 at `at`: `unsure` has `n` entries at 0.55
 * (S1 qualifies them; ByteTrack matches them only in its second stage) between a confident view and
 * one 60 px on, ending there; `larger` has a smaller confident view, then a larger one at 0.55, ending.
 */
export function unsureScenes(at: SceneBox, n: number): { unsure: Step[]; larger: Step[] } {
  const one = (over: Partial<SceneBox>): SceneObject => ({ id: 1, box: { ...at, ...over } });
  return {
    unsure: [
      { objects: [one({})] },
      ...Array.from({ length: n }, (_, k) => ({ objects: [one({ cx: at.cx + (60 * (k + 1)) / (n + 1), score: 0.55 })] })),
      { objects: [one({ cx: at.cx + 60, w: 90 })], end: [1] },
    ],
    larger: [{ objects: [one({ w: 60, h: 60 })] }, { objects: [one({ w: 120, h: 120, score: 0.55 })], end: [1] }],
  };
}
