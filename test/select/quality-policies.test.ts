/**
 * Decisions of the policies that rank by the quality score (select/quality.ts)
 * on hand-made sequences with crop measures: 'frigate-quality' (blur veto),
 * 'final-best', 'shared-best'; and 'spec' (S2) untouched by pixels.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runPolicy, type Step } from './fixtures.js';

/**
 * One car growing 20 % in area per frame; frame 2 is the largest so far but
 * blurred (sharpness 0.2 where the others have 1); the track ends after frame 3,
 * which is as large as frame 2 and sharp but clipped by the left border.
 */
const growing = (w: number) => ({ cx: 320, cy: 240, w, h: w, score: 0.8 });
const BLURRED: Step[] = [
  { objects: [{ id: 1, box: growing(100) }], crops: { 1: { sharpness: 1 } } },
  { objects: [{ id: 1, box: growing(110) }], crops: { 1: { sharpness: 1 } } },
  { objects: [{ id: 1, box: growing(121) }], crops: { 1: { sharpness: 0.2 } } },
  { objects: [{ id: 1, box: { cx: 60, cy: 240, w: 121, h: 121, score: 0.8 } }], crops: { 1: { sharpness: 1 } }, end: [1] },
];
const withoutPixels = (steps: Step[]): Step[] => steps.map(({ crops: _c, ...s }) => s);

describe("'frigate-quality': Frigate's rule with a blur veto", () => {
  it('Frigate takes the blurred, larger frame; the blur veto keeps the sharp one', () => {
    assert.deepEqual(runPolicy('frigate', BLURRED).log, ['@3 immediate 2 [1]']);
    assert.deepEqual(runPolicy('frigate-quality', BLURRED).log, ['@3 immediate 1 [1]']);
  });

  it('blurVeto 0 turns the veto off (then the larger frame wins by area, as Frigate)', () => {
    assert.deepEqual(runPolicy('frigate-quality', BLURRED, { blurVeto: 0 }).log, ['@3 immediate 2 [1]']);
  });

  it('without pixels it decides as Frigate does', () => {
    assert.deepEqual(runPolicy('frigate-quality', withoutPixels(BLURRED)).log, runPolicy('frigate', withoutPixels(BLURRED)).log);
  });
});

describe("'final-best' and 'shared-best' choose by the quality score", () => {
  it('the sharp frame 1 beats the blurred larger frame 2; the clipped frame 3 ranks last', () => {
    assert.deepEqual(runPolicy('final-best', BLURRED).log, ['@3 immediate 1 [1]']);
    assert.deepEqual(runPolicy('shared-best', BLURRED).log, ['@3 immediate 1 [1]']);
  });

  it('without pixels: the largest unclipped frame (area × score²)', () => {
    assert.deepEqual(runPolicy('final-best', withoutPixels(BLURRED)).log, ['@3 immediate 2 [1]']);
    assert.deepEqual(runPolicy('shared-best', withoutPixels(BLURRED)).log, ['@3 immediate 2 [1]']);
  });

  it('weightSharpness 0 ignores the blur', () => {
    assert.deepEqual(runPolicy('final-best', BLURRED, { weightSharpness: 0 }).log, ['@3 immediate 2 [1]']);
  });

  it('an over-exposed crop ranks below a well-exposed one of the same size', () => {
    const steps: Step[] = [
      { objects: [{ id: 1, box: growing(100) }], crops: { 1: { sharpness: 1 } } },
      { objects: [{ id: 1, box: growing(105) }], crops: { 1: { sharpness: 1, highlights: 0.6, mean: 230 } }, end: [1] },
    ];
    assert.deepEqual(runPolicy('final-best', steps).log, ['@1 immediate 0 [1]']);
    assert.deepEqual(runPolicy('final-best', withoutPixels(steps)).log, ['@1 immediate 1 [1]']);
  });

  it("'final-best' re-sends after its latency bound only when the quality grew by reSendQualityGrowth", () => {
    // maxLatencyS 0.1: frame 0's candidate is due at frame 1. Then +10 % area (quality ×1.1 < 1.25): no re-send;
    // then +44 % over the sent one: sent again at the end.
    const steps: Step[] = [
      { objects: [{ id: 1, box: growing(100) }] },
      { objects: [{ id: 1, box: growing(100) }] },
      { objects: [{ id: 1, box: growing(105) }] },
      { objects: [{ id: 1, box: growing(120) }], end: [1] },
    ];
    assert.deepEqual(runPolicy('final-best', steps.slice(0, 3).concat([{ objects: [{ id: 1, box: growing(105) }], end: [1] }]), { maxLatencyS: 0.1 }).log, [
      '@1 immediate 0 [1]',
    ]);
    assert.deepEqual(runPolicy('final-best', steps, { maxLatencyS: 0.1 }).log, ['@1 immediate 0 [1]', '@3 immediate 3 [1]']);
  });
});

describe("'spec' (S2) reads no pixels", () => {
  it('the same decisions with and without crop measures', () => {
    assert.deepEqual(runPolicy('spec', BLURRED).log, runPolicy('spec', withoutPixels(BLURRED)).log);
    assert.deepEqual(runPolicy('replace-queued', BLURRED).log, runPolicy('replace-queued', withoutPixels(BLURRED)).log);
  });
});
