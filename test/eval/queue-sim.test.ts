import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueueSimulator } from '../../src/eval/index.js';
import type { PolicyDecision } from '../../src/select/index.js';

const S = 1_000_000_000n;
const send = (imageId: number, at: bigint): PolicyDecision => ({ kind: 'upload', route: 'immediate', imageId, timestampNs: at, selected: [], decidedAtNs: at });
const enqueue = (imageId: number, at: bigint): PolicyDecision => ({ kind: 'upload', route: 'cached', imageId, timestampNs: at, selected: [], decidedAtNs: at });
const replace = (imageId: number, at: bigint, route: 'immediate' | 'cached', replacesImageIds: number[]): PolicyDecision => ({
  kind: 'replace',
  route,
  replacesImageIds,
  imageId,
  timestampNs: at,
  selected: [],
  decidedAtNs: at,
});
const brief = (r: ReturnType<QueueSimulator['finish']>) => r.deliveries.map((d) => `${d.imageId}@${Number(d.deliveredAtNs) / 1e9}${d.route[0]}`);

describe('QueueSimulator (U1 immediate, U2 FIFO at sendHz)', () => {
  it('U2: sends the oldest every 1/sendHz from the start; the peak depth is the most waiting at once', () => {
    const q = new QueueSimulator({ sendHz: 2 });
    q.apply([enqueue(1, 0n), enqueue(2, 0n), enqueue(3, 0n)], 0n);
    assert.equal(q.depth, 3);
    const r = q.finish();
    assert.deepEqual(brief(r), ['1@0.5c', '2@1c', '3@1.5c']);
    assert.equal(r.peakDepth, 3);
    assert.equal(r.dropped, 0);
  });

  it('U1: an immediate package leaves at its decision time and never waits', () => {
    const q = new QueueSimulator({ sendHz: 2 });
    q.apply([send(7, S / 10n)], S / 10n);
    const r = q.finish();
    assert.deepEqual(brief(r), ['7@0.1i']);
    assert.equal(r.peakDepth, 0);
  });

  it('a tick due at the decision time sends before the new package is queued; idle ticks are lost', () => {
    const q = new QueueSimulator({ sendHz: 2 });
    q.apply([enqueue(1, 0n)], 0n);
    q.apply([enqueue(2, S / 2n)], S / 2n); // tick at 0.5 s sends 1 first
    assert.equal(q.depth, 1);
    q.apply([enqueue(3, 3n * S)], 3n * S); // ticks 1.0 (sends 2), 1.5…3.0 idle
    assert.deepEqual(brief(q.finish()), ['1@0.5c', '2@1c', '3@3.5c']);
  });

  it('U2 capacity: when full the oldest is dropped and counted', () => {
    const q = new QueueSimulator({ sendHz: 1, capacity: 2 });
    q.apply([enqueue(1, 0n), enqueue(2, 0n), enqueue(3, 0n)], 0n);
    const r = q.finish();
    assert.deepEqual(brief(r), ['2@1c', '3@2c']);
    assert.equal(r.dropped, 1);
    assert.equal(r.peakDepth, 2);
  });

  it("replace (cached): X takes the first still-queued one's place, the others are withdrawn", () => {
    const q = new QueueSimulator({ sendHz: 1 });
    q.apply([enqueue(1, 0n), enqueue(2, 0n), enqueue(3, 0n)], 0n);
    q.apply([replace(9, 0n, 'cached', [2, 3])], 0n);
    const r = q.finish();
    assert.deepEqual(brief(r), ['1@1c', '9@2c']);
    assert.equal(r.replaced, 2);
  });

  it('replace (cached) of packages already sent enqueues X as new', () => {
    const q = new QueueSimulator({ sendHz: 1 });
    q.apply([enqueue(1, 0n)], 0n);
    q.apply([replace(2, 2n * S, 'cached', [1])], 2n * S);
    const r = q.finish();
    assert.deepEqual(brief(r), ['1@1c', '2@3c']);
    assert.equal(r.replaced, 0);
  });

  it('replace (immediate): the queued ones are withdrawn and X is sent now', () => {
    const q = new QueueSimulator({ sendHz: 1 });
    q.apply([enqueue(1, 0n), enqueue(2, 0n)], 0n);
    q.apply([replace(5, S / 2n, 'immediate', [2])], S / 2n);
    const r = q.finish();
    assert.deepEqual(brief(r), ['5@0.5i', '1@1c']);
    assert.equal(r.replaced, 1);
  });

  it('ticks count from startNs', () => {
    const q = new QueueSimulator({ sendHz: 4, startNs: 10n * S });
    q.apply([enqueue(1, 10n * S)], 10n * S);
    assert.deepEqual(brief(q.finish()), ['1@10.25c']);
  });

  it('rejects bad options and use after finish with exact messages', () => {
    assert.throws(() => new QueueSimulator({ sendHz: 0 }), { name: 'RangeError', message: 'Expected positive number for sendHz but received 0 of type number' });
    assert.throws(() => new QueueSimulator({ capacity: 1.5 }), { name: 'TypeError', message: 'Expected positive integer for capacity but received 1.5 of type number' });
    const q = new QueueSimulator();
    q.finish();
    assert.throws(() => q.apply([], 0n), { message: 'QueueSimulator is finished' });
  });
});
