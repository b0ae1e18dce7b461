/** T1–T3: ByteTrack behaviour — ids, classes, entries, buffers, two stages, oriented boxes, options. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StreamGrid } from '../../src/capture/fixed-rate.js';
import { ByteTracker, createIdAllocator } from '../../src/track/index.js';
import type { Box, CameraPosition, FrameDetections, WorldPosition } from '../../src/types.js';

const cam: CameraPosition = { lat: 48.1, lon: 11.5, alt: 520, heading: 90 };

function det(cx: number, cy: number, extra: Partial<Box> = {}): Box {
  return { cx, cy, w: 40, h: 100, angle: 0, classId: 0, label: 'person', score: 0.9, ...extra };
}

let imageId = 0;
function frame(boxes: Box[]): FrameDetections {
  imageId++;
  return { cameraId: 'cam0', imageId, timestampNs: BigInt(imageId) * 100_000_000n, exposureMode: imageId % 2 ? 'manual' : 'auto', cameraPosition: cam, width: 1920, height: 1080, boxes };
}

describe('ByteTracker', () => {
  test('T2 first frame activates at once; a later object is reported from its second frame (upstream output)', () => {
    const t = new ByteTracker();
    const out1 = t.update(frame([det(100, 100)]));
    assert.deepEqual(out1.map((x) => x.trackId), [1]);
    const out2 = t.update(frame([det(102, 100), det(500, 300)]));
    assert.deepEqual(out2.map((x) => x.trackId), [1], 'the new object is not confirmed yet');
    const out3 = t.update(frame([det(104, 100), det(503, 300)]));
    assert.deepEqual(out3.map((x) => x.trackId).sort(), [1, 2]);
    const second = out3.find((x) => x.trackId === 2)!;
    assert.equal(second.entries.length, 2, 'its unconfirmed first frame is kept as an entry');
  });

  test('T3 each matched box becomes an entry with the frame identity and W1 world position', () => {
    const calls: Array<[Box, number]> = [];
    const t = new ByteTracker({}, {
      project: (box, f): WorldPosition => {
        calls.push([box, f.imageId]);
        return { lat: 1, lon: 2, alt: 3, east: box.cx / 100, north: f.imageId };
      },
    });
    const boxes = [det(200, 200), det(210, 201), det(220, 202)];
    const frames = boxes.map((b) => frame([b]));
    let last: ReturnType<ByteTracker['update']> = [];
    for (const f of frames) last = t.update(f);
    const tr = last[0]!;
    assert.equal(tr.entries.length, 3);
    tr.entries.forEach((e, k) => {
      const f = frames[k]!;
      assert.equal(e.box, boxes[k], 'the detected box itself, not the filtered one');
      assert.equal(e.timestampNs, f.timestampNs);
      assert.equal(e.imageId, f.imageId);
      assert.equal(e.exposureMode, f.exposureMode);
      assert.deepEqual(e.cameraPosition, cam);
      assert.deepEqual(e.worldPosition, { lat: 1, lon: 2, alt: 3, east: boxes[k]!.cx / 100, north: f.imageId });
    });
    assert.equal(calls.length, 3);
    // The reported tracks all have an entry at this frame's timestamp (S1 relies on it).
    assert.equal(tr.entries.at(-1)!.timestampNs, frames[2]!.timestampNs);
  });

  test('T3 entries are capped at maxEntriesPerTrack, oldest dropped', () => {
    const t = new ByteTracker({ maxEntriesPerTrack: 5 });
    let out: ReturnType<ByteTracker['update']> = [];
    const ids: number[] = [];
    for (let k = 0; k < 12; k++) {
      const f = frame([det(100 + k, 100)]);
      ids.push(f.imageId);
      out = t.update(f);
    }
    assert.deepEqual(out[0]!.entries.map((e) => e.imageId), ids.slice(-5));
  });

  test('data model: ids are never reused — not after removal, not after reset; an injected allocator spans trackers', () => {
    const t = new ByteTracker({ trackBuffer: 3 });
    const seen: number[] = [];
    const record = (o: ReturnType<ByteTracker['update']>): void => {
      for (const x of o) if (!seen.includes(x.trackId)) seen.push(x.trackId);
    };
    // Objects appear for a while, vanish past the buffer, and appear again at the same place.
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 5; k++) record(t.update(frame([det(100, 100), det(600, 100)])));
      for (let k = 0; k < 6; k++) record(t.update(frame([])));
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
    t.reset();
    record(t.update(frame([det(100, 100)])));
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
    // One camera, one allocator: a tracker recreated for the camera continues its ids.
    const ids = createIdAllocator(1000);
    const a = new ByteTracker({}, { ids });
    assert.equal(a.update(frame([det(1, 1)]))[0]!.trackId, 1000);
    const b = new ByteTracker({}, { ids });
    assert.equal(b.update(frame([det(1, 1)]))[0]!.trackId, 1001);
    // Separate cameras with separate allocators do not share a counter.
    assert.equal(new ByteTracker().update(frame([det(1, 1)]))[0]!.trackId, 1);
  });

  test('T1 boxes are matched only to tracks of the same class', () => {
    const t = new ByteTracker();
    const first = t.update(frame([det(100, 100, { classId: 0 }), det(300, 100, { classId: 2, label: 'car' })]));
    const idOf = (cls: number): number => first.find((x) => x.classId === cls)!.trackId;
    // The two objects' classes swap places: class-blind IoU would keep both tracks; T1 forbids it.
    t.update(frame([det(300, 100, { classId: 0 }), det(100, 100, { classId: 2, label: 'car' })]));
    const out = t.update(frame([det(300, 100, { classId: 0 }), det(100, 100, { classId: 2, label: 'car' })]));
    assert.equal(out.length, 2);
    for (const tr of out) {
      assert.ok(tr.trackId !== idOf(0) && tr.trackId !== idOf(2), 'new tracks, not the old ones');
      for (const e of tr.entries) assert.equal(e.box.classId, tr.classId);
    }
    // Same place, same class keeps the id.
    const t2 = new ByteTracker();
    const id0 = t2.update(frame([det(100, 100, { classId: 0 })]))[0]!.trackId;
    assert.equal(t2.update(frame([det(100, 100, { classId: 0 })]))[0]!.trackId, id0);
  });

  test('T2 lost tracks are kept trackBuffer frames (scaled by frame rate), then removed', () => {
    for (const [frameRate, buffer] of [[30, 30], [15, 15], [10, 10]] as const) {
      for (const gap of [buffer, buffer + 1]) {
        const t = new ByteTracker({ trackBuffer: 30, frameRate });
        assert.equal(t.options.maxTimeLost, buffer);
        const id = t.update(frame([det(100, 100)]))[0]!.trackId;
        t.update(frame([det(100, 100)]));
        for (let k = 0; k < gap; k++) t.update(frame([]));
        // Last match at frame 2, `gap` empty frames, re-detection at frame gap + 3. Upstream removes
        // a lost track when frame − last > buffer, after that frame's matching, so the track is
        // still there to match at frame gap + 3 exactly when gap ≤ buffer.
        const out = t.update(frame([det(100, 100)]));
        const refound = out.some((x) => x.trackId === id);
        assert.equal(refound, gap <= buffer, `frameRate ${frameRate}, gap ${gap}`);
      }
    }
  });

  test('T2 removedTracks reports tracks leaving the buffer', () => {
    const t = new ByteTracker({ trackBuffer: 2 });
    const id = t.update(frame([det(100, 100)]))[0]!.trackId;
    const removedAt: number[] = [];
    for (let k = 0; k < 5; k++) {
      t.update(frame([]));
      if (t.removedTracks.some((x) => x.trackId === id)) removedAt.push(k);
    }
    assert.deepEqual(removedAt, [2]);
    assert.equal(t.liveTracks.length, 0);
  });

  test('T2 second stage: low-score boxes continue tracks but never start one', () => {
    const t = new ByteTracker();
    const id = t.update(frame([det(100, 100, { score: 0.9 })]))[0]!.trackId;
    // The object is partly occluded: score 0.3 (between lowThresh 0.1 and trackThresh 0.5).
    for (let k = 1; k <= 3; k++) {
      const out = t.update(frame([det(100 + k, 100, { score: 0.3 }), det(800, 500, { score: 0.3 })]));
      assert.deepEqual(out.map((x) => x.trackId), [id]);
    }
    // Below lowThresh the box is ignored and the track goes lost.
    assert.deepEqual(t.update(frame([det(104, 100, { score: 0.05 })])), []);
    assert.equal(t.liveTracks.length, 1);
    // A new-track candidate needs newTrackThresh (trackThresh + 0.1 = 0.6).
    const t2 = new ByteTracker();
    t2.update(frame([]));
    t2.update(frame([det(100, 100, { score: 0.55 })]));
    assert.deepEqual(t2.update(frame([det(100, 100, { score: 0.55 })])), []);
  });

  test('T2 oriented boxes: rotated IoU, an angle wrap keeps the track, crossing thin boxes do not match', () => {
    const t = new ByteTracker();
    const obb = (angle: number): Box => det(400, 300, { w: 200, h: 30, angle });
    const id = t.update(frame([obb(Math.PI / 2 - 0.04)]))[0]!.trackId;
    t.update(frame([obb(Math.PI / 2 - 0.02)]));
    // The model's angle range wraps: π/2 + 0.0 is reported as −π/2 + 0.0 (the same box).
    for (const a of [-Math.PI / 2 + 0.0, -Math.PI / 2 + 0.02, Math.PI / 2 + 0.04 - Math.PI]) {
      const out = t.update(frame([obb(a)]));
      assert.deepEqual(out.map((x) => x.trackId), [id], `angle ${a}`);
    }
    // A thin box crossing it at 90°: axis-aligned bounds would overlap; rotated IoU is tiny.
    const t2 = new ByteTracker();
    const id2 = t2.update(frame([obb(Math.PI / 4)]))[0]!.trackId;
    t2.update(frame([obb(-Math.PI / 4)]));
    const out = t2.update(frame([obb(-Math.PI / 4)]));
    assert.ok(!out.some((x) => x.trackId === id2));
    assert.equal(out.length, 1);
  });

  test('minBoxArea hides small tracks from the output only', () => {
    const t = new ByteTracker({ minBoxArea: 5000 });
    assert.deepEqual(t.update(frame([det(100, 100)])), []); // 40 × 100 = 4000
    assert.equal(t.liveTracks.length, 1);
  });

  test('options are validated with exact messages', () => {
    assert.throws(() => new ByteTracker({ trackThresh: 2 }), { name: 'RangeError', message: 'Expected number between 0 and 1 for trackThresh but received 2 of type number' });
    assert.throws(() => new ByteTracker({ matchThreshold: '0.2' as unknown as number }), { name: 'TypeError', message: "Expected number between 0 and 1 for matchThreshold but received '0.2' of type string" });
    assert.throws(() => new ByteTracker({ trackBuffer: 2.5 }), { name: 'TypeError', message: 'Expected non-negative integer for trackBuffer but received 2.5 of type number' });
    assert.throws(() => new ByteTracker({ frameRate: 0 }), { name: 'RangeError', message: 'Expected positive number for frameRate but received 0 of type number' });
    assert.throws(() => new ByteTracker({ lowThresh: 0.7 }), { name: 'RangeError', message: 'Expected lowThresh (0.7) not above trackThresh (0.6)' });
    assert.throws(() => new ByteTracker({ lostMatching: 'first' as never }), { name: 'TypeError', message: "Expected 'joint', 'after' or 'cascade' for lostMatching but received 'first' of type string" });
    assert.throws(() => new ByteTracker({ trackbuffer: 3 } as never), { name: 'TypeError', message: "Unknown tracker option 'trackbuffer'" });
    assert.throws(() => new ByteTracker().update(frame([det(1, 1, { h: 0 })])), { name: 'TypeError', message: 'Expected finite box with positive w and h for frame.boxes[0] but received a value of type object' });
    const o = new ByteTracker({ trackThresh: 0.7 }).options;
    assert.ok(Math.abs(o.newTrackThresh - 0.8) < 1e-12);
    assert.equal(o.maxTimeLost, 30);
    assert.equal(new ByteTracker({ frameRate: 25 }).options.maxTimeLost, 25);
  });
});

describe('graded new-track rule (tentativeMinHits)', () => {
  const start = (t: ByteTracker) => t.update(frame([det(100, 100)])); // frame 1: born and confirmed at once

  test('a box between trackThresh and newTrackThresh starts a tentative track, reported from its third consecutive match', () => {
    const t = new ByteTracker(); // trackThresh 0.6, newTrackThresh 0.7, tentativeMinHits 3
    start(t);
    const seen: number[][] = [];
    for (let k = 1; k <= 4; k++) seen.push(t.update(frame([det(100, 100), det(600, 300 + 2 * k, { score: 0.65 })])).map((x) => x.trackId));
    assert.deepEqual(seen, [[1], [1], [1, 2], [1, 2]], 'born in frame 2, confirmed by its third match in frame 4');
    const tentative = t.liveTracks.find((x) => x.trackId === 2)!;
    assert.equal(tentative.entries.length, 4, 'the frames before confirmation are kept as entries');
  });

  test('a confident box (≥ newTrackThresh) is confirmed on its next match, as ByteTrack', () => {
    const t = new ByteTracker();
    start(t);
    const a = t.update(frame([det(100, 100), det(600, 300, { score: 0.75 })])).map((x) => x.trackId);
    const b = t.update(frame([det(100, 100), det(600, 302, { score: 0.75 })])).map((x) => x.trackId);
    assert.deepEqual([a, b], [[1], [1, 2]]);
  });

  test('a tentative track missed before it is confirmed is removed (a flickering false positive never becomes a track)', () => {
    const t = new ByteTracker();
    start(t);
    t.update(frame([det(100, 100), det(600, 300, { score: 0.65 })]));
    t.update(frame([det(100, 100), det(600, 302, { score: 0.65 })]));
    t.update(frame([det(100, 100)])); // missed: removed
    assert.deepEqual(t.removedTracks.map((x) => x.trackId), [2]);
    const out = t.update(frame([det(100, 100), det(600, 306, { score: 0.65 })]));
    assert.deepEqual(out.map((x) => x.trackId), [1], 'it starts over as a new tentative track');
  });

  test('tentativeMinHits 0 is ByteTrack: such a box starts no track', () => {
    const t = new ByteTracker({ tentativeMinHits: 0 });
    start(t);
    for (let k = 1; k <= 5; k++) t.update(frame([det(100, 100), det(600, 300 + 2 * k, { score: 0.65 })]));
    assert.deepEqual(t.liveTracks.map((x) => x.trackId), [1]);
  });
});

describe('order of lost tracks (lostMatching) and NSA Kalman (nsa)', () => {
  // Two people side by side (x 80–120 and 120–160), both seen on frames 1–3.
  const sideBySide = (t: ByteTracker): void => {
    for (let k = 0; k < 3; k++) t.update(frame([det(100, 100), det(140, 100)]));
  };

  test("'joint' (ByteTrack) gives a box to the lost track that overlaps it more; 'after' to the tracked track first", () => {
    const owner = (lostMatching: 'joint' | 'after' | 'cascade'): number[] => {
      const t = new ByteTracker({ lostMatching });
      sideBySide(t);
      t.update(frame([det(100, 100)])); // frame 4: the right one is missed (lost)
      // Frame 5: one box at x 103–143: IoU 0.27 with the tracked left one, 0.40 with the lost right one.
      return t.update(frame([det(123, 100, { score: 0.95 })])).map((x) => x.trackId);
    };
    assert.deepEqual(owner('joint'), [2]);
    assert.deepEqual(owner('after'), [1]);
    assert.deepEqual(owner('cascade'), [1]);
  });

  test("'cascade' (DeepSORT) offers a box to the most recently lost track first; 'after' matches all lost tracks at once", () => {
    const owner = (lostMatching: 'after' | 'cascade'): number[] => {
      const t = new ByteTracker({ lostMatching });
      sideBySide(t);
      t.update(frame([det(140, 100)])); // frame 4: left one lost (last match frame 3)
      t.update(frame([])); // frame 5: right one lost too (last match frame 4)
      // Frame 6: one box at x 97–137: IoU 0.40 with the left (older) one, 0.27 with the right (recent) one.
      return t.update(frame([det(117, 100, { score: 0.95 })])).map((x) => x.trackId);
    };
    assert.deepEqual(owner('after'), [1]);
    assert.deepEqual(owner('cascade'), [2]);
  });

  test('nsa: a confident box moves the filtered box further towards it than the plain filter', () => {
    const x = (nsa: boolean): number => {
      const t = new ByteTracker({ nsa });
      t.update(frame([det(100, 100)]));
      return t.update(frame([det(110, 100, { score: 0.95 })]))[0]!.box.cx;
    };
    assert.ok(x(true) > x(false) + 1, `${x(true)} vs ${x(false)}`);
  });
});

describe('dropped frames (framePeriodNs: steps from the frames timestamps, T2/A5)', () => {
  const PERIOD = 100_000_000; // captureHz 10
  /** A box moving 15 px per frame period; 40 px wide, so 2 periods of under-shoot leave IoU ≈ 0.14 (< matchThreshold 0.2). */
  const at = (period: number): FrameDetections => ({
    cameraId: 'cam0',
    imageId: period,
    timestampNs: BigInt(period) * BigInt(PERIOD),
    exposureMode: 'manual',
    cameraPosition: null,
    width: 1920,
    height: 1080,
    boxes: [det(100 + 15 * period, 300)],
  });
  /** Periods 0..9 every frame (the velocity is learnt), then only every third frame (two of three dropped). */
  const periods = [...Array.from({ length: 10 }, (_, k) => k), ...Array.from({ length: 10 }, (_, k) => 12 + 3 * k)];
  /** Ids reported per frame. */
  const reported = (t: ByteTracker): number[][] => periods.map((p) => t.update(at(p)).map((x) => x.trackId));

  test('a constant-velocity object seen with two of three frames dropped stays one track', () => {
    assert.deepEqual(reported(new ByteTracker({ framePeriodNs: PERIOD })), periods.map(() => [1]), 'track 1 in every frame');
    // Each call taken as one frame: the prediction falls 30 px short, the track is lost and every
    // box after a gap starts a new track (never confirmed here) — the case framePeriodNs fixes.
    assert.deepEqual(reported(new ByteTracker()).slice(10), periods.slice(10).map(() => []), 'without framePeriodNs the gaps break the track');
  });

  test('the lost-track buffer counts frame periods, dropped frames included', () => {
    for (const gap of [30, 31]) {
      const t = new ByteTracker({ trackBuffer: 30, framePeriodNs: PERIOD });
      const still = (period: number, boxes: Box[]): FrameDetections => ({ ...at(period), boxes });
      const id = t.update(still(0, [det(100, 100)]))[0]!.trackId;
      t.update(still(1, [det(100, 100)]));
      // One empty frame (the track becomes lost), then nothing until the re-detection `gap` periods after the last match.
      t.update(still(2, []));
      const refound = t.update(still(1 + gap + 1, [det(100, 100)])).some((x) => x.trackId === id);
      assert.equal(refound, gap <= 30, `gap ${gap} periods in 3 calls`);
      assert.equal(t.frameCount, 1 + gap + 2);
    }
  });

  test('with no frame dropped it is the per-call tracker exactly (same ids, same boxes to the bit)', () => {
    let seed = 7;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const objects = Array.from({ length: 12 }, () => ({ x: 100 + 1700 * rand(), y: 100 + 800 * rand(), vx: 20 * rand() - 10, vy: 10 * rand() - 5, w: 30 + 60 * rand(), h: 60 + 100 * rand() }));
    const a = new ByteTracker();
    const b = new ByteTracker({ framePeriodNs: PERIOD });
    for (let p = 0; p < 120; p++) {
      const boxes = objects.filter(() => rand() > 0.1).map((o) => det(o.x + o.vx * p + rand() - 0.5, o.y + o.vy * p, { w: o.w, h: o.h, score: 0.3 + 0.69 * rand() }));
      // Recording jitter on the captureHz grid (±20 % of a period) still rounds to one period.
      const f = { ...at(p), timestampNs: BigInt(p * PERIOD + Math.round((rand() - 0.5) * 0.4 * PERIOD)), boxes };
      const ra = a.update(f).map((x) => [x.trackId, x.box.cx, x.box.cy, x.box.w, x.box.h]);
      const rb = b.update(f).map((x) => [x.trackId, x.box.cx, x.box.cy, x.box.w, x.box.h]);
      assert.deepEqual(rb, ra, `frame ${p}`);
    }
    assert.equal(b.frameCount, a.frameCount);
  });
});

describe('dropped frames counted by the capture grid (FrameDetections.gridTick, T2/A5)', () => {
  const PERIOD = 100_000_000; // captureHz 10
  /**
   * A 12.5 fps recording (80 ms frames) on the 10 Hz StreamGrid, as the runtime takes it: the first
   * frame at or after each tick, so taken frames are 160 then 80, 80, 80 ms apart with no tick missed.
   */
  const taken = (frames: number, boxes: (tick: number) => Box[] = () => [det(100, 100)]): FrameDetections[] => {
    const grid = new StreamGrid(BigInt(PERIOD));
    const out: FrameDetections[] = [];
    for (let i = 0; i < frames; i++) {
      const pts = BigInt(i) * 80_000_000n;
      if (!grid.take(pts)) continue;
      const gridTick = { grid: grid.id, index: grid.tick };
      out.push({ cameraId: 'cam0', imageId: out.length, timestampNs: pts, exposureMode: 'manual', cameraPosition: null, width: 1920, height: 1080, boxes: boxes(gridTick.index), gridTick });
    }
    return out;
  };
  const steps = (t: ByteTracker, frames: readonly FrameDetections[]): number[] =>
    frames.map((f) => {
      const before = t.frameCount;
      t.update(f);
      return t.frameCount - before;
    });

  test('a 12.5 fps source at captureHz 10 with no frame dropped is one period per frame (its 160 ms gaps too)', () => {
    const frames = taken(50);
    assert.ok(frames.some((f, i) => i > 0 && f.timestampNs - frames[i - 1]!.timestampNs === 160_000_000n), 'the grid leaves 160 ms gaps');
    assert.deepEqual(steps(new ByteTracker({ framePeriodNs: PERIOD }), frames), frames.map(() => 1));
  });

  test('a tick missed is two periods: a frame dropped after the grid, or one the stream lacks', () => {
    const frames = taken(50);
    // The frame of tick 5 admitted, then dropped (detector busy): the tracker never sees it.
    const afterDrop = frames.filter((f) => f.gridTick!.index !== 5);
    assert.deepEqual(steps(new ByteTracker({ framePeriodNs: PERIOD }), afterDrop), afterDrop.map((f) => (f.gridTick!.index === 6 ? 2 : 1)));
    // The stream lacks frames 6–7 (480, 560 ms): the frame at 640 ms is the first after ticks 5 and 6, and tick 6.
    const grid = new StreamGrid(BigInt(PERIOD));
    const t = new ByteTracker({ framePeriodNs: PERIOD });
    const got: number[] = [];
    for (const i of [0, 2, 3, 4, 5, 8, 9, 10]) {
      const pts = BigInt(i) * 80_000_000n;
      if (!grid.take(pts)) continue;
      const before = t.frameCount;
      t.update({ cameraId: 'cam0', imageId: i, timestampNs: pts, exposureMode: 'manual', cameraPosition: null, width: 1920, height: 1080, boxes: [], gridTick: { grid: grid.id, index: grid.tick } });
      got.push(t.frameCount - before);
    }
    assert.deepEqual(got, [1, 1, 1, 1, 1, 2, 1, 1], 'ticks 0, 1, 2, 3, 4, 6, 7, 8');
  });

  test('the lost-track buffer counts 30 ticks of the 12.5 fps source (3 s), not 30 rounded timestamp gaps', () => {
    for (const unseen of [30, 31]) {
      // Seen on ticks 0–1, unseen for `unseen` ticks, seen again on tick 2 + unseen.
      const frames = taken(60, (k) => (k <= 1 || k === 2 + unseen ? [det(100, 100)] : [])).filter((f) => f.gridTick!.index <= 2 + unseen);
      const t = new ByteTracker({ trackBuffer: 30, framePeriodNs: PERIOD });
      let last: number[] = [];
      for (const f of frames) last = t.update(f).map((x) => x.trackId);
      assert.deepEqual(last, unseen <= 30 ? [1] : [], `unseen for ${unseen} ticks`);
    }
  });

  test('the prediction steps by the time that passed, the frame counter by ticks (7 and 12.5 fps sources at captureHz 10)', () => {
    // A car at 200 px/s. 7 fps: every frame taken, 143 ms apart, ticks 1, 1, 2, 1, 2 …; 12.5 fps: 160, 80, 80,
    // 80 ms apart, one tick each. Predicted by ticks, the filtered box trailed or led the car by ~4 px.
    for (const fps of [7, 12.5]) {
      const grid = new StreamGrid(BigInt(PERIOD));
      const t = new ByteTracker({ framePeriodNs: PERIOD });
      let worst = 0;
      let taken = 0;
      let lastTick = 0;
      for (let i = 0; i < 60; i++) {
        const pts = BigInt(Math.round((i * 1e9) / fps));
        if (!grid.take(pts)) continue;
        const x = 100 + (20 * Number(pts)) / PERIOD;
        lastTick = grid.tick;
        const out = t.update({ cameraId: 'cam0', imageId: i, timestampNs: pts, exposureMode: 'manual', cameraPosition: null, width: 1920, height: 1080, boxes: [det(x, 300, { w: 60 })], gridTick: { grid: grid.id, index: lastTick } });
        assert.deepEqual(out.map((x) => x.trackId), [1], `${fps} fps frame ${i}`);
        if (taken++ >= 10) worst = Math.max(worst, Math.abs(out[0]!.box.cx - x));
      }
      assert.ok(worst < 2, `${fps} fps: the track's box within ${worst.toFixed(2)} px of the car`);
      assert.equal(t.frameCount, lastTick + 1, `${fps} fps: the frame counter (T2's buffer) counts ticks`);
    }
  });

  test('frames of another grid (a camera reopened) or without ticks are counted by their timestamps', () => {
    const t = new ByteTracker({ framePeriodNs: PERIOD });
    const f = (ms: number, gridTick?: { grid: number; index: number }): FrameDetections => ({
      cameraId: 'cam0', imageId: ms, timestampNs: BigInt(ms) * 1_000_000n, exposureMode: 'manual', cameraPosition: null, width: 1920, height: 1080, boxes: [],
      ...(gridTick ? { gridTick } : {}),
    });
    assert.deepEqual(steps(t, [f(0, { grid: 1, index: 40 }), f(100, { grid: 1, index: 41 }), f(1100, { grid: 2, index: 0 }), f(1300, { grid: 2, index: 1 }), f(1600), f(1700, { grid: 2, index: 9 })]), [1, 1, 10, 1, 3, 1]);
    assert.throws(() => t.update(f(1800, { grid: 2, index: 1.5 })), TypeError);
  });
});
