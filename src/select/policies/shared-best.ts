/**
 * The 'shared-best' family: hold each object's best candidates by the quality
 * score and send the frames that cover several waiting objects at once (SPEC
 * "Beyond the method": fewer bytes for the same or better images).
 */
import type { Box, Track, TrackEntry } from '../../types.js';
import { policyOption, type PolicyName } from '../options.js';
import type { PolicyDecision, SelectedObject, SelectionPolicy } from '../policy.js';
import { compareQuality, type Quality } from '../quality.js';
import { routeFor, type Route } from '../rules.js';
import type { SelectorFrame } from '../selector.js';
import { frameQualities, holdingOptions, resumesInPlace, visibleObjects, type HoldingOptions, type PolicyOptions } from './common.js';


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

interface SharedTrack {
  /** Best quality seen so far (any candidate). */
  best: Quality | null;
  /** Top candidates by quality, best first. */
  cands: { frame: CandidateFrame; entry: TrackEntry; quality: Quality }[];
  /** Largest area of this object in a frame already sent that covered it; null = not covered. */
  coveredArea: number | null;
  /** Whether a frame sent for it showed it good (unclipped, S1-qualified); false while its only images are clipped or weak. */
  coveredGood: boolean;
  /** Start of the wait of its uncovered (or grown) best, for the latency bound. */
  windowStart: bigint | null;
  /** Whether it ever had a confident entry (S1, and score ≥ confidentScore). */
  qualified: boolean;
  /** Frames since its last qualifying entry (frames it was absent from or held only by a weak entry). */
  weakRun: number;
  /** Its last qualifying box (segmentResumeIoU: a chain that resumes in place continues its segment). */
  lastBox: Box | null;
  /** Start of its current segment: an entry of an earlier frame shows the previous segment and covers nothing now. */
  segmentStartNs: bigint;
  /** Its qualifying sightings of the last {@link FORECAST_WINDOW_NS}, oldest first (coverForecastS). */
  recent: Sighting[];
  /** Covered while its forecast promised a view beyond coveredArea / shareMinAreaFraction: waits again once its best gets there. */
  provisional: boolean;
}

/** One qualifying entry (S1) of an object: when, and its box. */
export interface Sighting {
  timestampNs: bigint;
  box: Pick<Box, 'cx' | 'cy' | 'w' | 'h'>;
}

/** The motion forecast reads an object's qualifying sightings of the last second. */
export const FORECAST_WINDOW_NS = 1_000_000_000n;

/**
 * The largest view of an object its recent motion forecasts while it stays in
 * view (coverForecastS): from its first to its last sighting in `recent`, the
 * centre's velocity and the box area's exponential growth rate; the time left
 * in view is the time until the box, moving at that velocity, reaches a
 * border of the `width` × `height` image (S3's borders x = 0, x = W, y = 0,
 * y = H), capped at `horizonS`. Returns the last sighting's area ×
 * e^(growth × time left), or the last area when the object is not seen at
 * `nowNs` (it has left, or is hidden), when fewer than three sightings span
 * the window, or when its area is not growing — the forecast only ever says
 * that an object will get larger than it is now.
 */
export function forecastLargestArea(recent: readonly Sighting[], nowNs: bigint, width: number, height: number, horizonS: number): number {
  const last = recent[recent.length - 1];
  if (last === undefined) return 0;
  const area = last.box.w * last.box.h;
  const first = recent[0]!;
  const dt = Number(last.timestampNs - first.timestampNs) / 1e9;
  if (recent.length < 3 || last.timestampNs !== nowNs || !(dt > 0) || !(horizonS > 0)) return area;
  const growth = Math.log(area / (first.box.w * first.box.h)) / dt;
  if (!(growth > 0)) return area;
  const vx = (last.box.cx - first.box.cx) / dt;
  const vy = (last.box.cy - first.box.cy) / dt;
  const toBorder = (v: number, lo: number, hi: number, size: number): number => (v > 0 ? (size - hi) / v : v < 0 ? lo / -v : Infinity);
  const left = Math.max(
    0,
    Math.min(
      horizonS,
      toBorder(vx, last.box.cx - last.box.w / 2, last.box.cx + last.box.w / 2, width),
      toBorder(vy, last.box.cy - last.box.h / 2, last.box.cy + last.box.h / 2, height),
    ),
  );
  return area * Math.exp(growth * left);
}

/** 'shared-best': a covering entry's score may be below the object's best by at most Frigate's score margin. */
const SHARE_SCORE_MARGIN = 0.05;

/**
 * 'shared-best': like 'final-best', each object's best candidates by the
 * quality score (quality.ts: good — S3 edge ≥ minEdge1, not touching the
 * border as Frigate's veto, score ≥ confidentScore (never below S1's minScore1) — first, then the weighted
 * product of size, score, sharpness, exposure, edge and occlusion) are held until the track
 * ends or its wait reaches `maxLatencyS`. When one must be sent, the policy
 * chooses, among the object's kept candidates within `shareMinAreaFraction`
 * of its best quality, the frame that also covers the most other objects
 * still waiting, and marks every object whose entry in that frame is
 * unclipped with area ≥ `shareMinAreaFraction` × its best area so far and
 * score ≥ its best score − 0.05 as covered. A covered object is sent again only when its best area grows to
 * `reSendAreaGrowth` × the covered area, or when every frame sent for it
 * showed it clipped or weak and it is now seen good. Route: S5 on the selected objects'
 * entries, any-immediate.
 *
 * Segments: a track is not always one object. The tracker carries a track
 * through frames where it has no entry or only a weak one (T2's low-score
 * second stage, the lost buffer), and that is where identities switch. When
 * a track's chain of confident entries (S1, and score ≥ confidentScore: a box
 * below T2's high threshold is a second-stage match) breaks for
 * `segmentGapFrames` frames or more and resumes, the track starts a new
 * segment: the old segment's pending best is sent (as at a track end) and the
 * new segment waits for an image of its own, as a new object would (S6).
 * 0 turns segments off. A chain that resumes in place (IoU ≥ `segmentResumeIoU`
 * with its last confident box) keeps its segment: a still object whose
 * detection blinks is the same object; without it a parked car would be a
 * new segment, and a package, at every blink longer than the gap (5 frames).
 *
 * Forecast (`coverForecastS` > 0): an object covered by a frame while its
 * recent motion — area growing, time left before it reaches the image border
 * ({@link forecastLargestArea}) — forecasts a view larger than the covering
 * one / `shareMinAreaFraction` is covered provisionally: the frame counts
 * (S4: it is selected and nothing is sent twice), but once its best so far
 * outgrows the cover that way it waits again, as an object never covered
 * (S6/S7: its own best is then sent at its end or deadline). An approaching
 * object is thus not left with the small view it had when another object's
 * frame happened to show it; a receding or leaving one keeps its cover.
 */
export class SharedBestPolicy implements SelectionPolicy {
  readonly name: PolicyName = 'shared-best';
  readonly #o: HoldingOptions;
  readonly #shareMinAreaFraction: number;
  readonly #reSendAreaGrowth: number;
  readonly #forecastS: number;
  readonly #resumeIou: number;
  readonly #tracks = new Map<number, SharedTrack>();
  #lastNs = 0n;
  #width = 0;
  #height = 0;

  constructor(options: PolicyOptions = {}) {
    const optionsOf = this.name;
    this.#o = holdingOptions(optionsOf, options);
    this.#shareMinAreaFraction = policyOption('shareMinAreaFraction', optionsOf, options.shareMinAreaFraction);
    this.#reSendAreaGrowth = policyOption('reSendAreaGrowth', optionsOf, options.reSendAreaGrowth);
    this.#forecastS = policyOption('coverForecastS', optionsOf, options.coverForecastS);
    this.#resumeIou = policyOption('segmentResumeIoU', optionsOf, options.segmentResumeIoU);
  }

  /**
   * A new segment of a track: its chain of qualifying entries broke (see the
   * class comment). The old segment's pending best is sent now, as at a track
   * end, and the track waits for an image of the new segment.
   */
  #newSegment(trackId: number, t: SharedTrack): PolicyDecision[] {
    const out = this.#waiting(t) ? this.#sendFor([trackId]) : [];
    for (const c of t.cands) this.#dropCandidate(c.frame);
    t.cands = [];
    t.best = null;
    t.coveredArea = null;
    t.coveredGood = false;
    t.windowStart = null;
    t.segmentStartNs = this.#lastNs;
    t.recent = [];
    t.provisional = false;
    return out;
  }

  /** The state an entry of `trackId` in frame `f` counts for: the track's, unless the entry is of an earlier segment. */
  #current(trackId: number, f: CandidateFrame): SharedTrack | undefined {
    const o = this.#tracks.get(trackId);
    return o !== undefined && f.timestampNs >= o.segmentStartNs ? o : undefined;
  }

  /** Whether an object's entry in a sent frame covers it: unclipped and ≥ shareMinAreaFraction of its best area. */
  #covers(t: SharedTrack, q: Quality): boolean {
    if (!q.good) return false;
    const bestArea = t.best !== null && t.best.good ? t.best.area : 0;
    const bestScore = t.best !== null && t.best.good ? t.best.score : 0;
    return q.area >= this.#shareMinAreaFraction * bestArea && q.score >= bestScore - SHARE_SCORE_MARGIN;
  }

  /**
   * Waiting: never covered, or its best grew to reSendAreaGrowth × the covered
   * area, or (a provisional cover) its best outgrew the covered area / shareMinAreaFraction.
   */
  #waiting(t: SharedTrack): boolean {
    if (t.best === null) return false;
    if (t.coveredArea === null) return true;
    if (!t.best.good) return false;
    // Sent only clipped (or weak) and now seen good: a car creeping in from the border of a jam
    // was sent half outside the image after maxLatencyS and never again while it stood fully in view.
    if (!t.coveredGood) return true;
    if (t.provisional && this.#shareMinAreaFraction * t.best.area > t.coveredArea) return true;
    return t.best.area >= this.#reSendAreaGrowth * t.coveredArea;
  }

  /** Mark `t` covered by a view of `area` in a sent frame; provisional while its forecast promises more (coverForecastS). */
  #cover(t: SharedTrack, q: Quality): void {
    const area = q.area;
    t.coveredGood ||= q.good;
    t.coveredArea = Math.max(t.coveredArea ?? 0, area);
    t.provisional =
      this.#forecastS > 0 && this.#shareMinAreaFraction * forecastLargestArea(t.recent, this.#lastNs, this.#width, this.#height, this.#forecastS) > t.coveredArea;
  }

  /**
   * A covered object lets go of its candidate frames. Only a waiting object's
   * candidates are ever chosen (#sendFor), and a covered one waits again only
   * on a new best, which it then holds. Kept, every object in view held
   * shareCandidates frames for as long as it stayed: a traffic jam of 60
   * still cars held ~900 distinct frames for 20 minutes (a JPEG each, or
   * 2.6 MiB of pixels each with upload.content 'crops' / heldFrames 'pixels').
   */
  #release(t: SharedTrack): void {
    for (const c of t.cands) this.#dropCandidate(c.frame);
    t.cands = [];
  }

  #dropCandidate(frame: CandidateFrame): void {
    frame.holders--;
    if (frame.holders === 0) this.#o.refs.release(frame.imageId);
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    this.#lastNs = frame.timestampNs;
    this.#width = frame.width;
    this.#height = frame.height;
    const entries = frameQualities(frame, visibleObjects(frame, tracks), this.#o.qp, this.#o.weights);
    const out: PolicyDecision[] = [];
    for (const [trackId, t] of this.#tracks) if (!entries.has(trackId)) t.weakRun++;
    let rec: CandidateFrame | null = null;
    for (const [trackId, { entry, quality }] of entries) {
      let t = this.#tracks.get(trackId);
      if (t === undefined) {
        t = { best: null, cands: [], coveredArea: null, coveredGood: false, windowStart: null, qualified: false, weakRun: 0, lastBox: null, segmentStartNs: frame.timestampNs, recent: [], provisional: false };
        this.#tracks.set(trackId, t);
      }
      if (entry.box.score >= this.#o.confident) {
        if (t.qualified && this.#o.segmentGap > 0 && t.weakRun >= this.#o.segmentGap && !resumesInPlace(t.lastBox, entry.box, this.#resumeIou)) out.push(...this.#newSegment(trackId, t));
        t.qualified = true;
        t.weakRun = 0;
        t.lastBox = entry.box;
        if (this.#forecastS > 0) {
          t.recent.push({ timestampNs: frame.timestampNs, box: entry.box });
          while (frame.timestampNs - t.recent[0]!.timestampNs > FORECAST_WINDOW_NS) t.recent.shift();
        }
      } else {
        t.weakRun++;
      }
      const wasWaiting = this.#waiting(t);
      if (t.best === null || compareQuality(quality, t.best) > 0) t.best = quality;
      const waiting = this.#waiting(t);
      if (!wasWaiting && waiting) t.windowStart = frame.timestampNs;
      // A covered object holds no candidates (see #release): only a waiting one's are ever chosen
      // (#sendFor), and the frame that makes it wait again (its new best) is kept from here on.
      if (!waiting && t.best !== null && t.coveredArea !== null) continue;
      // Keep the top-K candidates by quality.
      const worst = t.cands[t.cands.length - 1];
      if (t.cands.length >= this.#o.k && worst !== undefined && compareQuality(quality, worst.quality) <= 0) continue;
      if (rec === null) {
        rec = { imageId: frame.imageId, timestampNs: frame.timestampNs, width: frame.width, height: frame.height, entries, holders: 0, sent: false };
      }
      if (rec.holders++ === 0) this.#o.refs.retain(rec.imageId);
      let i = t.cands.length;
      while (i > 0 && compareQuality(quality, t.cands[i - 1]!.quality) > 0) i--;
      t.cands.splice(i, 0, { frame: rec, entry, quality });
      if (t.cands.length > this.#o.k) this.#dropCandidate(t.cands.pop()!.frame);
    }
    const due: number[] = [];
    for (const [trackId, t] of this.#tracks) {
      if (t.windowStart !== null && frame.timestampNs - t.windowStart >= this.#o.maxLatencyNs && this.#waiting(t)) due.push(trackId);
    }
    out.push(...this.#sendFor(due));
    return out;
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
          const o = this.#current(otherId, c.frame);
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
      this.#o.refs.retain(f.imageId); // the consumer's reference, before the covered objects let go of theirs
      const selected: SelectedObject[] = [{ trackId, entry: chosen.entry }];
      this.#cover(t, chosen.quality);
      t.windowStart = null;
      for (const [otherId, { entry: e, quality }] of f.entries) {
        if (otherId === trackId) continue;
        const o = this.#current(otherId, f);
        if (o === undefined || !this.#covers(o, quality)) continue;
        const wasWaiting = this.#waiting(o);
        this.#cover(o, quality);
        if (!this.#waiting(o)) {
          o.windowStart = null;
          this.#release(o);
        }
        if (wasWaiting) selected.push({ trackId: otherId, entry: e });
      }
      if (!this.#waiting(t)) this.#release(t);
      let route: Route = 'cached';
      for (const s of selected) if (routeFor(s.entry, f.width, f.height, this.#o.params) === 'immediate') route = 'immediate';
      out.push({ kind: 'upload', route, imageId: f.imageId, timestampNs: f.timestampNs, selected, decidedAtNs: this.#lastNs });
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
