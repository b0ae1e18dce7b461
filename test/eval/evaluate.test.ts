import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateInput, type EvalFrame, type EvalInput, type PolicyResult } from '../../src/eval/index.js';
import { BudgetPolicy, edgeDistance, type BudgetCounters } from '../../src/select/index.js';
import type { Box } from '../../src/types.js';

const MS = 1_000_000n;
const det = (cx: number, cy: number, w: number, h: number, score = 0.9): Box => ({ cx, cy, w, h, angle: 0, classId: 2, label: 'car', score });

/**
 * 400×400, five frames at 10 Hz.
 * A: one car moving right and growing; clipped by the left border in frame 0
 *    (its detection is the clipped part), whole from frame 1, largest in frame 4.
 * B: visible and whole in frames 2–3 but never detected (eligible, not coverable).
 * C: only seen clipped (not eligible).
 */
function handMade(): EvalInput {
  const a = [
    { cx: 18, w: 40 },
    { cx: 30, w: 40 },
    { cx: 42, w: 44 },
    { cx: 54, w: 48 },
    { cx: 66, w: 52 },
  ];
  const frames: EvalFrame[] = a.map((g, k) => {
    const detection = k === 0 ? det(19, 200, 38, 40) : det(g.cx, 200, g.w, g.w);
    const gt = [{ objectId: 'A', box: { cx: g.cx, cy: 200, w: g.w, h: k === 0 ? 40 : g.w }, visible: true }];
    if (k === 2 || k === 3) gt.push({ objectId: 'B', box: { cx: 300, cy: 100, w: 30, h: 30 }, visible: true });
    if (k === 0) gt.push({ objectId: 'C', box: { cx: 395, cy: 300, w: 20, h: 20 }, visible: true });
    return { imageId: k, timestampNs: BigInt(k) * 100n * MS, detections: [detection], jpegBytes: 1000 + k, sharpness: [10 + k], gt };
  });
  return { name: 'hand', kind: 'sim', path: '-', width: 400, height: 400, hz: 10, groundTruth: 'sim-exact', detectionSource: 'hand', frames, notes: [] };
}

const by = (results: PolicyResult[], name: string): PolicyResult => results.find((r) => r.policy === name)!;

describe('evaluateInput on a hand-made sequence (known answers)', () => {
  const rep = evaluateInput(handMade(), { policies: ['every-frame', 'interval', 'spec', 'frigate'] });

  it('counts objects: total, eligible (visible and unclipped somewhere), coverable (matched there)', () => {
    assert.deepEqual(rep.objects, { total: 3, eligible: 2, coverable: 1 });
    assert.equal(rep.tracks, 1);
  });

  it('every-frame: 5 packages, all bytes; coverage 1/2 of eligible and 1/1 of coverable', () => {
    const ef = by(rep.policies, 'every-frame');
    assert.equal(ef.packages, 5);
    assert.equal(ef.bytes, 5010);
    assert.equal(ef.reduction, 1);
    assert.equal(ef.coverage, 0.5);
    assert.equal(ef.coverageOfCoverable, 1);
    assert.equal(ef.packagesPerObject, 5 / 3);
  });

  it("every-frame's best image of A is frame 4: area ratio 1, its score, S3 edge 40, its crop sharpness", () => {
    const a = by(rep.policies, 'every-frame').objects.find((o) => o.objectId === 'A')!;
    assert.deepEqual(a.best, { imageId: 4, areaRatio: 1, score: 0.9, edge: 40, sharpness: 14 });
    assert.equal(a.best!.edge, edgeDistance(det(66, 200, 52, 52), 400, 400));
  });

  it('time to first upload: first covering delivery (frame 1, 0.1 s) minus first visible frame (0)', () => {
    const ef = by(rep.policies, 'every-frame');
    assert.equal(ef.objects.find((o) => o.objectId === 'A')!.timeToFirstUploadS, 0.1);
    assert.equal(ef.objects.find((o) => o.objectId === 'B')!.timeToFirstUploadS, null);
  });

  it('when the first covering delivery came, from the input’s start (the coverage-over-time curve)', () => {
    assert.equal(by(rep.policies, 'every-frame').objects.find((o) => o.objectId === 'A')!.firstUploadAtS, 0.1);
    assert.equal(by(rep.policies, 'spec').objects.find((o) => o.objectId === 'A')!.firstUploadAtS, 1);
    assert.equal(by(rep.policies, 'interval').objects.find((o) => o.objectId === 'A')!.firstUploadAtS, null);
  });

  it('why a coverable object was lost: interval delivered its track only in frame 0, where A is clipped', () => {
    const a = by(rep.policies, 'interval').objects.find((o) => o.objectId === 'A')!;
    assert.deepEqual(a.lost, { kind: 'other-frames', trackIds: [1], deliveredImageIds: [0] });
    // Covered, or not coverable at all (B was never detected): no reason.
    assert.equal(by(rep.policies, 'every-frame').objects.find((o) => o.objectId === 'A')!.lost, null);
    assert.equal(by(rep.policies, 'interval').objects.find((o) => o.objectId === 'B')!.lost, null);
    // With minEdge1 above every view's edge distance (40 px at most), every view is "near the border".
    const strict = evaluateInput(handMade(), { policies: ['interval'], policyOptions: { params: { minEdge1: 41, minEdge2: 60 } } });
    assert.equal(by(strict.policies, 'interval').objects.find((o) => o.objectId === 'A')!.lost!.kind, 'border');
  });

  it('interval sends only frame 0, where A is clipped: 5.01× fewer bytes and nothing covered', () => {
    const iv = by(rep.policies, 'interval');
    assert.equal(iv.packages, 1);
    assert.equal(iv.bytes, 1000);
    assert.equal(iv.reduction, 5.01);
    assert.equal(iv.covered, 0);
    assert.equal(iv.coverage, 0);
    assert.ok(Number.isNaN(iv.timeToFirstUploadS.p50));
    assert.equal(iv.goal.met, false);
  });

  it('spec: each frame is better (S2: edge 0→10→…→40, area grows) and cached (S5 area ratio < 0.02); the queue peaks at 5 and frame 1 leaves at 1.0 s', () => {
    const sp = by(rep.policies, 'spec');
    assert.equal(sp.packages, 5);
    assert.equal(sp.immediate, 0);
    assert.equal(sp.queue.peakDepth, 5);
    assert.equal(sp.objects.find((o) => o.objectId === 'A')!.timeToFirstUploadS, 1);
    assert.equal(sp.coverageOfCoverable, 1);
  });

  it('frigate: area +44 % > 10 % moves its best to frames 2, 3, 4 (frame 1 is only +5 %); sent once at the end (0.4 s)', () => {
    const fr = by(rep.policies, 'frigate');
    assert.equal(fr.packages, 1);
    const a = fr.objects.find((o) => o.objectId === 'A')!;
    assert.equal(a.best!.imageId, 4);
    assert.equal(a.timeToFirstUploadS, 0.4);
    assert.equal(fr.vsFrigate, null);
  });

  it('quality is paired with frigate on the objects both cover', () => {
    const v = by(rep.policies, 'every-frame').vsFrigate!;
    assert.deepEqual(v, { objects: 1, areaRatioDelta: 0, scoreDelta: 0, qualityDelta: 0, edgeDelta: 0, sharpnessRatio: 1, areaAtLeast: 1 });
    assert.equal(by(rep.policies, 'interval').vsFrigate!.objects, 0);
  });

  it('the hindsight cover needs one frame: the cheapest that covers A (frame 1)', () => {
    assert.deepEqual(rep.oracleCover, { packages: 1, bytes: 1001, reduction: 5010 / 1001 });
  });

  it('every policy is run on the same tracks even when every-frame is not named', () => {
    const r = evaluateInput(handMade(), { policies: ['spec'] });
    assert.deepEqual(r.policies.map((p) => p.policy), ['every-frame', 'spec']);
    assert.throws(() => evaluateInput(handMade(), { policies: ['best' as 'spec'] }), {
      name: 'TypeError',
      message: "Expected one of spec, every-frame, interval, frigate, frigate-quality, final-best, replace-queued, shared-best, deadline-cover, budget for policies but received 'best' of type string",
    });
  });
});

describe('evaluateInput: quality score and sharpness against the sharpest view (crop measures given)', () => {
  const input = handMade();
  const sharp = [1, 1, 3, 1, 0.5];
  for (const [k, f] of input.frames.entries()) f.crops = [{ sharpness: sharp[k]!, highlights: 0, shadows: 0, mean: 128 }];
  const rep = evaluateInput(input, { policies: ['every-frame', 'interval', 'frigate'] });
  const objA = (name: string) => by(rep.policies, name).objects.find((o) => o.objectId === 'A')!;

  it('every-frame delivers the best view there was: quality ratio 1, sharpness 1 × the sharpest', () => {
    assert.equal(objA('every-frame').qualityRatio, 1);
    assert.equal(objA('every-frame').sharpVsSharpest, 1);
  });

  it("frigate keeps the largest (frame 4), blind to its blur: sharpness 0.5 / 3 of the sharpest unclipped view", () => {
    assert.equal(objA('frigate').best!.imageId, 4);
    assert.equal(objA('frigate').sharpVsSharpest, 0.5 / 3);
    assert.ok(objA('frigate').qualityRatio! < 1);
  });

  it('an object not covered has neither; the fraction of the hindsight bound is reduction / bound', () => {
    assert.equal(objA('interval').qualityRatio, null);
    assert.equal(objA('interval').sharpVsSharpest, null);
    for (const r of rep.policies) assert.equal(r.ofBound, r.reduction / rep.oracleCover.reduction);
  });
});

describe("evaluateInput: upload.content 'crops' carries every qualifying, unclipped track of a delivered frame", () => {
  /**
   * 400×400, three frames. A car grows (best in frame 2). B shrinks (best in
   * frame 0); its ground truth is split in two objects, B1 (frame 0) and B2
   * (frames 1–2), as the detector fallback splits a track. Frigate sends
   * frame 0 for B and frame 2 for A: B2 is only in frame 2, where B is not a
   * selected object and is smaller than the crop of it already sent.
   */
  function splitB(): EvalInput {
    const a = [40, 50, 60];
    const b = [60, 50, 40];
    const frames: EvalFrame[] = [0, 1, 2].map((k) => ({
      imageId: k,
      timestampNs: BigInt(k) * 100n * MS,
      detections: [det(100, 200, a[k]!, a[k]!), det(300, 200, b[k]!, b[k]!)],
      jpegBytes: 10_000,
      sharpness: [1, 1],
      cropJpegBytes: [100 + a[k]!, 100 + b[k]!],
      contextJpegBytes: 2000,
      gt: [
        { objectId: 'A', box: { cx: 100, cy: 200, w: a[k]!, h: a[k]! }, visible: true },
        { objectId: k === 0 ? 'B1' : 'B2', box: { cx: 300, cy: 200, w: b[k]!, h: b[k]! }, visible: true },
      ],
    }));
    return { name: 'split', kind: 'sim', path: '-', width: 400, height: 400, hz: 10, groundTruth: 'sim-exact', detectionSource: 'hand', frames, notes: [] };
  }
  const rep = evaluateInput(splitB(), { policies: ['every-frame', 'frigate'] });
  const fr = by(rep.policies, 'frigate');

  it('frigate sends frames 0 and 2; their crops cover A, B1 and B2 as the frames do', () => {
    assert.equal(fr.packages, 2);
    assert.equal(fr.covered, 3);
    assert.equal(fr.content!.crops.covered, 3);
    assert.equal(fr.content!.crops.coverageOfCoverable, 1);
    // Both tracks cropped in both packages: (100 + 40) + (100 + 60) + (100 + 60) + (100 + 40).
    assert.equal(fr.content!.crops.bytes, 600);
    assert.equal(fr.content!['frame+crops'].bytes, 600 + 2 * 2000);
  });

  it('crops are paired with frigate’s best frames: the same views, so no difference', () => {
    assert.deepEqual(fr.content!.crops.vsFrigate, { objects: 3, areaRatioDelta: 0, qualityDelta: 0 });
  });

  it("packageBytes: each package's measured bytes in that content reach its policy before the next frame, as the camera reports them ('budget' pays them)", () => {
    const input = splitB();
    // Two empty frames after, so every package is decided before a later frame reports it.
    for (const k of [3, 4]) input.frames.push({ ...input.frames[2]!, imageId: k, timestampNs: BigInt(k) * 100n * MS, detections: [], sharpness: [], cropJpegBytes: [], gt: [] });
    const run = (packageBytes?: 'crops'): { counters: BudgetCounters; crops: number } => {
      let counters: BudgetCounters | undefined;
      const r = evaluateInput(input, {
        policies: ['budget'],
        policyOptions: { budgetBytesPerS: 1_000_000, budgetCropBytesPerPixel: 1 },
        ...(packageBytes ? { packageBytes } : {}),
        onPolicy: (p) => {
          if (p instanceof BudgetPolicy) counters = p.counters;
        },
      });
      return { counters: counters!, crops: by(r.policies, 'budget').content!.crops.bytes };
    };
    const reported = run('crops');
    assert.ok(reported.counters.sent > 0);
    assert.equal(reported.counters.reported, reported.counters.sent);
    assert.equal(reported.counters.actualBytes, reported.crops);
    assert.equal(run().counters.reported, 0);
  });
});

describe("the evaluation's tracker is the product's (config defaults at captureHz = the input's hz)", () => {
  // A parked car the detector misses for 1.5 s (15 frames at 10 Hz), then sees again. T2: `bestshot run`
  // keeps a lost track trackBuffer = 30 frames (config/adapters.ts trackerOptions), so it is one track.
  // The evaluation used to give ByteTrack the input's hz as its frame rate, which scales the buffer to
  // 10 frames: two tracks, a second upload the product would not make.
  it('a car missed for 15 frames stays one track, as in bestshot run', () => {
    const frames: EvalFrame[] = [];
    for (let k = 0; k < 35; k++) {
      const seen = k < 10 || k >= 25;
      frames.push({
        imageId: k,
        timestampNs: BigInt(k) * 100n * MS,
        detections: seen ? [det(200, 200, 60, 60)] : [],
        jpegBytes: 1000,
        sharpness: seen ? [10] : [],
        gt: [{ objectId: 'A', box: { cx: 200, cy: 200, w: 60, h: 60 }, visible: true }],
      });
    }
    const input: EvalInput = { name: 'parked', kind: 'sim', path: '-', width: 400, height: 400, hz: 10, groundTruth: 'sim-exact', detectionSource: 'hand', frames, notes: [] };
    assert.equal(evaluateInput(input, { policies: ['spec'] }).tracks, 1);
    // The option still overrides: upstream's time-based buffer (1 s at 10 Hz) splits it.
    assert.equal(evaluateInput(input, { policies: ['spec'], tracker: { frameRate: 10 } }).tracks, 2);
  });
});
