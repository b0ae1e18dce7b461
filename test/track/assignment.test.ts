/** T2: exact linear assignment against brute force on random small matrices. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linearAssignment, solveAssignment } from '../../src/track/assignment.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Minimum over all assignments of min(n, m) pairs (every row or every column used), brute force. */
function bruteForce(cost: number[], n: number, m: number): number {
  let best = Infinity;
  const usedCols = new Array<boolean>(m).fill(false);
  const usedRows = new Array<boolean>(n).fill(false);
  const k = Math.min(n, m);
  const rec = (placed: number, startRow: number, acc: number): void => {
    if (placed === k) {
      best = Math.min(best, acc);
      return;
    }
    if (n <= m) {
      const i = placed;
      for (let j = 0; j < m; j++) {
        if (usedCols[j]) continue;
        usedCols[j] = true;
        rec(placed + 1, 0, acc + cost[i * m + j]!);
        usedCols[j] = false;
      }
    } else {
      const j = placed;
      for (let i = 0; i < n; i++) {
        if (usedRows[i]) continue;
        usedRows[i] = true;
        rec(placed + 1, startRow, acc + cost[i * m + j]!);
        usedRows[i] = false;
      }
    }
  };
  rec(0, 0, 0);
  return best;
}

test('T2 solveAssignment is optimal on random square and rectangular matrices, with infeasible entries', () => {
  const r = rng(42);
  let checked = 0;
  for (let trial = 0; trial < 400; trial++) {
    const n = 1 + Math.floor(r() * 6);
    const m = 1 + Math.floor(r() * 6);
    const withInf = trial % 3 === 0;
    const cost = Array.from({ length: n * m }, () => (withInf && r() < 0.3 ? Infinity : Math.round(r() * 100) / 10 - 3));
    const best = bruteForce(cost, n, m);
    if (best === Infinity) {
      assert.throws(() => solveAssignment(cost, n, m), { name: 'RangeError', message: 'cost matrix is infeasible' });
      continue;
    }
    const sol = solveAssignment(cost, n, m);
    const used = new Set<number>();
    let total = 0;
    let assigned = 0;
    for (let i = 0; i < n; i++) {
      if (sol[i]! < 0) continue;
      assert.ok(!used.has(sol[i]!), 'each column at most once');
      used.add(sol[i]!);
      total += cost[i * m + sol[i]!]!;
      assigned++;
    }
    assert.equal(assigned, Math.min(n, m));
    assert.ok(Math.abs(total - best) < 1e-9, `trial ${trial}: ${total} vs brute force ${best}`);
    checked++;
  }
  assert.ok(checked > 300);
});

test('T2 solveAssignment: empty and bad input', () => {
  assert.deepEqual(Array.from(solveAssignment([], 0, 3)), []);
  assert.deepEqual(Array.from(solveAssignment([], 2, 0)), [-1, -1]);
  assert.throws(() => solveAssignment([1, 2, 3], 2, 2), { name: 'RangeError', message: 'Expected an array of 4 costs for cost but received 3 of type number' });
  assert.throws(() => solveAssignment([1, NaN, 3, 4], 2, 2), { name: 'RangeError', message: 'cost matrix contains NaN or -Infinity' });
});

/** ByteTrack/lap objective: Σ matched costs + thresh/2 per unmatched row and column; pairs need cost < thresh. */
function bruteForceThresholded(cost: number[], n: number, m: number, thresh: number): number {
  let best = Infinity;
  const usedCols = new Array<boolean>(m).fill(false);
  const rec = (i: number, acc: number, matched: number): void => {
    if (i === n) {
      best = Math.min(best, acc + (thresh / 2) * (n + m - 2 * matched));
      return;
    }
    rec(i + 1, acc, matched);
    for (let j = 0; j < m; j++) {
      if (usedCols[j] || !(cost[i * m + j]! < thresh)) continue;
      usedCols[j] = true;
      rec(i + 1, acc + cost[i * m + j]!, matched + 1);
      usedCols[j] = false;
    }
  };
  rec(0, 0, 0);
  return best;
}

test('T2 linearAssignment (lapjv with cost_limit) is optimal against brute force', () => {
  const r = rng(9);
  for (let trial = 0; trial < 400; trial++) {
    const n = Math.floor(r() * 7);
    const m = Math.floor(r() * 7);
    const thresh = 0.8;
    const cost = Array.from({ length: n * m }, () => (r() < 0.15 ? Infinity : r() < 0.5 ? 1 : Math.round(r() * 100) / 100));
    const res = linearAssignment(cost, n, m, thresh);
    const rows = new Set(res.matches.map(([i]) => i));
    const cols = new Set(res.matches.map(([, j]) => j));
    assert.equal(rows.size, res.matches.length);
    assert.equal(cols.size, res.matches.length);
    assert.deepEqual([...res.unmatchedRows].sort(), [...Array(n).keys()].filter((i) => !rows.has(i)));
    assert.deepEqual([...res.unmatchedCols].sort(), [...Array(m).keys()].filter((j) => !cols.has(j)));
    let total = (thresh / 2) * (n + m - 2 * res.matches.length);
    for (const [i, j] of res.matches) {
      assert.ok(cost[i * m + j]! < thresh, 'no pair at or above the threshold');
      total += cost[i * m + j]!;
    }
    const best = bruteForceThresholded(cost, n, m, thresh);
    assert.ok(Math.abs(total - best) < 1e-9, `trial ${trial}: ${total} vs ${best}`);
  }
});

test('T2 linearAssignment prefers the global optimum over greedy', () => {
  // Greedy would take (0,0)=0.1 and leave row 1 unmatched; the optimum takes 0.2 + 0.2.
  const res = linearAssignment([0.1, 0.2, 0.2, 0.9], 2, 2, 0.8);
  assert.deepEqual(res.matches, [[0, 1], [1, 0]]);
});
