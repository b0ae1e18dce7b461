/**
 * 'deadline-cover': hold each object's best candidate frames and decide only
 * at a deadline — the object's track (segment) ends, or it has waited
 * `maxLatencyS` without a good enough image — which frames to send: a greedy
 * set cover over the held frames of the due objects, preferring the frame
 * that shows the most due objects well and, among those, the other waiting
 * objects best. Whether an object is "shown well" is judged when it is due,
 * against its best view by then, so a frame sent for another object serves
 * it only if it still is a good image of it (SPEC "Beyond the method").
 */
import type { Box, Track, TrackEntry } from '../../types.js';
import { policyOption, type PolicyName } from '../options.js';
import type { PolicyDecision, SelectedObject, SelectionPolicy } from '../policy.js';
import { compareQuality, type Quality } from '../quality.js';
import { routeFor, type Route } from '../rules.js';
import type { SelectorFrame } from '../selector.js';
import { frameQualities, holdingOptions, resumesInPlace, visibleObjects, type HoldingOptions, type PolicyOptions } from './common.js';

/** The view of one object (track segment) in one frame. */
interface View {
  trackId: number;
  entry: TrackEntry;
  quality: Quality;
}

/** A frame held as a candidate by one or more objects, with every object's view in it (by object key). */
interface CoverFrame {
  imageId: number;
  timestampNs: bigint;
  width: number;
  height: number;
  views: Map<number, View>;
  /** Objects holding it as a candidate (the ring holds one reference while > 0). */
  holders: number;
  sent: boolean;
}

/** One object: a track, or one segment of a track. */
interface CoverObject {
  trackId: number;
  /** Best view by the quality score, and the largest area of a view as good as the best (both unclipped, or both not). */
  best: Quality | null;
  largestGood: number;
  largestAny: number;
  /** Top candidates by quality, best first. */
  cands: { frame: CoverFrame; view: View }[];
  /** Its largest view (good, when it has a good one) if not among `cands`' frames: held too, so it can be chosen. */
  largestCand: { frame: CoverFrame; view: View } | null;
  /** Its views in the frames already sent. */
  sentViews: Quality[];
  /** Since when it has waited without being shown well; null when shown well. */
  windowStart: bigint | null;
}

interface TrackState {
  /** Key of the object its current segment is. */
  key: number;
  qualified: boolean;
  weakRun: number;
  /** Its last qualifying box (S1), where a resumed chain continues the segment. */
  lastBox: Box | null;
}


/**
 * Whether a view shows an object well against its best view by the quality
 * score and its largest view (as good as the best): good (unclipped, score ≥
 * confidentScore) when the best is, and either the best view itself or a view
 * whose quality score is ≥ `fraction` × the best's and whose area is ≥
 * `fraction` × the largest.
 */
export function showsWell(view: Pick<Quality, 'good' | 'q' | 'area'>, best: Pick<Quality, 'good' | 'q'>, largest: number, fraction: number): boolean {
  if (best.good && !view.good) return false;
  if (view.q >= best.q) return true; // its best view (so every object can be shown well)
  return view.q >= fraction * best.q && view.area >= fraction * largest;
}

/**
 * Record a view of an object in a sent frame, keeping only the views no other
 * one dominates (as good, quality and area at least as large): showsWell is
 * monotone in all three, so a dominated view never decides anything. Every
 * frame sent while an object stood in view added one — a parked car on a
 * busy road, one per package for as long as it stayed.
 */
export function addSentView(views: Quality[], q: Quality): void {
  const dominates = (a: Quality, b: Quality): boolean => (a.good || !b.good) && a.q >= b.q && a.area >= b.area;
  if (views.some((v) => dominates(v, q))) return;
  for (let i = views.length - 1; i >= 0; i--) if (dominates(q, views[i]!)) views.splice(i, 1);
  views.push(q);
}

/** The largest area of an object's views as good as its best (unclipped when it has an unclipped view). */
function largestOf(o: CoverObject): number {
  return o.best?.good === true ? o.largestGood : o.largestAny;
}

/** An object's held candidates: its top ones by quality, then its largest view. */
function candidatesOf(o: CoverObject): { frame: CoverFrame; view: View }[] {
  return o.largestCand === null ? o.cands : [...o.cands, o.largestCand];
}

/**
 * 'deadline-cover': each object (a track, or a segment of one: see
 * 'shared-best' and `segmentGapFrames`) keeps its `shareCandidates` best
 * candidate frames by the quality score (quality.ts). Nothing is sent until
 * an object is due: its track or segment ended, or it has waited
 * `maxLatencyS` since it was last shown well. An object is shown well by a
 * sent frame when its view there {@link showsWell} — its best view, or
 * quality score ≥ `coverMinFraction` × its best's and area ≥
 * `coverMinFraction` × its largest view's, by then — so an object seen well in a
 * frame sent for another is never sent for itself, and one that grew past
 * its sent view waits again. The due objects not shown well are covered
 * greedily: among their unsent candidates, the frame showing the most of
 * them well, then the most other waiting objects well (each weighted by its
 * quality there over its best), then the highest quality for the due ones;
 * repeated until every due object is shown well. Route: S5 on the selected
 * objects' entries, any-immediate.
 */
export class DeadlineCoverPolicy implements SelectionPolicy {
  readonly name: PolicyName = 'deadline-cover';
  readonly #o: HoldingOptions;
  readonly #fraction: number;
  readonly #resumeIou: number;
  readonly #tracks = new Map<number, TrackState>();
  readonly #objects = new Map<number, CoverObject>();
  #nextKey = 0;
  #lastNs = 0n;

  constructor(options: PolicyOptions = {}) {
    const optionsOf = this.name;
    this.#o = holdingOptions(optionsOf, options);
    this.#fraction = policyOption('coverMinFraction', optionsOf, options.coverMinFraction);
    this.#resumeIou = policyOption('segmentResumeIoU', optionsOf, options.segmentResumeIoU);
  }

  #shownWell(o: CoverObject): boolean {
    const best = o.best;
    return best !== null && o.sentViews.some((v) => showsWell(v, best, largestOf(o), this.#fraction));
  }

  #newObject(trackId: number, t: TrackState | undefined): TrackState {
    const key = this.#nextKey++;
    this.#objects.set(key, { trackId, best: null, largestGood: 0, largestAny: 0, cands: [], largestCand: null, sentViews: [], windowStart: null });
    const next = { key, qualified: t?.qualified ?? false, weakRun: 0, lastBox: t?.lastBox ?? null };
    this.#tracks.set(trackId, next);
    return next;
  }

  /** Send what the objects `keys` need, then forget them (their track or segment ended). */
  #finish(keys: number[]): PolicyDecision[] {
    const out = this.#cover(keys);
    for (const key of keys) {
      const o = this.#objects.get(key);
      if (o === undefined) continue;
      for (const c of o.cands) this.#dropCandidate(c.frame);
      if (o.largestCand !== null) this.#dropCandidate(o.largestCand.frame);
      this.#objects.delete(key);
    }
    return out;
  }

  /**
   * Candidates an object keeps: shareCandidates while it waits; once shown
   * well only its best by quality (plus its largest view), what it is sent
   * by should it wait again (the views it then gets are collected anew). All
   * 16 kept, every object in view held them for as long as it stayed: a jam
   * of 60 still cars ~1000 distinct frames, a crowd of 300 ~1500.
   */
  #keep(o: CoverObject): number {
    return this.#shownWell(o) ? 1 : this.#o.k;
  }

  #dropCandidate(frame: CoverFrame): void {
    frame.holders--;
    if (frame.holders === 0) this.#o.refs.release(frame.imageId);
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    this.#lastNs = frame.timestampNs;
    const qualities = frameQualities(frame, visibleObjects(frame, tracks), this.#o.qp, this.#o.weights);
    const out: PolicyDecision[] = [];
    for (const [trackId, t] of this.#tracks) if (!qualities.has(trackId)) t.weakRun++;
    // Segments first, so every view of this frame belongs to the object it shows.
    const ended: number[] = [];
    const views = new Map<number, View>();
    for (const [trackId, { entry, quality }] of qualities) {
      let t = this.#tracks.get(trackId);
      if (t === undefined) {
        t = this.#newObject(trackId, undefined);
      } else if (
        entry.box.score >= this.#o.confident &&
        t.qualified &&
        this.#o.segmentGap > 0 &&
        t.weakRun >= this.#o.segmentGap &&
        !resumesInPlace(t.lastBox, entry.box, this.#resumeIou)
      ) {
        ended.push(t.key);
        t = this.#newObject(trackId, t);
      }
      if (entry.box.score >= this.#o.confident) {
        t.qualified = true;
        t.weakRun = 0;
        t.lastBox = entry.box;
      } else {
        t.weakRun++;
      }
      views.set(t.key, { trackId, entry, quality });
    }
    out.push(...this.#finish(ended));
    let rec: CoverFrame | null = null;
    for (const [key, view] of views) {
      const o = this.#objects.get(key)!;
      if (o.best === null || compareQuality(view.quality, o.best) > 0) o.best = view.quality;
      const largest = largestOf(o);
      o.largestAny = Math.max(o.largestAny, view.quality.area);
      if (view.quality.good) o.largestGood = Math.max(o.largestGood, view.quality.area);
      const newLargest = largestOf(o) > largest || o.largestCand === null;
      const k = this.#keep(o);
      const worst = o.cands[o.cands.length - 1];
      const inTop = o.cands.length < k || worst === undefined || compareQuality(view.quality, worst.view.quality) > 0;
      if (!inTop && !newLargest) continue;
      rec ??= { imageId: frame.imageId, timestampNs: frame.timestampNs, width: frame.width, height: frame.height, views, holders: 0, sent: false };
      if (newLargest) {
        if (rec.holders++ === 0) this.#o.refs.retain(rec.imageId);
        if (o.largestCand !== null) this.#dropCandidate(o.largestCand.frame);
        o.largestCand = { frame: rec, view };
      }
      if (!inTop) continue;
      if (rec.holders++ === 0) this.#o.refs.retain(rec.imageId);
      let i = o.cands.length;
      while (i > 0 && compareQuality(view.quality, o.cands[i - 1]!.view.quality) > 0) i--;
      o.cands.splice(i, 0, { frame: rec, view });
      while (o.cands.length > k) this.#dropCandidate(o.cands.pop()!.frame);
    }
    const due: number[] = [];
    for (const [key, o] of this.#objects) {
      if (this.#shownWell(o)) {
        o.windowStart = null;
        while (o.cands.length > 1) this.#dropCandidate(o.cands.pop()!.frame);
        continue;
      }
      if (o.best === null) continue;
      o.windowStart ??= frame.timestampNs;
      if (frame.timestampNs - o.windowStart >= this.#o.maxLatencyNs) due.push(key);
    }
    out.push(...this.#cover(due));
    return out;
  }

  /** Greedy cover of the due objects not yet shown well, over their unsent candidate frames. */
  #cover(keys: number[]): PolicyDecision[] {
    const out: PolicyDecision[] = [];
    const open = new Set(keys.filter((key) => {
      const o = this.#objects.get(key);
      return o !== undefined && o.best !== null && !this.#shownWell(o);
    }));
    while (open.size > 0) {
      let chosen: CoverFrame | undefined;
      let chosenScore: [number, number, number] = [-1, -1, -1];
      for (const key of open) {
        for (const { frame } of candidatesOf(this.#objects.get(key)!)) {
          if (frame.sent) continue;
          const score = this.#score(frame, open);
          if (score[0] > chosenScore[0] || (score[0] === chosenScore[0] && (score[1] > chosenScore[1] || (score[1] === chosenScore[1] && score[2] > chosenScore[2])))) {
            chosen = frame;
            chosenScore = score;
          }
        }
      }
      if (chosen === undefined || chosenScore[0] === 0) {
        // No unsent candidate shows them well (their best frames were sent before they grew): each its best unsent one.
        for (const key of open) {
          const c = candidatesOf(this.#objects.get(key)!).find((x) => !x.frame.sent);
          if (c !== undefined) out.push(this.#send(c.frame, key));
        }
        break;
      }
      out.push(this.#send(chosen));
      for (const key of [...open]) if (this.#shownWell(this.#objects.get(key)!)) open.delete(key);
    }
    return out;
  }

  /** [due objects shown well, other waiting objects shown well (weighted), quality ratio of the due ones]. */
  #score(frame: CoverFrame, open: Set<number>): [number, number, number] {
    let due = 0;
    let others = 0;
    let dueQuality = 0;
    for (const [key, view] of frame.views) {
      const o = this.#objects.get(key);
      if (o === undefined || o.best === null || !showsWell(view.quality, o.best, largestOf(o), this.#fraction)) continue;
      const ratio = o.best.q > 0 ? view.quality.q / o.best.q : 1;
      if (open.has(key)) {
        due++;
        dueQuality += ratio;
      } else if (!this.#shownWell(o)) {
        others += ratio;
      }
    }
    return [due, others, dueQuality];
  }

  /**
   * Upload `frame`: every object in it records its view there; the waiting
   * ones it shows well are selected, and `forKey`, the object it is sent for
   * when no frame shows it well any more.
   */
  #send(frame: CoverFrame, forKey?: number): PolicyDecision {
    frame.sent = true;
    const selected: SelectedObject[] = [];
    for (const [key, view] of frame.views) {
      const o = this.#objects.get(key);
      if (o === undefined) continue;
      const wasWaiting = !this.#shownWell(o);
      addSentView(o.sentViews, view.quality);
      if ((wasWaiting && this.#shownWell(o)) || key === forKey) {
        selected.push({ trackId: view.trackId, entry: view.entry });
        o.windowStart = null;
      }
    }
    let route: Route = 'cached';
    for (const s of selected) if (routeFor(s.entry, frame.width, frame.height, this.#o.params) === 'immediate') route = 'immediate';
    this.#o.refs.retain(frame.imageId); // the consumer's reference
    return { kind: 'upload', route, imageId: frame.imageId, timestampNs: frame.timestampNs, selected, decidedAtNs: this.#lastNs };
  }

  onTrackEnd(trackIds: Iterable<number>): PolicyDecision[] {
    const keys: number[] = [];
    for (const id of trackIds) {
      const t = this.#tracks.get(id);
      if (t === undefined) continue;
      keys.push(t.key);
      this.#tracks.delete(id);
    }
    return this.#finish(keys);
  }

  flush(): PolicyDecision[] {
    return this.onTrackEnd([...this.#tracks.keys()]);
  }
}
