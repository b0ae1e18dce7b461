import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_SELECTION_PARAMS,
  area,
  edgeDistance,
  isBetter,
  isBetterOrFirst,
  qualifies,
  routeFor,
  sideMidpoints,
  validateSelectionParams,
} from '../../src/select/index.js';
import type { Track } from '../../src/types.js';
import { H, W, box, entry, xyxy } from './fixtures.js';

const P = DEFAULT_SELECTION_PARAMS;
const TS = 1_000_000_000n;

function track(...boxes: Parameters<typeof box>[0][]): Track {
  return {
    trackId: 1,
    classId: 2,
    entries: boxes.map((b, i) => entry(TS - BigInt(boxes.length - 1 - i) * 100_000_000n, i, box(b))),
  };
}

describe('S1 qualification', () => {
  it('S1: a track whose last entry is not at this frame does not qualify', () => {
    assert.equal(qualifies(track({}, {}), TS + 1n, P), false);
    assert.equal(qualifies(track({}), TS - 1n, P), false);
  });
  it('S1: a track with no entries does not qualify', () => {
    assert.equal(qualifies({ entries: [] }, TS, P), false);
  });
  it('S1: n = 1 qualifies whatever its size and score (first sighting)', () => {
    assert.equal(qualifies(track({ w: 1, h: 1, score: 0.01 }), TS, P), true);
  });
  it('S1: n > 1 — e.box.h ≥ minHeight: equal qualifies, just below does not', () => {
    assert.equal(qualifies(track({}, { h: 32 }), TS, P), true);
    assert.equal(qualifies(track({}, { h: 31.999 }), TS, P), false);
  });
  it('S1: n > 1 — e.box.w ≥ minWidth: equal qualifies, just below does not', () => {
    assert.equal(qualifies(track({}, { w: 32 }), TS, P), true);
    assert.equal(qualifies(track({}, { w: 31.999 }), TS, P), false);
  });
  it('S1: n > 1 — e.score ≥ minScore1: equal qualifies, just below does not', () => {
    assert.equal(qualifies(track({}, { score: 0.5 }), TS, P), true);
    assert.equal(qualifies(track({}, { score: 0.4999 }), TS, P), false);
  });
  it('S1: reads its parameters, not constants', () => {
    assert.equal(qualifies(track({}, { w: 20, h: 20, score: 0.3 }), TS, { minWidth: 20, minHeight: 20, minScore1: 0.3 }), true);
  });
});

describe('S3 edge distance', () => {
  it('S3: axis-aligned box: the smallest distance of the side midpoints to the borders', () => {
    // x1=40 y1=45 x2=60 y2=75 on 640×480: min(40, 45, 640-60, 480-75) = 40
    assert.equal(edgeDistance(xyxy(40, 45, 60, 75), W, H), 40);
    assert.equal(edgeDistance(xyxy(300, 200, 600, 470), W, H), 10); // bottom: 480-470
    assert.equal(edgeDistance(xyxy(300, 200, 635, 300), W, H), 5); // right: 640-635
  });
  it('S3: negative when a midpoint lies outside the image', () => {
    assert.equal(edgeDistance(xyxy(-5, 100, 15, 200), W, H), -5);
    assert.equal(edgeDistance(xyxy(100, 400, 200, 500), W, H), -20);
  });
  it('S3: zero when a side lies on the border', () => {
    assert.equal(edgeDistance(xyxy(0, 100, 50, 200), W, H), 0);
  });
  it('S3: oriented box — the rotated rectangle side midpoints count', () => {
    // 100×20 at the centre: unrotated the top/bottom midpoints are 230 from the borders,
    // rotated 90° the long sides' midpoints move to cy ± 50: 480 - 290 = 190.
    assert.equal(edgeDistance(box({ w: 100, h: 20 }), W, H), 230);
    assert.ok(Math.abs(edgeDistance(box({ w: 100, h: 20, angle: Math.PI / 2 }), W, H) - 190) < 1e-9);
    // 45°: midpoints at 50 px along the diagonals: cx − 50·cos45° = 60 − 35.355…
    const d = edgeDistance(box({ cx: 60, cy: 240, w: 100, h: 100, angle: Math.PI / 4 }), W, H);
    assert.ok(Math.abs(d - (60 - 50 * Math.SQRT1_2)) < 1e-9, `got ${d}`);
  });
  it('S3: the 16 distances give the SPEC 8-number minimum for axis-aligned boxes', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 500; i++) {
      const x1 = rnd() * 800 - 80;
      const y1 = rnd() * 600 - 60;
      const x2 = x1 + rnd() * 300;
      const y2 = y1 + rnd() * 300;
      // left midpoint → left/right border, right → left/right, top → top/bottom, bottom → top/bottom
      const eight = Math.min(x1, W - x1, x2, W - x2, y1, H - y1, y2, H - y2);
      assert.ok(Math.abs(edgeDistance(xyxy(x1, y1, x2, y2), W, H) - eight) < 1e-9);
    }
  });
  it('S3: equals the minimum over the 4 side midpoints × 4 borders, oriented boxes included', () => {
    let seed = 11;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 500; i++) {
      const b = box({ cx: rnd() * 800 - 80, cy: rnd() * 600 - 60, w: rnd() * 300, h: rnd() * 300, angle: (rnd() - 0.5) * 2 * Math.PI });
      let min = Infinity;
      for (const [x, y] of sideMidpoints(b)) min = Math.min(min, x, W - x, y, H - y);
      assert.ok(Math.abs(edgeDistance(b, W, H) - min) < 1e-9);
    }
    // the four midpoints of a 45° box are its 4 side centres at distance 50 from the centre
    const m = sideMidpoints(box({ cx: 0, cy: 0, w: 100, h: 100, angle: Math.PI / 4 }));
    for (const [x, y] of m) assert.ok(Math.abs(Math.hypot(x, y) - 50) < 1e-9);
  });
  it('area(box) = w × h', () => {
    assert.equal(area(box({ w: 12, h: 5 })), 60);
  });
});

describe('S2 quality comparison', () => {
  // p: 100×100 at the centre of 640×480, score 0.8 → edge 190, area 10000.
  const p = entry(0n, 0, box());
  it('S2: all equal (every ≥ holds with equality) is better', () => {
    assert.equal(isBetter(entry(TS, 1, box()), p, W, H, P), true);
  });
  it('S2: e.score ≥ p.score — just below is not better', () => {
    assert.equal(isBetter(entry(TS, 1, box({ score: 0.8 - 1e-9 })), p, W, H, P), false);
    assert.equal(isBetter(entry(TS, 1, box({ score: 0.81 })), p, W, H, P), true);
  });
  it('S2: area(e) ≥ area(p) — smaller is not better', () => {
    assert.equal(isBetter(entry(TS, 1, box({ w: 99.99 })), p, W, H, P), false);
    assert.equal(isBetter(entry(TS, 1, box({ w: 100, h: 100 })), p, W, H, P), true);
  });
  it('S2: e.exposureMode = manual — auto is not better', () => {
    assert.equal(isBetter(entry(TS, 1, box(), 'auto'), p, W, H, P), false);
  });
  it('S2: edge(e) ≥ edge(p) — closer to the border is not better', () => {
    assert.equal(isBetter(entry(TS, 1, box({ cy: 239 })), p, W, H, P), false); // edge 189 < 190
    assert.equal(isBetter(entry(TS, 1, box({ cy: 241 })), p, W, H, P), false); // 480-291=189
  });
  it('S2: edge(e) ≥ minEdge1 — equal is better, below is not even when edge(e) ≥ edge(p)', () => {
    const p8 = entry(0n, 0, xyxy(100, 8, 200, 108));
    assert.equal(isBetter(entry(TS, 1, xyxy(100, 8, 200, 108)), p8, W, H, P), true);
    const p75 = entry(0n, 0, xyxy(100, 7.5, 200, 107.5));
    assert.equal(isBetter(entry(TS, 1, xyxy(100, 7.5, 200, 107.5)), p75, W, H, P), false);
    assert.equal(isBetter(entry(TS, 1, xyxy(100, 7.5, 200, 107.5)), p75, W, H, { minEdge1: 7.5 }), true);
  });
});

describe('S6 no previous best', () => {
  it('S6: a qualifying object with no previous best is treated as better, whatever its entry', () => {
    const e = entry(TS, 1, xyxy(-10, -10, 5, 5, { score: 0.1 }), 'auto');
    assert.equal(isBetterOrFirst(e, undefined, W, H, P), true);
  });
  it('S6: with a previous best, S2 decides', () => {
    const p = entry(0n, 0, box());
    assert.equal(isBetterOrFirst(entry(TS, 1, box(), 'auto'), p, W, H, P), false);
    assert.equal(isBetterOrFirst(entry(TS, 1, box()), p, W, H, P), true);
  });
});

describe('S5 immediate or cached', () => {
  // 1000×1000 image; box 200×100 = 20000 px² → ratio exactly 0.02; edge far from borders.
  const Wi = 1000;
  const Hi = 1000;
  const ok = { cx: 500, cy: 500, w: 200, h: 101, score: 0.7 };
  it('S5: all hold (score = minScore2 counts) → immediate', () => {
    assert.equal(routeFor({ box: box(ok) }, Wi, Hi, P), 'immediate');
  });
  it('S5: area ratio > minAreaRatio — exactly equal is cached', () => {
    assert.equal(routeFor({ box: box({ ...ok, h: 100 }) }, Wi, Hi, P), 'cached');
  });
  it('S5: e.score ≥ minScore2 — just below is cached', () => {
    assert.equal(routeFor({ box: box({ ...ok, score: 0.6999 }) }, Wi, Hi, P), 'cached');
  });
  it('S5: edge(e) > minEdge2 — exactly equal is cached, just above immediate', () => {
    assert.equal(routeFor({ box: xyxy(32, 400, 232, 501, { score: 0.9 }) }, Wi, Hi, P), 'cached');
    assert.equal(routeFor({ box: xyxy(32.5, 400, 232.5, 501, { score: 0.9 }) }, Wi, Hi, P), 'immediate');
  });
});

describe('selection parameters', () => {
  it('defaults are the SPEC table', () => {
    assert.deepEqual(validateSelectionParams({}), {
      minWidth: 32,
      minHeight: 32,
      minScore1: 0.5,
      minScore2: 0.7,
      minEdge1: 8,
      minEdge2: 32,
      minAreaRatio: 0.02,
    });
    assert.equal(validateSelectionParams({ minEdge1: -4 }).minEdge1, -4);
  });
  it('wrong type → TypeError with the exact message', () => {
    assert.throws(() => validateSelectionParams({ minScore1: 'x' }), {
      name: 'TypeError',
      message: "Expected number between 0 and 1 for minScore1 but received 'x' of type string",
    });
    assert.throws(() => validateSelectionParams({ minWidth: null }), {
      name: 'TypeError',
      message: 'Expected non-negative number for minWidth but received null',
    });
    assert.throws(() => validateSelectionParams(7), {
      name: 'TypeError',
      message: 'Expected object for selection parameters but received 7 of type number',
    });
  });
  it('out of range → RangeError with the exact message', () => {
    assert.throws(() => validateSelectionParams({ minScore2: 1.5 }), {
      name: 'RangeError',
      message: 'Expected number between 0 and 1 for minScore2 but received 1.5 of type number',
    });
    assert.throws(() => validateSelectionParams({ minHeight: -1 }), {
      name: 'RangeError',
      message: 'Expected non-negative number for minHeight but received -1 of type number',
    });
    assert.throws(() => validateSelectionParams({ minEdge2: Number.NaN }), {
      name: 'RangeError',
      message: 'Expected finite number for minEdge2 but received NaN of type number',
    });
  });
  it('unknown key → TypeError naming the allowed keys', () => {
    assert.throws(() => validateSelectionParams({ minScore: 0.5 }), {
      name: 'TypeError',
      message:
        "Expected one of minWidth, minHeight, minScore1, minScore2, minEdge1, minEdge2, minAreaRatio for selection parameter name but received 'minScore' of type string",
    });
  });
});
