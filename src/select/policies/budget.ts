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
 * When it spends: whenever the bucket affords the held frame of most value
 * per byte (a frame larger than the whole bucket goes when the bucket is
 * full, leaving it in debt). The bucket starts empty, so over any span it
 * spends at most `budgetBytesPerS` × the span plus one package. Objects are
 * tracks, or track segments as in 'shared-best' (`segmentGapFrames`).
 *
 * What does not fit is counted, never lost silently: an ended object never
 * sent is kept (its best candidates only) until `budgetMaxWaitS` after its
 * end, then counted `dropped`; at end of stream (flush) what the bucket cannot
 * pay is dropped and counted the same way.
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
import { frameQualities, qualityParams, qualityWeights, secondsToNs, visibleObjects, type PolicyOptions } from './common.js';

/** One held frame with every object's entry in it (keyed by track; `key` names the track's segment then). */
interface HeldFrame {
  imageId: number;
  timestampNs: bigint;
  entries: Map<number, { entry: TrackEntry; quality: Quality; key: string }>;
  /** A package of the whole frame (budgetBytesPerPixel × its pixels). */
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
  /** Value of each package sent, in the order sent (the value-over-time curve), with when it was sent. */
  sends: { atNs: bigint; value: number; newObjects: number }[];
}

export class BudgetPolicy implements SelectionPolicy {
  readonly name: PolicyName = 'budget';
  readonly cropsOf = 'selected' as const;
  readonly counters: BudgetCounters = { sent: 0, dropped: 0, sends: [] };
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
  readonly #valueFirst: boolean;
  #tokens: number;
  #lastNs: bigint | null = null;
  /** Live and waiting objects by key (`trackId:segment`). */
  readonly #objects = new Map<string, BudgetObject>();
  /** Per live track: its current segment, whether it ever qualified (S1), frames since its last qualifying entry. */
  readonly #tracks = new Map<number, { segment: number; qualified: boolean; weakRun: number }>();

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
    this.#valueFirst = policyOption('budgetValueFirst', this.name, options.budgetValueFirst) >= 0.5;
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

  /** Value of a package of a frame (Σ over the objects in it still held) and its cost (module comment). */
  #value(f: HeldFrame): { value: number; cost: number } {
    let value = 0;
    let px = 0;
    for (const { entry, quality, key } of f.entries.values()) {
      const o = this.#objects.get(key);
      const v = o === undefined ? 0 : this.#valueOf(o, quality);
      value += v;
      if (v > 0) px += entry.box.w * entry.box.h;
    }
    return { value, cost: this.#cropBytesPerPixel > 0 ? this.#cropBytesPerPixel * px : f.cost };
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

  #send(f: HeldFrame, value: number, cost: number, nowNs: bigint): PolicyDecision {
    this.#refs.retain(f.imageId); // the consumer's reference, before the served objects let go of theirs
    this.#tokens -= cost;
    f.sent = true;
    const selected: SelectedObject[] = [];
    let newObjects = 0;
    for (const [trackId, { entry, quality, key }] of f.entries) {
      const o = this.#objects.get(key);
      if (o === undefined || this.#valueOf(o, quality) <= 0) continue;
      selected.push({ trackId, entry });
      if (o.sentQ === null) newObjects++;
      o.sentQ = Math.max(o.sentQ ?? 0, quality.good ? quality.q : 0);
      o.sentGood ||= quality.good;
      if (o.endedNs !== null) this.#forget(key, o);
    }
    this.counters.sent++;
    this.counters.sends.push({ atNs: nowNs, value, newObjects });
    return { kind: 'upload', route: 'immediate', imageId: f.imageId, timestampNs: f.timestampNs, selected, decidedAtNs: nowNs };
  }

  /** The frame to send next (module comment), its value and cost; null when nothing held is worth anything. */
  #choose(): { frame: HeldFrame; value: number; cost: number } | null {
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
    let best: { frame: HeldFrame; value: number; cost: number } | null = null;
    let bestRatio = 0;
    for (const f of frames) {
      const { value, cost } = this.#value(f);
      const ratio = value / Math.max(1, cost);
      if (value > 0 && ratio > bestRatio) {
        best = { frame: f, value, cost };
        bestRatio = ratio;
      }
    }
    return best;
  }

  /** Spend the bucket (module comment); drop ended objects that waited past budgetMaxWaitS. */
  #spend(nowNs: bigint): PolicyDecision[] {
    const out: PolicyDecision[] = [];
    for (;;) {
      const pick = this.#choose();
      if (pick === null || (pick.cost > this.#tokens && this.#tokens < this.#depth)) break;
      out.push(this.#send(pick.frame, pick.value, pick.cost, nowNs));
    }
    for (const [key, o] of this.#objects) {
      if (o.endedNs !== null && o.sentQ === null && nowNs - o.endedNs > this.#maxWaitNs) {
        this.counters.dropped++;
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
        s = { segment: 0, qualified: false, weakRun: 0 };
        this.#tracks.set(trackId, s);
      }
      // Segments, as 'shared-best': a broken chain of qualifying entries (S1) starts a new object.
      if (entry.box.score >= this.#params.minScore1) {
        if (s.qualified && this.#segmentGap > 0 && s.weakRun >= this.#segmentGap) {
          const old = this.#objects.get(`${trackId}:${s.segment}`);
          if (old !== undefined) this.#end(`${trackId}:${s.segment}`, old, frame.timestampNs);
          s.segment++;
        }
        s.qualified = true;
        s.weakRun = 0;
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
    const out = this.onTrackEnd([...this.#tracks.keys()]);
    // End of stream: what the bucket could not pay is dropped, counted.
    for (const [key, o] of this.#objects) {
      if (o.sentQ === null) this.counters.dropped++;
      this.#forget(key, o);
    }
    return out;
  }
}
