/**
 * The holding family (SPEC "Beyond the method"): each track holds one
 * candidate image and sends it at the track's end or when a latency bound
 * passes — 'frigate' (Frigate's best-snapshot rule, the reference),
 * 'frigate-quality' (Frigate's rule with a blur veto, ranked by the quality
 * score) and 'final-best' (the best by the quality score, latency-bounded).
 */
import { touchesEdge } from '../../geometry/box.js';
import type { Box, Track } from '../../types.js';
import type { FrameRefs } from '../frame-ring.js';
import { policyOption, type PolicyName } from '../options.js';
import { NO_REFS, type PolicyDecision, type SelectionPolicy } from '../policy.js';
import { compareQuality, type Quality, type QualityParams, type QualityWeights } from '../quality.js';
import { routeFor, validateSelectionParams, type Route, type SelectionParams } from '../rules.js';
import type { SelectorFrame } from '../selector.js';
import { frameQualities, groupByImage, qualityParams, qualityWeights, secondsToNs, visibleObjects, type Held, type PolicyOptions } from './common.js';

/** Policies that hold a per-track image and send it later. */
export abstract class HoldingPolicy implements SelectionPolicy {
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

  /**
   * Images already sent that a track still holds. Two objects in one frame can
   * hold the same best image and end (or pass maxLatencyS) at different
   * times: the second upload of that image reused its idempotency key
   * cameraId:imageId (U3), which the receiver drops as a duplicate (content
   * 'frame') or refuses with 409 as "another package under this key" and the
   * edge dead-letters (content 'crops': another first crop). The image went
   * once, with every track of the frame in its metadata: it is not sent again.
   */
  readonly #sentImages = new Set<number>();

  /** Emit one upload per distinct held image of these tracks, none already sent. */
  protected emit(items: { trackId: number; held: Held }[], routeOf: (held: Held) => Route): PolicyDecision[] {
    const out: PolicyDecision[] = [];
    for (const { held, selected } of groupByImage(items).values()) {
      if (this.#sentImages.has(held.imageId)) continue;
      this.#sentImages.add(held.imageId);
      let route: Route = 'cached';
      for (const item of items) if (item.held.imageId === held.imageId && routeOf(item.held) === 'immediate') route = 'immediate';
      this.refs.retain(held.imageId); // the consumer's reference
      out.push({ kind: 'upload', route, imageId: held.imageId, timestampNs: held.timestampNs, selected, decidedAtNs: this.lastNs });
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
    // An image no track holds any more can never be emitted again (hold() takes the current frame).
    for (const imageId of this.#sentImages) if (![...this.held.values()].some((h) => h.imageId === imageId)) this.#sentImages.delete(imageId);
    return decisions;
  }

  flush(): PolicyDecision[] {
    return this.onTrackEnd([...this.held.keys()]);
  }
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
 * per distinct image, always immediately. Blind to blur, as Frigate is: the
 * reference the others are compared with.
 */
export class FrigatePolicy extends HoldingPolicy {
  readonly name: PolicyName = 'frigate';
  readonly #scoreMargin: number;
  readonly #areaGrowth: number;

  constructor(options: PolicyOptions = {}) {
    super(options.refs);
    this.#scoreMargin = policyOption('frigateScoreMargin', this.name, options.frigateScoreMargin);
    this.#areaGrowth = policyOption('frigateAreaGrowth', this.name, options.frigateAreaGrowth);
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
 * Frigate's rule with a blur veto, for 'frigate-quality': not better when the
 * candidate touches the edge while the current does not (Frigate's veto), nor
 * when both sharpnesses are known and the candidate's is below `blurVeto` ×
 * the current's (the veto Frigate lacks); otherwise better when Frigate's
 * rule says so, or when its quality score (quality.ts) exceeds the current's
 * by more than `areaGrowth` (the same hysteresis as Frigate's area rule).
 */
export function isBetterFrigateQuality(
  current: { box: Box; quality: Quality },
  candidate: { box: Box; quality: Quality },
  width: number,
  height: number,
  scoreMargin: number,
  areaGrowth: number,
  blurVeto: number,
): boolean {
  if (touchesEdge(candidate.box, width, height) && !touchesEdge(current.box, width, height)) return false;
  const sc = candidate.quality.sharpness;
  const sh = current.quality.sharpness;
  if (blurVeto > 0 && Number.isFinite(sc) && Number.isFinite(sh) && sc < blurVeto * sh) return false;
  if (isBetterFrigate(current.box, candidate.box, width, height, scoreMargin, areaGrowth)) return true;
  return compareQuality(candidate.quality, current.quality) > 0 && (candidate.quality.good !== current.quality.good || candidate.quality.q > current.quality.q * (1 + areaGrowth));
}

/**
 * 'frigate-quality': as 'frigate' (held until the track ends, sent
 * immediately), with {@link isBetterFrigateQuality} as the rule.
 */
export class FrigateQualityPolicy extends HoldingPolicy {
  readonly name: PolicyName = 'frigate-quality';
  readonly #scoreMargin: number;
  readonly #areaGrowth: number;
  readonly #blurVeto: number;
  readonly #qp: QualityParams;
  readonly #weights: QualityWeights;

  constructor(options: PolicyOptions = {}) {
    super(options.refs);
    this.#scoreMargin = policyOption('frigateScoreMargin', this.name, options.frigateScoreMargin);
    this.#areaGrowth = policyOption('frigateAreaGrowth', this.name, options.frigateAreaGrowth);
    this.#blurVeto = policyOption('blurVeto', this.name, options.blurVeto);
    this.#qp = qualityParams(validateSelectionParams(options.params ?? {}));
    this.#weights = qualityWeights(this.name, options);
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    this.lastNs = frame.timestampNs;
    for (const [trackId, { entry, quality }] of frameQualities(frame, visibleObjects(frame, tracks), this.#qp, this.#weights)) {
      const current = this.held.get(trackId);
      if (
        current === undefined ||
        isBetterFrigateQuality(
          { box: current.entry.box, quality: current.quality! },
          { box: entry.box, quality },
          frame.width,
          frame.height,
          this.#scoreMargin,
          this.#areaGrowth,
          this.#blurVeto,
        )
      ) {
        this.hold(trackId, { imageId: frame.imageId, timestampNs: frame.timestampNs, entry, width: frame.width, height: frame.height, quality });
      }
    }
    return [];
  }

  protected routeAtEnd(): Route {
    return 'immediate';
  }
}

/**
 * 'final-best': each track holds its best candidate by the quality score
 * (quality.ts: good — unclipped and score ≥ minScore1 — first, then the
 * weighted product). It is sent when the track ends, or when the track's
 * first unsent candidate has waited `maxLatencyS`; after a send, a later
 * candidate opens a new window only when its quality exceeds the sent one's
 * by the factor `reSendQualityGrowth` (or it is good where the sent one was
 * not). Route by S5 on the candidate's entry (any-immediate over the objects
 * sharing the image).
 */
export class FinalBestPolicy extends HoldingPolicy {
  readonly name: PolicyName = 'final-best';
  readonly #params: SelectionParams;
  readonly #qp: QualityParams;
  readonly #weights: QualityWeights;
  readonly #maxLatencyNs: bigint;
  readonly #growth: number;
  /** trackId → start of the window of its unsent candidate. */
  #windowStart = new Map<number, bigint>();
  /** trackId → quality of its last sent image. */
  #sent = new Map<number, Quality>();

  constructor(options: PolicyOptions = {}) {
    super(options.refs);
    this.#params = validateSelectionParams(options.params ?? {});
    this.#qp = qualityParams(this.#params);
    this.#weights = qualityWeights(this.name, options);
    this.#maxLatencyNs = secondsToNs(policyOption('maxLatencyS', this.name, options.maxLatencyS));
    this.#growth = policyOption('reSendQualityGrowth', this.name, options.reSendQualityGrowth);
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    this.lastNs = frame.timestampNs;
    for (const [trackId, { entry, quality }] of frameQualities(frame, visibleObjects(frame, tracks), this.#qp, this.#weights)) {
      const current = this.held.get(trackId);
      if (current !== undefined && compareQuality(quality, current.quality!) <= 0) continue;
      this.hold(trackId, { imageId: frame.imageId, timestampNs: frame.timestampNs, entry, width: frame.width, height: frame.height, quality });
      if (this.#windowStart.has(trackId)) continue;
      const sent = this.#sent.get(trackId);
      if (sent === undefined || (quality.good && !sent.good) || (quality.good === sent.good && quality.q > sent.q * this.#growth)) {
        this.#windowStart.set(trackId, frame.timestampNs);
      }
    }
    const due: { trackId: number; held: Held }[] = [];
    for (const [trackId, start] of this.#windowStart) {
      if (frame.timestampNs - start < this.#maxLatencyNs) continue;
      const held = this.held.get(trackId);
      if (held !== undefined) due.push({ trackId, held });
      this.#windowStart.delete(trackId);
    }
    for (const d of due) this.#sent.set(d.trackId, d.held.quality!);
    return this.emit(due, (h) => this.routeAtEnd(h));
  }

  protected override dueAtEnd(trackId: number): boolean {
    return this.#windowStart.has(trackId); // an unsent candidate worth sending
  }

  protected routeAtEnd(held: Held): Route {
    return routeFor(held.entry, held.width, held.height, this.#params);
  }

  protected override forgetTrack(trackId: number): void {
    this.#windowStart.delete(trackId);
    this.#sent.delete(trackId);
  }
}
