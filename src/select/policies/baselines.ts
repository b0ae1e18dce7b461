/**
 * The naive baselines: 'every-frame' (the upper bound on bytes, the
 * evaluation's reference) and 'interval' (one frame every intervalS).
 */
import type { Track } from '../../types.js';
import type { FrameRefs } from '../frame-ring.js';
import { policyOption, type PolicyName } from '../options.js';
import { NO_REFS, type PolicyDecision, type SelectionPolicy } from '../policy.js';
import type { SelectorFrame } from '../selector.js';
import { secondsToNs, visibleObjects, type PolicyOptions } from './common.js';

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
    return [{ kind: 'upload', route: 'immediate', imageId: frame.imageId, timestampNs: frame.timestampNs, selected, decidedAtNs: frame.timestampNs }];
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
    this.#intervalNs = secondsToNs(policyOption('intervalS', this.name, options.intervalS));
  }

  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[] {
    if (this.#lastSentNs !== null && frame.timestampNs - this.#lastSentNs < this.#intervalNs) return [];
    const selected = visibleObjects(frame, tracks);
    if (selected.length === 0) return [];
    this.#lastSentNs = frame.timestampNs;
    this.#refs.retain(frame.imageId);
    return [{ kind: 'upload', route: 'immediate', imageId: frame.imageId, timestampNs: frame.timestampNs, selected, decidedAtNs: frame.timestampNs }];
  }

  onTrackEnd(): PolicyDecision[] {
    return [];
  }

  flush(): PolicyDecision[] {
    return [];
  }
}
