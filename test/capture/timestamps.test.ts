/** A5: one camera's frame timestamps strictly increase across its source's reopenings and steps of the wall clock. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CameraClock, recordingOrigin, stampCaptured } from '../../src/capture/timestamps.js';

const MS = 1_000_000n;
const S = 1_000_000_000n;
const T0 = 1_800_000_000n * S;

test('A5 recordingOrigin: the first opening starts at the wall clock, a later one after the last timestamp or at the wall clock', () => {
  assert.equal(recordingOrigin({}, T0, 100n * MS), T0);
  // A replay faster than real time: the last pass ended 5 s of stream time after it began, 1 s of wall time ago.
  assert.equal(recordingOrigin({ lastNs: T0 + 5n * S }, T0 + S, 100n * MS), T0 + 5n * S + 100n * MS);
  // A realtime replay reopened after a pause: the wall clock is later.
  assert.equal(recordingOrigin({ lastNs: T0 + 5n * S }, T0 + 9n * S, 100n * MS), T0 + 9n * S);
});

test('A5 a looping recording replayed faster than real time: every pass continues after the previous one (it started each pass at the wall clock)', () => {
  const clock = new CameraClock();
  const period = 100n * MS;
  const stamps: bigint[] = [];
  // Three passes of a 2 s clip (20 frames on the 10 Hz grid), each decoded in 0.2 s of wall time.
  for (let pass = 0; pass < 3; pass++) {
    const origin = clock.recordingOrigin(period, T0 + BigInt(pass) * 200n * MS);
    for (let i = 0n; i < 20n; i++) stamps.push(clock.recorded(origin + i * period));
  }
  for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! > stamps[i - 1]!, `frame ${i}: ${stamps[i]} after ${stamps[i - 1]}`);
  assert.equal(stamps[20]! - stamps[19]!, period, 'the next pass starts one capture period after the last frame');
  assert.equal(stamps.at(-1), T0 + 59n * period);
});

test('A5 CameraClock.recorded never gives a timestamp at or before the previous one', () => {
  const clock = new CameraClock();
  assert.equal(clock.recorded(T0), T0);
  assert.equal(clock.recorded(T0), T0 + 1n);
  assert.equal(clock.recorded(T0 - S), T0 + 2n);
  assert.equal(clock.lastNs, T0 + 2n);
});

/** A live camera at 10 Hz: each frame's wall and monotonic capture times, the wall clock stepped by `stepAt`. */
function liveFrames(n: number, stepAt: number, stepNs: bigint): Array<{ captureRealtimeNs: bigint; captureMonotonicNs: bigint }> {
  return Array.from({ length: n }, (_, i) => ({
    captureRealtimeNs: T0 + BigInt(i) * 100n * MS + (i >= stepAt ? stepNs : 0n),
    captureMonotonicNs: 5n * S + BigInt(i) * 100n * MS,
  }));
}

test('A5 stampCaptured: a frame takes its wall-clock capture time while the wall clock agrees with the monotonic clock', () => {
  const first = stampCaptured({}, T0, 5n * S);
  assert.deepEqual(first, { timestampNs: T0, state: { lastNs: T0, lastMonotonicNs: 5n * S, aheadNs: 0n } });
  // 100 ms later on both clocks, and a reconnect 30 s later: the wall clock as it is.
  assert.equal(stampCaptured(first.state, T0 + 100n * MS, 5n * S + 100n * MS).timestampNs, T0 + 100n * MS);
  assert.equal(stampCaptured(first.state, T0 + 30n * S, 35n * S).step, undefined);
});

test('A5 stampCaptured: the wall clock stepped back 1 h — timestamps continue from the monotonic clock, one step reported, re-anchored', () => {
  let state = {};
  const stamps: bigint[] = [];
  const steps = [];
  for (const f of liveFrames(40, 10, -3600n * S)) {
    const r = stampCaptured(state, f.captureRealtimeNs, f.captureMonotonicNs);
    state = r.state;
    stamps.push(r.timestampNs);
    if (r.step) steps.push(r.step);
  }
  // Without the rule the 11th frame was stamped an hour before the 10th, and the selector refused it and every later one.
  for (let i = 1; i < stamps.length; i++) assert.equal(stamps[i]! - stamps[i - 1]!, 100n * MS, `frame ${i}`);
  assert.deepEqual(steps, [{ stepNs: -3600n * S, aheadNs: 3600n * S }]);
});

test('A5 stampCaptured: a forward step is followed; after a backward step, a forward one brings the timestamps back to the wall clock', () => {
  // Forward 2 h (NTP's first sync on a unit without a real-time clock): the wall clock, one step reported.
  let r = stampCaptured({ lastNs: T0, lastMonotonicNs: 5n * S, aheadNs: 0n }, T0 + 7200n * S + 100n * MS, 5n * S + 100n * MS);
  assert.equal(r.timestampNs, T0 + 7200n * S + 100n * MS);
  assert.deepEqual(r.step, { stepNs: 7200n * S, aheadNs: 0n });
  // 1 h ahead since a backward step, then the wall clock steps forward 30 min: still 30 min ahead, in order.
  r = stampCaptured({ lastNs: T0, lastMonotonicNs: 5n * S, aheadNs: 3600n * S }, T0 - 1800n * S + 100n * MS, 5n * S + 100n * MS);
  assert.equal(r.timestampNs, T0 + 100n * MS);
  assert.deepEqual(r.step, { stepNs: 1800n * S, aheadNs: 1800n * S });
  // ... and forward the other 30 min: back on the wall clock.
  r = stampCaptured(r.state, T0 + 200n * MS, 5n * S + 200n * MS);
  assert.equal(r.timestampNs, T0 + 200n * MS);
  assert.deepEqual(r.step, { stepNs: 1800n * S, aheadNs: 0n });
});

test('A5 stampCaptured: a step within the tolerance is not reported, and the order holds all the same', () => {
  let state = {};
  const stamps: bigint[] = [];
  for (const f of liveFrames(20, 10, -300n * MS)) {
    const r = stampCaptured(state, f.captureRealtimeNs, f.captureMonotonicNs);
    assert.equal(r.step, undefined);
    state = r.state;
    stamps.push(r.timestampNs);
  }
  for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! > stamps[i - 1]!, `frame ${i}`);
  // Two frames of the same instant (equal clocks) still get distinct, increasing timestamps.
  const a = stampCaptured({}, T0, 5n * S);
  assert.equal(stampCaptured(a.state, T0, 5n * S).timestampNs, T0 + 1n);
});

test('A5 CameraClock: live frames over a backward step; onStep once per step', () => {
  const steps: bigint[] = [];
  const clock = new CameraClock({ onStep: (s) => steps.push(s.stepNs) });
  const frames = liveFrames(30, 20, -60n * S);
  const stamps = frames.map((f) => clock.captured(f));
  for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! > stamps[i - 1]!);
  assert.deepEqual(steps, [-60n * S]);
});
