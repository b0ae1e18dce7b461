import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Selector } from '../../src/select/index.js';
import { Scene } from './fixtures.js';

// Boxes on 640×480. BIG is immediate by S5 (area 12000/307200 > 0.02, score ≥ 0.7, edge > 32);
// SMALL is cached (area 1600/307200 < 0.02).
const BIG = { cx: 320, cy: 240, w: 120, h: 100, score: 0.8 };
const SMALL = { cx: 200, cy: 200, w: 40, h: 40, score: 0.8 };

describe('Selector', () => {
  it('S6: a new object (no previous best) is sent on its first sighting, S5 decides the route', () => {
    const scene = new Scene();
    const sel = new Selector();
    const { frame, tracks } = scene.frame([{ id: 1, box: BIG }]);
    const r = sel.update(frame, tracks);
    assert.deepEqual(r.upload, { imageId: 0, timestampNs: 0n, route: 'immediate', trackIds: [1] });
    assert.equal(r.selections.length, 1);
    assert.equal(r.selections[0]!.previous, null);
    assert.equal(sel.bestOf(1)?.imageId, 0);

    // A tiny, low-score first sighting in auto exposure is still sent (S1 n=1, S6), cached.
    const f2 = scene.frame([{ id: 2, box: { w: 4, h: 4, score: 0.1 }, mode: 'auto' }]);
    const r2 = sel.update(f2.frame, f2.tracks);
    assert.deepEqual(r2.upload, { imageId: 1, timestampNs: 100_000_000n, route: 'cached', trackIds: [2] });
  });

  it('S2: a worse later frame is not sent and the best stays; an equal-or-better one moves it', () => {
    const scene = new Scene();
    const sel = new Selector();
    let f = scene.frame([{ id: 1, box: BIG }]);
    sel.update(f.frame, f.tracks);
    f = scene.frame([{ id: 1, box: { ...BIG, score: 0.79 } }]); // lower score
    assert.equal(sel.update(f.frame, f.tracks).upload, null);
    f = scene.frame([{ id: 1, box: BIG, mode: 'auto' }]); // auto exposure
    assert.equal(sel.update(f.frame, f.tracks).upload, null);
    assert.equal(sel.bestOf(1)?.imageId, 0);
    f = scene.frame([{ id: 1, box: { ...BIG, w: 130, score: 0.85 } }]);
    const r = sel.update(f.frame, f.tracks);
    assert.equal(r.upload?.imageId, 3);
    assert.equal(r.selections[0]!.previous?.imageId, 0);
    assert.equal(sel.bestOf(1)?.imageId, 3);
  });

  it('S1: a track not in this frame (lost) or failing S1 does not select', () => {
    const scene = new Scene();
    const sel = new Selector();
    let f = scene.frame([{ id: 1, box: BIG }]);
    sel.update(f.frame, f.tracks);
    f = scene.frame([]); // track 1 listed, last entry older
    assert.equal(f.tracks.length, 1);
    assert.equal(sel.update(f.frame, f.tracks).upload, null);
    f = scene.frame([{ id: 1, box: { ...BIG, score: 0.49 } }]);
    assert.equal(sel.update(f.frame, f.tracks).upload, null);
  });

  it('S4: two objects selecting one frame → one upload, both bests updated', () => {
    const scene = new Scene();
    const sel = new Selector();
    let f = scene.frame([{ id: 1, box: BIG }, { id: 2, box: SMALL }]);
    let r = sel.update(f.frame, f.tracks);
    assert.deepEqual(r.upload?.trackIds, [1, 2]);
    assert.equal(r.selections.length, 2);
    f = scene.frame([{ id: 1, box: { ...BIG, score: 0.9 } }, { id: 2, box: { ...SMALL, score: 0.9 } }]);
    r = sel.update(f.frame, f.tracks);
    assert.ok(r.upload !== null);
    assert.equal(r.upload.imageId, 1);
    assert.deepEqual(r.upload.trackIds, [1, 2]);
    assert.equal(sel.bestOf(1)?.imageId, 1);
    assert.equal(sel.bestOf(2)?.imageId, 1);
  });

  it('S4/S5: objects with different routes — any-immediate sends immediate; first follows track order', () => {
    for (const [resolution, order, expected] of [
      ['any-immediate', [2, 1], 'immediate'],
      ['any-immediate', [1, 2], 'immediate'],
      ['first', [2, 1], 'cached'],
      ['first', [1, 2], 'immediate'],
    ] as const) {
      const scene = new Scene();
      const sel = new Selector({ routeResolution: resolution });
      const objects = order.map((id) => ({ id, box: id === 1 ? BIG : SMALL }));
      const f = scene.frame(objects);
      const r = sel.update(f.frame, f.tracks);
      assert.equal(r.upload?.route, expected, `${resolution} ${order.join(',')}`);
      assert.deepEqual(r.selections.map((s) => s.route), order.map((id) => (id === 1 ? 'immediate' : 'cached')));
    }
  });

  it('S7: each object compares against its own previous best', () => {
    const scene = new Scene();
    const sel = new Selector();
    let f = scene.frame([{ id: 1, box: { ...BIG, score: 0.6 } }]); // frame 0: A first
    sel.update(f.frame, f.tracks);
    f = scene.frame([{ id: 1, box: { ...BIG, score: 0.55 } }, { id: 2, box: { ...SMALL, score: 0.95 } }]); // frame 1: B first
    let r = sel.update(f.frame, f.tracks);
    assert.deepEqual(r.upload?.trackIds, [2]);
    // frame 2: A at 0.6 equals its own best (frame 0) → better; B at 0.9 < its 0.95 → not.
    f = scene.frame([{ id: 1, box: { ...BIG, score: 0.6 } }, { id: 2, box: { ...SMALL, score: 0.9 } }]);
    r = sel.update(f.frame, f.tracks);
    assert.deepEqual(r.upload?.trackIds, [1]);
    assert.equal(r.selections[0]!.previous?.imageId, 0);
    assert.equal(sel.bestOf(1)?.imageId, 2);
    assert.equal(sel.bestOf(2)?.imageId, 1);
  });

  it('S2/S7: p comes from the selector state when the tracker keeps only the last two entries', () => {
    const scene = new Scene(640, 480, 2);
    const sel = new Selector();
    let f = scene.frame([{ id: 1, box: { ...BIG, score: 0.9 } }]);
    sel.update(f.frame, f.tracks);
    for (let i = 0; i < 5; i++) {
      f = scene.frame([{ id: 1, box: { ...BIG, score: 0.85 } }]);
      assert.equal(sel.update(f.frame, f.tracks).upload, null);
    }
    assert.equal(f.tracks[0]!.entries.length, 2);
    assert.equal(sel.bestOf(1)?.entry.box.score, 0.9);
  });

  it("S1 firstSighting: 'first-seen' qualifies a track the selector has never seen; 'entry-count' uses n literally", () => {
    // The tracker reports a track from its second entry (ByteTrack confirmation): n = 2, box too small for S1.
    const scene = new Scene();
    scene.frame([{ id: 1, box: { w: 10, h: 10 } }]); // not shown to the selector
    const f = scene.frame([{ id: 1, box: { w: 10, h: 10 } }]);
    assert.equal(f.tracks[0]!.entries.length, 2);
    assert.deepEqual(new Selector().update(f.frame, f.tracks).upload?.trackIds, [1]);
    assert.equal(new Selector({ firstSighting: 'entry-count' }).update(f.frame, f.tracks).upload, null);
    assert.throws(() => new Selector({ firstSighting: 'never' as 'first-seen' }), {
      name: 'TypeError',
      message: "Expected one of 'first-seen', 'entry-count' for firstSighting but received 'never' of type string",
    });
  });

  it('track end: forget drops the state and returns the bests; retainOnly keeps live ones', () => {
    const scene = new Scene();
    const sel = new Selector();
    const f = scene.frame([{ id: 1, box: BIG }, { id: 2, box: SMALL }, { id: 3, box: SMALL }]);
    sel.update(f.frame, f.tracks);
    assert.equal(sel.size, 3);
    assert.deepEqual(sel.forget([1, 99]).map((x) => [x.trackId, x.best.imageId]), [[1, 0]]);
    assert.equal(sel.bestOf(1), undefined);
    assert.deepEqual(sel.retainOnly([3]).map((x) => x.trackId), [2]);
    assert.deepEqual(sel.trackIds(), [3]);
  });

  it('rejects frames out of order, duplicate tracks and bad frames with exact messages', () => {
    const scene = new Scene();
    const sel = new Selector();
    const f0 = scene.frame([{ id: 1, box: BIG }]);
    sel.update(f0.frame, f0.tracks);
    assert.throws(() => sel.update(f0.frame, f0.tracks), {
      name: 'InvalidStateError',
      message: "Frame imageId 0 is not after the previous frame's imageId 0",
    });
    const f1 = scene.frame([{ id: 1, box: BIG }]);
    assert.throws(() => sel.update(f1.frame, [...f1.tracks, ...f1.tracks]), {
      message: 'Track 1 is listed twice for frame 1',
    });
    assert.throws(() => new Selector().update({ ...f1.frame, width: 0 }, []), {
      name: 'RangeError',
      message: 'Expected positive integer for frame.width but received 0 of type number',
    });
    assert.throws(() => new Selector().update({ ...f1.frame, timestampNs: 5 as unknown as bigint }, []), {
      name: 'TypeError',
      message: 'Expected bigint for frame.timestampNs but received 5 of type number',
    });
    assert.throws(() => new Selector({ params: { minScore1: 2 } }), {
      name: 'RangeError',
      message: 'Expected number between 0 and 1 for minScore1 but received 2 of type number',
    });
    assert.throws(() => new Selector({ routeResolution: 'last' as 'first' }), {
      name: 'TypeError',
      message: "Expected one of 'any-immediate', 'first' for routeResolution but received 'last' of type string",
    });
  });

  it('SPEC as written: a static object with identical entries re-selects every frame (ties count as better)', () => {
    const scene = new Scene();
    const sel = new Selector();
    let uploads = 0;
    for (let i = 0; i < 10; i++) {
      const f = scene.frame([{ id: 1, box: BIG }]);
      if (sel.update(f.frame, f.tracks).upload) uploads++;
    }
    assert.equal(uploads, 10);
  });
});
