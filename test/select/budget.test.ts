/**
 * 'budget' (SPEC "Beyond the method": a bandwidth budget that sends the most
 * valuable packages first): within the budget, the frame of most value per
 * byte — several objects never sent before one — goes first; the FIFO
 * comparison (budgetValueFirst 0) sends the oldest waiting object's best
 * image; what does not fit is counted, never lost silently; every frame
 * reference is released (runPolicy's ring of capacity 1).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BudgetPolicy, FrameRing, createPolicy, type PolicyDecision, type PolicyOptions } from '../../src/select/index.js';
import { H, Scene, W, randomScene, runPolicy, short, type Step, jamSteps } from './fixtures.js';

/** One package costs 0.15 B/px × 640 × 480 = 46 080 B: at this rate, one package per second; the bucket starts empty. */
const ONE_PER_S = { budgetBytesPerS: 0.15 * W * H, budgetBurstS: 1 };
const car = (cx: number, w: number) => ({ cx, cy: 240, w, h: w, score: 0.9 });
const idle = (n: number): Step[] => Array.from({ length: n }, (): Step => ({ objects: [] }));

/** Object 1 alone for 5 frames, then with object 2 for 5 frames; both end at frame 9. */
const TWO: Step[] = [
  ...Array.from({ length: 5 }, (): Step => ({ objects: [{ id: 1, box: car(400, 100) }] })),
  ...Array.from({ length: 5 }, (): Step => ({ objects: [{ id: 1, box: car(400, 100) }, { id: 2, box: car(150, 100) }] })),
  ...idle(20),
];
TWO[9]!.end = [1, 2];

/**
 * runPolicy with the camera's reports: each package's bytes (`bytesOf`) are
 * reported to the policy before the next frame, as the runtime's camera
 * does once it built the package (CameraTask.packageBytes).
 */
function runReported(steps: Step[], options: PolicyOptions, bytesOf: (d: PolicyDecision) => number): { log: string[]; policy: BudgetPolicy; sent: { atNs: bigint; bytes: number }[] } {
  const ring = new FrameRing<string>({ capacity: 1 });
  const policy = createPolicy('budget', { ...options, refs: ring }) as BudgetPolicy;
  const scene = new Scene();
  const log: string[] = [];
  const sent: { atNs: bigint; bytes: number }[] = [];
  const unreported: [number, number][] = [];
  const consume = (at: number | 'flush', ds: readonly PolicyDecision[]): void => {
    for (const d of ds) {
      ring.release(d.imageId);
      const bytes = bytesOf(d);
      unreported.push([d.imageId, bytes]);
      sent.push({ atNs: d.decidedAtNs, bytes });
      log.push(`@${at} ${short(d)}`);
    }
  };
  const report = (): void => {
    for (const [imageId, bytes] of unreported.splice(0)) policy.onPackageBytes(imageId, bytes);
  };
  steps.forEach((step, i) => {
    report();
    const { frame, tracks } = scene.frame(step.objects);
    ring.put(frame.imageId, `pixels ${frame.imageId}`);
    consume(i, policy.onFrame(frame, tracks));
    if (step.end) consume(i, policy.onTrackEnd(scene.end(...step.end)));
  });
  report();
  consume('flush', policy.flush());
  assert.equal(ring.stats().referenced, 0, 'every reference released after flush');
  return { log, policy, sent };
}

/** The crops of a decision's selected objects at `bytesPerPixel` per box pixel (what a camera reports, in these tests). */
const cropBytes = (bytesPerPixel: number) => (d: PolicyDecision): number => d.selected.reduce((a, s) => a + bytesPerPixel * s.entry.box.w * s.entry.box.h, 0);

describe("'budget'", () => {
  it('value first: the first affordable package is a frame that shows both never-sent objects', () => {
    // Tokens reach one package at 1.0 s (frame 10), when frames 5–9 show both objects.
    assert.deepEqual(runPolicy('budget', TWO, ONE_PER_S).log, ['@10 immediate 5 [1,2]']);
  });

  it('FIFO (budgetValueFirst 0): the best image of the object seen first, the other a package later', () => {
    assert.deepEqual(runPolicy('budget', TWO, { ...ONE_PER_S, budgetValueFirst: 0 }).log, ['@10 immediate 0 [1]', '@20 immediate 5 [2]']);
  });

  it('an object already sent is worth budget again only when its quality grew by reSendQualityGrowth', () => {
    const steps = (wLater: number): Step[] => [
      ...Array.from({ length: 11 }, (): Step => ({ objects: [{ id: 1, box: car(400, 100) }] })), // sent at 1.0 s
      ...Array.from({ length: 10 }, (): Step => ({ objects: [{ id: 1, box: car(400, wLater) }] })),
      { objects: [], end: [1] },
      ...idle(15),
    ];
    // Area × 1.21 (110 px): below 1.25 × the sent quality — nothing more. Area × 1.44 (120 px): sent again once the bucket is full (2.0 s).
    assert.deepEqual(runPolicy('budget', steps(110), ONE_PER_S).log, ['@10 immediate 0 [1]']);
    assert.deepEqual(runPolicy('budget', steps(120), ONE_PER_S).log, ['@10 immediate 0 [1]', '@20 immediate 11 [1]']);
  });

  it('crops cost (budgetCropBytesPerPixel): a package costs the boxes of the objects it is worth something for, so a small object is affordable sooner', () => {
    // 1 B per box pixel; 10 000 B/s. A 100×100 box costs 10 000 B (affordable at 1.0 s), a 50×50 one 2 500 B (at 0.3 s: 3 000 B).
    const opts = { budgetBytesPerS: 10_000, budgetBurstS: 1, budgetCropBytesPerPixel: 1 };
    const one = (w: number): Step[] => [...Array.from({ length: 12 }, (): Step => ({ objects: [{ id: 1, box: car(400, w) }] })), { objects: [], end: [1] }];
    assert.deepEqual(runPolicy('budget', one(100), opts).log, ['@10 immediate 0 [1]']);
    assert.deepEqual(runPolicy('budget', one(50), opts).log, ['@3 immediate 0 [1]']);
    // A second object never sent is worth something, so its crop is paid for too: 2 500 + 1 600 B, at 0.5 s.
    const withEdge: Step[] = one(50).map((s, i) => (i < 12 ? { objects: [...s.objects, { id: 2, box: { cx: 20, cy: 240, w: 40, h: 40, score: 0.4 } }] } : s));
    assert.equal(runPolicy('budget', withEdge, opts).log[0], '@5 immediate 0 [1,2]');
    // An object already sent adds no cost (its crop buys nothing, the package shows only the selected, cropsOf 'selected'):
    // object 3 joins at frame 5 beside object 1, sent at 0.3 s; its package costs 2 500 B, affordable at once (500 + 2 000 B).
    // Were object 1's crop paid for again (5 000 B) it would wait until 0.8 s.
    const joined: Step[] = [
      ...Array.from({ length: 5 }, (): Step => ({ objects: [{ id: 1, box: car(300, 50) }] })),
      ...Array.from({ length: 6 }, (): Step => ({ objects: [{ id: 1, box: car(300, 50) }, { id: 3, box: car(500, 50) }] })),
      { objects: [], end: [1, 3] },
    ];
    assert.deepEqual(runPolicy('budget', joined, opts).log, ['@3 immediate 0 [1]', '@5 immediate 5 [3]']);
    assert.equal(createPolicy('budget', opts).cropsOf, 'selected');
    assert.equal(createPolicy('shared-best').cropsOf, undefined);
  });

  it('what does not fit is counted: an ended object never sent is dropped budgetMaxWaitS after its end, and at end of stream', () => {
    const ring = new FrameRing<string>({ capacity: 1 });
    // A package every 10 s: nothing is affordable in this short scene.
    const policy = createPolicy('budget', { ...ONE_PER_S, budgetBytesPerS: (0.15 * W * H) / 10, budgetBurstS: 10, budgetMaxWaitS: 0.5, refs: ring }) as BudgetPolicy;
    const scene = new Scene();
    let sent = 0;
    const consume = (ds: readonly { imageId: number }[]): void => {
      for (const d of ds) {
        ring.release(d.imageId);
        sent++;
      }
    };
    for (const [i, step] of TWO.slice(0, 16).entries()) {
      const { frame, tracks } = scene.frame(step.objects);
      ring.put(frame.imageId, `f${i}`);
      consume([...policy.onFrame(frame, tracks), ...policy.onTrackEnd(scene.end(...(step.end ?? [])))]);
    }
    // Both ended at 0.9 s; by 1.5 s they have waited more than 0.5 s.
    assert.equal(policy.counters.dropped, 2);
    const { frame, tracks } = scene.frame([{ id: 3, box: car(300, 80) }]);
    ring.put(frame.imageId, 'f16');
    consume(policy.onFrame(frame, tracks));
    consume(policy.flush()); // object 3 is left at end of stream
    assert.equal(sent, 0);
    assert.equal(policy.counters.sent, 0);
    assert.equal(policy.counters.dropped, 3);
    assert.equal(ring.stats().referenced, 0);
  });

  it('counts the value of every package sent, with the objects it sent for the first time', () => {
    const ring = new FrameRing<string>({ capacity: 1 });
    const policy = createPolicy('budget', { ...ONE_PER_S, refs: ring, recordSends: true }) as BudgetPolicy;
    const scene = new Scene();
    for (const step of TWO) {
      const { frame, tracks } = scene.frame(step.objects);
      ring.put(frame.imageId, 'f');
      for (const d of [...policy.onFrame(frame, tracks), ...policy.onTrackEnd(scene.end(...(step.end ?? [])))]) ring.release(d.imageId);
    }
    for (const d of policy.flush()) ring.release(d.imageId);
    assert.equal(policy.counters.sent, 1);
    assert.equal(policy.counters.sends.length, 1);
    assert.equal(policy.counters.sends[0]!.newObjects, 2);
    assert.equal(policy.counters.sends[0]!.atNs, 1_000_000_000n);
    assert.equal(policy.counters.sends[0]!.value, 4); // 2 objects × (1 never sent + 1 at their best)
  });

  it("a camera's policy (no recordSends) keeps no per-package history: counters.sends grew by one per package for as long as the camera ran", () => {
    // 2000 objects one after another, each sent: a day of a quiet road in miniature.
    const steps: Step[] = [];
    for (let k = 1; k <= 2000; k++) {
      steps.push({ objects: [{ id: k, box: car(400, 100) }] }, { objects: [{ id: k, box: car(400, 100) }], end: [k] }, ...idle(8));
    }
    steps.push(...idle(20));
    const ring = new FrameRing<string>({ capacity: 1 });
    const policy = createPolicy('budget', { ...ONE_PER_S, refs: ring }) as BudgetPolicy;
    const scene = new Scene();
    for (const step of steps) {
      const { frame, tracks } = scene.frame(step.objects);
      ring.put(frame.imageId, 'f');
      for (const d of [...policy.onFrame(frame, tracks), ...policy.onTrackEnd(scene.end(...(step.end ?? [])))]) ring.release(d.imageId);
    }
    for (const d of policy.flush()) ring.release(d.imageId);
    assert.equal(policy.counters.sent, 2000);
    assert.equal(policy.counters.sends.length, 0);
  });

  it('the bucket pays the bytes each package took (onPackageBytes), and the estimates that follow learn their ratio to the bytes', () => {
    // 1 B per box pixel estimated; 10 000 B/s, a bucket of 1 s. Object 1 (10 000 B) is sent at 1.0 s; object 2, as large, joins at 1.1 s.
    const opts = { budgetBytesPerS: 10_000, budgetBurstS: 1, budgetCropBytesPerPixel: 1 };
    const steps: Step[] = Array.from({ length: 41 }, (_, i): Step => ({ objects: [{ id: 1, box: car(200, 100) }, ...(i >= 11 ? [{ id: 2, box: car(450, 100) }] : [])] }));
    steps[40]!.end = [1, 2];
    // The crops took half the estimate: the 5 000 B left over and a 5 000 B estimate for object 2 send it at once (1.1 s), not at 2.0 s.
    const half = runReported(steps, opts, cropBytes(0.5));
    assert.deepEqual(half.log, ['@10 immediate 0 [1]', '@11 immediate 11 [2]']);
    assert.deepEqual({ reported: half.policy.counters.reported, estimated: half.policy.counters.estimatedBytes, actual: half.policy.counters.actualBytes }, { reported: 2, estimated: 15_000, actual: 10_000 });
    // Twice the estimate: the bucket is 10 000 B in debt and object 2 costs 20 000 B, more than the bucket holds: it goes when the bucket is full (3.0 s).
    assert.deepEqual(runReported(steps, opts, cropBytes(2)).log, ['@10 immediate 0 [1]', '@30 immediate 11 [2]']);
    // As estimated: 2.0 s.
    assert.deepEqual(runReported(steps, opts, cropBytes(1)).log, ['@10 immediate 0 [1]', '@20 immediate 11 [2]']);
    // Reports of packages it did not send are ignored; a bad count is refused by name.
    const p = createPolicy('budget', opts) as BudgetPolicy;
    p.onPackageBytes(7, 1000);
    assert.equal(p.counters.reported, 0);
    assert.throws(() => p.onPackageBytes(7, -1), { name: 'RangeError', message: 'Expected non-negative number for bytes but received -1 of type number' });
  });

  it('spends at most the budget over any span from the start, plus one package, whatever the bytes per pixel the estimate is off by', () => {
    const opts = { budgetBytesPerS: 4_000, budgetBurstS: 5, budgetCropBytesPerPixel: 1 };
    for (const seed of [3, 11, 42]) {
      const { steps } = randomScene(seed);
      for (const truth of [0.4, 1, 2.5]) {
        const { sent } = runReported(steps, opts, cropBytes(truth));
        assert.ok(sent.length > 5, `seed ${seed}, ×${truth}: ${sent.length} packages`);
        const largest = Math.max(...sent.map((x) => x.bytes));
        let total = 0;
        for (const x of sent) {
          total += x.bytes;
          const budget = (opts.budgetBytesPerS * Number(x.atNs)) / 1e9;
          assert.ok(total <= budget + largest + 1e-6, `seed ${seed}, ×${truth}: ${total.toFixed(0)} B sent by ${Number(x.atNs) / 1e9} s, budget ${budget.toFixed(0)} B + ${largest.toFixed(0)}`);
        }
      }
    }
  });

  it('never gives up on an object while the bucket holds the tokens for its crop: at end of stream', () => {
    // Two 100×100 objects: a package of both costs 20 000 B; at the end (1.4 s) the bucket holds 14 000 B, one crop's worth.
    const opts = { budgetBytesPerS: 10_000, budgetBurstS: 10, budgetCropBytesPerPixel: 1 };
    const steps: Step[] = Array.from({ length: 15 }, (): Step => ({ objects: [{ id: 1, box: car(200, 100) }, { id: 2, box: car(450, 100) }] }));
    steps[14]!.end = [1, 2];
    assert.deepEqual(runPolicy('budget', steps, opts).log, ['@flush immediate 0 [1]']);
    const p = createPolicy('budget', opts) as BudgetPolicy;
    const scene = new Scene();
    for (const step of steps) {
      const { frame, tracks } = scene.frame(step.objects);
      p.onFrame(frame, tracks);
      if (step.end) p.onTrackEnd(scene.end(...step.end));
    }
    p.flush();
    assert.deepEqual({ sent: p.counters.sent, dropped: p.counters.dropped }, { sent: 1, dropped: 1 });
  });

  it('never gives up on an object while the bucket holds the tokens for its crop: budgetMaxWaitS after its end, past a larger package it saves for', () => {
    // Object 1 (50×50: 2 500 B) ends at 0.2 s beside objects 2 and 3 (150×150: 22 500 B each), which stay. The package of most value
    // per byte shows all three (47 500 B, affordable at 4.8 s); object 1 is due at 1.3 s, when the bucket holds 13 000 B.
    const opts = { budgetBytesPerS: 10_000, budgetBurstS: 10, budgetMaxWaitS: 1, budgetCropBytesPerPixel: 1 };
    const big = [
      { id: 2, box: car(300, 150) },
      { id: 3, box: car(500, 150) },
    ];
    const steps: Step[] = [
      ...Array.from({ length: 3 }, (): Step => ({ objects: [{ id: 1, box: car(100, 50) }, ...big] })),
      ...Array.from({ length: 58 }, (): Step => ({ objects: big })),
    ];
    steps[2]!.end = [1];
    steps[60]!.end = [2, 3];
    const { log } = runPolicy('budget', steps, opts);
    assert.equal(log[0], '@13 immediate 0 [1]');
    assert.ok(log.slice(1).some((l) => l.endsWith('[2,3]')), log.join('; '));
  });

  it('a parked car whose detection blinks for a frame now and then is one object: sent once in 10 simulated minutes (segmentResumeIoU 0.7), a car that moved is a new segment', () => {
    // The detector misses the still car one frame in 20 (segmentGapFrames 1
    // breaks its chain each time). Each blink started a new object, worth a
    // package like a car never seen: 300 packages of the same still car.
    const steps: Step[] = [];
    for (let i = 0; i < 6000; i++) steps.push({ objects: i % 20 === 19 ? [] : [{ id: 1, box: car(400, 100) }] });
    steps[5999]!.end = [1];
    const still = runPolicy('budget', steps, ONE_PER_S);
    assert.equal(still.decisions.length, 1, still.log.slice(0, 5).join('; '));
    // The identity rule is kept where the box did not stay: a chain that resumes elsewhere is a new segment.
    const moved: Step[] = [...Array.from({ length: 30 }, (): Step => ({ objects: [{ id: 1, box: car(200, 100) }] })), { objects: [] }];
    moved.push(...Array.from({ length: 30 }, (): Step => ({ objects: [{ id: 1, box: car(450, 100) }] })), ...idle(20));
    moved[60]!.end = [1];
    assert.equal(runPolicy('budget', moved, ONE_PER_S).decisions.length, 2);
  });

  it('a traffic jam: 60 still cars hold no frames worth nothing to them once sent', () => {
    // Scores flicker independently, so each car's top shareCandidates frames
    // are different frames; a sent car's candidates below reSendQualityGrowth
    // × its sent quality can never be worth budget. Kept, they held ~60 × 16 frames for the whole jam.
    const steps = jamSteps(11, 0.8, 0.1);
    let heldLate = 0;
    let step = 0;
    // A budget that affords every car within the first minute.
    const { decisions } = runPolicy('budget', steps, { budgetBytesPerS: 20 * 0.15 * W * H, budgetBurstS: 1 }, (ring) => {
      if (step++ >= 600) heldLate = Math.max(heldLate, ring.stats().referenced);
    });
    const selected = new Set(decisions.flatMap((d) => d.selected.map((x) => x.trackId)));
    assert.equal(selected.size, 60, 'every car sent');
    assert.ok(heldLate <= 20, `frames held in the second minute: ${heldLate}`);
  });

  it('refuses a bad budget by name', () => {
    assert.throws(() => createPolicy('budget', { budgetBytesPerS: 0 }), { name: 'RangeError', message: 'Expected positive number for budgetBytesPerS but received 0 of type number' });
    assert.throws(() => createPolicy('budget', { budgetValueFirst: 2 }), { name: 'RangeError', message: 'Expected number between 0 and 1 for budgetValueFirst but received 2 of type number' });
  });
});
