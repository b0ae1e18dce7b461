/** MOTChallenge tools: file io, the tracker over det.txt, and TrackEval-exact CLEAR/identity metrics. */
export {
  type MotRow,
  type MotDetections,
  type SeqInfo,
  parseMot,
  parseMotDetections,
  readMotDetections,
  readMotFile,
  formatMotResults,
  writeMotResults,
  groupByFrame,
  readSeqInfo,
  sequenceGeometry,
  framesOutsideWarning,
  MOT15_SEQINFO,
} from './io.js';
export {
  type MotBenchmark,
  type MotEvalOptions,
  type MotCounts,
  type MotMetrics,
  evaluateMot,
  combineMetrics,
  metricsFromCounts,
  detectBenchmark,
  mot17KeepsGt,
  boxIouMatrix,
} from './evaluate.js';
export { type Fragmentation, fragmentation, fragmentationFromCounts } from './fragments.js';
export { type HotaCounts, type HotaMetrics, HOTA_ALPHAS, hotaCounts, hotaMetrics, combineHota } from './hota.js';
export { type TrackSequenceOptions, type TrackSequenceResult, trackMotSequence, motFrameDetections } from './track-sequence.js';
