/**
 * Best-shot selection (SPEC S1–S7) and the alternative selection policies.
 * See docs/selection.md.
 */
export {
  DEFAULT_SELECTION_PARAMS,
  SELECTION_PARAM_NAMES,
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
  type PolicyDecision,
  type PolicyName,
  type ReplaceDecision,
  type SelectedObject,
  type SelectionPolicy,
  type UploadDecision,
} from './policy.js';
export {
  BudgetPolicy,
  type BudgetCounters,
  DeadlineCoverPolicy,
  EveryFramePolicy,
  FinalBestPolicy,
  FrigatePolicy,
  FrigateQualityPolicy,
  IntervalPolicy,
  ReplaceQueuedPolicy,
  SharedBestPolicy,
  showsWell,
  SpecPolicy,
  createPolicy,
  isBetterFrigate,
  isBetterFrigateQuality,
  touchesEdge,
  type PolicyOptions,
} from './policies/index.js';
export { CROP_BYTES_PER_PIXEL, OPTION_BOUNDS, POLICY_OPTIONS, POLICY_OPTION_NAMES, optionsOf, policyOption, type PolicyOptionName, type PolicyOptionSpec, type PolicyTuning } from './options.js';
export { cropStats, frameCropStats, type CropImage, type CropStats } from './crop-stats.js';
export {
  DEFAULT_QUALITY_WEIGHTS,
  compareQuality,
  edgeTerm,
  exposureTerm,
  occludedFraction,
  quality,
  qualityScore,
  qualityTerms,
  sharpnessTerm,
  type Quality,
  type QualityParams,
  type QualityTerms,
  type QualityWeights,
} from './quality.js';
