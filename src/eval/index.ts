/**
 * Evaluation (docs/evaluation.md): every selection policy on the same tracks, scored for
 * uplink volume, coverage and best-image quality against ground truth.
 * See docs/evaluation.md; the entry point is `npm run eval`.
 */
export {
  iou,
  matchBoxes,
  isUnclipped,
  areaInImage,
  areaRatio,
  cropRect,
  laplacianVariance,
  mean,
  percentile,
  type BoxMatch,
  type CenterBox,
  type CropImage,
  type PixelRect,
} from './metrics.js';
export { QueueSimulator, type Delivery, type QueueSimOptions, type QueueSimResult } from './queue-sim.js';
export {
  GridSampler,
  applyFallbackGroundTruth,
  consideredGtRows,
  isMot17Gt,
  cropSharpness,
  defaultModelSha256,
  loadClipInput,
  loadMotInput,
  loadSimInput,
  type ClipInputOptions,
  type EvalFrame,
  type EvalInput,
  type GroundTruthKind,
  type GtObservation,
  type InputKind,
  type MotInputOptions,
  type SimInputOptions,
} from './inputs.js';
export {
  evaluateInput,
  greedyCover,
  type BestImage,
  type ContentResult,
  type EvalReport,
  type EvaluateOptions,
  type LostReason,
  type ObjectOutcome,
  type PolicyResult,
  type QualitySummary,
  type VersusFrigate,
} from './evaluate.js';
export {
  formatLost,
  formatLostPooled,
  formatTable,
  formatMarkdown,
  formatPooled,
  formatPooledContent,
  poolReports,
  renderSvg,
  splitHalves,
  describeInput,
  oracleLine,
  tableRow,
  TABLE_COLUMNS,
  type PooledRow,
} from './report.js';
export { discoverSources, resolveTarget, type EvalSource } from './sources.js';
