/**
 * The evaluation run (docs/evaluation.md): track an input once, drive every
 * selection policy on the SAME tracks in lock-step (each frame: tracker
 * update, then every policy's onFrame/onTrackEnd), play each policy's
 * decisions through the upload simulation (U1/U2, sendHz, capacity,
 * replacement), then score what each policy delivered against the ground
 * truth.
 *
 * Definitions (docs/evaluation.md):
 * - a package is the whole frame (SPEC data model); it carries every track
 *   with an entry in that frame;
 * - a ground-truth object is *covered* by a package when, in that frame, it is
 *   visible, unclipped and matched one-to-one (IoU ≥ 0.5) to one of the
 *   package's track entries;
 * - coverage = covered / eligible objects (visible and unclipped in at least
 *   one frame); cov/EF = covered / coverable objects (covered by at least one
 *   frame at all, i.e. what sending every frame covers): detector and tracker
 *   misses count against the first, only selection against the second;
 * - an object's best uploaded image = its covering upload with the largest
 *   area ratio (ties: higher score); its score, S3 edge distance and crop
 *   sharpness are those of the matched entry there;
 * - time to first upload = first covering delivery − first frame the object
 *   is visible in.
 */
import { trackerOptions } from '../config/adapters.js';
import { defaultCamera } from '../config/load.js';
import { invalidParameterError } from '../errors.js';
import {
  DEFAULT_QUALITY_WEIGHTS,
  POLICY_NAMES,
  createPolicy,
  edgeDistance,
  quality as candidateQuality,
  validateSelectionParams,
  type CropStats,
  type PolicyDecision,
  type PolicyName,
  type PolicyOptions,
  type SelectionPolicy,
} from '../select/index.js';
import { type Fragmentation, fragmentation } from '../mot/fragments.js';
import { cropTrackIds, type UploadContent } from '../upload/content.js';
import { ByteTracker, type TrackerOptions } from '../track/index.js';
import type { Box } from '../types.js';
import type { EvalInput } from './inputs.js';
import { areaInImage, areaRatio, isUnclipped, matchBoxes, mean, percentile } from './metrics.js';
import { QueueSimulator, type QueueSimResult } from './queue-sim.js';

export interface EvaluateOptions {
  /** Policies to compare. Default: all of POLICY_NAMES. 'every-frame' is always run (it is the reference). */
  policies?: readonly PolicyName[];
  /** Options every policy is created with (SPEC defaults when absent). */
  policyOptions?: PolicyOptions;
  /** U2 sendHz. Default 2. */
  sendHz?: number;
  /** U2 queue capacity, packages. Default 1000. */
  queueCapacity?: number;
  /** IoU a track entry needs to match a ground-truth box. Default 0.5. */
  minIou?: number;
  /** Margin to every border for "unclipped", px. Default 1. */
  unclippedMarginPx?: number;
  /** Tracker options over the product's (productTrackerOptions: the config's defaults at captureHz = the input's hz). */
  tracker?: TrackerOptions;
  /** Goal: minimum bytes (packages without images) reduction against every-frame. Default 20. */
  goalReduction?: number;
  /** Goal: minimum cov/EF. Default 0.95. */
  goalCoverage?: number;
  /** Called with each policy once created (e.g. to read a policy's own counters after the run). */
  onPolicy?: (policy: SelectionPolicy) => void;
  /**
   * Report each decision's package bytes in this upload.content to its policy
   * (SelectionPolicy.onPackageBytes) before the next frame, from the input's
   * measured JPEG sizes, as the runtime's camera does after it built the
   * package. Absent, or an input without images: none reported.
   */
  packageBytes?: UploadContent;
}

/** Quality of an object's best uploaded image. */
export interface BestImage {
  imageId: number;
  areaRatio: number;
  score: number;
  /** S3 edge distance of the matched entry's box, px. */
  edge: number;
  /** Laplacian variance of the entry's crop; NaN without images. */
  sharpness: number;
}

export interface ObjectOutcome {
  objectId: string;
  covered: boolean;
  /**
   * The best quality score (select/quality.ts, default weights and SPEC
   * parameters) among this policy's covering deliveries, over the best score
   * of any covering frame of the object (1 = the best view there was); null
   * when not covered.
   */
  qualityRatio: number | null;
  /**
   * The sharpest (size-normalised, crop-stats.ts) of this policy's covering
   * deliveries over the sharpest covering (= unclipped, matched) view of the
   * object in any frame; null when not covered or without pixels.
   */
  sharpVsSharpest: number | null;
  /** Seconds from the first frame the object is visible in to its first covering delivery. */
  timeToFirstUploadS: number | null;
  /** Seconds from the input's first frame to the object's first covering delivery (the coverage-over-time curve). */
  firstUploadAtS: number | null;
  best: BestImage | null;
  /** Why a coverable object was not covered (null when covered or not coverable). */
  lost: LostReason | null;
}

/**
 * Why a coverable object got no covering delivery:
 * - 'border': every view of it that the evaluation counts (≥ 1 px inside
 *   every border) is within S2's minEdge1 of the border, so the selection
 *   treats it as clipped;
 * - 'other-frames': a track it was matched to was delivered, but only in frames
 *   where this object is not covered (clipped, not matched, or the track
 *   carried another ground-truth object there — with the detector fallback,
 *   often a piece the fallback tracker split off the same physical object);
 * - 'never-sent': no track it was matched to is in any delivered frame.
 */
export interface LostReason {
  kind: 'border' | 'other-frames' | 'never-sent';
  /** The tracks matched to it in its covering frames. */
  trackIds: number[];
  /** The first (up to 3) delivered frames that carried one of those tracks. */
  deliveredImageIds: number[];
}

export interface QualitySummary {
  areaRatio: number;
  score: number;
  edge: number;
  sharpness: number;
  /** Mean over covered objects of {@link ObjectOutcome.qualityRatio}. */
  qualityRatio: number;
  /** Mean over covered objects of {@link ObjectOutcome.sharpVsSharpest} (NaN without pixels). */
  sharpVsSharpest: number;
}

export interface VersusFrigate {
  /** Objects covered by both. */
  objects: number;
  /** Mean over those objects of (this − frigate). */
  areaRatioDelta: number;
  scoreDelta: number;
  /** Mean of (this − frigate) quality ratio. */
  qualityDelta: number;
  edgeDelta: number;
  /** Median over those objects of this / frigate sharpness. */
  sharpnessRatio: number;
  /** Share of those objects whose best image's area ratio is ≥ frigate's. */
  areaAtLeast: number;
}

/**
 * One upload.content mode of a policy's deliveries: 'crops' sends, per
 * package, a full-resolution crop (margin CROP_MARGIN, JPEG quality 90) of
 * each selected object; 'frame+crops' adds the frame at JPEG quality 40,
 * scaled down to 640 px wide (CONTEXT_MAX_WIDTH), for context. An object counts as covered only by a crop of its own track
 * (the context frame is not counted: it is not an image to re-analyse).
 */
export interface ContentResult {
  bytes: number;
  /** every-frame's (whole-frame) bytes over these. */
  reduction: number;
  covered: number;
  coverageOfCoverable: number;
  /** Mean best-image area ratio over the objects a crop covered. */
  areaRatio: number;
  /** Mean of the best delivered crop's quality ratio (as ObjectOutcome.qualityRatio). */
  qualityRatio: number;
  /** Per covered object: its best crop's area ratio and quality ratio, and when its first crop left the edge (s from the input's start). */
  objects: { objectId: string; areaRatio: number; qualityRatio: number; firstCropAtS: number }[];
  /**
   * Paired with frigate's (whole-frame) best images on the objects both
   * cover: mean (crop − frigate) area ratio and quality ratio; null without frigate.
   */
  vsFrigate: { objects: number; areaRatioDelta: number; qualityDelta: number } | null;
}

export interface PolicyResult {
  policy: PolicyName;
  packages: number;
  immediate: number;
  cached: number;
  /** JPEG bytes delivered; null without images. */
  bytes: number | null;
  packagesPerObject: number;
  bytesPerObject: number | null;
  /** every-frame's bytes (packages without images) over this policy's. */
  reduction: number;
  /** This policy's reduction over the hindsight cover's: the fraction of the reachable reduction achieved. */
  ofBound: number;
  reductionUnit: 'bytes' | 'packages';
  covered: number;
  coverage: number;
  coverageOfCoverable: number;
  /** Means over this policy's covered objects. */
  quality: QualitySummary;
  /** Paired with frigate on the objects both cover; null for frigate itself or when frigate was not run. */
  vsFrigate: VersusFrigate | null;
  timeToFirstUploadS: { p50: number; p90: number; max: number };
  queue: { peakDepth: number; dropped: number; replaced: number };
  /** Bytes and coverage by upload.content mode; null without images (or crop sizes). */
  content: { crops: ContentResult; 'frame+crops': ContentResult } | null;
  goal: { reduction: boolean; coverage: boolean; quality: boolean | null; met: boolean };
  objects: ObjectOutcome[];
}

export interface EvalReport {
  input: {
    name: string;
    kind: EvalInput['kind'];
    path: string;
    width: number;
    height: number;
    hz: number;
    frames: number;
    durationS: number;
    groundTruth: EvalInput['groundTruth'];
    detectionSource: string;
    notes: string[];
  };
  /** Ground-truth objects, those visible and unclipped somewhere (eligible), and those covered by some frame (coverable). */
  objects: { total: number; eligible: number; coverable: number };
  tracks: number;
  /** Tracks per ground-truth object and the share of objects split into several tracks (src/mot/fragments.ts). */
  fragments: Fragmentation;
  settings: { sendHz: number; queueCapacity: number; minIou: number; unclippedMarginPx: number; goalReduction: number; goalCoverage: number };
  policies: PolicyResult[];
  /**
   * Not a policy: the frames an offline greedy set cover with hindsight picks
   * so that every coverable object is covered once — what the goal's 20× asks
   * is possible at all on this input (no causal policy can know the future).
   */
  oracleCover: { packages: number; bytes: number | null; reduction: number };
}

interface Cover {
  objectId: string;
  /** The track whose entry matched the object in this frame. */
  trackId: number;
  areaRatio: number;
  score: number;
  edge: number;
  sharpness: number;
  /** Quality score of the matched entry in this frame (default weights, SPEC parameters). */
  q: number;
  /** Size-normalised sharpness of its crop; NaN without pixels. */
  sharpN: number;
}

/** The evaluation's own quality yardstick: default weights and SPEC parameters, whatever the policies were given. */
const EVAL_QUALITY_PARAMS = (() => {
  const p = validateSelectionParams({});
  return { minEdge1: p.minEdge1, minScore1: p.minScore1, edgeFull: p.minEdge2 };
})();

/**
 * The tracker `bestshot run` gives a camera at captureHz = `hz`: the config's tracker defaults
 * through the runtime's own adapter (config/adapters.ts trackerOptions: T2's buffer in frames at
 * frameRate 30, A5's period for dropped frames). The evaluation used to give ByteTrack the input's hz
 * as its frame rate, which scales the buffer to upstream's 1 s (10 frames at 10 Hz) where the
 * product keeps a lost track 30 frames (3 s): its tables measured a tracker the product does not run.
 */
export function productTrackerOptions(hz: number): TrackerOptions {
  const camera = defaultCamera('eval', { type: 'test' });
  return trackerOptions({ tracker: camera.tracker, captureHz: hz });
}

/** Quality at or above frigate's: paired mean deltas of area ratio and score within this tolerance. */
const QUALITY_TOLERANCE = 0.005;

export function evaluateInput(input: EvalInput, options: EvaluateOptions = {}): EvalReport {
  const names = [...new Set<PolicyName>(['every-frame', ...(options.policies ?? POLICY_NAMES)])];
  for (const n of names) if (!(POLICY_NAMES as readonly string[]).includes(n)) throw invalidParameterError(`one of ${POLICY_NAMES.join(', ')}`, 'policies', n);
  const sendHz = options.sendHz ?? 2;
  const queueCapacity = options.queueCapacity ?? 1000;
  const minIou = options.minIou ?? 0.5;
  const margin = options.unclippedMarginPx ?? 1;
  const goalReduction = options.goalReduction ?? 20;
  const goalCoverage = options.goalCoverage ?? 0.95;
  const { width: W, height: H, frames } = input;
  const startNs = frames[0]?.timestampNs ?? 0n;

  // 1. Track once; every policy sees the same tracks, frame by frame.
  const tracker = new ByteTracker({ ...productTrackerOptions(input.hz), ...options.tracker });
  const policies = names.map((n) => createPolicy(n, { ...options.policyOptions, recordSends: true }));
  for (const p of policies) options.onPolicy?.(p);
  const queues = names.map(() => new QueueSimulator({ sendHz, capacity: queueCapacity, startNs }));
  const frameEntries: Array<Array<{ trackId: number; box: Box }>> = [];
  const trackIds = new Set<number>();
  const reportContent = options.packageBytes !== undefined && frames.every((f) => f.jpegBytes !== null && f.cropJpegBytes !== undefined && f.contextJpegBytes !== undefined) ? options.packageBytes : undefined;
  const reportMinScore = validateSelectionParams(options.policyOptions?.params ?? {}).minScore1;
  /** Per policy, [imageId, bytes] of the packages decided since its last frame. */
  const unreported: Array<Array<[number, number]>> = policies.map(() => []);
  const decided = (p: number, ds: readonly PolicyDecision[]): readonly PolicyDecision[] => {
    if (reportContent === undefined) return ds;
    for (const d of ds) {
      const f = frames[d.imageId]!;
      const sel = new Set(cropTrackIds(d.selected.map((x) => x.trackId), frameEntries[d.imageId]!, W, H, reportMinScore, policies[p]!.cropsOf));
      let crops = 0;
      const idx = new Map<Box, number>(f.detections.map((b, k) => [b, k]));
      for (const e of frameEntries[d.imageId]!) {
        const k = sel.has(e.trackId) ? idx.get(e.box) : undefined;
        if (k !== undefined) crops += f.cropJpegBytes![k] ?? 0;
      }
      // As the camera builds it (runtime/camera-runner.ts): a crops package with nothing to crop carries the frame.
      const bytes = reportContent === 'frame' || crops === 0 ? f.jpegBytes! : reportContent === 'crops' ? crops : crops + f.contextJpegBytes!;
      unreported[p]!.push([d.imageId, bytes]);
    }
    return ds;
  };
  for (const f of frames) {
    const tracks = tracker.update({
      cameraId: input.name,
      imageId: f.imageId,
      timestampNs: f.timestampNs,
      // Recordings carry no exposure state; S2 needs 'manual' to ever find a better image.
      exposureMode: 'manual',
      cameraPosition: null,
      width: W,
      height: H,
      boxes: f.detections,
      // A5: the grid's tick, as the runtime's frames carry it (T2 counts the periods between frames by it).
      ...(f.gridTick ? { gridTick: f.gridTick } : {}),
    });
    const entries: Array<{ trackId: number; box: Box }> = [];
    for (const t of tracks) {
      const e = t.entries[t.entries.length - 1];
      if (e && e.timestampNs === f.timestampNs) {
        entries.push({ trackId: t.trackId, box: e.box });
        trackIds.add(t.trackId);
      }
    }
    frameEntries.push(entries);
    const ended = tracker.removedTracks.map((t) => t.trackId);
    const crops = f.crops ? new Map<Box, CropStats>(f.detections.map((b, k) => [b, f.crops![k]!])) : undefined;
    const sf = { imageId: f.imageId, timestampNs: f.timestampNs, width: W, height: H, ...(crops ? { crops } : {}) };
    for (let p = 0; p < policies.length; p++) {
      for (const [id, bytes] of unreported[p]!.splice(0)) policies[p]!.onPackageBytes?.(id, bytes);
      queues[p]!.apply(decided(p, [...policies[p]!.onFrame(sf, tracks), ...policies[p]!.onTrackEnd(ended)]), f.timestampNs);
    }
  }
  const lastNs = frames[frames.length - 1]?.timestampNs ?? 0n;
  const sims: QueueSimResult[] = policies.map((p, i) => {
    queues[i]!.apply(p.flush(), lastNs);
    return queues[i]!.finish();
  });

  // 2. Ground truth per object, and which objects each frame covers.
  const largest = new Map<string, number>();
  const firstVisible = new Map<string, bigint>();
  const eligible = new Set<string>();
  const all = new Set<string>();
  for (const f of frames) {
    for (const g of f.gt) {
      all.add(g.objectId);
      if (g.visible && !firstVisible.has(g.objectId)) firstVisible.set(g.objectId, f.timestampNs);
      if (isUnclipped(g.box, W, H, margin)) {
        largest.set(g.objectId, Math.max(largest.get(g.objectId) ?? 0, g.box.w * g.box.h));
        if (g.visible) eligible.add(g.objectId);
      }
    }
  }
  const covers: Cover[][] = frames.map((f, i) => {
    const entries = frameEntries[i]!;
    const detIndex = new Map<Box, number>(f.detections.map((b, k) => [b, k]));
    const out: Cover[] = [];
    for (const m of matchBoxes(
      f.gt.map((g) => g.box),
      entries.map((e) => e.box),
      minIou,
    )) {
      const g = f.gt[m.gt]!;
      if (!g.visible || !isUnclipped(g.box, W, H, margin)) continue;
      const box = entries[m.pred]!.box;
      const k = detIndex.get(box);
      const crop = f.crops && k !== undefined ? f.crops[k] : undefined;
      out.push({
        objectId: g.objectId,
        trackId: entries[m.pred]!.trackId,
        areaRatio: areaRatio(areaInImage(g.box, W, H), largest.get(g.objectId)!),
        score: box.score,
        edge: edgeDistance(box, W, H),
        sharpness: f.sharpness && k !== undefined ? (f.sharpness[k] ?? NaN) : NaN,
        q: candidateQuality(box, W, H, entries.map((e) => e.box), crop, EVAL_QUALITY_PARAMS, DEFAULT_QUALITY_WEIGHTS).q,
        sharpN: crop?.sharpness ?? NaN,
      });
    }
    return out;
  });
  const coverable = new Set<string>();
  const bestQ = new Map<string, number>();
  const sharpest = new Map<string, number>();
  for (const c of covers) {
    for (const x of c) {
      coverable.add(x.objectId);
      bestQ.set(x.objectId, Math.max(bestQ.get(x.objectId) ?? 0, x.q));
      if (Number.isFinite(x.sharpN)) sharpest.set(x.objectId, Math.max(sharpest.get(x.objectId) ?? 0, x.sharpN));
    }
  }
  // Per coverable object: its matched tracks and whether any of its covering views is not near the border (minEdge1).
  const minEdge1 = validateSelectionParams(options.policyOptions?.params ?? {}).minEdge1;
  const objectTracks = new Map<string, { trackIds: Set<number>; awayFromBorder: boolean }>();
  for (const c of covers) {
    for (const x of c) {
      let o = objectTracks.get(x.objectId);
      if (o === undefined) objectTracks.set(x.objectId, (o = { trackIds: new Set(), awayFromBorder: false }));
      o.trackIds.add(x.trackId);
      if (x.edge >= minEdge1) o.awayFromBorder = true;
    }
  }
  const hasImages = frames.length > 0 && frames.every((f) => f.jpegBytes !== null);
  const hasContent = hasImages && frames.every((f) => f.cropJpegBytes !== undefined && f.contextJpegBytes !== undefined);

  // 3. Score each policy's deliveries.
  const cropMinScore = validateSelectionParams(options.policyOptions?.params ?? {}).minScore1;
  const results: PolicyResult[] = names.map((policy, p) => {
    const sim = sims[p]!;
    let bytes = 0;
    let immediate = 0;
    const best = new Map<string, BestImage>();
    const firstUpload = new Map<string, bigint>();
    const deliveredQ = new Map<string, number>();
    const deliveredSharp = new Map<string, number>();
    for (const d of sim.deliveries) {
      const f = frames[d.imageId]!;
      bytes += f.jpegBytes ?? 0;
      if (d.route === 'immediate') immediate++;
      for (const c of covers[d.imageId]!) {
        const prev = firstUpload.get(c.objectId);
        if (prev === undefined || d.deliveredAtNs < prev) firstUpload.set(c.objectId, d.deliveredAtNs);
        deliveredQ.set(c.objectId, Math.max(deliveredQ.get(c.objectId) ?? 0, c.q));
        if (Number.isFinite(c.sharpN)) deliveredSharp.set(c.objectId, Math.max(deliveredSharp.get(c.objectId) ?? 0, c.sharpN));
        const b = best.get(c.objectId);
        if (!b || c.areaRatio > b.areaRatio || (c.areaRatio === b.areaRatio && c.score > b.score)) {
          best.set(c.objectId, { imageId: d.imageId, areaRatio: c.areaRatio, score: c.score, edge: c.edge, sharpness: c.sharpness });
        }
      }
    }
    const deliveredIn = new Map<number, number[]>();
    for (const d of sim.deliveries) {
      for (const e of frameEntries[d.imageId]!) {
        let l = deliveredIn.get(e.trackId);
        if (l === undefined) deliveredIn.set(e.trackId, (l = []));
        l.push(d.imageId);
      }
    }
    const lostReason = (id: string): LostReason | null => {
      const o = objectTracks.get(id);
      if (o === undefined || best.has(id)) return null;
      const trackIds = [...o.trackIds].sort((x, y) => x - y);
      const delivered = [...new Set(trackIds.flatMap((t) => deliveredIn.get(t) ?? []))].sort((x, y) => x - y).slice(0, 3);
      const kind = !o.awayFromBorder ? 'border' : delivered.length > 0 ? 'other-frames' : 'never-sent';
      return { kind, trackIds, deliveredImageIds: delivered };
    };
    const objects: ObjectOutcome[] = [...all].sort().map((id) => {
      const up = firstUpload.get(id);
      const seen = firstVisible.get(id);
      const dq = deliveredQ.get(id);
      const ds = deliveredSharp.get(id);
      const top = sharpest.get(id);
      return {
        objectId: id,
        covered: best.has(id),
        qualityRatio: dq !== undefined ? dq / bestQ.get(id)! : null,
        sharpVsSharpest: ds !== undefined && top !== undefined && top > 0 ? ds / top : null,
        timeToFirstUploadS: up !== undefined && seen !== undefined ? Number(up - seen) / 1e9 : null,
        firstUploadAtS: up !== undefined ? Number(up - startNs) / 1e9 : null,
        best: best.get(id) ?? null,
        lost: lostReason(id),
      };
    });
    // upload.content 'crops' / 'frame+crops': the selected objects' crops only.
    let content: PolicyResult['content'] = null;
    if (hasContent) {
      let cropBytes = 0;
      let ctxBytes = 0;
      const cropBest = new Map<string, { areaRatio: number; q: number; firstNs: bigint }>();
      for (const d of [...sim.deliveries].sort((x, y) => (x.deliveredAtNs < y.deliveredAtNs ? -1 : x.deliveredAtNs > y.deliveredAtNs ? 1 : 0))) {
        const f = frames[d.imageId]!;
        ctxBytes += f.contextJpegBytes!;
        const sel = new Set(cropTrackIds(d.selectedTrackIds, frameEntries[d.imageId]!, W, H, cropMinScore, policies[p]!.cropsOf));
        const idx = new Map<Box, number>(f.detections.map((b, k) => [b, k]));
        for (const e of frameEntries[d.imageId]!) {
          if (!sel.has(e.trackId)) continue;
          const k = idx.get(e.box);
          if (k !== undefined) cropBytes += f.cropJpegBytes![k] ?? 0;
        }
        for (const c of covers[d.imageId]!) {
          if (!sel.has(c.trackId)) continue;
          const b = cropBest.get(c.objectId);
          // Deliveries run in delivery order: the first crop of an object is its first entry here.
          cropBest.set(c.objectId, { areaRatio: Math.max(b?.areaRatio ?? 0, c.areaRatio), q: Math.max(b?.q ?? 0, c.q), firstNs: b?.firstNs ?? d.deliveredAtNs });
        }
      }
      const mk = (bytesOut: number): ContentResult => ({
        bytes: bytesOut,
        reduction: NaN,
        covered: cropBest.size,
        coverageOfCoverable: coverable.size > 0 ? cropBest.size / coverable.size : NaN,
        areaRatio: mean([...cropBest.values()].map((b) => b.areaRatio)),
        qualityRatio: mean([...cropBest.entries()].map(([id, b]) => b.q / bestQ.get(id)!)),
        objects: [...cropBest.entries()].map(([objectId, b]) => ({ objectId, areaRatio: b.areaRatio, qualityRatio: b.q / bestQ.get(objectId)!, firstCropAtS: Number(b.firstNs - startNs) / 1e9 })),
        vsFrigate: null,
      });
      content = { crops: mk(cropBytes), 'frame+crops': mk(cropBytes + ctxBytes) };
    }
    const bests = [...best.values()];
    const ttfu = objects.map((o) => o.timeToFirstUploadS).filter((x): x is number => x !== null);
    const nObj = Math.max(1, all.size);
    return {
      policy,
      packages: sim.deliveries.length,
      immediate,
      cached: sim.deliveries.length - immediate,
      bytes: hasImages ? bytes : null,
      packagesPerObject: sim.deliveries.length / nObj,
      bytesPerObject: hasImages ? bytes / nObj : null,
      reduction: NaN,
      ofBound: NaN,
      reductionUnit: hasImages ? 'bytes' : 'packages',
      covered: best.size,
      coverage: eligible.size > 0 ? best.size / eligible.size : NaN,
      coverageOfCoverable: coverable.size > 0 ? best.size / coverable.size : NaN,
      quality: {
        areaRatio: mean(bests.map((b) => b.areaRatio)),
        score: mean(bests.map((b) => b.score)),
        edge: mean(bests.map((b) => b.edge)),
        sharpness: mean(bests.map((b) => b.sharpness)),
        qualityRatio: mean(objects.map((o) => o.qualityRatio ?? NaN)),
        sharpVsSharpest: mean(objects.map((o) => o.sharpVsSharpest ?? NaN)),
      },
      vsFrigate: null,
      timeToFirstUploadS: { p50: percentile(ttfu, 50), p90: percentile(ttfu, 90), max: ttfu.length ? Math.max(...ttfu) : NaN },
      queue: { peakDepth: sim.peakDepth, dropped: sim.dropped, replaced: sim.replaced },
      content,
      goal: { reduction: false, coverage: false, quality: null, met: false },
      objects,
    };
  });

  // 4. Against the references: every-frame (bytes) and frigate (quality).
  const ef = results.find((r) => r.policy === 'every-frame')!;
  const frigate = results.find((r) => r.policy === 'frigate');
  const oracle = greedyCover(covers, frames.map((f) => f.jpegBytes ?? 0));
  const oracleBytes = hasImages ? oracle.reduce((a, i) => a + frames[i]!.jpegBytes!, 0) : null;
  const oracleCover = {
    packages: oracle.length,
    bytes: oracleBytes,
    reduction: oracle.length === 0 ? Infinity : hasImages ? ef.bytes! / oracleBytes! : ef.packages / oracle.length,
  };
  for (const r of results) {
    const mine = r.reductionUnit === 'bytes' ? r.bytes! : r.packages;
    const ref = r.reductionUnit === 'bytes' ? ef.bytes! : ef.packages;
    r.reduction = mine > 0 ? ref / mine : Infinity;
    r.ofBound = r.reduction / oracleCover.reduction;
    if (r.content) for (const c of Object.values(r.content)) c.reduction = c.bytes > 0 ? ef.bytes! / c.bytes : Infinity;
    if (frigate && r.policy !== 'frigate') r.vsFrigate = versusFrigate(r, frigate);
    if (frigate && r.content) for (const c of Object.values(r.content)) c.vsFrigate = contentVersusFrigate(c, frigate);
    r.goal.reduction = r.reduction >= goalReduction;
    r.goal.coverage = r.coverageOfCoverable >= goalCoverage;
    r.goal.quality = r.vsFrigate
      ? r.vsFrigate.areaRatioDelta >= -QUALITY_TOLERANCE && r.vsFrigate.scoreDelta >= -QUALITY_TOLERANCE && !(r.vsFrigate.qualityDelta < -QUALITY_TOLERANCE)
      : null;
    r.goal.met = r.goal.reduction && r.goal.coverage && r.goal.quality === true;
  }

  const durationS = frames.length > 1 ? Number(lastNs - startNs) / 1e9 + 1 / input.hz : frames.length / input.hz;
  return {
    input: {
      name: input.name,
      kind: input.kind,
      path: input.path,
      width: W,
      height: H,
      hz: input.hz,
      frames: frames.length,
      durationS,
      groundTruth: input.groundTruth,
      detectionSource: input.detectionSource,
      notes: input.notes,
    },
    objects: { total: all.size, eligible: eligible.size, coverable: coverable.size },
    tracks: trackIds.size,
    fragments: fragmentation(frames.flatMap((f, i) => matchBoxes(f.gt.map((g) => g.box), frameEntries[i]!.map((e) => e.box), minIou).map((m) => [f.gt[m.gt]!.objectId, frameEntries[i]![m.pred]!.trackId] as const))),
    settings: { sendHz, queueCapacity, minIou, unclippedMarginPx: margin, goalReduction, goalCoverage },
    policies: results,
    oracleCover,
  };
}

/**
 * Greedy set cover: repeatedly the frame that covers the most objects not yet
 * covered (ties: fewer bytes, then earlier). Returns frame indices in pick
 * order. Greedy is within a factor ln(n) of the minimum and usually at it.
 */
export function greedyCover(covers: ReadonlyArray<ReadonlyArray<{ objectId: string }>>, bytes: readonly number[] = []): number[] {
  const left = new Set<string>();
  for (const c of covers) for (const x of c) left.add(x.objectId);
  const picked: number[] = [];
  while (left.size > 0) {
    let best = -1;
    let bestGain = 0;
    for (let i = 0; i < covers.length; i++) {
      let gain = 0;
      for (const x of covers[i]!) if (left.has(x.objectId)) gain++;
      if (gain > bestGain || (gain === bestGain && gain > 0 && (bytes[i] ?? 0) < (bytes[best] ?? 0))) {
        best = i;
        bestGain = gain;
      }
    }
    picked.push(best);
    for (const x of covers[best]!) left.delete(x.objectId);
  }
  return picked;
}

/** A content mode's best crops against frigate's best (whole-frame) images, on the objects both cover. */
function contentVersusFrigate(c: ContentResult, f: PolicyResult): NonNullable<ContentResult['vsFrigate']> {
  const fo = new Map(f.objects.filter((o) => o.best !== null).map((o) => [o.objectId, o]));
  const area: number[] = [];
  const quality: number[] = [];
  for (const o of c.objects) {
    const g = fo.get(o.objectId);
    if (g === undefined) continue;
    area.push(o.areaRatio - g.best!.areaRatio);
    if (g.qualityRatio !== null) quality.push(o.qualityRatio - g.qualityRatio);
  }
  return { objects: area.length, areaRatioDelta: mean(area), qualityDelta: mean(quality) };
}

function versusFrigate(r: PolicyResult, f: PolicyResult): VersusFrigate {
  const fb = new Map(f.objects.filter((o) => o.best).map((o) => [o.objectId, o.best!]));
  const fq = new Map(f.objects.map((o) => [o.objectId, o.qualityRatio]));
  const quality: number[] = [];
  const area: number[] = [];
  const score: number[] = [];
  const edge: number[] = [];
  const sharp: number[] = [];
  let atLeast = 0;
  for (const o of r.objects) {
    const b = o.best;
    const g = fb.get(o.objectId);
    if (!b || !g) continue;
    area.push(b.areaRatio - g.areaRatio);
    score.push(b.score - g.score);
    const qf = fq.get(o.objectId);
    if (o.qualityRatio !== null && qf !== null && qf !== undefined) quality.push(o.qualityRatio - qf);
    edge.push(b.edge - g.edge);
    if (Number.isFinite(b.sharpness) && Number.isFinite(g.sharpness) && g.sharpness > 0) sharp.push(b.sharpness / g.sharpness);
    if (b.areaRatio >= g.areaRatio - 1e-9) atLeast++;
  }
  return {
    objects: area.length,
    areaRatioDelta: mean(area),
    scoreDelta: mean(score),
    qualityDelta: mean(quality),
    edgeDelta: mean(edge),
    sharpnessRatio: percentile(sharp, 50),
    areaAtLeast: area.length ? atLeast / area.length : NaN,
  };
}
