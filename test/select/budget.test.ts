/**
 * 'budget' (SPEC "Beyond the method": a bandwidth budget that sends the most
 * valuable packages first): within the budget, objects never sent go before
 * improvements of objects already sent; what does not fit is counted, never
 * lost silently; every frame reference is released (runPolicy's ring).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BudgetPolicy, FrameRing, createPolicy } from '../../src/select/index.js';
import { H, Scene, W, runPolicy, type Step } from './fixtures.js';

/** One package costs 0.15 B/px × 640 × 480 = 46 080 B: at this rate and a 1 s bucket, one package per second. */
const ONE_PER_S = { budgetBytesPerS: 0.15 * W * H, budgetBurstS: 1, maxLatencyS: 0.1 };
const car = (cx: number, w: number) => ({ cx, cy: 240, w, h: w, score: 0.9 });

const STEPS: Step[] = [
  { objects: [{ id: 1, box: car(400, 100) }] },
  { objects: [{ id: 1, box: car(400, 100) }] }, // object 1 due (0.1 s): sent at once (the bucket is full)
  { objects: [{ id: 1, box: car(400, 130) }] }, // grown 69 %: waits again
  { objects: [{ id: 1, box: car(400, 130) }], end: [1] }, // due: an improvement, pooled (no budget left)
  { objects: [{ id: 2, box: car(150, 100) }] }, // a new object
  { objects: [{ id: 2, box: car(150, 100) }], end: [2] }, // ends: pooled, never sent → value 2
  ...Array.from({ length: 20 }, (): Step => ({ objects: [] })),
];

describe("'budget'", () => {
  it('sends within the budget, objects never sent first: object 2 (new) before object 1’s improvement', () => {
    const { log } = runPolicy('budget', STEPS, ONE_PER_S);
    assert.deepEqual(
      log.map((l) => l.replace(/ immediate \d+ /, ' immediate ')),
      ['@1 immediate [1]', '@11 immediate [2]', '@21 immediate [1]'],
    );
  });

  it('with an ample budget it sends what shared-best sends, immediately', () => {
    const ample = { ...ONE_PER_S, budgetBytesPerS: 1e9 };
    const b = runPolicy('budget', STEPS, ample).log;
    const s = runPolicy('shared-best', STEPS, { maxLatencyS: 0.1 }).log.map((l) => l.replace(/ cached /, ' immediate '));
    assert.deepEqual(b, s);
  });

  it('what does not fit is counted: dropped after budgetMaxWaitS (and at end of stream), never lost silently', () => {
    const ring = new FrameRing<string>({ capacity: 1 });
    const policy = createPolicy('budget', { ...ONE_PER_S, budgetMaxWaitS: 0.5, refs: ring }) as BudgetPolicy;
    const scene = new Scene();
    let sent = 0;
    for (const [i, step] of STEPS.slice(0, 12).entries()) {
      const { frame, tracks } = scene.frame(step.objects);
      ring.put(frame.imageId, `f${i}`);
      for (const d of [...policy.onFrame(frame, tracks), ...policy.onTrackEnd(scene.end(...(step.end ?? [])))]) {
        ring.release(d.imageId);
        sent++;
      }
    }
    // By 1.1 s both pooled packages have waited more than 0.5 s: dropped before the bucket refilled.
    assert.equal(policy.counters.dropped, 2);
    for (const d of policy.flush()) {
      ring.release(d.imageId);
      sent++;
    }
    assert.equal(sent, 1);
    assert.equal(policy.counters.sent, 1);
    assert.equal(policy.counters.sent + policy.counters.dropped + policy.counters.superseded, 3); // every selection accounted for
    assert.deepEqual(policy.counters.valueSent, [2]);
    assert.equal(ring.stats().referenced, 0);
  });

  it('refuses a bad budget by name', () => {
    assert.throws(() => createPolicy('budget', { budgetBytesPerS: 0 }), { name: 'RangeError', message: 'Expected positive number for budgetBytesPerS but received 0 of type number' });
  });
});
