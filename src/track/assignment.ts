/**
 * Exact linear assignment (T2). `solveAssignment` is the shortest augmenting
 * path method (Kuhn–Munkres with potentials, the Jonker–Volgenant family,
 * O(n²m)) for rectangular matrices, the same optimum as SciPy's
 * linear_sum_assignment. `linearAssignment` adds ByteTrack's threshold: the
 * optimum of lap.lapjv(cost, extend_cost=True, cost_limit=thresh), where
 * leaving a row or a column unmatched costs thresh/2, so a pair is matched
 * only when its cost is below thresh and the total is minimal.
 */
import { outOfRangeError } from '../errors.js';

/**
 * Minimum-cost assignment of a nRows × nCols row-major cost matrix. Every row
 * (when nRows ≤ nCols) or every column (otherwise) is assigned. Entries may be
 * +Infinity (forbidden); a matrix with no complete assignment avoiding them
 * throws RangeError('cost matrix is infeasible'). Returns rowToCol (−1 for an
 * unassigned row).
 */
export function solveAssignment(cost: ArrayLike<number>, nRows: number, nCols: number): Int32Array {
  if (cost.length !== nRows * nCols) {
    throw outOfRangeError(`an array of ${nRows * nCols} costs`, 'cost', cost.length);
  }
  const rowToCol = new Int32Array(nRows).fill(-1);
  if (nRows === 0 || nCols === 0) return rowToCol;
  const transpose = nRows > nCols;
  const n = transpose ? nCols : nRows;
  const m = transpose ? nRows : nCols;
  // Forbidden entries become a finite "big M" so potentials stay finite; an
  // optimum that uses one means no feasible complete assignment exists.
  let maxAbs = 0;
  let hasInf = false;
  for (let k = 0; k < cost.length; k++) {
    const c = cost[k]!;
    if (Number.isNaN(c) || c === -Infinity) throw new RangeError('cost matrix contains NaN or -Infinity');
    if (c === Infinity) hasInf = true;
    else if (Math.abs(c) > maxAbs) maxAbs = Math.abs(c);
  }
  const big = hasInf ? (maxAbs + 1) * (n + 1) * 2 : 0;
  const a = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const c = transpose ? cost[j * nCols + i]! : cost[i * nCols + j]!;
      a[i * m + j] = c === Infinity ? big : c;
    }
  }
  // 1-based arrays as in the textbook formulation; p[j] = row matched to column j.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      const rowBase = (i0 - 1) * m - 1;
      const ui0 = u[i0]!;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a[rowBase + j]! - ui0 - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  for (let j = 1; j <= m; j++) {
    const i = p[j]!;
    if (i === 0) continue;
    const r = transpose ? j - 1 : i - 1;
    const c = transpose ? i - 1 : j - 1;
    if (hasInf && cost[r * nCols + c] === Infinity) throw new RangeError('cost matrix is infeasible');
    rowToCol[r] = c;
  }
  return rowToCol;
}

export interface AssignmentResult {
  /** Matched [row, col] pairs, by increasing row. */
  matches: Array<[number, number]>;
  unmatchedRows: number[];
  unmatchedCols: number[];
}

/**
 * ByteTrack's matching.linear_assignment(cost, thresh): the assignment that
 * minimises Σ matched costs + thresh/2 per unmatched row and per unmatched
 * column (lap.lapjv with cost_limit). Equivalently a pair can only be matched
 * when its cost is below thresh. Entries ≥ thresh (including +Infinity, used
 * for T1's cross-class pairs) never match.
 *
 * The bipartite graph of pairs below thresh is split into connected
 * components and each is solved exactly on its own; the optimum of the whole
 * is the union of the components' optima, so this is exact and, with the few
 * overlaps of real scenes, close to linear time.
 */
export function linearAssignment(cost: ArrayLike<number>, nRows: number, nCols: number, thresh: number): AssignmentResult {
  const result: AssignmentResult = { matches: [], unmatchedRows: [], unmatchedCols: [] };
  if (nRows === 0 || nCols === 0) {
    for (let i = 0; i < nRows; i++) result.unmatchedRows.push(i);
    for (let j = 0; j < nCols; j++) result.unmatchedCols.push(j);
    return result;
  }
  // Union–find over rows (0..nRows-1) and columns (nRows..nRows+nCols-1).
  const parent = new Int32Array(nRows + nCols);
  for (let k = 0; k < parent.length; k++) parent[k] = k;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  const degree = new Int32Array(nRows + nCols);
  for (let i = 0; i < nRows; i++) {
    for (let j = 0; j < nCols; j++) {
      if (cost[i * nCols + j]! < thresh) {
        degree[i]!++;
        degree[nRows + j]!++;
        const ra = find(i);
        const rb = find(nRows + j);
        if (ra !== rb) parent[ra] = rb;
      }
    }
  }
  const rowMatch = new Int32Array(nRows).fill(-1);
  const colMatch = new Int32Array(nCols).fill(-1);
  const compRows = new Map<number, number[]>();
  const compCols = new Map<number, number[]>();
  for (let i = 0; i < nRows; i++) {
    if (degree[i] === 0) continue;
    const r = find(i);
    let list = compRows.get(r);
    if (!list) compRows.set(r, (list = []));
    list.push(i);
  }
  for (let j = 0; j < nCols; j++) {
    if (degree[nRows + j] === 0) continue;
    const r = find(nRows + j);
    let list = compCols.get(r);
    if (!list) compCols.set(r, (list = []));
    list.push(j);
  }
  for (const [root, rows] of compRows) {
    const cols = compCols.get(root)!;
    if (rows.length === 1 && cols.length === 1) {
      rowMatch[rows[0]!] = cols[0]!;
      colMatch[cols[0]!] = rows[0]!;
      continue;
    }
    // lap's extended matrix: [[C, thresh/2], [thresh/2, 0]] of size k + l.
    const k = rows.length;
    const l = cols.length;
    const size = k + l;
    const ext = new Float64Array(size * size);
    const half = thresh / 2;
    const forbidden = thresh + 1;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        let value: number;
        if (r < k && c < l) {
          const x = cost[rows[r]! * nCols + cols[c]!]!;
          value = x < thresh ? x : forbidden;
        } else if (r >= k && c >= l) value = 0;
        else value = half;
        ext[r * size + c] = value;
      }
    }
    const sol = solveAssignment(ext, size, size);
    for (let r = 0; r < k; r++) {
      const c = sol[r]!;
      if (c >= 0 && c < l && ext[r * size + c]! < thresh) {
        rowMatch[rows[r]!] = cols[c]!;
        colMatch[cols[c]!] = rows[r]!;
      }
    }
  }
  for (let i = 0; i < nRows; i++) {
    if (rowMatch[i]! >= 0) result.matches.push([i, rowMatch[i]!]);
    else result.unmatchedRows.push(i);
  }
  for (let j = 0; j < nCols; j++) if (colMatch[j]! < 0) result.unmatchedCols.push(j);
  return result;
}
