/**
 * CLEAR MOT, identity and HOTA metrics exactly as TrackEval's
 * MotChallenge2DBox with metrics HOTA, CLEAR and Identity (JonathonLuiten/TrackEval): IoU threshold
 * 0.5, per-frame optimal matching with a bonus for keeping the previous
 * frame's pairs (CLEAR), one global optimal gt↔tracker id assignment
 * (Identity). Preprocessing as TrackEval:
 *  - 'MOT17' (MOT16/17/20): gt rows of class 13 (crowd) dropped on load;
 *    tracker boxes matched (IoU ≥ 0.5, optimal) to gt boxes of a distractor
 *    class (2 person on vehicle, 7 static person, 8 distractor, 12 reflection)
 *    are removed; then only gt of class 1 (pedestrian) with flag ≠ 0 is kept.
 *  - 'MOT15': no preprocessing beyond dropping gt rows with flag 0.
 */
import { solveAssignment } from '../track/assignment.js';
import { type HotaCounts, type HotaMetrics, combineHota, hotaCounts, hotaMetrics } from './hota.js';
import { fragmentation, fragmentationFromCounts } from './fragments.js';
import { type MotRow, groupByFrame } from './io.js';

export type MotBenchmark = 'MOT15' | 'MOT17';

export interface MotEvalOptions {
  /** Preprocessing mode (see module doc). Default 'MOT17' when gt has a class column, else 'MOT15'. */
  benchmark?: MotBenchmark;
  /** Frames in the sequence (seqinfo seqLength). Default: the last frame in gt or results. */
  numFrames?: number;
}

/** Integer sums: these add up over sequences (see combineCounts). */
export interface MotCounts {
  TP: number;
  FN: number;
  FP: number;
  IDSW: number;
  MT: number;
  PT: number;
  ML: number;
  Frag: number;
  /** Σ IoU over CLEAR matches (MOTP numerator). */
  motpSum: number;
  IDTP: number;
  IDFN: number;
  IDFP: number;
  gtIds: number;
  trackerIds: number;
  gtDets: number;
  trackerDets: number;
  /** Per-α HOTA sums (see hota.ts). */
  hota: HotaCounts;
  /** Fragmentation sums (fragments.ts): gt ids matched by CLEAR, Σ distinct tracker ids per gt id, gt ids with more than one. */
  fragObjects: number;
  fragObjectTracks: number;
  fragSplit: number;
}

/** Ratios in percent, as TrackEval prints them. */
export interface MotMetrics extends MotCounts, HotaMetrics {
  MOTA: number;
  MOTP: number;
  MODA: number;
  recall: number;
  precision: number;
  sMOTA: number;
  MTR: number;
  PTR: number;
  MLR: number;
  IDF1: number;
  IDR: number;
  IDP: number;
  /** Distinct tracks per matched ground-truth object (1 = no fragmentation). */
  tracksPerObject: number;
  /** Percent of matched ground-truth objects split into more than one track. */
  splitShare: number;
}

const EPS = 2.220446049250313e-16; // np.finfo('float').eps
const DISTRACTOR_CLASSES = new Set([2, 7, 8, 12]);
const PEDESTRIAN = 1;
const CROWD = 13;
const THRESHOLD = 0.5;

/** TrackEval _calculate_box_ious (xywh), gt × tracker, row-major. */
export function boxIouMatrix(gt: readonly MotRow[], tr: readonly MotRow[]): Float64Array {
  const out = new Float64Array(gt.length * tr.length);
  for (let i = 0; i < gt.length; i++) {
    const a = gt[i]!;
    const ax2 = a.left + a.width;
    const ay2 = a.top + a.height;
    const areaA = a.width * a.height;
    for (let j = 0; j < tr.length; j++) {
      const b = tr[j]!;
      const bx2 = b.left + b.width;
      const by2 = b.top + b.height;
      const areaB = b.width * b.height;
      let inter = Math.max(Math.min(ax2, bx2) - Math.max(a.left, b.left), 0) * Math.max(Math.min(ay2, by2) - Math.max(a.top, b.top), 0);
      let union = areaA + areaB - inter;
      if (areaA <= EPS || areaB <= EPS || union <= EPS) inter = 0;
      if (union <= EPS) union = 1;
      out[i * tr.length + j] = inter / union;
    }
  }
  return out;
}

/** Max-weight assignment of a rows × cols matrix (scipy linear_sum_assignment(-w)). */
function maximise(w: Float64Array, rows: number, cols: number): Int32Array {
  const neg = new Float64Array(w.length);
  for (let k = 0; k < w.length; k++) neg[k] = -w[k]!;
  return solveAssignment(neg, rows, cols);
}

interface FrameData {
  gtIds: Int32Array;
  trIds: Int32Array;
  sim: Float64Array;
}

function preprocess(gt: readonly MotRow[], res: readonly MotRow[], benchmark: MotBenchmark, numFrames: number): { frames: FrameData[]; gtIds: number; trackerIds: number; gtDets: number; trackerDets: number } {
  const gtFrames = groupByFrame(benchmark === 'MOT17' ? gt.filter((r) => r.classId !== CROWD) : gt, numFrames);
  const trFrames = groupByFrame(res, numFrames);
  const gtIdMap = new Map<number, number>();
  const trIdMap = new Map<number, number>();
  const rawFrames: Array<{ gtIds: number[]; trIds: number[]; sim: Float64Array }> = [];
  let gtDets = 0;
  let trackerDets = 0;
  for (let t = 0; t < numFrames; t++) {
    const g = gtFrames[t]!;
    let tr = trFrames[t]!;
    let sim = boxIouMatrix(g, tr);
    if (benchmark === 'MOT17' && g.length > 0 && tr.length > 0) {
      const scores = new Float64Array(sim.length);
      for (let k = 0; k < sim.length; k++) scores[k] = sim[k]! < THRESHOLD - EPS ? 0 : sim[k]!;
      const rowToCol = maximise(scores, g.length, tr.length);
      const remove = new Set<number>();
      for (let i = 0; i < g.length; i++) {
        const j = rowToCol[i]!;
        if (j >= 0 && scores[i * tr.length + j]! > EPS && DISTRACTOR_CLASSES.has(g[i]!.classId)) remove.add(j);
      }
      if (remove.size > 0) {
        const keep = tr.map((_, j) => j).filter((j) => !remove.has(j));
        const reduced = new Float64Array(g.length * keep.length);
        for (let i = 0; i < g.length; i++) for (let k = 0; k < keep.length; k++) reduced[i * keep.length + k] = sim[i * tr.length + keep[k]!]!;
        tr = keep.map((j) => tr[j]!);
        sim = reduced;
      }
    }
    const keepGt: number[] = [];
    for (let i = 0; i < g.length; i++) {
      const r = g[i]!;
      if (Math.trunc(r.conf) === 0) continue;
      if (benchmark === 'MOT17' && r.classId !== PEDESTRIAN) continue;
      keepGt.push(i);
    }
    const simKept = new Float64Array(keepGt.length * tr.length);
    for (let k = 0; k < keepGt.length; k++) simKept.set(sim.subarray(keepGt[k]! * tr.length, (keepGt[k]! + 1) * tr.length), k * tr.length);
    const gtIds = keepGt.map((i) => g[i]!.id);
    const trIds = tr.map((r) => r.id);
    for (const id of gtIds) if (!gtIdMap.has(id)) gtIdMap.set(id, 0);
    for (const id of trIds) if (!trIdMap.has(id)) trIdMap.set(id, 0);
    gtDets += gtIds.length;
    trackerDets += trIds.length;
    rawFrames.push({ gtIds, trIds, sim: simKept });
  }
  // Relabel ids 0..n-1 in sorted order (TrackEval does the same).
  [...gtIdMap.keys()].sort((a, b) => a - b).forEach((id, k) => gtIdMap.set(id, k));
  [...trIdMap.keys()].sort((a, b) => a - b).forEach((id, k) => trIdMap.set(id, k));
  const frames = rawFrames.map((f) => ({
    gtIds: Int32Array.from(f.gtIds, (id) => gtIdMap.get(id)!),
    trIds: Int32Array.from(f.trIds, (id) => trIdMap.get(id)!),
    sim: f.sim,
  }));
  return { frames, gtIds: gtIdMap.size, trackerIds: trIdMap.size, gtDets, trackerDets };
}

type ClearCounts = Pick<MotCounts, 'TP' | 'FN' | 'FP' | 'IDSW' | 'MT' | 'PT' | 'ML' | 'Frag' | 'motpSum' | 'fragObjects' | 'fragObjectTracks' | 'fragSplit'>;

function clear(frames: FrameData[], numGtIds: number, numGtDets: number, numTrackerDets: number): ClearCounts {
  const res = { TP: 0, FN: 0, FP: 0, IDSW: 0, MT: 0, PT: 0, ML: 0, Frag: 0, motpSum: 0, fragObjects: 0, fragObjectTracks: 0, fragSplit: 0 };
  if (numTrackerDets === 0) return { ...res, FN: numGtDets, ML: numGtIds };
  if (numGtDets === 0) return { ...res, FP: numTrackerDets };
  const pairs: Array<[number, number]> = [];
  const gtIdCount = new Float64Array(numGtIds);
  const gtMatchedCount = new Float64Array(numGtIds);
  const gtFragCount = new Float64Array(numGtIds);
  const prevTrackerId = new Float64Array(numGtIds).fill(NaN);
  let prevTimestepTrackerId = new Float64Array(numGtIds).fill(NaN);
  for (const { gtIds, trIds, sim } of frames) {
    if (gtIds.length === 0) {
      res.FP += trIds.length;
      continue;
    }
    if (trIds.length === 0) {
      res.FN += gtIds.length;
      for (const g of gtIds) gtIdCount[g]!++;
      continue;
    }
    const n = gtIds.length;
    const m = trIds.length;
    const score = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      const prev = prevTimestepTrackerId[gtIds[i]!]!;
      for (let j = 0; j < m; j++) {
        const s = sim[i * m + j]!;
        score[i * m + j] = s < THRESHOLD - EPS ? 0 : (prev === trIds[j] ? 1000 : 0) + s;
      }
    }
    const rowToCol = maximise(score, n, m);
    const matchedGt: number[] = [];
    const matchedTr: number[] = [];
    for (let i = 0; i < n; i++) {
      const j = rowToCol[i]!;
      if (j < 0 || !(score[i * m + j]! > EPS)) continue;
      matchedGt.push(gtIds[i]!);
      matchedTr.push(trIds[j]!);
      res.motpSum += sim[i * m + j]!;
    }
    for (let k = 0; k < matchedGt.length; k++) pairs.push([matchedGt[k]!, matchedTr[k]!]);
    for (let k = 0; k < matchedGt.length; k++) {
      const prev = prevTrackerId[matchedGt[k]!]!;
      if (!Number.isNaN(prev) && prev !== matchedTr[k]) res.IDSW++;
    }
    for (const g of gtIds) gtIdCount[g]!++;
    for (const g of matchedGt) gtMatchedCount[g]!++;
    const notPreviouslyTracked = prevTimestepTrackerId.map((x) => (Number.isNaN(x) ? 1 : 0));
    prevTimestepTrackerId = new Float64Array(numGtIds).fill(NaN);
    for (let k = 0; k < matchedGt.length; k++) {
      prevTrackerId[matchedGt[k]!] = matchedTr[k]!;
      prevTimestepTrackerId[matchedGt[k]!] = matchedTr[k]!;
    }
    for (let g = 0; g < numGtIds; g++) if (notPreviouslyTracked[g] && !Number.isNaN(prevTimestepTrackerId[g]!)) gtFragCount[g]!++;
    res.TP += matchedGt.length;
    res.FN += n - matchedGt.length;
    res.FP += m - matchedGt.length;
  }
  for (let g = 0; g < numGtIds; g++) {
    if (gtIdCount[g]! > 0) {
      const ratio = gtMatchedCount[g]! / gtIdCount[g]!;
      if (ratio > 0.8) res.MT++;
      else if (ratio >= 0.2) res.PT++;
    }
    if (gtFragCount[g]! > 0) res.Frag += gtFragCount[g]! - 1;
  }
  res.ML = numGtIds - res.MT - res.PT;
  const f = fragmentation(pairs);
  return { ...res, fragObjects: f.objects, fragObjectTracks: f.objectTracks, fragSplit: f.split };
}

function identity(frames: FrameData[], numGtIds: number, numTrackerIds: number, numGtDets: number, numTrackerDets: number): Pick<MotCounts, 'IDTP' | 'IDFN' | 'IDFP'> {
  if (numTrackerDets === 0) return { IDTP: 0, IDFN: numGtDets, IDFP: 0 };
  if (numGtDets === 0) return { IDTP: 0, IDFN: 0, IDFP: numTrackerDets };
  const potential = new Float64Array(numGtIds * numTrackerIds);
  for (const { gtIds, trIds, sim } of frames) {
    const m = trIds.length;
    for (let i = 0; i < gtIds.length; i++) {
      for (let j = 0; j < m; j++) if (sim[i * m + j]! >= THRESHOLD) potential[gtIds[i]! * numTrackerIds + trIds[j]!]!++;
    }
  }
  // TrackEval minimises IDFN + IDFP over an extended (G+T)² matrix; both equal
  // a constant minus the matched potential counts, so the optimum is the
  // max-weight gt↔tracker matching on those counts.
  const rowToCol = maximise(potential, numGtIds, numTrackerIds);
  let idtp = 0;
  for (let g = 0; g < numGtIds; g++) if (rowToCol[g]! >= 0) idtp += potential[g * numTrackerIds + rowToCol[g]!]!;
  return { IDTP: idtp, IDFN: numGtDets - idtp, IDFP: numTrackerDets - idtp };
}

/** Ratios (percent) from counts — also for combined sequences. */
export function metricsFromCounts(c: MotCounts): MotMetrics {
  const pct = (x: number): number => 100 * x;
  const gtDets = c.TP + c.FN;
  const frag = fragmentationFromCounts(c.fragObjects, c.fragObjectTracks, c.fragSplit);
  return {
    ...c,
    ...hotaMetrics(c.hota),
    MOTA: pct((c.TP - c.FP - c.IDSW) / Math.max(1, gtDets)),
    MOTP: pct(c.motpSum / Math.max(1, c.TP)),
    MODA: pct((c.TP - c.FP) / Math.max(1, gtDets)),
    recall: pct(c.TP / Math.max(1, gtDets)),
    precision: pct(c.TP / Math.max(1, c.TP + c.FP)),
    sMOTA: pct((c.motpSum - c.FP - c.IDSW) / Math.max(1, gtDets)),
    MTR: pct(c.MT / Math.max(1, c.MT + c.PT + c.ML)),
    PTR: pct(c.PT / Math.max(1, c.MT + c.PT + c.ML)),
    MLR: pct(c.ML / Math.max(1, c.MT + c.PT + c.ML)),
    IDF1: pct(c.IDTP / Math.max(1, c.IDTP + 0.5 * c.IDFP + 0.5 * c.IDFN)),
    IDR: pct(c.IDTP / Math.max(1, c.IDTP + c.IDFN)),
    IDP: pct(c.IDTP / Math.max(1, c.IDTP + c.IDFP)),
    tracksPerObject: frag.tracksPerObject,
    splitShare: pct(frag.splitShare),
  };
}

/** Sum the counts of several sequences (TrackEval's COMBINED row) and recompute the ratios. */
export function combineMetrics(all: readonly MotCounts[]): MotMetrics {
  const keys: Array<Exclude<keyof MotCounts, 'hota'>> = ['TP', 'FN', 'FP', 'IDSW', 'MT', 'PT', 'ML', 'Frag', 'motpSum', 'IDTP', 'IDFN', 'IDFP', 'gtIds', 'trackerIds', 'gtDets', 'trackerDets', 'fragObjects', 'fragObjectTracks', 'fragSplit'];
  const sum = Object.fromEntries(keys.map((k) => [k, all.reduce((s, c) => s + (c[k] as number), 0)])) as unknown as MotCounts;
  sum.hota = combineHota(all.map((c) => c.hota));
  return metricsFromCounts(sum);
}

/**
 * Guess the benchmark from gt: MOT16/17/20 gt has a class column (integers
 * 1–13) in column 8; MOT15 gt has −1 or world coordinates there.
 */
export function detectBenchmark(gt: readonly MotRow[]): MotBenchmark {
  return gt.length > 0 && gt.every((r) => Number.isInteger(r.classId) && r.classId >= 1 && r.classId <= 13) ? 'MOT17' : 'MOT15';
}

/**
 * Whether 'MOT17' preprocessing keeps any of this gt: a pedestrian (class 1)
 * row with a non-zero flag. MOT15 gt has no class column (−1 or world
 * coordinates there), so it keeps none and every metric would read as if
 * the sequence were empty.
 */
export function mot17KeepsGt(gt: readonly MotRow[]): boolean {
  return gt.some((r) => r.classId === PEDESTRIAN && Math.trunc(r.conf) !== 0);
}

/** CLEAR MOT + identity metrics of one sequence. */
export function evaluateMot(gt: readonly MotRow[], res: readonly MotRow[], options: MotEvalOptions = {}): MotMetrics {
  const benchmark = options.benchmark ?? detectBenchmark(gt);
  let numFrames = options.numFrames ?? 0;
  if (options.numFrames === undefined) for (const r of [...gt, ...res]) numFrames = Math.max(numFrames, r.frame);
  const p = preprocess(gt, res, benchmark, numFrames);
  const c = clear(p.frames, p.gtIds, p.gtDets, p.trackerDets);
  const id = identity(p.frames, p.gtIds, p.trackerIds, p.gtDets, p.trackerDets);
  const hota = hotaCounts(p.frames, p.gtIds, p.trackerIds, p.gtDets, p.trackerDets);
  return metricsFromCounts({ ...c, ...id, hota, gtIds: p.gtIds, trackerIds: p.trackerIds, gtDets: p.gtDets, trackerDets: p.trackerDets });
}
