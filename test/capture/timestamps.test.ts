/** A5: one camera's frame timestamps strictly increase across its source's reopenings and steps of the wall clock. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CameraClock, recordingOrigin } from '../../src/capture/timestamps.js';

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
