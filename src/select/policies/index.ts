/**
 * The selection policies behind {@link SelectionPolicy}, one file per family:
 * spec.ts ('spec' — SPEC S1–S7 exactly — and 'replace-queued'), holding.ts
 * ('frigate', 'frigate-quality', 'final-best'), shared-best.ts, deadline-cover.ts, baselines.ts
 * ('every-frame', 'interval'), budget.ts ('budget', on 'shared-best'). The list of policies and their options is
 * defined once, in options.ts. See docs/selection.md.
 */
import { invalidParameterError } from '../../errors.js';
import { POLICY_NAMES, type PolicyName } from '../options.js';
import type { SelectionPolicy } from '../policy.js';
import { EveryFramePolicy, IntervalPolicy } from './baselines.js';
import { BudgetPolicy } from './budget.js';
import type { PolicyOptions } from './common.js';
import { DeadlineCoverPolicy } from './deadline-cover.js';
import { FinalBestPolicy, FrigatePolicy, FrigateQualityPolicy } from './holding.js';
import { SharedBestPolicy } from './shared-best.js';
import { ReplaceQueuedPolicy, SpecPolicy } from './spec.js';

export { EveryFramePolicy, IntervalPolicy } from './baselines.js';
export { BudgetPolicy, type BudgetCounters } from './budget.js';
export { type PolicyOptions } from './common.js';
export { DeadlineCoverPolicy, showsWell } from './deadline-cover.js';
export { FinalBestPolicy, FrigatePolicy, FrigateQualityPolicy, isBetterFrigate, isBetterFrigateQuality } from './holding.js';
export { SharedBestPolicy } from './shared-best.js';
export { ReplaceQueuedPolicy, SpecPolicy } from './spec.js';
/** The clipped-object test lives with the other box geometry. */
export { touchesEdge } from '../../geometry/box.js';

const CONSTRUCTORS: { [K in PolicyName]: new (options: PolicyOptions) => SelectionPolicy } = {
  spec: SpecPolicy,
  'every-frame': EveryFramePolicy,
  interval: IntervalPolicy,
  frigate: FrigatePolicy,
  'frigate-quality': FrigateQualityPolicy,
  'final-best': FinalBestPolicy,
  'replace-queued': ReplaceQueuedPolicy,
  'shared-best': SharedBestPolicy,
  'deadline-cover': DeadlineCoverPolicy,
  budget: BudgetPolicy,
};

/** Build a policy by name (config / `--policies`). */
export function createPolicy(name: PolicyName, options: PolicyOptions = {}): SelectionPolicy {
  if (!Object.hasOwn(CONSTRUCTORS, name)) throw invalidParameterError(`one of ${POLICY_NAMES.join(', ')}`, 'policy', name);
  return new CONSTRUCTORS[name](options);
}
