/**
 * 'budget' (SPEC "Beyond the method": a bandwidth budget that sends the most
 * valuable packages first). An uplink budget — a token bucket of
 * `budgetBytesPerS`, `budgetBurstS` deep — pays for packages; the policy holds
 * each object's best candidate frames (quality.ts, as 'shared-best') and, when
 * it spends, sends the held frame with the most **value per byte**:
 *
 * - an object no package carried yet is worth 1, plus its closeness to its
 *   best view (the candidate's quality over its best quality so far, 0 when
 *   the candidate is not good): a frame that shows several never-sent objects
 *   is worth more than one that shows one;
 * - an object already sent is worth its quality gain when the candidate's
 *   quality exceeds the best sent one's by `reSendQualityGrowth` (min(1,
 *   gain − 1)), or 1 when everything sent of it was not good and this is;
 * - cost: `budgetBytesPerPixel` × the frame's pixels (upload.content
 *   'frame'), or with `budgetCropBytesPerPixel` > 0 the crops the package
 *   carries (upload.content 'crops'): the box area of the objects it is worth
 *   something for, the only crops a 'budget' package shows (`cropsOf`
 *   'selected'; a crop of an object already sent is bytes that buy nothing).
 *
 * The cost is an estimate; the bytes a package took are what the uplink
 * pays. The camera reports them back (`onPackageBytes`, after it encoded the
 * package): the bucket is charged the difference, so it pays real bytes, and
 * the estimates that follow are scaled by the running ratio of actual to
 * estimated bytes (the last ~{@link CALIBRATION_PACKAGES} packages; 1 until
 * the first report). A fixed bytes-per-pixel constant is off by 2× either way
 * from one scene to the next (0.77–2.69 B per box pixel over the evaluation's
 * inputs): too high, the bucket holds back bytes it has and gives objects up;
 * too low, it spends beyond the budget.
 *
 * When it spends: whenever the bucket affords the held frame of most value
 * per byte (a frame larger than the whole bucket goes when the bucket is
 * full, leaving it in debt). The bucket starts empty, so over any span it
 * spends at most `budgetBytesPerS` × the span plus one package. Objects are
 * tracks, or track segments as in 'shared-best' (`segmentGapFrames`).
 *
 * What does not fit is counted, never lost silently: an ended object never
 * sent is kept (its best candidates only) until `budgetMaxWaitS` after its
 * end, then counted `dropped`; at end of stream (flush) what the bucket cannot
 * pay is dropped and counted the same way. An object is never given up while
 * the bucket holds the tokens for a package of it: before the due ones are
 * dropped, the bucket pays for what of them it can (the most value per byte
 * first, or the oldest first with FIFO), past a held frame of more value per
 * byte that it cannot pay yet.
 *
 * `budgetValueFirst` 0 is the FIFO comparison: at the same moments, the frame
 * sent is the best candidate so far of the object first seen among those
 * never sent.
 * Everything it sends is immediate (U1): the budget is the rate limit.
 */
import type { Track, TrackEntry } from '../../types.js';
import type { FrameRefs } from '../frame-ring.js';
import { policyOption, type PolicyName } from '../options.js';
import { NO_REFS, type PolicyDecision, type SelectedObject, type SelectionPolicy } from '../policy.js';
import { compareQuality, type Quality, type QualityParams, type QualityWeights } from '../quality.js';
import { validateSelectionParams, type SelectionParams } from '../rules.js';
import type { SelectorFrame } from '../selector.js';
import { frameQualities, qualityParams, qualityWeights, resumesInPlace, secondsToNs, visibleObjects, type PolicyOptions } from './common.js';
import { outOfRangeError } from '../../errors.js';
import type { Box } from '../../types.js';

/** The cost calibration's memory: each report weighs 1 − 1/this on the ones before it (module comment). */
export const CALIBRATION_PACKAGES = 32;
/** Packages sent and not yet reported that the policy remembers the charge of (a caller that never reports costs no memory). */
const MAX_UNREPORTED = 256;

/** One held frame with every object's entry in it (keyed by track; `key` names the track's segment then). */
interface HeldFrame {
  imageId: number;
  timestampNs: bigint;
  entries: Map<number, { entry: TrackEntry; quality: Quality; key: string }>;
  /** A package of the whole frame (budgetBytesPerPixel × its pixels), before calibration. */
  cost: number;
  /** Objects holding it as a candidate (the ring holds one reference while > 0). */
  holders: number;
  sent: boolean;
}

/** One object: a track, or one segment of it. */
interface BudgetObject {
  trackId: number;
  best: Quality | null;
  /** Top candidates by quality, best first. */
  cands: { frame: HeldFrame; quality: Quality }[];
  /** Quality of the best image of it sent; null = never sent. */
  sentQ: number | null;
  /** Whether a good image of it was sent. */
  sentGood: boolean;
  /** When it was first seen (the FIFO order). */
  seenNs: bigint;
  endedNs: bigint | null;
}

/** What the budget did, for metrics and the evaluation. */
export interface BudgetCounters {
  /** Packages sent. */
  sent: number;
  /** Objects never sent: ended and not affordable within budgetMaxWaitS, or left at end of stream. */
  dropped: number;
  /** Packages whose bytes the camera reported (onPackageBytes), their estimated and actual bytes. */
  reported: number;
  estimatedBytes: number;
  actualBytes: number;
  /** Value of each package sent, in the order sent (the value-over-time curve), with when it was sent; kept only with PolicyOptions.recordSends. */
  sends: { atNs: bigint; value: number; newObjects: number }[];
}

/** A held frame with its package's value, calibrated cost and uncalibrated estimate. */
interface Pick {
  frame: HeldFrame;
  value: number;
  cost: number;
  estimate: number;
  /** The tracks the package is for; absent: every object in the frame worth something. */
  only?: ReadonlySet<number>;
}

/** One object's part of a package of a frame: its value, and its crop's estimate before calibration (0 sending frames). */
interface Part {
  trackId: number;
  value: number;
  estimate: number;
}

export class BudgetPolicy implements SelectionPolicy {
  readonly name: PolicyName = 'budget';
  readonly cropsOf = 'selected' as const;
  readonly counters: BudgetCounters = { sent: 0, dropped: 0, reported: 0, estimatedBytes: 0, actualBytes: 0, sends: [] };
  readonly #refs: FrameRefs;
  readonly #params: SelectionParams;
  readonly #qp: QualityParams;
  readonly #weights: QualityWeights;
  readonly #rate: number;
  readonly #depth: number;
  readonly #maxWaitNs: bigint;
  readonly #bytesPerPixel: number;
  readonly #cropBytesPerPixel: number;
  readonly #growth: number;
  readonly #k: number;
  readonly #segmentGap: number;
  readonly #resumeIou: number;
  readonly #valueFirst: boolean;
  readonly #recordSends: boolean;
  #tokens: number;
  #lastNs: bigint | null = null;
  /** Decayed sums of actual bytes and of uncalibrated estimates over the reported packages (the calibration). */
  #calActual = 0;
  #calEstimated = 0;
  /** Packages sent and not yet reported, by imageId: their uncalibrated estimate and what the bucket was charged. */
  readonly #unreported = new Map<number, { estimate: number; charged: number }>();
  /** Live and waiting objects by key (`trackId:segment`). */
  readonly #objects = new Map<string, BudgetObject>();
  /** Per live track: its current segment, whether it ever qualified (S1), frames since its last qualifying entry. */
  readonly #tracks = new Map<number, { segment: number; qualified: boolean; weakRun: number; lastBox: Box | null }>();

  constructor(options: PolicyOptions = {}) {
    this.#refs = options.refs ?? NO_REFS;
    this.#params = validateSelectionParams(options.params ?? {});
    this.#qp = qualityParams(this.#params);
    this.#weights = qualityWeights(this.name, options);
    this.#rate = policyOption('budgetBytesPerS', this.name, options.budgetBytesPerS);
    this.#depth = this.#rate * policyOption('budgetBurstS', this.name, options.budgetBurstS);
    this.#maxWaitNs = secondsToNs(policyOption('budgetMaxWaitS', this.name, options.budgetMaxWaitS));
    this.#bytesPerPixel = policyOption('budgetBytesPerPixel', this.name, options.budgetBytesPerPixel);
    this.#cropBytesPerPixel = policyOption('budgetCropBytesPerPixel', this.name, options.budgetCropBytesPerPixel);
    this.#growth = policyOption('reSendQualityGrowth', this.name, options.reSendQualityGrowth);
    this.#k = policyOption('shareCandidates', this.name, options.shareCandidates);
    this.#segmentGap = policyOption('segmentGapFrames', this.name, options.segmentGapFrames);
    this.#resumeIou = policyOption('segmentResumeIoU', this.name, options.segmentResumeIoU);
    this.#valueFirst = policyOption('budgetValueFirst', this.name, options.budgetValueFirst) >= 0.5;
    this.#recordSends = options.recordSends === true;
    // The bucket starts empty: over any span the policy spends at most budgetBytesPerS × its length (plus one package of debt).
    this.#tokens = 0;
  }

  /** Value of an object's candidate in a frame not yet sent (see the module comment). */
  #valueOf(o: BudgetObject, q: Quality): number {
    if (o.sentQ === null) return 1 + (q.good && o.best !== null && o.best.q > 0 ? Math.min(1, q.q / o.best.q) : 0);
    if (!q.good) return 0;
    if (!o.sentGood) return 1;
    return q.q >= this.#growth * o.sentQ ? Math.min(1, q.q / o.sentQ - 1) : 0;
  }

  /** Actual over estimated bytes of the packages reported so far (1 before the first report). */
  #ratio(): number {
    return this.#calEstimated > 0 ? this.#calActual / this.#calEstimated : 1;
  }

  /**
   * The bytes the package of frame `imageId` took, as encoded (module
   * comment): the bucket is charged the difference from its estimate and the
   * calibration learns from it. Packages this policy did not send, or
   * reported before, are ignored.
   */
  onPackageBytes(imageId: number, bytes: number): void {
    if (!Number.isFinite(bytes) || bytes < 0) throw outOfRangeError('non-negative number', 'bytes', bytes);
    const p = this.#unreported.get(imageId);
    if (p === undefined) return;
    this.#unreported.delete(imageId);
    this.#tokens = Math.min(this.#depth, this.#tokens + p.charged - bytes);
    const keep = 1 - 1 / CALIBRATION_PACKAGES;
    this.#calActual = this.#calActual * keep + bytes;
    this.#calEstimated = this.#calEstimated * keep + p.estimate;
    this.counters.reported++;
    this.counters.estimatedBytes += p.charged;
    this.counters.actualBytes += bytes;
  }

  /** The objects of a frame still held and worth something in it, with their crops' estimates. */
  #parts(f: HeldFrame): Part[] {
    const parts: Part[] = [];
    for (const [trackId, { entry, quality, key }] of f.entries) {
      const o = this.#objects.get(key);
      const value = o === undefined ? 0 : this.#valueOf(o, quality);
      if (value > 0) parts.push({ trackId, value, estimate: this.#cropBytesPerPixel * entry.box.w * entry.box.h });
    }
    return parts;
  }

  /** Value of a package of `parts` of frame `f` (module comment), its cost (calibrated) and its estimate before calibration. */
  #package(f: HeldFrame, parts: readonly Part[]): { value: number; cost: number; estimate: number } {
    let value = 0;
    let crops = 0;
    for (const p of parts) {
      value += p.value;
      crops += p.estimate;
    }
    const estimate = this.#cropBytesPerPixel > 0 ? crops : f.cost;
    return { value, cost: estimate * this.#ratio(), estimate };
  }

  /** Value of a package of a frame (Σ over the objects in it still held), its cost (calibrated) and its estimate before calibration. */
  #value(f: HeldFrame): { value: number; cost: number; estimate: number } {
    return this.#package(f, this.#parts(f));
  }

  #drop(f: HeldFrame): void {
    if (--f.holders === 0) this.#refs.release(f.imageId);
  }

  /** Forget an object: its candidates are released. */
  #forget(key: string, o: BudgetObject): void {
    for (const c of o.cands) this.#drop(c.frame);
    o.cands = [];
    this.#objects.delete(key);
  }

  /** End an object (its track ended, or its segment did): due now if never sent, else forgotten. */
  #end(key: string, o: BudgetObject, nowNs: bigint): void {
    o.endedNs = nowNs;
    if (o.sentQ !== null) {
      this.#forget(key, o);
      return;
    }
    // Only its best candidates are worth keeping while it waits for budget.
    const keep = o.cands.filter((c) => !c.frame.sent).slice(0, 1);
    for (const c of o.cands) if (!keep.includes(c)) this.#drop(c.frame);
    o.cands = keep;
  }

  /**
   * A sent object keeps only the candidates still worth something to it
   * (#valueOf > 0): sentQ only grows, so one worth nothing now never is.
   * Kept, every object in view held shareCandidates frames for as long as it
   * stayed (a jam of 60 still cars: ~900 distinct frames for the whole jam).
   */
  #pruneWorthless(o: BudgetObject): void {
    const keep = o.cands.filter((c) => this.#valueOf(o, c.quality) > 0);
    if (keep.length === o.cands.length) return;
    for (const c of o.cands) if (!keep.includes(c)) this.#drop(c.frame);
    o.cands = keep;
  }

  #send(f: HeldFrame, { value, cost, estimate, only }: Pick, nowNs: bigint): PolicyDecision {
    this.#refs.retain(f.imageId); // the consumer's reference, before the served objects let go of theirs
    this.#tokens -= cost;
    f.sent = true;
    this.#unreported.set(f.imageId, { estimate, charged: cost });
    if (this.#unreported.size > MAX_UNREPORTED) this.#unreported.delete(this.#unreported.keys().next().value!);
    const selected: SelectedObject[] = [];
    let newObjects = 0;
    for (const [trackId, { entry, quality, key }] of f.entries) {
      const o = this.#objects.get(key);
      if (o === undefined || this.#valueOf(o, quality) <= 0 || (only !== undefined && !only.has(trackId))) continue;
      selected.push({ trackId, entry });
      if (o.sentQ === null) newObjects++;
      o.sentQ = Math.max(o.sentQ ?? 0, quality.good ? quality.q : 0);
      o.sentGood ||= quality.good;
      if (o.endedNs !== null) this.#forget(key, o);
      else this.#pruneWorthless(o);
    }
    this.counters.sent++;
    // Only when asked (PolicyOptions.recordSends): in a camera it grew by one per package for months.
    if (this.#recordSends) this.counters.sends.push({ atNs: nowNs, value, newObjects });
    return { kind: 'upload', route: 'immediate', imageId: f.imageId, timestampNs: f.timestampNs, selected, decidedAtNs: nowNs };
  }

  /** The frame to send next (module comment), its value and cost; null when nothing held is worth anything. */
  #choose(): Pick | null {
    if (!this.#valueFirst) {
      // FIFO: the best unsent candidate of the object first seen among those never sent.
      const waiting = [...this.#objects.values()].filter((o) => o.sentQ === null);
      waiting.sort((a, b) => (a.seenNs < b.seenNs ? -1 : a.seenNs > b.seenNs ? 1 : a.trackId - b.trackId));
      for (const o of waiting) {
        const c = o.cands.find((x) => !x.frame.sent);
        if (c !== undefined) return { frame: c.frame, ...this.#value(c.frame) };
      }
      return null;
    }
    const frames = new Set<HeldFrame>();
    for (const o of this.#objects.values()) for (const c of o.cands) if (!c.frame.sent) frames.add(c.frame);
    let best: Pick | null = null;
    let bestRatio = 0;
    for (const f of frames) {
      const pick = { frame: f, ...this.#value(f) };
      const ratio = pick.value / Math.max(1, pick.cost);
      if (pick.value > 0 && ratio > bestRatio) {
        best = pick;
        bestRatio = ratio;
      }
    }
    return best;
  }

  /**
   * A package for `due` objects (about to be given up) the bucket can pay
   * now; null when it pays for none. Sending whole frames: the held frame of
   * a due object of most value per byte (FIFO: of the oldest due object that
   * has one). Sending crops, a package need not show every object of its
   * frame worth something (cropsOf 'selected'), so a due object's package
   * is its own crop at least: the due object whose crop is affordable with
   * the most value per byte (FIFO: the oldest), in the frame of its best
   * such candidate, plus the frame's other objects, most value per byte
   * first, while the bucket pays for them (a frame is sent once: an object
   * left out of it keeps only its other candidates).
   */
  #affordableFor(due: BudgetObject[]): Pick | null {
    const ratio = this.#ratio();
    const order = this.#valueFirst ? due : [...due].sort((a, b) => (a.seenNs < b.seenNs ? -1 : a.seenNs > b.seenNs ? 1 : a.trackId - b.trackId));
    let best: { frame: HeldFrame; part: Part; perByte: number } | null = null;
    for (const o of order) {
      for (const c of o.cands) {
        if (c.frame.sent) continue;
        if (this.#cropBytesPerPixel <= 0) {
          const pick = { frame: c.frame, ...this.#value(c.frame) };
          const perByte = pick.value / Math.max(1, pick.cost);
          if (pick.value > 0 && pick.cost <= this.#tokens && (best === null || perByte > best.perByte)) best = { frame: c.frame, part: { trackId: o.trackId, value: 0, estimate: 0 }, perByte };
        } else {
          const part = this.#parts(c.frame).find((p) => p.trackId === o.trackId);
          if (part === undefined || part.estimate * ratio > this.#tokens) continue;
          const perByte = part.value / Math.max(1, part.estimate * ratio);
          if (best === null || perByte > best.perByte) best = { frame: c.frame, part, perByte };
        }
      }
      if (!this.#valueFirst && best !== null) break;
    }
    if (best === null) return null;
    if (this.#cropBytesPerPixel <= 0) return { frame: best.frame, ...this.#value(best.frame) };
    const parts = [best.part];
    let cost = best.part.estimate * ratio;
    const others = this.#parts(best.frame).filter((p) => p.trackId !== best.part.trackId);
    others.sort((a, b) => b.value / Math.max(1, b.estimate) - a.value / Math.max(1, a.estimate));
    for (const p of others) {
      if (cost + p.estimate * ratio > this.#tokens) continue;
      parts.push(p);
      cost += p.estimate * ratio;
    }
    return { frame: best.frame, ...this.#package(best.frame, parts), only: new Set(parts.map((p) => p.trackId)) };
  }

  /**
   * Spend the bucket (module comment); then give up on the ended objects
   * never sent that waited past budgetMaxWaitS (all of them at end of
   * stream), after paying for what of them the bucket can.
   */
  #spend(nowNs: bigint, atEnd = false): PolicyDecision[] {
    const out: PolicyDecision[] = [];
    for (;;) {
      const pick = this.#choose();
      if (pick === null || (pick.cost > this.#tokens && this.#tokens < this.#depth)) break;
      out.push(this.#send(pick.frame, pick, nowNs));
    }
    const isDue = (o: BudgetObject): boolean => o.sentQ === null && o.endedNs !== null && (atEnd || nowNs - o.endedNs > this.#maxWaitNs);
    for (;;) {
      const due = [...this.#objects.values()].filter(isDue);
      if (due.length === 0) break;
      const pick = this.#affordableFor(due);
      if (pick === null) break;
      out.push(this.#send(pick.frame, pick, nowNs));
    }
    for (const [key, o] of this.#objects) {
      if (isDue(o)) {
        this.counters.dropped++;
        this.#forget(key, o);
      } else if (atEnd) {
        this.#forget(key, o);
      }
    }
    return out;
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    if (this.#lastNs !== null) this.#tokens = Math.min(this.#depth, this.#tokens + (this.#rate * Number(frame.timestampNs - this.#lastNs)) / 1e9);
    this.#lastNs = frame.timestampNs;
    const entries = frameQualities(frame, visibleObjects(frame, tracks), this.#qp, this.#weights);
    for (const [trackId, s] of this.#tracks) if (!entries.has(trackId)) s.weakRun++;
    const held: HeldFrame = { imageId: frame.imageId, timestampNs: frame.timestampNs, entries: new Map(), cost: this.#bytesPerPixel * frame.width * frame.height, holders: 0, sent: false };
    for (const [trackId, { entry, quality }] of entries) {
      let s = this.#tracks.get(trackId);
      if (s === undefined) {
        s = { segment: 0, qualified: false, weakRun: 0, lastBox: null };
        this.#tracks.set(trackId, s);
      }
      // Segments, as 'shared-best': a broken chain of qualifying entries (S1) starts a new object.
      if (entry.box.score >= this.#params.minScore1) {
        // segmentResumeIoU: a chain that resumes in place is the same still object (a parked car's
        // detector blinks): without it every blink was a new object, sent again, for hours.
        if (s.qualified && this.#segmentGap > 0 && s.weakRun >= this.#segmentGap && !resumesInPlace(s.lastBox, entry.box, this.#resumeIou)) {
          const old = this.#objects.get(`${trackId}:${s.segment}`);
          if (old !== undefined) this.#end(`${trackId}:${s.segment}`, old, frame.timestampNs);
          s.segment++;
        }
        s.qualified = true;
        s.weakRun = 0;
        s.lastBox = entry.box;
      } else {
        s.weakRun++;
      }
      const key = `${trackId}:${s.segment}`;
      held.entries.set(trackId, { entry, quality, key });
      let o = this.#objects.get(key);
      if (o === undefined) {
        o = { trackId, best: null, cands: [], sentQ: null, sentGood: false, seenNs: frame.timestampNs, endedNs: null };
        this.#objects.set(key, o);
      }
      if (o.best === null || compareQuality(quality, o.best) > 0) o.best = quality;
      const worst = o.cands[o.cands.length - 1];
      if (o.cands.length >= this.#k && worst !== undefined && compareQuality(quality, worst.quality) <= 0) continue;
      if (o.sentQ !== null && this.#valueOf(o, quality) <= 0) continue; // worth nothing to a sent object (#pruneWorthless)
      if (held.holders++ === 0) this.#refs.retain(held.imageId);
      let i = o.cands.length;
      while (i > 0 && compareQuality(quality, o.cands[i - 1]!.quality) > 0) i--;
      o.cands.splice(i, 0, { frame: held, quality });
      if (o.cands.length > this.#k) this.#drop(o.cands.pop()!.frame);
    }
    return this.#spend(frame.timestampNs);
  }

  onTrackEnd(trackIds: Iterable<number>): PolicyDecision[] {
    const now = this.#lastNs ?? 0n;
    for (const id of trackIds) {
      const s = this.#tracks.get(id);
      if (s === undefined) continue;
      this.#tracks.delete(id);
      const key = `${id}:${s.segment}`;
      const o = this.#objects.get(key);
      if (o !== undefined) this.#end(key, o, now);
    }
    return this.#spend(now);
  }

  flush(): PolicyDecision[] {
    const now = this.#lastNs ?? 0n;
    for (const [id, s] of this.#tracks) {
      const key = `${id}:${s.segment}`;
      const o = this.#objects.get(key);
      if (o !== undefined) this.#end(key, o, now);
    }
    this.#tracks.clear();
    // End of stream: every object never sent is due; what the bucket cannot pay is dropped, counted.
    return this.#spend(now, true);
  }
}
