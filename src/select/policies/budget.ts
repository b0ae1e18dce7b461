/**
 * 'budget' (SPEC "Beyond the method": a bandwidth budget that sends the most
 * valuable packages first). The selections of 'shared-best' are not sent as
 * they come but pooled; an uplink budget (a token bucket of
 * `budgetBytesPerS`, `budgetBurstS` deep; a package costs
 * `budgetBytesPerPixel` × the frame's pixels) lets the most valuable pooled
 * package out whenever it affords one (one larger than the whole bucket goes
 * when the bucket is full, leaving it in debt). Value of a package = Σ over its
 * selected objects of: 1 for an object no sent package carried yet (objects
 * never sent first), plus its quality gain over the best image of it already
 * sent (quality ratio − 1, capped at 1; the first image gains its quality
 * relative to 1). Values are recomputed each time: a package whose objects
 * were all served meanwhile is withdrawn, counted `superseded`; one that waits
 * longer than `budgetMaxWaitS`, or is still pooled at end of stream, is
 * dropped and counted `dropped` — never lost silently. Everything it sends is
 * immediate (the budget is the rate limit).
 */
import type { Track } from '../../types.js';
import type { FrameRefs } from '../frame-ring.js';
import { policyOption, type PolicyName } from '../options.js';
import { NO_REFS, type PolicyDecision, type SelectionPolicy } from '../policy.js';
import { frameQualities, qualityParams, qualityWeights, secondsToNs, type PolicyOptions } from './common.js';
import type { SelectorFrame } from '../selector.js';
import { SharedBestPolicy } from './shared-best.js';
import { validateSelectionParams } from '../rules.js';
import type { QualityParams, QualityWeights } from '../quality.js';

const FRAME_QUALITY_HISTORY = 3000;

interface Pooled {
  decision: PolicyDecision;
  cost: number;
  /** Quality of each selected object's entry there. */
  q: Map<number, number>;
  pooledAtNs: bigint;
}

/** What the budget did with the selections, for metrics and the evaluation. */
export interface BudgetCounters {
  sent: number;
  /** Withdrawn: every object it carried had meanwhile been sent an image at least as good. */
  superseded: number;
  /** Waited longer than budgetMaxWaitS, or left at end of stream. */
  dropped: number;
  /** Σ value of the packages sent, in the order sent (the value-over-time curve). */
  valueSent: number[];
}

export class BudgetPolicy implements SelectionPolicy {
  readonly name: PolicyName = 'budget';
  readonly counters: BudgetCounters = { sent: 0, superseded: 0, dropped: 0, valueSent: [] };
  readonly #base: SharedBestPolicy;
  readonly #refs: FrameRefs;
  readonly #rate: number;
  readonly #depth: number;
  readonly #maxWaitNs: bigint;
  readonly #bytesPerPixel: number;
  readonly #qp: QualityParams;
  readonly #weights: QualityWeights;
  #tokens: number;
  #lastNs: bigint | null = null;
  #pool: Pooled[] = [];
  /** trackId → quality of the best image of it sent so far. */
  #sentQ = new Map<number, number>();
  /** Quality of every visible object's entry, per recent frame (for the pooled decisions). */
  #frameQ = new Map<number, Map<number, number>>();
  #frame: SelectorFrame | null = null;

  constructor(options: PolicyOptions = {}) {
    this.#refs = options.refs ?? NO_REFS;
    // The base policy's references are the pool's: its decisions' consumer references are held here until sent or dropped.
    this.#base = new SharedBestPolicy({ ...options, refs: this.#refs }, this.name);
    this.#rate = policyOption('budgetBytesPerS', this.name, options.budgetBytesPerS);
    this.#depth = this.#rate * policyOption('budgetBurstS', this.name, options.budgetBurstS);
    this.#maxWaitNs = secondsToNs(policyOption('budgetMaxWaitS', this.name, options.budgetMaxWaitS));
    this.#bytesPerPixel = policyOption('budgetBytesPerPixel', this.name, options.budgetBytesPerPixel);
    this.#qp = qualityParams(validateSelectionParams(options.params ?? {}));
    this.#weights = qualityWeights(this.name, options);
    this.#tokens = this.#depth;
  }

  /** Value of a pooled package now (see the class comment). */
  #value(p: Pooled): number {
    let v = 0;
    for (const s of p.decision.selected) {
      const q = p.q.get(s.trackId) ?? 0;
      const sent = this.#sentQ.get(s.trackId);
      if (sent === undefined) v += 2; // never sent: 1, plus the full gain of a first image (capped at 1)
      else if (q > sent) v += Math.min(1, q / sent - 1);
    }
    return v;
  }

  #pour(decisions: PolicyDecision[], frame: SelectorFrame | null, nowNs: bigint): void {
    for (const d of decisions) {
      const fq = this.#frameQ.get(d.imageId);
      const q = new Map<number, number>();
      for (const s of d.selected) q.set(s.trackId, fq?.get(s.trackId) ?? 0);
      const width = frame?.width ?? 0;
      const height = frame?.height ?? 0;
      this.#pool.push({ decision: d, cost: this.#bytesPerPixel * width * height, q, pooledAtNs: nowNs });
    }
  }

  #drain(nowNs: bigint): PolicyDecision[] {
    const out: PolicyDecision[] = [];
    // Withdraw what no longer adds anything, drop what waited too long.
    this.#pool = this.#pool.filter((p) => {
      if (this.#value(p) <= 0) {
        this.counters.superseded++;
        this.#refs.release(p.decision.imageId);
        return false;
      }
      if (nowNs - p.pooledAtNs > this.#maxWaitNs) {
        this.counters.dropped++;
        this.#refs.release(p.decision.imageId);
        return false;
      }
      return true;
    });
    for (;;) {
      let best = -1;
      let bestValue = 0;
      for (let i = 0; i < this.#pool.length; i++) {
        const v = this.#value(this.#pool[i]!);
        if (v > bestValue) {
          best = i;
          bestValue = v;
        }
      }
      // A package larger than the whole bucket goes when the bucket is full (the bucket then runs into debt).
      if (best < 0 || (this.#pool[best]!.cost > this.#tokens && this.#tokens < this.#depth)) break;
      const p = this.#pool.splice(best, 1)[0]!;
      this.#tokens -= p.cost;
      for (const s of p.decision.selected) this.#sentQ.set(s.trackId, Math.max(this.#sentQ.get(s.trackId) ?? 0, p.q.get(s.trackId) ?? 0));
      this.counters.sent++;
      this.counters.valueSent.push(bestValue);
      out.push({ kind: 'upload', route: 'immediate', imageId: p.decision.imageId, timestampNs: p.decision.timestampNs, selected: p.decision.selected, decidedAtNs: nowNs });
    }
    return out;
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    if (this.#lastNs !== null) this.#tokens = Math.min(this.#depth, this.#tokens + (this.#rate * Number(frame.timestampNs - this.#lastNs)) / 1e9);
    this.#lastNs = frame.timestampNs;
    const visible = tracks.flatMap((t) => {
      const e = t.entries[t.entries.length - 1];
      return e !== undefined && e.timestampNs === frame.timestampNs ? [{ trackId: t.trackId, entry: e }] : [];
    });
    const q = new Map<number, number>();
    for (const [id, c] of frameQualities(frame, visible, this.#qp, this.#weights)) q.set(id, c.quality.q);
    this.#frameQ.set(frame.imageId, q);
    this.#pour(this.#base.onFrame(frame, tracks), frame, frame.timestampNs);
    this.#frame = frame;
    // Frame qualities are looked up when the base sends a frame it held; 3000 frames (5 min at 10 Hz) back is plenty.
    for (const id of this.#frameQ.keys()) {
      if (id >= frame.imageId - FRAME_QUALITY_HISTORY) break;
      this.#frameQ.delete(id);
    }
    return this.#drain(frame.timestampNs);
  }

  onTrackEnd(trackIds: Iterable<number>): PolicyDecision[] {
    const now = this.#lastNs ?? 0n;
    this.#pour(this.#base.onTrackEnd(trackIds), this.#frame, now);
    return this.#drain(now);
  }

  flush(): PolicyDecision[] {
    const now = this.#lastNs ?? 0n;
    this.#pour(this.#base.flush(), this.#frame, now);
    const out = this.#drain(now);
    // End of stream: what the budget could not afford is dropped, counted.
    for (const p of this.#pool) {
      this.counters.dropped++;
      this.#refs.release(p.decision.imageId);
    }
    this.#pool = [];
    this.#frameQ.clear();
    return out;
  }
}
