/** T1 class groups with label voting; T2 re-finding a lost track after a gap. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteTracker } from '../../src/track/index.js';
import type { Box, FrameDetections } from '../../src/types.js';

const CAR = { classId: 2, label: 'car' };
const TRUCK = { classId: 7, label: 'truck' };
const PERSON = { classId: 0, label: 'person' };

function box(cx: number, cls: { classId: number; label: string }, score = 0.9, cy = 300): Box {
  return { cx, cy, w: 120, h: 80, angle: 0, score, ...cls };
}

let imageId = 0;
function frame(boxes: Box[]): FrameDetections {
  imageId++;
  return { cameraId: 'c', imageId, timestampNs: BigInt(imageId) * 100_000_000n, exposureMode: 'manual', cameraPosition: null, width: 1920, height: 1080, boxes };
}

describe('T1 class groups', () => {
  test('a vehicle flickering car ↔ truck stays one track; each entry keeps its detected class; the label is the score-weighted vote', () => {
    const t = new ByteTracker();
    const seq = [CAR, TRUCK, CAR, TRUCK, CAR, CAR, TRUCK, CAR];
    let last: ReturnType<ByteTracker['update']> = [];
    seq.forEach((cls, i) => {
      last = t.update(frame([box(200 + i * 6, cls, cls === CAR ? 0.9 : 0.7)]));
    });
    assert.equal(last.length, 1);
    const track = last[0]!;
    assert.equal(track.trackId, 1, 'no second track was started');
    assert.deepEqual(
      track.entries.map((e) => e.box.label),
      seq.map((c) => c.label),
    );
    // car: 5 × 0.9 = 4.5 against truck: 3 × 0.7 = 2.1.
    assert.equal(track.entries.at(-1)!.trackLabel?.label, 'car');
  });

  test("classGroups: 'none' is the seed's same-class rule: the flicker splits the vehicle", () => {
    // Runs of three frames, as YOLOX-Nano flickers on a passing vehicle.
    const seq = [CAR, CAR, CAR, TRUCK, TRUCK, TRUCK, CAR, CAR, CAR];
    const tracks = (t: ByteTracker): Set<number> => {
      const ids = new Set<number>();
      seq.forEach((cls, i) => {
        for (const tr of t.update(frame([box(200 + i * 6, cls)]))) ids.add(tr.trackId);
      });
      return ids;
    };
    assert.ok(tracks(new ByteTracker({ classGroups: 'none' })).size >= 2, 'the same-class rule must split the vehicle');
    assert.equal(tracks(new ByteTracker()).size, 1, 'the default groups keep it one track');
  });

  test('a person never joins a vehicle track, even on the same box', () => {
    const t = new ByteTracker();
    t.update(frame([box(400, CAR)]));
    t.update(frame([box(404, CAR)]));
    const out = t.update(frame([box(408, PERSON)]));
    const carTrack = out.find((x) => x.entries[0]!.box.label === 'car');
    assert.ok(!carTrack || carTrack.entries.every((e) => e.box.label === 'car'), 'the person box was appended to the car track');
    t.update(frame([box(412, PERSON)]));
    const later = t.update(frame([box(416, PERSON)]));
    const personTrack = later.find((x) => x.entries.at(-1)!.box.label === 'person');
    assert.ok(personTrack, 'the person got a track of its own');
    assert.notEqual(personTrack.trackId, 1);
    assert.ok(personTrack.entries.every((e) => e.box.label === 'person'));
  });

  test('custom groups: labels in one list share a group; a label in two lists is refused', () => {
    assert.throws(() => new ByteTracker({ classGroups: [['car', 'truck'], ['truck']] }), { name: 'RangeError', message: "Expected each label in one class group only for classGroups but 'truck' is in two" });
    const t = new ByteTracker({ classGroups: [['car', 'truck']] });
    const ids = new Set<number>();
    [CAR, TRUCK, CAR, TRUCK].forEach((cls, i) => {
      for (const tr of t.update(frame([box(200 + i * 6, cls)]))) ids.add(tr.trackId);
    });
    assert.deepEqual([...ids], [1]);
  });
});

describe('T2 re-activation after a gap', () => {
  test('an object hidden for 10 frames (within trackBuffer) is found again under its old trackId', () => {
    const t = new ByteTracker({ frameRate: 10, trackBuffer: 30 });
    let x = 100;
    for (let i = 0; i < 6; i++) t.update(frame([box((x += 10), CAR)]));
    for (let i = 0; i < 10; i++) {
      x += 10;
      assert.deepEqual(t.update(frame([])), [], 'nothing reported while hidden');
    }
    let out = t.update(frame([box((x += 10), CAR)]));
    out = out.length ? out : t.update(frame([box((x += 10), CAR)]));
    assert.equal(out.length, 1);
    assert.equal(out[0]!.trackId, 1, 'the object got a new track after the gap');
  });

  test('beyond trackBuffer the lost track is removed and the object starts a new one', () => {
    const t = new ByteTracker({ frameRate: 10, trackBuffer: 15 }); // 5 frames at 10 Hz
    let x = 100;
    for (let i = 0; i < 6; i++) t.update(frame([box((x += 10), CAR)]));
    for (let i = 0; i < 8; i++) t.update(frame([]));
    t.update(frame([box(x + 90, CAR)]));
    const out = t.update(frame([box(x + 100, CAR)]));
    assert.equal(out.length, 1);
    assert.notEqual(out[0]!.trackId, 1);
  });
});

describe('T1 in the upload package', () => {
  test("each track carries its voted label beside the entry's detected class, and the package validates", async () => {
    const { buildPackage } = await import('../../src/upload/index.js');
    const t = new ByteTracker();
    let tracks: ReturnType<ByteTracker['update']> = [];
    let last: FrameDetections | undefined;
    for (const [i, cls] of [CAR, CAR, CAR, TRUCK].entries()) {
      last = frame([box(200 + i * 6, cls)]);
      tracks = t.update(last);
    }
    const pkg = buildPackage({
      cameraId: 'c',
      imageId: last!.imageId,
      timestampNs: last!.timestampNs,
      captureMonotonicNs: 1n,
      width: 1920,
      height: 1080,
      exposure: { mode: 'manual', exposureTimeUs: 1000, gain: 1 },
      cameraPosition: null,
      jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]),
      tracks: tracks.map((tr) => ({ trackId: tr.trackId, entry: tr.entries.at(-1)! })),
    });
    const [entry] = pkg.metadata.tracks;
    assert.equal(entry!.label, 'car', 'the vote of three car boxes over one truck box');
    assert.equal(entry!.entry.box.label, 'truck', 'the entry keeps what was detected in this frame');
  });
});
