/**
 * The selection policies behind {@link SelectionPolicy}: 'spec' (SPEC S1–S7
 * exactly), 'replace-queued', 'final-best' (SPEC "Beyond the method"),
 * 'frigate' (Frigate's best-snapshot rule), and the naive baselines
 * 'every-frame' and 'interval'. See docs/selection.md.
 */
import { invalidParameterError, outOfRangeError } from '../errors.js';
import type { Box, Track, TrackEntry } from '../types.js';
import type { FrameRefs } from './frame-ring.js';
import {
  NO_REFS,
  POLICY_NAMES,
  entryAt,
  uploadKind,
  type PolicyDecision,
  type PolicyName,
  type SelectedObject,
  type SelectionPolicy,
} from './policy.js';
import { routeFor, type Route, type SelectionParams } from './rules.js';
import { Selector, type BestImage, type FirstSighting, type RouteResolution, type SelectionResult, type SelectorFrame } from './selector.js';

export interface PolicyOptions {
  /** S1/S2/S5 parameters ('spec', 'replace-queued', 'final-best'); SPEC defaults. */
  params?: Partial<SelectionParams>;
  /** S4/S5 resolution when several objects select one frame. Default 'any-immediate'. */
  routeResolution?: RouteResolution;
  /** S1 first sighting ('spec', 'replace-queued', 'final-best'). Default 'first-seen'. */
  firstSighting?: FirstSighting;
  /** Frame references (a FrameRing). Default: none (evaluation without pixels). */
  refs?: FrameRefs;
  /**
   * 'interval': seconds between uploads. Default 1. Lower sends more frames
   * (more bytes, earlier first image); higher may miss short-lived objects.
   */
  intervalS?: number;
  /**
   * 'final-best': the longest a candidate is held before it is sent, counted
   * from the first unsent candidate of a track. Default 3 s. Higher waits for
   * a better image (fewer uploads per object, later delivery); lower sends
   * sooner and more often.
   */
  maxLatencyS?: number;
  /** 'frigate': score margin a new image must beat the best by. Default 0.05 (Frigate's). */
  frigateScoreMargin?: number;
  /** 'frigate': relative area growth a new image must exceed. Default 0.1 (Frigate's 10 %). */
  frigateAreaGrowth?: number;
}

function positiveNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidParameterError('positive number', name, value);
  if (!Number.isFinite(value) || value <= 0) throw outOfRangeError('positive number', name, value);
  return value;
}

function nonNegativeNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidParameterError('non-negative number', name, value);
  if (!Number.isFinite(value) || value < 0) throw outOfRangeError('non-negative number', name, value);
  return value;
}

function secondsToNs(s: number): bigint {
  return BigInt(Math.round(s * 1e9));
}

/** Tracks with an entry in this frame, with that entry. */
function visibleObjects(frame: SelectorFrame, tracks: readonly Track[]): SelectedObject[] {
  const out: SelectedObject[] = [];
  for (const track of tracks) {
    const entry = entryAt(track, frame.timestampNs);
    if (entry !== undefined) out.push({ trackId: track.trackId, entry });
  }
  return out;
}

/** Frames a policy holds for its tracks, one reference per holder. */
interface Held {
  imageId: number;
  timestampNs: bigint;
  entry: TrackEntry;
  width: number;
  height: number;
}

/**
 * Group held frames of ending/due tracks into one upload per image (S4's
 * "one upload per frame" carried over to held frames).
 */
function groupByImage(items: { trackId: number; held: Held }[]): Map<number, { held: Held; selected: SelectedObject[] }> {
  const groups = new Map<number, { held: Held; selected: SelectedObject[] }>();
  for (const { trackId, held } of items) {
    let g = groups.get(held.imageId);
    if (g === undefined) {
      g = { held, selected: [] };
      groups.set(held.imageId, g);
    }
    g.selected.push({ trackId, entry: held.entry });
  }
  return groups;
}

// ---------------------------------------------------------------------------
// 'spec' — SPEC S1–S7 exactly.

/**
 * The method as SPEC states it: every frame, S1–S6 per track through the
 * {@link Selector}; a selected frame is uploaded once (S4), immediately or
 * through the queue (S5). Track bests (S7) are retained in the ring.
 */
export class SpecPolicy implements SelectionPolicy {
  readonly name: PolicyName = 'spec';
  protected readonly selector: Selector;
  protected readonly refs: FrameRefs;
  protected lastNs = 0n;

  constructor(options: PolicyOptions = {}) {
    this.selector = new Selector({ params: options.params, routeResolution: options.routeResolution, firstSighting: options.firstSighting });
    this.refs = options.refs ?? NO_REFS;
  }

  /** Examine the frame and move the retained bests (S7). */
  protected select(frame: SelectorFrame, tracks: readonly Track[]): SelectionResult {
    const result = this.selector.update(frame, tracks);
    this.lastNs = frame.timestampNs;
    for (const s of result.selections) {
      this.refs.retain(s.best.imageId);
      if (s.previous !== null) this.refs.release(s.previous.imageId);
    }
    return result;
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    const result = this.select(frame, tracks);
    if (result.upload === null) return [];
    this.refs.retain(result.imageId); // the consumer's reference
    return [
      {
        kind: uploadKind(result.upload.route),
        imageId: result.imageId,
        timestampNs: result.timestampNs,
        selected: result.selections.map((s) => ({ trackId: s.trackId, entry: s.best.entry })),
        decidedAtNs: this.lastNs,
      },
    ];
  }

  onTrackEnd(trackIds: Iterable<number>): PolicyDecision[] {
    for (const { best } of this.selector.forget(trackIds)) this.refs.release(best.imageId);
    return [];
  }

  flush(): PolicyDecision[] {
    return this.onTrackEnd(this.selector.trackIds());
  }

  /** S7 state, for inspection. */
  bestOf(trackId: number): BestImage | undefined {
    return this.selector.bestOf(trackId);
  }
}

// ---------------------------------------------------------------------------
// 'replace-queued'

interface QueuedPackage {
  /** Tracks whose current best is this image. */
  holders: Set<number>;
  /** An ended track's final best is this image: never replace it. */
  pinned: boolean;
}

/**
 * SPEC rules, but when an object's best moves from Y to X and Y went to the
 * cache queue (cached) and no other object needs Y — no other live track's
 * best is Y and Y is not the final best of an ended track — the decision
 * replaces Y by X instead of adding X. Immediate packages are never replaced
 * (they are already on their way).
 */
export class ReplaceQueuedPolicy extends SpecPolicy {
  override readonly name: PolicyName = 'replace-queued';
  /** Cached packages the policy sent to the queue and who still needs them. */
  #queued = new Map<number, QueuedPackage>();

  override onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    const result = this.select(frame, tracks);
    if (result.upload === null) return [];
    const replaces: number[] = [];
    for (const s of result.selections) {
      if (s.previous === null) continue;
      const pkg = this.#queued.get(s.previous.imageId);
      if (pkg === undefined) continue;
      pkg.holders.delete(s.trackId);
      if (pkg.holders.size > 0) continue;
      this.#queued.delete(s.previous.imageId);
      if (!pkg.pinned) replaces.push(s.previous.imageId);
    }
    const route = result.upload.route;
    if (route === 'cached') {
      this.#queued.set(result.imageId, { holders: new Set(result.upload.trackIds), pinned: false });
    }
    this.refs.retain(result.imageId); // the consumer's reference
    const base = {
      imageId: result.imageId,
      timestampNs: result.timestampNs,
      selected: result.selections.map((s) => ({ trackId: s.trackId, entry: s.best.entry })),
      decidedAtNs: this.lastNs,
    };
    if (replaces.length === 0) return [{ kind: uploadKind(route), ...base }];
    return [{ kind: 'replace', route, replacesImageIds: replaces.sort((a, b) => a - b), ...base }];
  }

  override onTrackEnd(trackIds: Iterable<number>): PolicyDecision[] {
    const ids = [...trackIds];
    for (const trackId of ids) {
      const best = this.selector.bestOf(trackId);
      if (best === undefined) continue;
      const pkg = this.#queued.get(best.imageId);
      if (pkg === undefined) continue;
      pkg.holders.delete(trackId);
      pkg.pinned = true; // the ended object's final image
      if (pkg.holders.size === 0) this.#queued.delete(best.imageId);
    }
    return super.onTrackEnd(ids);
  }
}

// ---------------------------------------------------------------------------
// Policies that hold a per-track image and send it later.

abstract class HoldingPolicy implements SelectionPolicy {
  abstract readonly name: PolicyName;
  protected readonly refs: FrameRefs;
  protected readonly held = new Map<number, Held>();
  protected lastNs = 0n;

  constructor(refs: FrameRefs | undefined) {
    this.refs = refs ?? NO_REFS;
  }

  abstract onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[];

  /** Hold `next` for a track (retain new, release old). */
  protected hold(trackId: number, next: Held): void {
    const prev = this.held.get(trackId);
    this.refs.retain(next.imageId);
    if (prev !== undefined) this.refs.release(prev.imageId);
    this.held.set(trackId, next);
  }

  /** Emit one upload per distinct held image of these tracks. */
  protected emit(items: { trackId: number; held: Held }[], routeOf: (held: Held) => Route): PolicyDecision[] {
    const out: PolicyDecision[] = [];
    for (const { held, selected } of groupByImage(items).values()) {
      let route: Route = 'cached';
      for (const item of items) if (item.held.imageId === held.imageId && routeOf(item.held) === 'immediate') route = 'immediate';
      this.refs.retain(held.imageId); // the consumer's reference
      out.push({ kind: uploadKind(route), imageId: held.imageId, timestampNs: held.timestampNs, selected, decidedAtNs: this.lastNs });
    }
    return out.sort((a, b) => a.imageId - b.imageId);
  }

  /** Tracks to send at their end; default: all with a held image. */
  protected dueAtEnd(trackId: number, held: Held): boolean {
    void trackId;
    void held;
    return true;
  }

  protected abstract routeAtEnd(held: Held): Route;

  protected forgetTrack(trackId: number): void {
    void trackId;
  }

  onTrackEnd(trackIds: Iterable<number>): PolicyDecision[] {
    const due: { trackId: number; held: Held }[] = [];
    const ended: { trackId: number; held: Held }[] = [];
    for (const trackId of trackIds) {
      const held = this.held.get(trackId);
      if (held === undefined) continue;
      ended.push({ trackId, held });
      if (this.dueAtEnd(trackId, held)) due.push({ trackId, held });
    }
    const decisions = this.emit(due, (h) => this.routeAtEnd(h));
    for (const { trackId, held } of ended) {
      this.held.delete(trackId);
      this.refs.release(held.imageId);
      this.forgetTrack(trackId);
    }
    return decisions;
  }

  flush(): PolicyDecision[] {
    return this.onTrackEnd([...this.held.keys()]);
  }
}

/** Frigate's on_edge: the box touches the frame border (x1 ≤ 0, y1 ≤ 0, x2 ≥ W−1 or y2 ≥ H−1). */
export function touchesEdge(box: Pick<Box, 'cx' | 'cy' | 'w' | 'h' | 'angle'>, width: number, height: number): boolean {
  // Axis-aligned extent of the (possibly rotated) box.
  const cos = Math.abs(Math.cos(box.angle));
  const sin = Math.abs(Math.sin(box.angle));
  const halfW = (box.w * cos + box.h * sin) / 2;
  const halfH = (box.w * sin + box.h * cos) / 2;
  return box.cx - halfW <= 0 || box.cy - halfH <= 0 || box.cx + halfW >= width - 1 || box.cy + halfH >= height - 1;
}

/**
 * Frigate's is_better_thumbnail (without its face/plate attributes): a new
 * image is not better when it touches the edge while the current best does
 * not; otherwise it is better when its score exceeds the best's by more than
 * `scoreMargin` (0.05) or its area exceeds the best's by more than
 * `areaGrowth` (10 %).
 */
export function isBetterFrigate(
  current: Pick<Box, 'cx' | 'cy' | 'w' | 'h' | 'angle' | 'score'>,
  candidate: Pick<Box, 'cx' | 'cy' | 'w' | 'h' | 'angle' | 'score'>,
  width: number,
  height: number,
  scoreMargin = 0.05,
  areaGrowth = 0.1,
): boolean {
  if (touchesEdge(candidate, width, height) && !touchesEdge(current, width, height)) return false;
  if (candidate.score > current.score + scoreMargin) return true;
  return candidate.w * candidate.h > current.w * current.h * (1 + areaGrowth);
}

/**
 * 'frigate': each track keeps a best snapshot by Frigate's rule (first
 * sighting, then {@link isBetterFrigate}); the best is sent when the track
 * ends (Frigate publishes its best snapshot with the event's end), one upload
 * per distinct image, always immediately.
 */
export class FrigatePolicy extends HoldingPolicy {
  readonly name: PolicyName = 'frigate';
  readonly #scoreMargin: number;
  readonly #areaGrowth: number;

  constructor(options: PolicyOptions = {}) {
    super(options.refs);
    this.#scoreMargin = nonNegativeNumber('frigateScoreMargin', options.frigateScoreMargin, 0.05);
    this.#areaGrowth = nonNegativeNumber('frigateAreaGrowth', options.frigateAreaGrowth, 0.1);
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    this.lastNs = frame.timestampNs;
    for (const { trackId, entry } of visibleObjects(frame, tracks)) {
      const current = this.held.get(trackId);
      if (
        current === undefined ||
        isBetterFrigate(current.entry.box, entry.box, frame.width, frame.height, this.#scoreMargin, this.#areaGrowth)
      ) {
        this.hold(trackId, { imageId: frame.imageId, timestampNs: frame.timestampNs, entry, width: frame.width, height: frame.height });
      }
    }
    return [];
  }

  protected routeAtEnd(): Route {
    return 'immediate';
  }
}

/**
 * 'final-best': the SPEC's best (S1, S2 with S6, per track) is held instead of
 * sent. It is sent when the track ends, or when the track's first unsent
 * candidate has waited `maxLatencyS`; after that the track starts a new
 * window and a later, better candidate is sent the same way. Route by S5 on
 * the candidate's entry (any-immediate over the objects sharing the image).
 */
export class FinalBestPolicy extends HoldingPolicy {
  readonly name: PolicyName = 'final-best';
  readonly #selector: Selector;
  readonly #maxLatencyNs: bigint;
  /** trackId → start of the window of its unsent candidate. */
  #windowStart = new Map<number, bigint>();

  constructor(options: PolicyOptions = {}) {
    super(options.refs);
    this.#selector = new Selector({ params: options.params, routeResolution: options.routeResolution, firstSighting: options.firstSighting });
    this.#maxLatencyNs = secondsToNs(positiveNumber('maxLatencyS', options.maxLatencyS, 3));
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    const result = this.#selector.update(frame, tracks);
    this.lastNs = frame.timestampNs;
    for (const s of result.selections) {
      this.hold(s.trackId, { imageId: frame.imageId, timestampNs: frame.timestampNs, entry: s.best.entry, width: frame.width, height: frame.height });
      if (!this.#windowStart.has(s.trackId)) this.#windowStart.set(s.trackId, frame.timestampNs);
    }
    const due: { trackId: number; held: Held }[] = [];
    for (const [trackId, start] of this.#windowStart) {
      if (frame.timestampNs - start < this.#maxLatencyNs) continue;
      const held = this.held.get(trackId);
      if (held !== undefined) due.push({ trackId, held });
      this.#windowStart.delete(trackId);
    }
    return this.emit(due, (h) => this.routeAtEnd(h));
  }

  protected override dueAtEnd(trackId: number): boolean {
    return this.#windowStart.has(trackId); // an unsent candidate
  }

  protected routeAtEnd(held: Held): Route {
    return routeFor(held.entry, held.width, held.height, this.#selector.params);
  }

  protected override forgetTrack(trackId: number): void {
    this.#windowStart.delete(trackId);
    this.#selector.forget([trackId]);
  }
}

// ---------------------------------------------------------------------------
// Naive baselines.

/** 'every-frame': every frame with at least one object in it is sent (the upper bound on bytes). */
export class EveryFramePolicy implements SelectionPolicy {
  readonly name: PolicyName = 'every-frame';
  readonly #refs: FrameRefs;

  constructor(options: PolicyOptions = {}) {
    this.#refs = options.refs ?? NO_REFS;
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    const selected = visibleObjects(frame, tracks);
    if (selected.length === 0) return [];
    this.#refs.retain(frame.imageId);
    return [{ kind: 'send', imageId: frame.imageId, timestampNs: frame.timestampNs, selected, decidedAtNs: frame.timestampNs }];
  }

  onTrackEnd(): PolicyDecision[] {
    return [];
  }

  flush(): PolicyDecision[] {
    return [];
  }
}

/**
 * 'interval': one frame every `intervalS` seconds, taken from frames with at
 * least one object in them (the first such frame, then the first one at least
 * `intervalS` after the last sent).
 */
export class IntervalPolicy implements SelectionPolicy {
  readonly name: PolicyName = 'interval';
  readonly #refs: FrameRefs;
  readonly #intervalNs: bigint;
  #lastSentNs: bigint | null = null;

  constructor(options: PolicyOptions = {}) {
    this.#refs = options.refs ?? NO_REFS;
    this.#intervalNs = secondsToNs(positiveNumber('intervalS', options.intervalS, 1));
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    if (this.#lastSentNs !== null && frame.timestampNs - this.#lastSentNs < this.#intervalNs) return [];
    const selected = visibleObjects(frame, tracks);
    if (selected.length === 0) return [];
    this.#lastSentNs = frame.timestampNs;
    this.#refs.retain(frame.imageId);
    return [{ kind: 'send', imageId: frame.imageId, timestampNs: frame.timestampNs, selected, decidedAtNs: frame.timestampNs }];
  }

  onTrackEnd(): PolicyDecision[] {
    return [];
  }

  flush(): PolicyDecision[] {
    return [];
  }
}

/** Build a policy by name (config / `--policies`). */
export function createPolicy(name: PolicyName, options: PolicyOptions = {}): SelectionPolicy {
  switch (name) {
    case 'spec':
      return new SpecPolicy(options);
    case 'replace-queued':
      return new ReplaceQueuedPolicy(options);
    case 'final-best':
      return new FinalBestPolicy(options);
    case 'frigate':
      return new FrigatePolicy(options);
    case 'every-frame':
      return new EveryFramePolicy(options);
    case 'interval':
      return new IntervalPolicy(options);
    default:
      throw invalidParameterError(`one of ${POLICY_NAMES.join(', ')}`, 'policy', name);
  }
}
