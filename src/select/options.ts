/**
 * The one definition of the selection policies and of each policy's own
 * options (SPEC "Beyond the method"). Everything else derives from it: the
 * policy name type, the option types of `createPolicy`, the policies'
 * validation and defaults, the config schema's `selection` keys
 * (src/config/sections.ts), the config types and the config → policy
 * mapping (src/config/adapters.ts). Pure data: loading a config imports this
 * file and nothing of the policies.
 */
import { numberOption } from '../errors.js';

/** Every selection policy, in the order tables list them. 'spec' is SPEC S1–S7 exactly (S2). */
export const POLICY_NAMES = [
  'spec',
  'every-frame',
  'interval',
  'frigate',
  'frigate-quality',
  'final-best',
  'replace-queued',
  'shared-best',
  'deadline-cover',
  'budget',
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** What a number option accepts. */
export type OptionKind = 'positive' | 'nonNegative' | 'unit' | 'atLeastOne' | 'positiveInteger';

export interface PolicyOptionSpec {
  kind: OptionKind;
  /** The policies that read it. */
  policies: readonly PolicyName[];
  /** Its default in each policy that reads it (a policy's own; the config never overrides it). */
  defaults: Readonly<Partial<Record<PolicyName, number>>>;
  unit?: string;
  /** One line for docs/config.md: what it does and the trade-off of raising it. */
  description: string;
}

const QUALITY_POLICIES = ['frigate-quality', 'final-best', 'shared-best', 'deadline-cover', 'budget'] as const;
const SHARED = ['shared-best', 'deadline-cover', 'budget'] as const;
const all = (policies: readonly PolicyName[], v: number): Partial<Record<PolicyName, number>> => Object.fromEntries(policies.map((p) => [p, v]));

/**
 * The policies' own options. The quality weights are the exponents of the
 * quality score (src/select/quality.ts, docs/selection.md "Image quality").
 */
export const POLICY_OPTIONS = {
  intervalS: {
    kind: 'positive',
    policies: ['interval'],
    defaults: { interval: 1 },
    unit: 's',
    description: "'interval': seconds between frames sent; lower sends more, higher may miss short-lived objects",
  },
  maxLatencyS: {
    kind: 'positive',
    policies: ['final-best', 'shared-best', 'deadline-cover'],
    defaults: { 'final-best': 3, 'shared-best': 10, 'deadline-cover': 10 },
    unit: 's',
    description: "'final-best' (default 3), 'shared-best', 'deadline-cover' (default 10): longest a candidate is held; higher waits for better images",
  },
  frigateScoreMargin: {
    kind: 'nonNegative',
    policies: ['frigate', 'frigate-quality'],
    defaults: { frigate: 0.05, 'frigate-quality': 0.05 },
    description: "'frigate', 'frigate-quality': score margin a new image must beat the best by (Frigate's 0.05)",
  },
  frigateAreaGrowth: {
    kind: 'nonNegative',
    policies: ['frigate', 'frigate-quality'],
    defaults: { frigate: 0.1, 'frigate-quality': 0.1 },
    description: "'frigate', 'frigate-quality': relative area growth a new image must exceed (Frigate's 10 %)",
  },
  blurVeto: {
    kind: 'unit',
    policies: ['frigate-quality'],
    defaults: { 'frigate-quality': 0.7 },
    description: "'frigate-quality': a new image is vetoed when its sharpness is below this fraction of the held one's; 0 = off",
  },
  reSendQualityGrowth: {
    kind: 'atLeastOne',
    policies: ['final-best', 'budget'],
    defaults: { 'final-best': 1.25, budget: 1.25 },
    description: "'final-best', 'budget': after a send, a later candidate is sent again (is worth budget) only when its quality score exceeds the sent one's by this factor; lower re-sends more",
  },
  shareMinAreaFraction: {
    kind: 'unit',
    policies: ['shared-best'],
    defaults: { 'shared-best': 0.8 },
    description: "'shared-best': another object's upload covers an object when its entry there reaches this fraction of its best; lower shares more (fewer bytes, smaller images). 0.8 by the half-A rule on the fitInput detections (docs/evaluation.md)",
  },
  reSendAreaGrowth: {
    kind: 'atLeastOne',
    policies: ['shared-best'],
    defaults: { 'shared-best': 100 },
    description: "'shared-best': a covered object is sent again only when its best area grew to this multiple of the covering image's; lower re-sends more (the default 100: practically never; its best is sent at its end anyway)",
  },
  coverForecastS: {
    kind: 'nonNegative',
    policies: ['shared-best'],
    defaults: { 'shared-best': 0 },
    unit: 's',
    description:
      "'shared-best': a frame sent for another object covers an object only provisionally while its motion (velocity, area growth, distance to the image border over the last second) forecasts, within this many seconds, a view larger than its covered one / shareMinAreaFraction; it waits again once its best outgrows the cover that way. 0 = off (a cover is final)",
  },
  shareCandidates: {
    kind: 'positiveInteger',
    policies: SHARED,
    defaults: { 'shared-best': 16, 'deadline-cover': 16, budget: 16 },
    description: "'shared-best', 'deadline-cover': candidate frames kept per object; higher finds more sharing, each one a frame held in the ring",
  },
  segmentGapFrames: {
    kind: 'nonNegative',
    policies: SHARED,
    defaults: { 'shared-best': 5, 'deadline-cover': 5, budget: 1 },
    description:
      "'shared-best' and 'deadline-cover' (default 5), both by the half-A rule with confidentScore (docs/evaluation.md), 'budget' (default 1): a track whose qualifying entries (S1, and confidentScore where the policy has it) break for this many frames and resume starts a new segment that needs its own image (identity after a weak stretch is uncertain); higher sends less, 0 = never",
  },
  segmentResumeIoU: {
    kind: 'unit',
    policies: SHARED,
    defaults: { 'shared-best': 0.7, 'deadline-cover': 0, budget: 0.7 },
    description:
      "'shared-best' and 'budget' (default 0.7), 'deadline-cover' (default 0): a chain of qualifying entries that resumes with IoU ≥ this against its last qualifying box continues its segment (the object stood still, its identity is not in doubt: a parked car's detector blinks are no new objects); 0 = off, every break of segmentGapFrames starts a segment",
  },
  confidentScore: {
    kind: 'unit',
    policies: ['shared-best', 'deadline-cover'],
    defaults: { 'shared-best': 0.6, 'deadline-cover': 0.6 },
    description:
      "'shared-best', 'deadline-cover' (default 0.6, T2's high-score threshold: the tracker's trackThresh default): a view is a good image of its object, and keeps the object's chain of views unbroken (segmentGapFrames), only with a detection score at least this (and S1's minScore1); a lower-scored box is what ByteTrack matches only in its second stage (occluded, blurred, or another object). 0 = S1's minScore1 alone",
  },
  coverMinFraction: {
    kind: 'unit',
    policies: ['deadline-cover'],
    defaults: { 'deadline-cover': 0.8 },
    description:
      "'deadline-cover' (default 0.8, the half-A rule): a sent frame shows an object well when its quality score and area there reach this fraction of its best by the time it is due; lower shares more (fewer bytes, smaller images)",
  },
  budgetBytesPerS: {
    kind: 'positive',
    policies: ['budget'],
    defaults: { budget: 50_000 },
    unit: 'B/s',
    description: "'budget': uplink budget; objects beyond it wait, most valuable first, and are dropped (counted) budgetMaxWaitS after their end",
  },
  budgetBurstS: {
    kind: 'positive',
    policies: ['budget'],
    defaults: { budget: 10 },
    unit: 's',
    description: "'budget': seconds of budget that may be spent at once (the token bucket's depth)",
  },
  budgetMaxWaitS: {
    kind: 'positive',
    policies: ['budget'],
    defaults: { budget: 60 },
    unit: 's',
    description: "'budget': an ended object never sent waits this long for budget, then is dropped and counted; higher delays more, drops less",
  },
  budgetBytesPerPixel: {
    kind: 'positive',
    policies: ['budget'],
    defaults: { budget: 0.15 },
    description: "'budget': estimated JPEG bytes per frame pixel, the cost charged per package (JPEG quality 85 ≈ 0.1–0.2); the starting estimate: the bucket pays the bytes the camera reports each package took, and later estimates are scaled by their ratio to them",
  },
  budgetCropBytesPerPixel: {
    kind: 'nonNegative',
    policies: ['budget'],
    defaults: { budget: 0 },
    description:
      "'budget': estimated crop bytes per box pixel (margin included): a package costs its crops, not the frame; 0 = the frame (budgetBytesPerPixel). Unset with upload.content 'crops', the runtime starts from CROP_BYTES_PER_PIXEL (1.8); the bucket pays the bytes the camera reports each package took, and later estimates are scaled by their ratio to them",
  },
  budgetValueFirst: {
    kind: 'unit',
    policies: ['budget'],
    defaults: { budget: 1 },
    description: "'budget': 1 = the most valuable package per byte first; 0 = the oldest waiting object's best image first (FIFO, the comparison)",
  },
  weightSize: {
    kind: 'nonNegative',
    policies: QUALITY_POLICIES,
    defaults: all(QUALITY_POLICIES, 1),
    description: 'quality score: weight (exponent) of the box area fraction; 0 ignores size',
  },
  weightScore: {
    kind: 'nonNegative',
    policies: QUALITY_POLICIES,
    defaults: all(QUALITY_POLICIES, 2),
    description: 'quality score: weight of the detector score',
  },
  weightSharpness: {
    kind: 'nonNegative',
    policies: QUALITY_POLICIES,
    defaults: all(QUALITY_POLICIES, 1),
    description: "quality score: weight of the crop's size-normalised sharpness (needs pixels; neutral without)",
  },
  weightExposure: {
    kind: 'nonNegative',
    policies: QUALITY_POLICIES,
    defaults: all(QUALITY_POLICIES, 1),
    description: "quality score: weight of the crop's exposure (clipped highlights, crushed shadows, mean level)",
  },
  weightEdge: {
    kind: 'nonNegative',
    policies: QUALITY_POLICIES,
    defaults: all(QUALITY_POLICIES, 0.5),
    description: 'quality score: weight of the S3 edge distance (up to minEdge2); a clipped box is ranked below every unclipped one anyway',
  },
  weightOcclusion: {
    kind: 'nonNegative',
    policies: QUALITY_POLICIES,
    defaults: all(QUALITY_POLICIES, 1),
    description: 'quality score: weight of the unoccluded fraction (overlap by nearer boxes)',
  },
} as const satisfies Record<string, PolicyOptionSpec>;

export type PolicyOptionName = keyof typeof POLICY_OPTIONS;
export const POLICY_OPTION_NAMES = Object.keys(POLICY_OPTIONS) as PolicyOptionName[];

/**
 * The crop bytes per box pixel 'budget' charges a camera whose upload.content
 * is 'crops' when budgetCropBytesPerPixel is not set: the median over the
 * evaluation's seven inputs with images of their measured crop JPEG bytes
 * (q90, 15 % margin) per box pixel, 0.77–2.69 (`npm run eval -- all --budget
 * 0.25`, benchmarks/results/eval-all.json `budget[].cropBytesPerPixel`).
 * Small boxes cost more per pixel (JPEG headers, the margin). It is only the
 * starting estimate: the policy pays the bytes the camera reports and scales
 * later estimates by their ratio to them (policies/budget.ts).
 */
export const CROP_BYTES_PER_PIXEL = 1.8;

/** The policies' own options as `createPolicy` and the config take them: all optional numbers. */
export type PolicyTuning = { [K in PolicyOptionName]?: number };

const EXPECTED: Record<OptionKind, [string, (v: number) => boolean]> = {
  positive: ['positive number', (v) => v > 0],
  nonNegative: ['non-negative number', (v) => v >= 0],
  unit: ['number between 0 and 1', (v) => v >= 0 && v <= 1],
  atLeastOne: ['number ≥ 1', (v) => v >= 1],
  positiveInteger: ['positive integer', (v) => Number.isSafeInteger(v) && v >= 1],
};

/** The schema's bounds of an option kind (config/sections.ts renders them). */
export const OPTION_BOUNDS: Record<OptionKind, { min: number; exclusiveMin?: boolean; max?: number; integer?: boolean }> = {
  positive: { min: 0, exclusiveMin: true },
  nonNegative: { min: 0 },
  unit: { min: 0, max: 1 },
  atLeastOne: { min: 1 },
  positiveInteger: { min: 1, integer: true },
};

/**
 * An option's value for `policy`: the given value validated (TypeError /
 * RangeError with the exact message of errors.ts), else the policy's own default.
 */
export function policyOption(name: PolicyOptionName, policy: PolicyName, value: unknown): number {
  const spec: PolicyOptionSpec = POLICY_OPTIONS[name];
  const fallback = spec.defaults[policy];
  if (fallback === undefined) throw new Error(`policy option ${name} has no default for policy ${policy}`);
  const [expected, ok] = EXPECTED[spec.kind];
  return numberOption(name, value, fallback, expected, ok);
}

/** The options a policy reads. */
export function optionsOf(policy: PolicyName): PolicyOptionName[] {
  return POLICY_OPTION_NAMES.filter((n) => (POLICY_OPTIONS[n].policies as readonly PolicyName[]).includes(policy));
}
