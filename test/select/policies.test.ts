import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FrameRing,
  POLICY_NAMES,
  createPolicy,
  isBetterFrigate,
  touchesEdge,
  type PolicyName,
  type PolicyOptions,
} from '../../src/select/index.js';
import { H, Scene, W, box, runPolicy, xyxy, type SceneObject, type Step } from './fixtures.js';

const BIG = { cx: 320, cy: 240, w: 120, h: 100, score: 0.8 }; // S5 immediate
const SMALL = { cx: 200, cy: 200, w: 40, h: 40, score: 0.8 }; // S5 cached (area ratio 0.005)

const run = (name: PolicyName, steps: Step[], options: PolicyOptions = {}) => runPolicy(name, steps, options);

const a = (box: object): SceneObject => ({ id: 1, box });
const b = (box: object): SceneObject => ({ id: 2, box });

describe("policy 'spec' (S1–S7)", () => {
  it('sends S6 first sightings and S2 improvements once per frame, routed by S5', () => {
    const { log } = run('spec', [
      { objects: [a(BIG)] },
      { objects: [a({ ...BIG, score: 0.79 })] },
      { objects: [a({ ...BIG, score: 0.85 }), b(SMALL)] },
      { objects: [b({ ...SMALL, score: 0.9 })], end: [1] },
      { objects: [b({ ...SMALL, score: 0.85 })] },
    ]);
    assert.deepEqual(log, ['@0 immediate 0 [1]', '@2 immediate 2 [1,2]', '@3 cached 3 [2]']);
  });

  it('S7/A5: retains each track best in the ring until the track ends', () => {
    const ring = new FrameRing<number>({ capacity: 1 });
    const policy = createPolicy('spec', { refs: ring });
    const scene = new Scene();
    let f = scene.frame([a(BIG), b(SMALL)]);
    ring.put(0, 0);
    for (const d of policy.onFrame(f.frame, f.tracks)) ring.release(d.imageId);
    f = scene.frame([a({ ...BIG, score: 0.9 })]);
    ring.put(1, 1);
    for (const d of policy.onFrame(f.frame, f.tracks)) ring.release(d.imageId);
    assert.equal(ring.refs(0), 1); // B's best
    assert.equal(ring.refs(1), 1); // A's best
    policy.onTrackEnd([2]);
    assert.equal(ring.has(0), false); // released and evicted (over capacity)
    assert.equal(ring.refs(1), 1);
  });
});

describe("policy 'every-frame'", () => {
  it('sends every frame with at least one object in it', () => {
    const { log } = run('every-frame', [
      { objects: [a(BIG)] },
      { objects: [] },
      { objects: [a(BIG), b(SMALL)] },
      { objects: [b(SMALL)], end: [1] },
    ]);
    assert.deepEqual(log, ['@0 immediate 0 [1]', '@2 immediate 2 [1,2]', '@3 immediate 3 [2]']);
  });
});

describe("policy 'interval'", () => {
  it('sends one frame every intervalS from frames with objects', () => {
    const steps: Step[] = Array.from({ length: 10 }, () => ({ objects: [a(SMALL)] }));
    assert.deepEqual(run('interval', steps, { intervalS: 0.25 }).log, ['@0 immediate 0 [1]', '@3 immediate 3 [1]', '@6 immediate 6 [1]', '@9 immediate 9 [1]']);
    const gaps: Step[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => ({ objects: i === 0 || i >= 5 ? [a(SMALL)] : [] }));
    assert.deepEqual(run('interval', gaps, { intervalS: 0.25 }).log, ['@0 immediate 0 [1]', '@5 immediate 5 [1]', '@8 immediate 8 [1]']);
  });
  it('rejects a bad interval', () => {
    assert.throws(() => createPolicy('interval', { intervalS: 0 }), {
      name: 'RangeError',
      message: 'Expected positive number for intervalS but received 0 of type number',
    });
  });
});

describe("policy 'frigate'", () => {
  it('Frigate rule: score by more than 0.05, area by more than 10 %, edge veto', () => {
    const cur = box({ w: 100, h: 100, score: 0.6 });
    assert.equal(isBetterFrigate(cur, box({ w: 100, h: 100, score: 0.64 }), W, H), false);
    assert.equal(isBetterFrigate(cur, box({ w: 100, h: 100, score: 0.66 }), W, H), true);
    assert.equal(isBetterFrigate(cur, box({ w: 110, h: 100, score: 0.6 }), W, H), false); // exactly +10 %
    assert.equal(isBetterFrigate(cur, box({ w: 111, h: 100, score: 0.6 }), W, H), true);
    const edge = xyxy(0, 100, 200, 300, { score: 0.99 });
    assert.equal(touchesEdge(edge, W, H), true);
    assert.equal(touchesEdge(xyxy(1, 1, W - 2, H - 2), W, H), false);
    assert.equal(touchesEdge(xyxy(1, 1, W - 1, H - 2), W, H), true);
    assert.equal(isBetterFrigate(cur, edge, W, H), false); // veto
    assert.equal(isBetterFrigate(xyxy(0, 0, 50, 50, { score: 0.5 }), edge, W, H), true); // both on the edge
  });

  it('keeps the best by the Frigate rule and sends it when the track ends, one upload per image', () => {
    const { log } = run('frigate', [
      { objects: [a({ ...SMALL, w: 100, h: 100, score: 0.6 }), b(SMALL)] }, // 0: first of both
      { objects: [a({ ...SMALL, w: 100, h: 100, score: 0.64 })] },
      { objects: [a({ ...SMALL, w: 100, h: 100, score: 0.66 })] }, // 2: +0.06
      { objects: [a({ ...SMALL, w: 110, h: 100, score: 0.66 })] }, // exactly +10 %: no
      { objects: [a({ ...SMALL, w: 112, h: 100, score: 0.66 })] }, // 4: +12 %
      { objects: [a({ ...xyxy(0, 100, 300, 300), score: 0.99 })], end: [1] }, // edge veto; A ends
      { objects: [b(SMALL)] },
    ]);
    assert.deepEqual(log, ['@5 immediate 4 [1]', '@flush immediate 0 [2]']);
  });

  it('objects ending together with the same best image → one upload', () => {
    const { log } = run('frigate', [{ objects: [a(SMALL), b(BIG)] }, { objects: [a(SMALL), b(BIG)], end: [1, 2] }]);
    assert.deepEqual(log, ['@1 immediate 0 [1,2]']);
  });

  it('U3: objects ending apart with the same best image → still one upload (its idempotency key is the image)', () => {
    // A second upload of image 0 reused cam:0: dropped as a duplicate, or with crops refused (409) and dead-lettered.
    for (const name of ['frigate', 'frigate-quality', 'final-best'] as const) {
      const { log } = run(name, [{ objects: [a(SMALL), b(BIG)] }, { objects: [b({ ...BIG, score: 0.5 })], end: [1] }, { objects: [], end: [2] }]);
      const images = log.map((l) => l.split(' ')[2]);
      assert.deepEqual(images, [...new Set(images)], `${name}: ${log.join(', ')}`);
      assert.ok(images.includes('0'), `${name}: ${log.join(', ')}`);
    }
  });
});

describe("policy 'final-best'", () => {
  it('holds the S2 best and sends it when the latency bound passes, then an improvement at track end', () => {
    const steps: Step[] = [];
    for (let i = 0; i < 5; i++) steps.push({ objects: [a({ ...SMALL, cx: 300, w: 40 + i, score: 0.8 })] }); // 0..4 improve
    for (let i = 5; i < 15; i++) steps.push({ objects: [a({ ...SMALL, cx: 300, w: 40, score: 0.6 })] }); // worse
    steps.push({ objects: [a({ ...SMALL, cx: 300, w: 50, score: 0.9 })] }); // 15: better again
    for (let i = 16; i < 19; i++) steps.push({ objects: [a({ ...SMALL, cx: 300, w: 40, score: 0.6 })] });
    steps[18]!.end = [1];
    const { log, decisions } = run('final-best', steps, { maxLatencyS: 1 });
    assert.deepEqual(log, ['@10 cached 4 [1]', '@18 cached 15 [1]']);
    assert.equal(decisions[0]!.decidedAtNs - decisions[0]!.timestampNs, 600_000_000n);
  });

  it('S5 routes the held image; nothing is sent twice; flush sends unsent candidates', () => {
    const { log } = run(
      'final-best',
      [{ objects: [a(BIG), b(SMALL)] }, { objects: [a({ ...BIG, score: 0.9 })] }, { objects: [a({ ...BIG, score: 0.7 })] }],
      { maxLatencyS: 10 },
    );
    assert.deepEqual(log, ['@flush cached 0 [2]', '@flush immediate 1 [1]']);
  });
});

describe("policy 'replace-queued'", () => {
  it('replaces a still-queued package of an object when no other object needs it', () => {
    const { log } = run('replace-queued', [
      { objects: [a({ ...SMALL, score: 0.6 }), b({ ...SMALL, score: 0.6 })] }, // 0: both new → enqueue
      { objects: [a({ ...SMALL, score: 0.7 }), b({ ...SMALL, score: 0.5 })] }, // 1: A moves; B still needs 0
      { objects: [a({ ...SMALL, score: 0.75 }), b({ ...SMALL, score: 0.65 })], end: [2] }, // 2: both move: 0 and 1 free; B ends on 2
      { objects: [a({ ...SMALL, score: 0.8 })] }, // 3: A moves off 2, but 2 is B's final best
      { objects: [a({ ...BIG, score: 0.9 })] }, // 4: immediate replaces queued 3
      { objects: [a({ ...BIG, score: 0.95 })] }, // 5: 4 was immediate: never replaced
    ]);
    assert.deepEqual(log, [
      '@0 cached 0 [1,2]',
      '@1 cached 1 [1]',
      '@2 replace cached 2 [1,2] for 0,1',
      '@3 cached 3 [1]',
      '@4 replace immediate 4 [1] for 3',
      '@5 immediate 5 [1]',
    ]);
  });

  it('sends the same frames as spec, only marking replacements', () => {
    const steps: Step[] = [];
    for (let i = 0; i < 20; i++) {
      const objects: SceneObject[] = [a({ ...SMALL, w: 40 + (i % 7), score: 0.5 + ((i * 37) % 50) / 100 })];
      if (i >= 5) objects.push(b({ ...BIG, score: 0.6 + ((i * 13) % 40) / 100, cx: 300 + i }));
      steps.push({ objects });
    }
    const spec = run('spec', steps).decisions.map((d) => d.imageId);
    const rq = run('replace-queued', steps).decisions.map((d) => d.imageId);
    assert.deepEqual(rq, spec);
    assert.ok(spec.length > 2);
  });
});

describe('createPolicy', () => {
  it('builds every named policy and rejects unknown names', () => {
    for (const name of POLICY_NAMES) assert.equal(createPolicy(name).name, name);
    assert.throws(() => createPolicy('best' as PolicyName), {
      name: 'TypeError',
      message:
        "Expected one of spec, every-frame, interval, frigate, frigate-quality, final-best, replace-queued, shared-best, deadline-cover, budget for policy but received 'best' of type string",
    });
  });
});
