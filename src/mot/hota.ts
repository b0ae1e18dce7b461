/**
 * HOTA (Luiten et al., IJCV 2021) exactly as TrackEval's metrics/hota.py:
 * for α = 0.05, 0.10, … 0.95 a per-frame optimal matching on
 * (global alignment score × IoU), matches kept where IoU ≥ α; DetA, AssA and
 * HOTA = √(DetA·AssA) per α, reported as the mean over α.
 */
import { solveAssignment } from '../track/assignment.js';

const EPS = 2.220446049250313e-16;
export const HOTA_ALPHAS: readonly number[] = Array.from({ length: 19 }, (_, k) => 0.05 + 0.05 * k);

export interface HotaFrame {
  gtIds: Int32Array;
  trIds: Int32Array;
  /** gt × tracker IoU, row-major. */
  sim: Float64Array;
}

/** Per-α sums that add up over sequences (TP, FN, FP) and TP-weighted averages (AssA, AssRe, AssPr, LocA). */
export interface HotaCounts {
  tp: number[];
  fn: number[];
  fp: number[];
  assA: number[];
  assRe: number[];
  assPr: number[];
  locA: number[];
}

export interface HotaMetrics {
  /** Means over α, in percent as TrackEval prints them. */
  HOTA: number;
  DetA: number;
  AssA: number;
  DetRe: number;
  DetPr: number;
  AssRe: number;
  AssPr: number;
  LocA: number;
  OWTA: number;
  /** At α = 0.05. */
  'HOTA(0)': number;
  'LocA(0)': number;
  'HOTALocA(0)': number;
}

export function hotaCounts(frames: readonly HotaFrame[], numGtIds: number, numTrackerIds: number, numGtDets: number, numTrackerDets: number): HotaCounts {
  const A = HOTA_ALPHAS.length;
  const z = (): number[] => new Array<number>(A).fill(0);
  const res: HotaCounts = { tp: z(), fn: z(), fp: z(), assA: z(), assRe: z(), assPr: z(), locA: z() };
  if (numTrackerDets === 0) {
    res.fn.fill(numGtDets);
    res.locA.fill(1);
    return res;
  }
  if (numGtDets === 0) {
    res.fp.fill(numTrackerDets);
    res.locA.fill(1);
    return res;
  }
  const G = numGtIds;
  const T = numTrackerIds;
  const potential = new Float64Array(G * T);
  const gtCount = new Float64Array(G);
  const trCount = new Float64Array(T);
  for (const { gtIds, trIds, sim } of frames) {
    const n = gtIds.length;
    const m = trIds.length;
    const rowSum = new Float64Array(n);
    const colSum = new Float64Array(m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
      rowSum[i]! += sim[i * m + j]!;
      colSum[j]! += sim[i * m + j]!;
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const s = sim[i * m + j]!;
        const denom = colSum[j]! + rowSum[i]! - s;
        if (denom > EPS) potential[gtIds[i]! * T + trIds[j]!]! += s / denom;
      }
    }
    for (const g of gtIds) gtCount[g]!++;
    for (const t of trIds) trCount[t]!++;
  }
  const gas = new Float64Array(G * T);
  for (let g = 0; g < G; g++) for (let t = 0; t < T; t++) {
    const p = potential[g * T + t]!;
    gas[g * T + t] = p / (gtCount[g]! + trCount[t]! - p);
  }
  const matches = HOTA_ALPHAS.map(() => new Float64Array(G * T));
  for (const { gtIds, trIds, sim } of frames) {
    const n = gtIds.length;
    const m = trIds.length;
    if (n === 0) {
      for (let a = 0; a < A; a++) res.fp[a]! += m;
      continue;
    }
    if (m === 0) {
      for (let a = 0; a < A; a++) res.fn[a]! += n;
      continue;
    }
    const neg = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) neg[i * m + j] = -(gas[gtIds[i]! * T + trIds[j]!]! * sim[i * m + j]!);
    const rowToCol = solveAssignment(neg, n, m);
    for (let a = 0; a < A; a++) {
      const alpha = HOTA_ALPHAS[a]!;
      let num = 0;
      for (let i = 0; i < n; i++) {
        const j = rowToCol[i]!;
        if (j < 0) continue;
        const s = sim[i * m + j]!;
        if (s >= alpha - EPS) {
          num++;
          res.locA[a]! += s;
          matches[a]![gtIds[i]! * T + trIds[j]!]!++;
        }
      }
      res.tp[a]! += num;
      res.fn[a]! += n - num;
      res.fp[a]! += m - num;
    }
  }
  for (let a = 0; a < A; a++) {
    const mc = matches[a]!;
    let assA = 0;
    let assRe = 0;
    let assPr = 0;
    for (let g = 0; g < G; g++) for (let t = 0; t < T; t++) {
      const c = mc[g * T + t]!;
      if (c === 0) continue;
      assA += (c * c) / Math.max(1, gtCount[g]! + trCount[t]! - c);
      assRe += (c * c) / Math.max(1, gtCount[g]!);
      assPr += (c * c) / Math.max(1, trCount[t]!);
    }
    const tp = Math.max(1, res.tp[a]!);
    res.assA[a] = assA / tp;
    res.assRe[a] = assRe / tp;
    res.assPr[a] = assPr / tp;
    res.locA[a] = Math.max(1e-10, res.locA[a]!) / Math.max(1e-10, res.tp[a]!);
  }
  return res;
}

/** TrackEval's COMBINED: sums of TP/FN/FP; AssA, AssRe, AssPr, LocA weighted by TP. */
export function combineHota(all: readonly HotaCounts[]): HotaCounts {
  const A = HOTA_ALPHAS.length;
  const out: HotaCounts = { tp: [], fn: [], fp: [], assA: [], assRe: [], assPr: [], locA: [] };
  for (let a = 0; a < A; a++) {
    const tp = all.reduce((s, c) => s + c.tp[a]!, 0);
    out.tp.push(tp);
    out.fn.push(all.reduce((s, c) => s + c.fn[a]!, 0));
    out.fp.push(all.reduce((s, c) => s + c.fp[a]!, 0));
    for (const k of ['assA', 'assRe', 'assPr'] as const) {
      out[k].push(all.reduce((s, c) => s + c[k][a]! * c.tp[a]!, 0) / Math.max(1, tp));
    }
    // LocA has its own guard in TrackEval: an α with no matches anywhere gives 1, not 0.
    out.locA.push(Math.max(1e-10, all.reduce((s, c) => s + c.locA[a]! * c.tp[a]!, 0)) / Math.max(1e-10, tp));
  }
  return out;
}

export function hotaMetrics(c: HotaCounts): HotaMetrics {
  const A = HOTA_ALPHAS.length;
  const detRe: number[] = [];
  const detPr: number[] = [];
  const detA: number[] = [];
  const hota: number[] = [];
  const owta: number[] = [];
  for (let a = 0; a < A; a++) {
    const tp = c.tp[a]!;
    detRe.push(tp / Math.max(1, tp + c.fn[a]!));
    detPr.push(tp / Math.max(1, tp + c.fp[a]!));
    detA.push(tp / Math.max(1, tp + c.fn[a]! + c.fp[a]!));
    hota.push(Math.sqrt(detA[a]! * c.assA[a]!));
    owta.push(Math.sqrt(detRe[a]! * c.assA[a]!));
  }
  const mean = (x: readonly number[]): number => (100 * x.reduce((s, v) => s + v, 0)) / x.length;
  return {
    HOTA: mean(hota),
    DetA: mean(detA),
    AssA: mean(c.assA),
    DetRe: mean(detRe),
    DetPr: mean(detPr),
    AssRe: mean(c.assRe),
    AssPr: mean(c.assPr),
    LocA: mean(c.locA),
    OWTA: mean(owta),
    'HOTA(0)': 100 * hota[0]!,
    'LocA(0)': 100 * c.locA[0]!,
    'HOTALocA(0)': 100 * hota[0]! * c.locA[0]!,
  };
}
