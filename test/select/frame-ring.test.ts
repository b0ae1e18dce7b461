import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameRing } from '../../src/select/index.js';

describe('FrameRing (A5, S7)', () => {
  it('A5: keeps the newest `capacity` frames when none is referenced, evicting the oldest', () => {
    const evicted: [number, string][] = [];
    const ring = new FrameRing<string>({ capacity: 3, onEvict: (id, f) => evicted.push([id, f]) });
    for (let i = 0; i < 5; i++) ring.put(i, `f${i}`);
    assert.deepEqual(ring.imageIds(), [2, 3, 4]);
    assert.deepEqual(evicted, [[0, 'f0'], [1, 'f1']]);
    assert.equal(ring.get(1), undefined);
    assert.equal(ring.get(4), 'f4');
  });

  it('S7: a retained frame survives while newer unreferenced ones are evicted around it', () => {
    const ring = new FrameRing<number>({ capacity: 2 });
    ring.put(10, 10);
    ring.retain(10); // a track's best
    for (let i = 11; i < 20; i++) ring.put(i, i);
    assert.deepEqual(ring.imageIds(), [10, 19]);
    assert.equal(ring.refs(10), 1);
    ring.retain(10); // a pending package too
    ring.release(10);
    assert.ok(ring.has(10));
    ring.release(10); // unreferenced: goes at the next pressure (already over? size 2 = capacity, stays)
    assert.ok(ring.has(10));
    ring.put(20, 20);
    assert.deepEqual(ring.imageIds(), [19, 20]);
    assert.deepEqual(ring.stats(), { size: 2, referenced: 0, evicted: 9, overCapacity: 0 });
  });

  it('A5: release of the last reference trims a ring that grew over capacity', () => {
    const ring = new FrameRing<number>({ capacity: 2 });
    ring.put(1, 1);
    ring.retain(1);
    ring.put(2, 2);
    ring.retain(2);
    ring.put(3, 3); // every older frame referenced: over capacity, nothing evicted
    assert.deepEqual(ring.imageIds(), [1, 2, 3]);
    assert.equal(ring.stats().overCapacity, 1);
    ring.release(1);
    assert.deepEqual(ring.imageIds(), [2, 3]);
  });

  it('A5: the frame just put is never evicted by its own put', () => {
    const ring = new FrameRing<number>({ capacity: 1 });
    ring.put(1, 1);
    ring.retain(1);
    ring.put(2, 2);
    assert.deepEqual(ring.imageIds(), [1, 2]);
    ring.retain(2);
    ring.release(1);
    assert.deepEqual(ring.imageIds(), [2]);
  });

  it('errors: exact messages', () => {
    const ring = new FrameRing<number>({ capacity: 2 });
    ring.put(5, 5);
    assert.throws(() => ring.retain(4), { name: 'InvalidStateError', message: 'Frame 4 is not in the ring' });
    assert.throws(() => ring.release(5), {
      name: 'InvalidStateError',
      message: 'Frame 5 is released more often than retained',
    });
    assert.throws(() => ring.put(5, 5), {
      name: 'InvalidStateError',
      message: 'Frame 5 is not newer than the last frame put, 5',
    });
    assert.throws(() => new FrameRing({ capacity: 0 }), {
      name: 'RangeError',
      message: 'Expected positive integer for capacity but received 0 of type number',
    });
    assert.throws(() => new FrameRing({ capacity: '3' as unknown as number }), {
      name: 'TypeError',
      message: "Expected positive integer for capacity but received '3' of type string",
    });
  });

  it('clear drops every frame through onEvict', () => {
    const seen: number[] = [];
    const ring = new FrameRing<number>({ capacity: 4, onEvict: (id) => seen.push(id) });
    ring.put(1, 1);
    ring.put(2, 2);
    ring.retain(2);
    ring.clear();
    assert.equal(ring.size, 0);
    assert.deepEqual(seen, [1, 2]);
    ring.put(1, 1); // ids may restart after clear
    assert.equal(ring.size, 1);
  });
});
