/**
 * T2 association cue options (src/track/cues.ts): each scenario gives another
 * answer with the option than without it, so each test fails without its option.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { depthLevels, shapeSimilarity, trackletConfidence } from '../../src/track/cues.js';
import { ByteTracker, type TrackerOptions } from '../../src/track/index.js';
import { iouCost } from '../../src/track/matching.js';
import { TrackState } from '../../src/track/track-state.js';
import type { Box, FrameDetections } from '../../src/types.js';

function det(cx: number, cy: number, extra: Partial<Box> = {}): Box {
  return { cx, cy, w: 40, h: 100, angle: 0, classId: 0, label: 'person', score: 0.9, ...extra };
}

let imageId = 0;
function frame(boxes: Box[]): FrameDetections {
  imageId++;
  return { cameraId: 'cam0', imageId, timestampNs: BigInt(imageId) * 100_000_000n, exposureMode: 'manual', cameraPosition: null, width: 1920, height: 1080, boxes };
}

/** Feed `frames` to a fresh tracker; the ids reported on the last frame. */
function lastIds(options: TrackerOptions, frames: Box[][]): number[] {
  const t = new ByteTracker(options);
  let out: number[] = [];
  for (const boxes of frames) out = t.update(frame(boxes)).map((x) => x.trackId);
  return out.sort((a, b) => a - b);
}

describe('tracker cue options (T2)', () => {
  test('heightIou (Hybrid-SORT HMIoU): a box shifted down by 60 % of the height no longer matches', () => {
    // IoU 0.25 (× score 0.9 = 0.225 > 0.2 matches); height IoU 40/160 = 0.25 makes it 0.056.
    const frames = [[det(100, 100)], [det(100, 100)], [det(100, 100)], [det(100, 160)]];
    assert.deepEqual(lastIds({}, frames), [1]);
    assert.deepEqual(lastIds({ heightIou: true }, frames), []);
    const t = new TrackState(1, det(100, 100), 2, { group: 0, layout: 'xywh', deltaT: 3 });
    const plain = iouCost([t], [det(100, 160)], [0], false);
    const hm = iouCost([t], [det(100, 160)], [0], false, undefined, true);
    assert.ok(Math.abs(1 - plain[0]! - 0.25) < 1e-9 && Math.abs(1 - hm[0]! - 0.0625) < 1e-9, `${plain[0]} ${hm[0]}`);
  });

  test('boost (BoostTrack): the box goes to the track of its shape, not to the large box it overlaps slightly more', () => {
    // A: 100×200 at x 200–300; B: 40×100 at x 280–320. The 40×100 box at x 252–292 has IoU 0.200 with A and 0.176 with B.
    const a = det(250, 100, { w: 100, h: 200 });
    const b = det(300, 100);
    const frames = [[a, b], [a, b], [a, b], [det(272, 100)]];
    assert.deepEqual(lastIds({ matchThreshold: 0.1 }, frames), [1]);
    assert.deepEqual(lastIds({ matchThreshold: 0.1, boost: true }, frames), [2]);
    assert.equal(shapeSimilarity({ w: 40, h: 100 }, { w: 40, h: 100 }), 1);
    assert.ok(Math.abs(trackletConfidence(3, 1) - 0.9 ** 4) < 1e-12 && trackletConfidence(10, 3) === 0.9 ** 2);
  });

  test('confidenceBoost (BoostTrack DLO): a 0.55 box on a lost track\'s prediction re-finds it', () => {
    const frames = [[det(100, 100)], [det(100, 100)], [det(100, 100)], [], [det(100, 100, { score: 0.55 })]];
    assert.deepEqual(lastIds({}, frames), [], 'a low-score box never re-finds a lost track (ByteTrack)');
    assert.deepEqual(lastIds({ confidenceBoost: 0.65 }, frames), [1]);
  });

  test('scoreCue (Hybrid-SORT TCM): of two equal overlaps the track whose score matches the box takes it', () => {
    // Track 1 scores 0.95, track 2 0.65; the 0.66 box at x 99–139 overlaps track 1 a little more.
    const frames = [[det(100, 100, { score: 0.95 }), det(140, 100, { score: 0.65 })], [det(100, 100, { score: 0.95 }), det(140, 100, { score: 0.65 })], [det(119, 100, { score: 0.66 })]];
    assert.deepEqual(lastIds({ matchThreshold: 0.1 }, frames), [1]);
    assert.deepEqual(lastIds({ matchThreshold: 0.1, scoreCue: 1 }, frames), [2]);
  });

  test('depthLevels (SparseTrack DCM): the nearer track is matched first, in its depth level', () => {
    // Near track bottom 250, far track bottom 210; the box (bottom 220) overlaps the far one more (0.82 vs 0.54).
    const frames = [[det(100, 200), det(100, 160)], [det(100, 200), det(100, 160)], [det(100, 200), det(100, 160)], [det(100, 170)]];
    assert.deepEqual(lastIds({}, frames), [2]);
    assert.deepEqual(lastIds({ depthLevels: 2 }, frames), [1]);
    assert.deepEqual([...depthLevels([250, 210, 240], 2)], [0, 1, 0]);
    assert.deepEqual([...depthLevels([250, 250], 3)], [0, 0]);
  });

  test('lostGate: a lost track is not re-found by a box of another height, nor by one behind its motion', () => {
    const shorter = [[det(100, 100)], [det(100, 100)], [det(100, 100)], [], [det(100, 100, { h: 60 })]];
    assert.deepEqual(lastIds({}, shorter), [1]);
    assert.deepEqual(lastIds({ lostGate: 1.5 }, shorter), []);
    assert.deepEqual(lastIds({ lostGate: 2 }, shorter), [1]);
    // Moving right 1 px a frame, missed on frame 5; on frame 6 a box 22 px behind the last observation.
    const behind = [[det(100, 100)], [det(101, 100)], [det(102, 100)], [det(103, 100)], [], [det(81, 100, { score: 0.95 })]];
    assert.deepEqual(lastIds({}, behind), [1]);
    assert.deepEqual(lastIds({ lostGate: 100 }, behind), []);
  });

  test('lostMinScore: a lost track is re-found only by a box scored at least this', () => {
    const frames = [[det(100, 100)], [det(100, 100)], [det(100, 100)], [], [det(100, 100, { score: 0.65 })]];
    assert.deepEqual(lastIds({}, frames), [1]);
    assert.deepEqual(lastIds({ lostMinScore: 0.7 }, frames), []);
  });

  test("hitLifetime (Norfair's hit counter): a lost track survives at most as many frames as it was matched", () => {
    // Matched 3 frames (birth included), then lost: gone after 3 frames lost, not T2's 30.
    const seen = [[det(100, 100)], [det(100, 100)], [det(100, 100)]];
    const lost = (n: number): Box[][] => Array.from({ length: n }, () => []);
    const back = [[det(100, 100)]];
    assert.deepEqual(lastIds({ hitLifetime: true }, [...seen, ...lost(3), ...back]), [1], 'lost 3 frames: re-found');
    assert.deepEqual(lastIds({ hitLifetime: true }, [...seen, ...lost(4), ...back]), [], 'lost 4 frames: removed (the box starts a tentative track)');
    assert.deepEqual(lastIds({}, [...seen, ...lost(4), ...back]), [1], 'default: T2\'s buffer');
    // Never longer than the buffer, however long it was matched.
    const long = Array.from({ length: 60 }, () => [det(100, 100)]);
    assert.deepEqual(lastIds({ hitLifetime: true, trackBuffer: 5, frameRate: 30 }, [...long, ...lost(6), ...back]), []);
  });

  test('the cue options are validated', () => {
    assert.throws(() => new ByteTracker({ boost: 'yes' as never }), { name: 'TypeError', message: "Expected boolean for boost but received 'yes' of type string" });
    assert.throws(() => new ByteTracker({ confidenceBoost: 2 }), { name: 'RangeError', message: 'Expected number between 0 and 1 for confidenceBoost but received 2 of type number' });
    assert.throws(() => new ByteTracker({ heightIou: 1 as never }), { name: 'TypeError' });
    assert.throws(() => new ByteTracker({ scoreCue: -1 }), { name: 'RangeError' });
    assert.throws(() => new ByteTracker({ depthLevels: 0 }), { name: 'RangeError' });
    assert.throws(() => new ByteTracker({ depthLevels: 1.5 }), { name: 'TypeError', message: 'Expected positive integer for depthLevels but received 1.5 of type number' });
    assert.throws(() => new ByteTracker({ lostGate: 0.5 }), { name: 'RangeError', message: 'Expected 0 (off) or a height ratio of at least 1 for lostGate but received 0.5 of type number' });
    assert.throws(() => new ByteTracker({ lostMinScore: 1.5 }), { name: 'RangeError' });
    assert.throws(() => new ByteTracker({ hitLifetime: 1 as never }), { name: 'TypeError', message: 'Expected boolean for hitLifetime but received 1 of type number' });
    const o = new ByteTracker().options;
    assert.deepEqual([o.boost, o.confidenceBoost, o.heightIou, o.scoreCue, o.depthLevels, o.lostGate, o.lostMinScore, o.hitLifetime], [false, 0, false, 0, 1, 0, 0, false]);
  });
});
