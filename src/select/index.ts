/**
 * Best-shot selection (SPEC S1–S7) and the alternative selection policies.
 * See docs/selection.md.
 */
export {
  DEFAULT_SELECTION_PARAMS,
  area,
  edgeDistance,
  isBetter,
  isBetterOrFirst,
  qualifies,
  routeFor,
  sideMidpoints,
  validateSelectionParams,
  type BetterParams,
  type QualifyParams,
  type Route,
  type RouteParams,
  type SelectionParams,
} from './rules.js';
export {
  Selector,
  type BestImage,
  type FirstSighting,
  type FrameUpload,
  type RouteResolution,
  type SelectionResult,
  type SelectorFrame,
  type SelectorOptions,
  type TrackSelection,
} from './selector.js';
export { FrameRing, type FrameRefs, type FrameRingOptions, type FrameRingStats } from './frame-ring.js';
export {
  NO_REFS,
  POLICY_NAMES,
  entryAt,
  type EnqueueDecision,
  type PolicyDecision,
  type PolicyName,
  type ReplaceDecision,
  type SelectedObject,
  type SelectionPolicy,
  type SendDecision,
} from './policy.js';
export {
  EveryFramePolicy,
  FinalBestPolicy,
  FrigatePolicy,
  IntervalPolicy,
  ReplaceQueuedPolicy,
  SpecPolicy,
  createPolicy,
  isBetterFrigate,
  touchesEdge,
  type PolicyOptions,
} from './policies.js';
