/**
 * The 'spec' family: SPEC S1–S7 exactly ('spec', S2 as written) and
 * 'replace-queued', the same selections with still-queued packages replaced
 * (SPEC "Beyond the method").
 */
import type { Track } from '../../types.js';
import type { FrameRefs } from '../frame-ring.js';
import { NO_REFS, type PolicyDecision, type SelectionPolicy } from '../policy.js';
import type { PolicyName } from '../options.js';
import { Selector, type BestImage, type SelectionResult, type SelectorFrame } from '../selector.js';
import type { PolicyOptions } from './common.js';

/**
 * The method as SPEC states it: every frame, S1–S6 per track through the
 * {@link Selector}; a selected frame is uploaded once (S4), immediately or
 * through the queue (S5). Track bests (S7) are retained in the ring. Reads no
 * pixels and no quality score: S2 stays exactly as written.
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
        kind: 'upload',
        route: result.upload.route,
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
    if (replaces.length === 0) return [{ kind: 'upload', route, ...base }];
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
