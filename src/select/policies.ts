/**
 * The selection policies behind {@link SelectionPolicy}: 'spec' (SPEC S1–S7
 * exactly), 'replace-queued', 'final-best' (SPEC "Beyond the method"),
 * 'frigate' (Frigate's best-snapshot rule), and the naive baselines
 * 'every-frame' and 'interval'. See docs/selection.md.
 */
import { invalidParameterError, numberOption } from '../errors.js';
import type { Box, Track, TrackEntry } from '../types.js';
import { touchesEdge } from '../geometry/box.js';
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
import { edgeDistance, routeFor, validateSelectionParams, type Route, type SelectionParams } from './rules.js';
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
   * 'final-best' and 'shared-best': the longest a candidate is held before it
   * is sent, counted from the first unsent candidate of a track. Default 3 s
   * ('final-best'), 10 s ('shared-best'). Higher waits for
   * a better image (fewer uploads per object, later delivery); lower sends
   * sooner and more often.
   */
  maxLatencyS?: number;
  /** 'frigate': score margin a new image must beat the best by. Default 0.05 (Frigate's). */
  frigateScoreMargin?: number;
  /** 'frigate': relative area growth a new image must exceed. Default 0.1 (Frigate's 10 %). */
  frigateAreaGrowth?: number;
  /**
   * 'shared-best': an object counts as covered by another object's upload
   * when its own entry in that frame is unclipped and its area is at least
   * this fraction of its best area so far (and its score at most 0.05 below
   * its best); the due object's own upload must reach this fraction of its
   * best quality. Default 0.9 (tuned on issue 7's inputs, docs/selection.md).
   * Lower shares more frames (fewer bytes) but leaves objects with smaller
   * images; 1 shares only frames that are the covered object's best so far.
   */
  shareMinAreaFraction?: number;
  /**
   * 'shared-best': a covered object is sent again at its end (or latency
   * bound) only when its best area has grown to at least this multiple of the
   * area of the image that covered it. Default 1.1 (Frigate's +10 %). Lower
   * re-sends more (better images, more bytes); higher keeps the shared image.
   */
  reSendAreaGrowth?: number;
  /**
   * 'shared-best': candidate frames kept per object (its best by quality),
   * among which the frame covering the most other objects is chosen. Default
   * 16. Higher finds more sharing; each kept frame is a frame held in the ring.
   */
  shareCandidates?: number;
}

const positiveNumber = (name: string, value: unknown, fallback: number): number => numberOption(name, value, fallback, 'positive number', (v) => v > 0);
const nonNegativeNumber = (name: string, value: unknown, fallback: number): number =>
  numberOption(name, value, fallback, 'non-negative number', (v) => v >= 0);
const unitNumber = (name: string, value: unknown, fallback: number): number =>
  numberOption(name, value, fallback, 'number between 0 and 1', (v) => v >= 0 && v <= 1);
const atLeastOne = (name: string, value: unknown, fallback: number): number => numberOption(name, value, fallback, 'number ≥ 1', (v) => v >= 1);
const positiveInteger = (name: string, value: unknown, fallback: number): number =>
  numberOption(name, value, fallback, 'positive integer', (v) => Number.isSafeInteger(v) && v >= 1);

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

/** The clipped-object test lives with the other box geometry. */
export { touchesEdge } from '../geometry/box.js';

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
// 'shared-best' — hold each object's best, send frames that cover several objects.

/** One frame kept as a candidate by one or more objects, with every object's entry in it. */
interface CandidateFrame {
  imageId: number;
  timestampNs: bigint;
  width: number;
  height: number;
  /** Every track with an entry in this frame, with the entry's quality. */
  entries: Map<number, { entry: TrackEntry; quality: Quality }>;
  /** Objects holding it as a candidate (the ring holds one reference while > 0). */
  holders: number;
  /** Already uploaded: never chosen again. */
  sent: boolean;
}

/** The quality of one entry: unclipped first (S2's minEdge1, S1's minScore1, Frigate's edge veto), then q = area × score². */
interface Quality {
  good: boolean;
  area: number;
  score: number;
  q: number;
}

interface SharedTrack {
  /** Best quality seen so far (any candidate). */
  best: Quality | null;
  /** Top candidates by quality, best first. */
  cands: { frame: CandidateFrame; entry: TrackEntry; quality: Quality }[];
  /** Largest area of this object in a frame already sent that covered it; null = not covered. */
  coveredArea: number | null;
  /** Start of the wait of its uncovered (or grown) best, for the latency bound. */
  windowStart: bigint | null;
}

/** 'shared-best': a covering entry's score may be below the object's best by at most Frigate's score margin. */
const SHARE_SCORE_MARGIN = 0.05;

/** Quality order: good before not good, then q. */
function qualityCompare(a: Quality, b: Quality): number {
  if (a.good !== b.good) return a.good ? 1 : -1;
  return a.q - b.q;
}

/**
 * 'shared-best': like 'final-best', each object's best candidates (quality:
 * unclipped — S3 edge ≥ minEdge1 and not touching the border as Frigate's
 * veto — and score ≥ minScore1, then area × score²) are held until the track
 * ends or its wait reaches `maxLatencyS`. When one must be sent, the policy
 * chooses, among the object's kept candidates within `shareMinAreaFraction`
 * of its best quality, the frame that also covers the most other objects
 * still waiting, and marks every object whose entry in that frame is
 * unclipped with area ≥ `shareMinAreaFraction` × its best area so far and
 * score ≥ its best score − 0.05 as covered. A covered object is sent again only when its best area grows to
 * `reSendAreaGrowth` × the covered area. Route: S5 on the selected objects'
 * entries, any-immediate.
 */
export class SharedBestPolicy implements SelectionPolicy {
  readonly name: PolicyName = 'shared-best';
  readonly #refs: FrameRefs;
  readonly #params: SelectionParams;
  readonly #maxLatencyNs: bigint;
  readonly #shareMinAreaFraction: number;
  readonly #reSendAreaGrowth: number;
  readonly #k: number;
  readonly #tracks = new Map<number, SharedTrack>();
  #lastNs = 0n;

  constructor(options: PolicyOptions = {}) {
    this.#refs = options.refs ?? NO_REFS;
    this.#params = validateSelectionParams(options.params ?? {});
    this.#maxLatencyNs = secondsToNs(positiveNumber('maxLatencyS', options.maxLatencyS, 10));
    this.#shareMinAreaFraction = unitNumber('shareMinAreaFraction', options.shareMinAreaFraction, 0.9);
    this.#reSendAreaGrowth = atLeastOne('reSendAreaGrowth', options.reSendAreaGrowth, 1.1);
    this.#k = positiveInteger('shareCandidates', options.shareCandidates, 16);
  }

  #quality(entry: TrackEntry, width: number, height: number): Quality {
    const b = entry.box;
    const good = edgeDistance(b, width, height) >= this.#params.minEdge1 && !touchesEdge(b, width, height) && b.score >= this.#params.minScore1;
    const a = b.w * b.h;
    return { good, area: a, score: b.score, q: a * b.score * b.score };
  }

  /** Whether an object's entry in a sent frame covers it: unclipped and ≥ shareMinAreaFraction of its best area. */
  #covers(t: SharedTrack, q: Quality): boolean {
    if (!q.good) return false;
    const bestArea = t.best !== null && t.best.good ? t.best.area : 0;
    const bestScore = t.best !== null && t.best.good ? t.best.score : 0;
    return q.area >= this.#shareMinAreaFraction * bestArea && q.score >= bestScore - SHARE_SCORE_MARGIN;
  }

  /** Waiting: never covered, or its best grew to reSendAreaGrowth × the covered area. */
  #waiting(t: SharedTrack): boolean {
    if (t.best === null) return false;
    if (t.coveredArea === null) return true;
    return t.best.good && t.best.area >= this.#reSendAreaGrowth * t.coveredArea;
  }

  #dropCandidate(frame: CandidateFrame): void {
    frame.holders--;
    if (frame.holders === 0) this.#refs.release(frame.imageId);
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    this.#lastNs = frame.timestampNs;
    const entries = new Map<number, { entry: TrackEntry; quality: Quality }>();
    for (const o of visibleObjects(frame, tracks)) entries.set(o.trackId, { entry: o.entry, quality: this.#quality(o.entry, frame.width, frame.height) });
    let rec: CandidateFrame | null = null;
    for (const [trackId, { entry, quality }] of entries) {
      let t = this.#tracks.get(trackId);
      if (t === undefined) {
        t = { best: null, cands: [], coveredArea: null, windowStart: null };
        this.#tracks.set(trackId, t);
      }
      const wasWaiting = this.#waiting(t);
      if (t.best === null || qualityCompare(quality, t.best) > 0) t.best = quality;
      if (!wasWaiting && this.#waiting(t)) t.windowStart = frame.timestampNs;
      // Keep the top-K candidates by quality.
      const worst = t.cands[t.cands.length - 1];
      if (t.cands.length >= this.#k && worst !== undefined && qualityCompare(quality, worst.quality) <= 0) continue;
      if (rec === null) {
        rec = { imageId: frame.imageId, timestampNs: frame.timestampNs, width: frame.width, height: frame.height, entries, holders: 0, sent: false };
      }
      if (rec.holders++ === 0) this.#refs.retain(rec.imageId);
      let i = t.cands.length;
      while (i > 0 && qualityCompare(quality, t.cands[i - 1]!.quality) > 0) i--;
      t.cands.splice(i, 0, { frame: rec, entry, quality });
      if (t.cands.length > this.#k) this.#dropCandidate(t.cands.pop()!.frame);
    }
    const due: number[] = [];
    for (const [trackId, t] of this.#tracks) {
      if (t.windowStart !== null && frame.timestampNs - t.windowStart >= this.#maxLatencyNs && this.#waiting(t)) due.push(trackId);
    }
    return this.#sendFor(due);
  }

  /** Send, for each due object still waiting, the candidate frame covering the most waiting objects. */
  #sendFor(due: number[]): PolicyDecision[] {
    const out: PolicyDecision[] = [];
    for (const trackId of due) {
      const t = this.#tracks.get(trackId);
      if (t === undefined || !this.#waiting(t) || t.best === null) continue;
      let chosen: (typeof t.cands)[number] | undefined;
      let chosenGain = -1;
      for (const c of t.cands) {
        if (c.frame.sent || c.quality.good !== t.best.good || c.quality.q < this.#shareMinAreaFraction * t.best.q) continue;
        let gain = 0;
        for (const [otherId, e] of c.frame.entries) {
          if (otherId === trackId || !e.quality.good) continue;
          const o = this.#tracks.get(otherId);
          if (o !== undefined && this.#waiting(o) && this.#covers(o, e.quality)) gain++;
        }
        if (gain > chosenGain) {
          chosen = c;
          chosenGain = gain;
        }
      }
      chosen ??= t.cands.find((c) => !c.frame.sent); // none within tolerance unsent: its best unsent one
      if (chosen === undefined) continue; // every candidate frame is already uploaded
      const f = chosen.frame;
      f.sent = true;
      const selected: SelectedObject[] = [{ trackId, entry: chosen.entry }];
      t.coveredArea = Math.max(t.coveredArea ?? 0, chosen.quality.area);
      t.windowStart = null;
      for (const [otherId, { entry: e, quality }] of f.entries) {
        if (otherId === trackId) continue;
        const o = this.#tracks.get(otherId);
        if (o === undefined || !this.#covers(o, quality)) continue;
        const wasWaiting = this.#waiting(o);
        o.coveredArea = Math.max(o.coveredArea ?? 0, quality.area);
        if (!this.#waiting(o)) o.windowStart = null;
        if (wasWaiting) selected.push({ trackId: otherId, entry: e });
      }
      let route: Route = 'cached';
      for (const s of selected) if (routeFor(s.entry, f.width, f.height, this.#params) === 'immediate') route = 'immediate';
      this.#refs.retain(f.imageId); // the consumer's reference
      out.push({ kind: uploadKind(route), imageId: f.imageId, timestampNs: f.timestampNs, selected, decidedAtNs: this.#lastNs });
    }
    return out;
  }

  onTrackEnd(trackIds: Iterable<number>): PolicyDecision[] {
    const ids = [...trackIds].filter((id) => this.#tracks.has(id));
    const decisions = this.#sendFor(ids);
    for (const id of ids) {
      const t = this.#tracks.get(id)!;
      for (const c of t.cands) this.#dropCandidate(c.frame);
      this.#tracks.delete(id);
    }
    return decisions;
  }

  flush(): PolicyDecision[] {
    return this.onTrackEnd([...this.#tracks.keys()]);
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
    case 'shared-best':
      return new SharedBestPolicy(options);
    default:
      throw invalidParameterError(`one of ${POLICY_NAMES.join(', ')}`, 'policy', name);
  }
}
